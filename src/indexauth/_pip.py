"""pip in global mode: every `PipSession` authenticates through the flow, with pip's indexes.

`patch()` replaces `PipSession.__init__` and `PipSession.mount` (recorded in
`_patch`'s registry). On each new session it:

- wraps every http(s) adapter pip mounted (caching, retries, truststore,
  trusted hosts), and each one pip mounts later, in an `IndexAuthAdapter`
  made from pip's vendored requests, never replacing pip's adapter;
- replaces `session.auth` (pip's `MultiDomainBasicAuth`) with `_PipAuth`,
  which never prompts and never asks keyring: pip's prompt, keyring and
  per-host netrc credentials are off on this session, the flow owns them.
  `_PipAuth` keeps the attributes pip sets (`index_urls`, `prompting`,
  `keyring_provider`) and feeds them to the flow: `--index-url`,
  `--extra-index-url`, `-i` in requirement files and `PIP_*` settings become
  configured indexes, and `--keyring-provider` picks the keyring source.

Failures inside pip: `authenticate="always"` with nothing found raises pip's
`DiagnosticPipError` (exit 1, no traceback); an index that refuses us under
`auto` gets one warning through pip's logging before pip's usual "Could not
find a version".
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

import _indexauth_startup

from . import _patch, _settings
from ._adapter import AdapterDriver
from ._exceptions import ConfigurationError, IndexAuthError
from ._flow import Authenticator
from ._keyring import PROVIDERS
from ._models import Credentials, Index, mark_untrusted
from ._urls import UrlError, redact, split_url, strip_userinfo

__all__ = ["MIN_PIP", "patch", "pip_error"]

logger = logging.getLogger("indexauth")

MIN_PIP = (23, 1)  # `session.auth.keyring_provider` and `update_index_urls` as used here
# The public PyPI: a 404 there means "no such project", never "log in".
_PYPI = frozenset({"https://pypi.org/simple", "https://test.pypi.org/simple"})
_warned_unsupported = False


def patch(module: ModuleType) -> None:
    """Patch `PipSession` in *module* (pip._internal.network.session), or warn and leave pip."""
    session_class = getattr(module, "PipSession", None)
    version = _pip_version()
    missing = [
        name for name in ("mount", "update_index_urls") if not hasattr(session_class, name)
    ]
    if session_class is None or missing or version < MIN_PIP:
        _unsupported(version, missing or ["PipSession"] if session_class is None else missing)
        return
    original_init = session_class.__init__
    original_mount = session_class.mount

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - replaces the class's __init__
        original_init(self, *args, **kwargs)
        try:
            _adopt(self)
        except Exception as exc:  # noqa: BLE001 - a hook must never break the program it runs in
            _indexauth_startup.warn(exc)

    @functools.wraps(original_mount)
    def mount(self: Any, prefix: str, adapter: Any) -> None:
        state = self.__dict__.get("_indexauth")
        if state is not None:
            adapter = state.wrap(prefix, adapter)
        original_mount(self, prefix, adapter)

    _patch.replace(session_class, "__init__", __init__)
    _patch.replace(session_class, "mount", mount)


def _pip_version() -> tuple[int, ...]:
    pip = sys.modules.get("pip")
    text = getattr(pip, "__version__", "0")
    return tuple(int(part) for part in re.findall(r"\d+", text)[:2]) or (0,)


def _unsupported(version: tuple[int, ...], missing: list[str]) -> None:
    global _warned_unsupported  # noqa: PLW0603 - once per process
    if _warned_unsupported:
        return
    _warned_unsupported = True
    detail = f"; missing {', '.join(missing)}" if missing and version >= MIN_PIP else ""
    message = (
        f"indexauth: pip {'.'.join(map(str, version))} is not supported (needs pip >= "
        f"{'.'.join(map(str, MIN_PIP))}{detail}); pip runs without indexauth. "
        "Upgrade pip: python -m pip install -U pip"
    )
    _say(message)


def _say(message: str) -> None:
    if logging.getLogger().handlers:
        logger.warning("%s", message)
    else:  # pip has not configured logging yet: stderr is the only way to be seen
        sys.stderr.write(message + "\n")


_said: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        _say(message)


def _adopt(session: Any) -> None:
    index_urls = list(getattr(session.auth, "index_urls", None) or [])
    state = _PipState(index_urls)
    session.auth = _PipAuth(state, index_urls)
    session.__dict__["_indexauth"] = state
    for prefix, adapter in list(session.adapters.items()):
        session.adapters[prefix] = state.wrap(prefix, adapter)


def pip_indexes(index_urls: list[str]) -> tuple[Index, ...]:
    """pip's index URLs as indexes (policy, name and username from a same-URL config entry),
    followed by the other globally configured indexes."""
    configured = _patch.settings()
    from_pip: list[Index] = []
    for url in index_urls:
        try:
            parts = split_url(url)
        except UrlError:
            continue  # file:// and friends: nothing to authenticate
        entry = _settings.for_url(url, configured)
        if entry is None and strip_userinfo(url).rstrip("/") in _PYPI:
            continue
        try:
            if entry is not None and not parts.username:
                from_pip.append(entry)
            elif entry is not None:
                from_pip.append(
                    mark_untrusted(
                        Index(
                            url,
                            name=entry.name,
                            authenticate=entry.authenticate,
                            username=entry.username,
                        ),
                        entry.untrusted_origin,
                    )
                )
            else:
                from_pip.append(Index(url))
        except ConfigurationError as exc:
            # A bad -i line must not crash pip: that index goes unauthenticated, said once.
            _warn_once(f"indexauth: pip's index {redact(url)} is used without indexauth: {exc}")
    return tuple(_settings.merge(from_pip, configured))


class _PipState:
    """The indexauth side of one pip session: its authenticator and the adapters sharing it."""

    def __init__(self, index_urls: list[str]) -> None:
        self.provider = "auto"
        self.authenticator = Authenticator(pip_indexes(index_urls), _patch.resolver(self.provider))
        self.adapters: list[AdapterDriver] = []

    def wrap(self, prefix: str, adapter: Any) -> Any:
        """*adapter* wrapped for the flow, if it sends http(s)."""
        if not prefix.lower().startswith("http") or isinstance(adapter, AdapterDriver):
            return adapter
        wrapped = _adapter_class()(
            inner=adapter, authenticator=self.authenticator, raise_on_failure=False
        )
        self.adapters.append(wrapped)
        return wrapped

    def set_index_urls(self, index_urls: list[str]) -> None:
        """pip replaced its index list (`-i` in a requirements file)."""
        self.authenticator.indexes = pip_indexes(index_urls)

    def set_provider(self, provider: str) -> None:
        """pip's `--keyring-provider`: the keyring source for this session."""
        if provider not in PROVIDERS or provider == self.provider:
            return
        self.provider = provider
        self.authenticator = Authenticator(self.authenticator.indexes, _patch.resolver(provider))
        for adapter in self.adapters:
            adapter.authenticator = self.authenticator


