"""pip in global mode: every pip session authenticates through the flow, with pip's indexes.

`patch()` instruments three methods with wrapt (recorded in `_patch`'s registry):

- `HTTPAdapter.send` of pip's vendored requests: every adapter pip mounts
  (caching, retries, truststore, `--trusted-host`, insecure) is covered and
  stays the object pip made, so pip's `isinstance(..., CacheControlAdapter)`
  and identity checks hold;
- `PipSession.send`: tells those adapters which session is sending, so the
  flow gets that session's index URLs (`--index-url`, `--extra-index-url`,
  `-i` in requirement files, `PIP_*`) as configured indexes and its
  `--keyring-provider` as the keyring source, read at each send;
- `PipSession.update_index_urls`, which pip calls only for the index options
  of a requirements file: the URLs the session had before its first call came
  from the command line, the environment or pip's configuration; the others
  only from a file, perhaps a cloned repository's, so netrc's `default` entry
  never goes to them (`Index.file_origin`);
- `MultiDomainBasicAuth.__call__`: URL userinfo becomes the `Authorization`
  header as pip does, and nothing else: pip's prompt, keyring and per-host
  netrc lookups are off, the flow owns them.

Failures inside pip: `authenticate="always"` with nothing found raises pip's
`DiagnosticPipError` (exit 1, no traceback); a 401 with nothing found is one
warning through pip's logging at once. A 403 or 404 to an anonymous request
with nothing found is kept back and said once only if pip then fails (it
finds no distribution, or a download answers 4xx): a good run stays quiet.
"""

from __future__ import annotations

import contextvars
import functools
import importlib
import logging
import re
import sys
import threading
import weakref
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

import _indexauth_startup

from . import _patch, _settings
from ._exceptions import ConfigurationError, IndexAuthError
from ._flow import PIP_URL_SOURCE, Authenticator
from ._keyring import PROVIDERS
from ._models import Credentials, Index, mark_from_file, mark_untrusted
from ._urls import UrlError, realm_of, redact, split_url, strip_userinfo, token_cut_by_slash

__all__ = [
    "MIN_PIP",
    "authenticator_for",
    "forget",
    "patch",
    "pip_error",
    "pip_indexes",
    "report_pending",
]

logger = logging.getLogger("indexauth")

MIN_PIP = (23, 1)  # `MultiDomainBasicAuth._keyring_provider` and `index_urls` as used here
# The public PyPI: a 404 there means "no such project", never "log in".
_PYPI = frozenset({"https://pypi.org/simple", "https://test.pypi.org/simple"})
_warned_unsupported = False


def patch(module: ModuleType) -> None:
    """Instrument pip (*module* is pip._internal.network.session), or warn and leave pip alone."""
    session_class = getattr(module, "PipSession", None)
    auth_module = sys.modules.get("pip._internal.network.auth")
    adapters = sys.modules.get("pip._vendor.requests.adapters")
    auth_class = getattr(auth_module, "MultiDomainBasicAuth", None)
    adapter_class = getattr(adapters, "HTTPAdapter", None)
    version = _pip_version()
    missing = [
        name
        for name, found in (
            ("PipSession", session_class),
            ("MultiDomainBasicAuth", auth_class),
            ("HTTPAdapter", adapter_class),
        )
        if found is None
    ]
    if missing or version < MIN_PIP:
        _unsupported(version, missing)
        return
    _patch.instrument(adapter_class, "send", _adapter_send)
    _patch.instrument(session_class, "send", _session_send)
    if hasattr(session_class, "update_index_urls"):
        _patch.instrument(session_class, "update_index_urls", _update_index_urls)
    _patch.instrument(auth_class, "__call__", _auth_call)


# The authenticator of the pip session sending right now (set by `PipSession.send`).
_current: contextvars.ContextVar[Authenticator | None] = contextvars.ContextVar(
    "indexauth_pip_session", default=None
)
_authenticators: dict[tuple[tuple[str, ...], str, frozenset[str]], Authenticator] = {}
_authenticators_lock = threading.Lock()
# Per session, the index URLs it was built with (command line, environment, pip's
# configuration), kept when a requirements file first changes them. Weak: pip's
# sessions are not kept alive, and nothing is added to pip's own objects.
_given: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()
REQUIREMENTS_FILE = "a requirements file pip read (-r or -c)"


