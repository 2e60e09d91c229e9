"""Global mode: `install()` and `uninstall()`, the wrappers they apply, and the one record of them.

Global mode instruments the methods that send one hop, with wrapt, the way
OpenTelemetry's instrumentations do:

- `HTTPAdapter.send` of requests (and of pip's vendored copy, see `_pip`);
- `HTTPTransport.handle_request` and `AsyncHTTPTransport.handle_async_request`
  of httpx and httpx2.

Every adapter or transport built on those classes is then covered however it
was mounted (poetry's CacheControl adapter, pdm's per-source transports,
`transport=`, `mounts=`, proxies), and sessions, clients, adapters and
transports stay the very objects the program made: identity, `isinstance`,
attributes, `max_retries` and pickling behave as without indexauth.

`install()` watches the modules through `_indexauth_startup`'s import finder
and wraps each when it is imported, or at once when it already is. wrapt is
imported then, never before. Every wrapper is recorded in `_registry`;
`uninstall()` removes exactly those. A flow already running for a request
(an `IndexAuthAdapter` around an instrumented adapter, a subclass calling
`super().send`) is not run twice (`_driver.active()`).

One level up, `requests.Session.send` and httpx's `Client.send` /
`AsyncClient.send` are watched (`_uncovered`): a failure to a configured
index that no flow saw (an adapter or transport class not built on the
instrumented ones, an httpx version not supported) is said once per process.

Instrumented sends return a refused response with its diagnosis attached and
logged (`raise_on_failure=False`), so programs that handle 401 themselves
behave as before; `authenticate="always"` with nothing found still raises.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

import _indexauth_startup

from ._config import build_authenticator
from ._driver import ThreadedLookup, active
from ._exceptions import Attempt, ConfigurationError, IndexAuthError, for_driver
from ._flow import Authenticator
from ._models import Index
from ._resolver import LookupResult, Resolver
from ._sources import Target

if TYPE_CHECKING:
    from requests import PreparedRequest, Response

__all__ = [
    "GuardedResolver",
    "global_authenticator",
    "in_lookup",
    "install",
    "instrument",
    "on_import",
    "patched",
    "resolver",
    "settings",
    "uninstall",
]

logger = logging.getLogger("indexauth")

_MISSING = object()
_lock = threading.RLock()
# (owner, attribute, what owner.__dict__ held before (or _MISSING), the wrapper put there)
_registry: list[tuple[Any, str, Any, Any]] = []

Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]


def install() -> None:
    """Instrument pip, requests and httpx in this process, now and as they are imported; idempotent."""
    _indexauth_startup.watch()


def uninstall() -> None:
    """Undo `install()`: stop watching imports and remove every wrapper it applied."""
    _indexauth_startup.unwatch()
    with _lock:
        while _registry:
            owner, name, before, wrapper = _registry.pop()
            if owner.__dict__.get(name) is wrapper:
                if before is _MISSING:
                    delattr(owner, name)
                else:
                    setattr(owner, name, before)
            else:
                _unwrap_buried(owner, name, wrapper)
        # A later install() reads the configuration afresh and starts a new credential cache.
        _resolvers.clear()
        for name in ("_pip", "_uncovered"):
            module = sys.modules.get(f"{__package__}.{name}")
            if module is not None:
                module.forget()
    settings.cache_clear()
    global_authenticator.cache_clear()
    global_lookup.cache_clear()


def _unwrap_buried(owner: Any, name: str, wrapper: Any) -> None:
    """Another instrumentation wrapped ours since: splice ours out of its chain (wrapt >= 2.5)."""
    import wrapt  # noqa: PLC0415 - only global mode needs it

    unwrap = getattr(wrapt, "unwrap_object", None)
    if unwrap is None:
        logger.debug("indexauth: %s.%s stays wrapped under another wrapper (wrapt < 2.5)",
                     owner.__qualname__, name)
        return
    try:
        unwrap(owner, name, wrapper, missing_ok=True)
    except Exception as exc:  # noqa: BLE001 - uninstall must finish whatever is on top
        logger.debug("indexauth: %s.%s stays wrapped: %s", owner.__qualname__, name, exc)


def instrument(target: Any, name: str, wrapper: Wrapper) -> bool:
    """Wrap *target*'s *name* (a dotted path, as wrapt's) with *wrapper*; `False` if already done.

    The attribute is set where the lookup found it (wrapt's `resolve_path`),
    so a method inherited from a base class is wrapped on *target* only.
    """
    import wrapt  # noqa: PLC0415 - imported once a watched module is imported, never at start-up

    owner, attribute, original = wrapt.resolve_path(target, name)
    with _lock:
        # `httpx2.alias_httpx()` shows one class under two module names: wrap it once.
        if any(o is owner and n == attribute for o, n, _, _ in _registry):
            return False
        before = owner.__dict__.get(attribute, _MISSING) if hasattr(owner, "__dict__") else _MISSING
        wrapped = wrapt.FunctionWrapper(original, wrapper)
        setattr(owner, attribute, wrapped)
        _registry.append((owner, attribute, before, wrapped))
    return True


def patched() -> list[str]:
    """`module.Class.attribute` for every attribute instrumented, in order."""
    with _lock:
        return [
            f"{o.__name__}.{n}" if isinstance(o, ModuleType) else f"{o.__module__}.{o.__qualname__}.{n}"
            for o, n, _, _ in _registry
        ]


def on_import(name: str, module: ModuleType) -> None:
    """Instrument *module*, which has just been imported (called by the start-up finder)."""
    if name == "pip._internal.network.session":
        from . import _pip  # noqa: PLC0415 - pip's part loads only inside pip

        _pip.patch(module)
    elif name == "requests.sessions":
        from . import _uncovered  # noqa: PLC0415

        # requests.sessions imports requests.adapters, and every import of requests
        # runs requests.sessions: its HTTPAdapter is the class to instrument.
        instrument(module, "HTTPAdapter.send", _requests_send)
        # One level up, to say so when a request to an index went through another adapter.
        instrument(module, "Session.send", _uncovered.session_send)
    elif name in ("httpx", "httpx2"):
        _instrument_httpx(module)
    elif name == "pipx.util":
        from . import _children  # noqa: PLC0415 - only inside pipx

        _children.patch_pipx(module)


def _instrument_httpx(module: ModuleType) -> None:
    """Instrument httpx or httpx2 if global mode supports its version; watch its clients anyway."""
    from . import _uncovered  # noqa: PLC0415

    why = _uncovered.problem(module)
    if why is None:
        instrument(module, "HTTPTransport.handle_request", _httpx_send)
        instrument(module, "AsyncHTTPTransport.handle_async_request", _httpx_asend)
    # Watched even when unsupported, so a failure to one of your indexes can say why.
    watched = False
    for cls, observer in (("Client", _uncovered.client_send), ("AsyncClient", _uncovered.async_client_send)):
        if callable(getattr(getattr(module, cls, None), "send", None)):
            instrument(module, f"{cls}.send", observer)
            watched = True
    if why is not None and not watched:
        _uncovered.unwatchable(module, why)


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
    indexes = (*indexes, *_logged_in(indexes))
    logger.debug("global indexes: %s", _settings.describe(indexes))
    return indexes


def _logged_in(configured: tuple[Index, ...]) -> list[Index]:
    """The indexes you ran `indexauth login` for and configured nowhere else.

    Logging in to a URL says "this is an index of mine": a tool that reaches
    it through its own source settings (poetry, pdm) gets the stored
    credentials as for any configured index, sent up front.
    """
    from . import _settings  # noqa: PLC0415

    # No file, no login: what `Store().load()` would say, without loading the store's code.
    if not os.path.exists(_settings.store_path()):
        return []
    from ._store import Store, StoreError  # noqa: PLC0415

    try:
        entries = Store().load()
    except (StoreError, OSError):
        return []  # the store source says why, once, when it is asked
    found: list[Index] = []
    for entry in entries:
        if _settings.for_url(entry.service, configured) is not None:
            continue
        try:
            index = Index(entry.service)
        except ConfigurationError:
            continue
        if index not in found:
            found.append(index)
    return found


def _say_warning(message: str) -> None:
    with contextlib.suppress(Exception):
        sys.stderr.write(f"indexauth: warning: {message}\n")


@functools.cache
def global_authenticator() -> Authenticator:
    """The authenticator every instrumented requests adapter and httpx transport shares."""
    return Authenticator(settings(), resolver())


@functools.cache
def global_lookup() -> ThreadedLookup:
    """Lookups off the event loop for instrumented async transports, sharing one resolver."""
    return ThreadedLookup(global_authenticator().resolver)


def passing_through() -> bool:
    """Whether a request sent now goes out untouched: a flow or one of our lookups is running."""
    return active() or in_lookup()


# -- requests -----------------------------------------------------------------


def requests_send(
    authenticator: Authenticator,
    failure: Callable[[IndexAuthError, PreparedRequest, Response | None], BaseException],
    wrapped: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    """`HTTPAdapter.send(request, ...)` as *wrapped*, through the flow."""
    from ._adapter import send_authenticated  # noqa: PLC0415 - loaded with the first request

    if args:
        request, rest = args[0], args[1:]
    else:
        kwargs = dict(kwargs)
        request, rest = kwargs.pop("request"), ()

    def send_one(prepared: PreparedRequest) -> Response:
        response: Response = wrapped(prepared, *rest, **kwargs)
        return response

    return send_authenticated(
        authenticator, send_one, request, raise_on_failure=False, failure=failure
    )


def _requests_failure(
    error: IndexAuthError, request: PreparedRequest, response: Response | None
) -> BaseException:
    return for_driver(error, "requests", response=response, request=request)


def _requests_send(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if passing_through():
        return wrapped(*args, **kwargs)
    return requests_send(global_authenticator(), _requests_failure, wrapped, args, kwargs)


# -- httpx and httpx2 -----------------------------------------------------------


def _httpx_send(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if passing_through():
        return wrapped(*args, **kwargs)
    # Loaded with the first request: at import time the other library may be half-loaded.
    from ._httpx_send import handle  # noqa: PLC0415

    request = args[0] if args else kwargs["request"]
    return handle(global_authenticator(), wrapped, request, raise_on_failure=False)


async def _httpx_asend(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    if passing_through():
        return await wrapped(*args, **kwargs)
    from ._httpx_send import ahandle  # noqa: PLC0415

    request = args[0] if args else kwargs["request"]
    return await ahandle(
        global_authenticator(), wrapped, request, raise_on_failure=False, lookup=global_lookup()
    )