class _PipAuth:
    """Stands in for pip's `MultiDomainBasicAuth`: no prompt, no keyring, no netrc by host.

    URL userinfo on a request becomes its `Authorization` header (and leaves
    the URL), as pip does; everything else is the flow's job.
    """

    def __init__(self, state: _PipState, index_urls: list[str]) -> None:
        self._state = state
        self._index_urls = index_urls
        self.prompting = False

    @property
    def index_urls(self) -> list[str]:
        """pip's index URLs."""
        return self._index_urls

    @index_urls.setter
    def index_urls(self, value: list[str]) -> None:
        self._index_urls = list(value or [])
        self._state.set_index_urls(self._index_urls)

    @property
    def keyring_provider(self) -> str:
        """pip's `--keyring-provider`, passed to the flow's keyring source."""
        return self._state.provider

    @keyring_provider.setter
    def keyring_provider(self, value: str) -> None:
        self._state.set_provider(str(value))

    def __call__(self, request: Any) -> Any:
        url = request.url or ""
        try:
            parts = urlsplit(url)
        except ValueError:
            return request
        if parts.username is None and parts.password is None:
            return request
        request.url = strip_userinfo(url)
        if parts.password is not None and "Authorization" not in request.headers:
            try:
                creds = Credentials(unquote(parts.username or ""), unquote(parts.password))
            except ConfigurationError as exc:
                # A line break in the URL's password: never a traceback inside pip.
                _warn_once(f"indexauth: the credentials in {redact(url)} are not used: {exc}")
                return request
            request.headers["Authorization"] = creds.authorization()
        return request

    def __repr__(self) -> str:
        return f"<indexauth pip auth for {[redact(u) for u in self._index_urls]}>"


_classes: dict[str, type[AdapterDriver]] = {}


def _adapter_class() -> type[AdapterDriver]:
    found = _classes.get("pip")
    if found is None:
        from pip._vendor import requests  # noqa: PLC0415 - pip's copy, not the top-level one

        base = _patch.guarded_adapter_class(requests)
        found = _classes["pip"] = type(
            "IndexAuthAdapter", (_PipFailure, base), {"__module__": "indexauth"}
        )
    return found


class _PipFailure:
    """Adapter mixin: a failure that must stop pip is pip's own diagnostic error."""

    def _failure(self, error: IndexAuthError, request: Any, response: Any) -> BaseException:
        return pip_error(error)


def pip_error(error: IndexAuthError) -> BaseException:
    """*error* as pip's `DiagnosticPipError` (`error: <reference>`, tried, hint), or an exit."""
    try:
        from pip._internal.exceptions import DiagnosticPipError  # noqa: PLC0415
        from pip._vendor.rich.text import Text  # noqa: PLC0415
    except ImportError:
        return SystemExit(f"error: {error.reference}\n\n{error.render()}")
    lines = [("tried: " if i == 0 else "       ") + str(a) for i, a in enumerate(error.attempts)]
    context = "\n".join(lines)
    return DiagnosticPipError(
        reference=error.reference,
        message=Text(error.summary),
        context=Text(context) if context else None,
        hint_stmt=Text(error.hint) if error.hint else None,
    )