def _update_index_urls(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    # pip calls this only from a requirements file's `-i`/`--extra-index-url` lines.
    try:
        if instance not in _given:
            _given[instance] = frozenset(getattr(instance.auth, "index_urls", None) or ())
    except Exception as exc:  # noqa: BLE001 - a hook must never break the program it runs in
        _indexauth_startup.warn(exc)
    return wrapped(*args, **kwargs)


def authenticator_for(session: Any) -> Authenticator:
    """The authenticator for *session*: pip's index URLs and `--keyring-provider`, read now.

    Read at each send, so `update_index_urls` (`-i` in a requirements file) and
    the keyring provider pip sets after building the session both count.
    """
    auth = getattr(session, "auth", None)
    urls = tuple(getattr(auth, "index_urls", None) or ())
    provider = str(getattr(auth, "_keyring_provider", "auto"))
    if provider not in PROVIDERS:
        provider = "auto"
    given = _given.get(session)
    from_files = frozenset(u for u in urls if u not in given) if given is not None else frozenset()
    key = (urls, provider, from_files)
    found = _authenticators.get(key)
    if found is None:
        with _authenticators_lock:
            found = _authenticators.get(key)
            if found is None:
                found = Authenticator(
                    pip_indexes(list(urls), from_files=from_files),
                    _patch.resolver(provider),
                    request_source=PIP_URL_SOURCE,
                )
                found.defer = functools.partial(_defer, found)
                _authenticators[key] = found
    return found


# -- a good pip run stays quiet -------------------------------------------------------
#
# A 403 or 404 to an anonymous request with nothing found is often just "no such
# project here" (a mirror without the private package). It is kept, and said once
# only if pip then fails: it cannot find a distribution, or a download answers 4xx.

_pending: dict[tuple[str, str], tuple[Authenticator, IndexAuthError]] = {}
_pending_lock = threading.Lock()
_failure_hooks = False


def _defer(authenticator: Authenticator, error: IndexAuthError) -> None:
    key = (str(error.index), type(error).__name__)
    with _pending_lock:
        _pending.setdefault(key, (authenticator, error))


def report_pending(error: IndexAuthError | None = None) -> None:
    """Say what was kept back: everything, or only *error*'s index and cause."""
    with _pending_lock:
        if error is None:
            said = list(_pending.values())
            _pending.clear()
        else:
            found = _pending.pop((str(error.index), type(error).__name__), None)
            said = [] if found is None else [(found[0], error)]
    for authenticator, kept in said:
        authenticator.diagnose(kept)


def _failure_hooks_on() -> None:
    """Hook pip's two failure paths; done at the first send, when pip's modules are all loaded."""
    global _failure_hooks  # noqa: PLW0603 - once per install
    if _failure_hooks:
        return
    _failure_hooks = True
    exceptions = importlib.import_module("pip._internal.exceptions")
    download = importlib.import_module("pip._internal.network.download")
    _patch.instrument(exceptions.DistributionNotFound, "__init__", _not_found)
    for name in ("Downloader", "BatchDownloader"):  # BatchDownloader: pip < 25.1
        if hasattr(download, name):
            _patch.instrument(getattr(download, name), "__call__", _downloading)


def _not_found(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    # pip found no distribution: what an index refused us may be why.
    report_pending()
    return wrapped(*args, **kwargs)


def _downloading(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        return wrapped(*args, **kwargs)
    except Exception as exc:
        error = getattr(getattr(exc, "response", None), "indexauth_error", None)
        if isinstance(error, IndexAuthError):
            report_pending(error)
        raise


def forget() -> None:
    """Drop the per-session authenticators and what they kept back (`uninstall()`)."""
    global _failure_hooks  # noqa: PLW0603
    with _authenticators_lock:
        _authenticators.clear()
    with _pending_lock:
        _pending.clear()
    _failure_hooks = False


def _session_send(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        _failure_hooks_on()
    except Exception as exc:  # noqa: BLE001 - without them pip only misses a late warning
        _indexauth_startup.warn(exc)
    try:
        authenticator = authenticator_for(instance)
    except Exception as exc:  # noqa: BLE001 - a hook must never break the program it runs in
        _indexauth_startup.warn(exc)
        return wrapped(*args, **kwargs)
    token = _current.set(authenticator)
    try:
        return wrapped(*args, **kwargs)
    finally:
        _current.reset(token)


def _adapter_send(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if _patch.passing_through():
        return wrapped(*args, **kwargs)
    authenticator = _current.get() or _patch.global_authenticator()
    return _patch.requests_send(
        authenticator, lambda error, request, response: pip_error(error), wrapped, args, kwargs
    )


def _auth_call(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """pip's `MultiDomainBasicAuth(request)`: no prompt, no keyring, no netrc by host.

    URL userinfo on a request becomes its `Authorization` header (and leaves
    the URL), as pip does; everything else is the flow's job. Userinfo that
    pip copied from one of its index URLs is left to the flow, which has that
    index with those credentials: so a refused one is remembered and not sent
    again, and a lone user part gets pip's own meaning there too.
    """
    request = args[0] if args else kwargs["req"]
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
        if not _index_url_credentials(instance, request.url, creds):
            request.headers["Authorization"] = creds.authorization()
    return request


def _index_url_credentials(auth: Any, url: str, creds: Credentials) -> bool:
    """Whether *creds* are the userinfo of one of pip's index URLs that covers *url*."""
    try:
        parts = split_url(url)
    except UrlError:
        return False
    for index_url in getattr(auth, "index_urls", None) or ():
        try:
            index = Index(index_url)
        except (ConfigurationError, TypeError):
            continue
        url_creds = index._url_credentials  # noqa: SLF001 - the userinfo pip copied
        if url_creds == creds and index.covers(realm_of(parts), parts.path or "/"):
            return True
    return False


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


def pip_indexes(index_urls: list[str], *, from_files: frozenset[str] = frozenset()) -> tuple[Index, ...]:
    """pip's index URLs as indexes (policy, name and username from a same-URL config entry),
    followed by the other globally configured indexes.

    *from_files*: those of *index_urls* only a requirements file named (`Index.file_origin`).
    """
    configured = _patch.settings()
    from_pip: list[Index] = []
    for url in index_urls:
        try:
            parts = split_url(url)
        except UrlError as exc:
            if token_cut_by_slash(url):
                # pip sends this to the host named by the token's start: say why, once.
                _warn_once(f"indexauth: pip's index {redact(url)} is used without indexauth: {exc}")
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
                            password_command=entry.password_command,
                            credential_helper=entry.credential_helper,
                            auth=entry.auth,
                        ),
                        entry.untrusted_origin,
                    )
                )
            elif url in from_files:
                from_pip.append(mark_from_file(Index(url), REQUIREMENTS_FILE))
            else:
                from_pip.append(Index(url))
        except ConfigurationError as exc:
            # A bad -i line must not crash pip: that index goes unauthenticated, said once.
            _warn_once(f"indexauth: pip's index {redact(url)} is used without indexauth: {exc}")
    return tuple(_settings.merge(from_pip, configured))


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
        link=error.link,
    )
