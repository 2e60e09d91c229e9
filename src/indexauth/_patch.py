"""Global mode: `install()` and `uninstall()`, the patches they make, and the one record of them.

`install()` watches pip's session module, `requests.sessions`, `httpx` and
`httpx2` (through `_indexauth_startup`'s import finder) and patches each when
it is imported, or at once when it already is. Every attribute replaced is
recorded in `_registry`; `uninstall()` puts exactly those back. Sessions and
clients created while installed keep their adapters.

What gets wrapped:

- pip's `PipSession` (see `_pip`): every adapter pip mounts for http(s).
- `requests.Session`: the two adapters `Session.__init__` mounts for itself
  (`https://`, `http://`), wrapped, so proxies from the environment and
  everything else the session does keep working. An adapter you mount
  yourself afterwards is yours: it is not wrapped.
- `httpx`/`httpx2` clients built without an explicit `transport=` or
  `mounts=`: their own transport and proxy mounts, through
  `indexauth._httpx.wrap_client` (skipped while that driver is not installed).

Global adapters return a refused response with its diagnosis attached and
logged (`raise_on_failure=False`), so programs that handle 401 themselves
behave as before; `authenticate="always"` with nothing found still raises.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import _indexauth_startup

from ._adapter import AdapterDriver, adapter_class
from ._config import build_authenticator
from ._exceptions import Attempt, ConfigurationError
from ._flow import Authenticator
from ._models import Index
from ._resolver import LookupResult, Resolver
from ._sources import Target

__all__ = [
    "GuardedResolver",
    "global_authenticator",
    "in_lookup",
    "install",
    "on_import",
    "patched",
    "replace",
    "resolver",
    "settings",
    "uninstall",
]

logger = logging.getLogger("indexauth")

_MISSING = object()
_lock = threading.RLock()
# (owner, attribute, what it was: the object in owner.__dict__, or _MISSING if inherited)
_registry: list[tuple[Any, str, Any]] = []


def install() -> None:
    """Patch pip, requests and httpx in this process, now and as they are imported; idempotent."""
    _indexauth_startup.watch()


def uninstall() -> None:
    """Undo `install()`: stop watching imports and restore every attribute it replaced."""
    _indexauth_startup.unwatch()
    with _lock:
        while _registry:
            owner, name, original = _registry.pop()
            if original is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, original)
        # A later install() reads the configuration afresh and starts a new credential cache.
        _resolvers.clear()
    settings.cache_clear()
    global_authenticator.cache_clear()


def replace(owner: Any, name: str, value: Any) -> bool:
    """Set *owner.name* to *value* and record what was there; `False` if already replaced."""
    with _lock:
        if any(o is owner and n == name for o, n, _ in _registry):
            return False
        _registry.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, value)
        return True


def patched() -> list[str]:
    """`module.Class.attribute` for every attribute replaced, in order."""
    with _lock:
        return [f"{o.__module__}.{o.__qualname__}.{n}" for o, n, _ in _registry]


def on_import(name: str, module: ModuleType) -> None:
    """Patch *module*, which has just been imported (called by the start-up finder)."""
    if name == "pip._internal.network.session":
        from . import _pip  # noqa: PLC0415 - pip's part loads only inside pip

        _pip.patch(module)
    elif name == "requests.sessions":
        _patch_requests(module)
    elif name in ("httpx", "httpx2"):
        _patch_httpx(module)


# -- re-entry guard -----------------------------------------------------------

# A context variable, not a thread-local: the keyring source runs backends in a
# worker thread started with a copy of the caller's context, and a backend's own
# HTTP requests there must still be seen as "inside a lookup".
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("indexauth_lookup_depth", default=0)


def in_lookup() -> bool:
    """Whether this context is inside one of our credential lookups."""
    return _depth.get() > 0


@contextlib.contextmanager
def _looking_up() -> Iterator[None]:
    token = _depth.set(_depth.get() + 1)
    try:
        yield
    finally:
        _depth.reset(token)


class GuardedResolver(Resolver):
    """A resolver that a request made during its own lookup cannot re-enter.

    A keyring backend may make HTTP requests itself (Azure's probes the feed),
    through a session we patched. Those requests skip authentication; a
    lookup they would start returns "nothing found" at once instead of
    waiting for the lookup in progress on the same thread, forever.
    """

    def lookup(self, target: Target) -> LookupResult:
        """The full chain for *target*, or nothing when called from inside a lookup."""
        if in_lookup():
            skipped = Attempt("indexauth", "", None, "skipped: request made during a lookup")
            return LookupResult(None, None, None, (skipped,))
        with _looking_up():
            return super().lookup(target)


_resolvers: dict[str, GuardedResolver] = {}


def resolver(keyring_provider: str = "auto") -> GuardedResolver:
    """The process-wide resolver for *keyring_provider*: one lookup per index per process."""
    with _lock:
        found = _resolvers.get(keyring_provider)
        if found is None:
            sources = build_authenticator((), keyring_provider=keyring_provider).resolver.sources
            found = _resolvers[keyring_provider] = GuardedResolver(sources)
        return found


@functools.cache
def settings() -> tuple[Index, ...]:
    """The globally configured indexes; an invalid configuration is one warning, then none."""
    from . import _settings  # noqa: PLC0415

    try:
        indexes = _settings.load(warn=_say_warning)
    except ConfigurationError as exc:
        with contextlib.suppress(Exception):
            sys.stderr.write(
                f"indexauth: the global configuration is ignored: {exc}\n"
                if not exc.hint
                else f"indexauth: the global configuration is ignored: {exc.render()}\n"
            )
        return ()
    logger.debug("global indexes: %s", _settings.describe(indexes))
    return indexes


def _say_warning(message: str) -> None:
    with contextlib.suppress(Exception):
        sys.stderr.write(f"indexauth: warning: {message}\n")


@functools.cache
def global_authenticator() -> Authenticator:
    """The authenticator every patched requests session and httpx client shares."""
    return Authenticator(settings(), resolver())


# -- requests -----------------------------------------------------------------


class GuardedSend:
    """Adapter mixin: requests made during our own lookup go out untouched."""

    inner: Any

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Send *request*: straight through inside a lookup, else through the flow."""
        if in_lookup():
            return self.inner.send(request, *args, **kwargs)
        return super().send(request, *args, **kwargs)  # type: ignore[misc]


@functools.cache
def guarded_adapter_class(requests_module: ModuleType) -> type[AdapterDriver]:
    """`IndexAuthAdapter` for *requests_module*, with the re-entry guard."""
    base = adapter_class(requests_module)
    return type("IndexAuthAdapter", (GuardedSend, base), {"__module__": "indexauth"})


def _patch_requests(module: ModuleType) -> None:
    session_class = module.Session
    original = session_class.__init__
    requests_module = sys.modules[module.__name__.rpartition(".")[0]]

    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - replaces the class's __init__
        original(self, *args, **kwargs)
        try:
            wrap_requests_session(self, requests_module)
        except Exception as exc:  # noqa: BLE001 - a hook must never break the program it runs in
            _indexauth_startup.warn(exc)

    replace(session_class, "__init__", __init__)


def wrap_requests_session(session: Any, requests_module: ModuleType) -> None:
    """Wrap the default `https://` and `http://` adapters of *session* in place."""
    cls = guarded_adapter_class(requests_module)
    authenticator = global_authenticator()
    for prefix in ("https://", "http://"):
        adapter = session.adapters.get(prefix)
        if adapter is not None and not isinstance(adapter, AdapterDriver):
            session.adapters[prefix] = cls(
                inner=adapter, authenticator=authenticator, raise_on_failure=False
            )


# -- httpx and httpx2 -----------------------------------------------------------


def _given(transport: Any, kwargs: dict[str, Any]) -> bool:
    return any(transport is t for t in (kwargs.get("mounts") or {}).values())


def httpx_wrapper() -> Callable[..., Any] | None:
    """`indexauth._httpx.wrap_client`, or `None` while that driver is not there."""
    try:
        driver = importlib.import_module("indexauth._httpx")
    except ImportError:
        return None
    wrap: Callable[..., Any] | None = getattr(driver, "wrap_client", None)
    return wrap


def _patch_httpx(module: ModuleType) -> None:
    for class_name in ("Client", "AsyncClient"):
        client_class = getattr(module, class_name)
        replace(client_class, "__init__", _client_init(client_class.__init__))


def _client_init(original: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - replaces the class's __init__
        original(self, *args, **kwargs)
        if kwargs.get("transport") is not None:
            return  # the caller's own transport is respected
        # Looked up per client, not when httpx was imported: importing our httpx
        # driver imports httpx2 too, whose hook would otherwise find it half-loaded.
        wrap = httpx_wrapper()
        if wrap is None:
            return
        try:
            mine = {pattern: t for pattern, t in self._mounts.items() if _given(t, kwargs)}
            wrap(self, authenticator=global_authenticator(), raise_on_failure=False)
            self._mounts.update(mine)  # transports the caller mounted stay as they were
        except Exception as exc:  # noqa: BLE001 - a hook must never break the program it runs in
            _indexauth_startup.warn(exc)

    return __init__
