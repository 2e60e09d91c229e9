"""indexauth as a read-only keyring backend, so tools that ask keyring find indexauth's credentials.

twine, uv (`--keyring-provider subprocess`, through the `keyring` command) and
pip (`--keyring-provider import` or `subprocess`) ask keyring before or after a
401. With `INDEXAUTH=1`, keyring's `keyring.backends` entry point
(`_indexauth_gate:keyring_backends`) defines this backend; with the variable
unset or off it defines nothing and imports no more than that small gate module,
so keyring sees exactly the backends it saw before.

- It answers `get_credential` and `get_password` from indexauth's own chain:
  the index URL, the environment, indexauth's store, uv's store, netrc, and
  the password commands and credential helpers configured for the index. Never
  from keyring itself: its chain has no keyring source.
- Its priority (0.01) is below every real backend, so keyring's chainer asks
  the real backends first and `keyring set` keeps writing where it wrote.
  Writes that reach it fail, naming `indexauth login`.
- Re-entry answers nothing: a lookup already running in this context (this
  backend's own, or indexauth's keyring source, whose chain has already asked
  the same sources), and programs that indexauth starts (they run with
  `INDEXAUTH=0`, so a `keyring` command among them has no indexauth backend).
"""

from __future__ import annotations

import contextvars
import functools
from typing import TYPE_CHECKING

from jaraco.classes import properties
from keyring.backend import KeyringBackend
from keyring.credentials import SimpleCredential
from keyring.errors import PasswordDeleteError, PasswordSetError

from _indexauth_startup import enabled

if TYPE_CHECKING:
    from ._models import Credentials, Index
    from ._resolver import Resolver
    from ._sources import Target

__all__ = ["PRIORITY", "IndexAuthKeyring", "is_indexauth_backend", "lookup"]

PRIORITY = 0.01  # above keyring's fail (0) and null (-1) backends, below every real one

_running: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "indexauth_keyring_backend_running", default=False
)


class IndexAuthKeyring(KeyringBackend):
    """Credentials from indexauth's chain (store, uv's store, env, netrc, programs); read-only."""

    @properties.classproperty
    def priority(cls) -> float:  # noqa: N805 - a class property
        """Below every real backend; not viable at all unless `INDEXAUTH` is on."""
        if not enabled():
            raise RuntimeError("indexauth's keyring backend is active only while INDEXAUTH=1")
        return PRIORITY

    def get_password(self, service: str, username: str) -> str | None:
        """The password indexauth has for *service* and *username*, else `None`."""
        creds = lookup(service, username)
        if creds is None or (creds.username and creds.username != username):
            return None
        return creds.password

    def get_credential(self, service: str, username: str | None) -> SimpleCredential | None:
        """Username and password indexauth has for *service* (and *username*), else `None`."""
        creds = lookup(service, username)
        if creds is None or creds.password is None:
            return None
        return SimpleCredential(creds.username, creds.password)

    def set_password(self, service: str, username: str, password: str) -> None:
        """Refused: indexauth's store is written by `indexauth login`."""
        raise PasswordSetError(
            "indexauth's keyring backend (INDEXAUTH=1) is read-only and no other keyring backend "
            f"took the password; store it with `indexauth login {service} --username {username}`, "
            "or configure a keyring backend that can store it (`keyring --list-backends`)"
        )

    def delete_password(self, service: str, username: str) -> None:
        """Refused: `indexauth logout` removes what `indexauth login` stored."""
        raise PasswordDeleteError(
            f"indexauth's keyring backend (INDEXAUTH=1) is read-only; run `indexauth logout "
            f"{service} --username {username}` to remove credentials indexauth stored"
        )


def is_indexauth_backend(backend: object) -> bool:
    """Whether *backend* is this read-only backend (it cannot store anything)."""
    return type(backend).__name__ == "IndexAuthKeyring" and type(backend).__module__ == __name__


def lookup(service: str, username: str | None) -> Credentials | None:
    """Complete Basic credentials from indexauth's chain for a keyring *service* name, or `None`."""
    from ._keyring import in_keyring_source  # noqa: PLC0415

    if not enabled() or _running.get() or in_keyring_source():
        return None
    token = _running.set(True)
    try:
        for target in _targets(service, username):
            result = _resolver().lookup(target)
            creds = result.credentials
            if result.complete and creds is not None and not creds.is_bearer:
                return creds  # keyring has no place for a bearer token
        return None
    finally:
        _running.reset(token)


@functools.lru_cache(maxsize=256)
def _targets(service: str, username: str | None) -> tuple[Target, ...]:
    """The lookups a service name stands for: a URL is an index (configured, logged in to, or
    at that URL); a bare `host[:port]` is its https realm, and its http one on loopback only.
    Remembered per process, as the chain remembers its lookups."""
    from ._credential_helper import index_for  # noqa: PLC0415
    from ._flow import Authenticator  # noqa: PLC0415
    from ._resolver import Resolver  # noqa: PLC0415
    from ._urls import UrlError, is_loopback, realm_of, split_url  # noqa: PLC0415

    text = service.strip()
    if "://" in text:
        urls = [text]
    else:
        urls = [f"https://{text}/"]
        try:
            if is_loopback(realm_of(urls[0]).host):
                urls.append(f"http://{text}/")
        except UrlError:
            return ()
    targets = []
    for url in urls:
        try:
            split_url(url)
            index = index_for(url, _known())
        except (UrlError, ValueError):
            continue
        if username is not None:
            index = index.replace(username=username)
        if index.authenticate == "never":
            continue
        target = Authenticator([index], Resolver(())).match(url)
        if target is not None and target.index is not None:
            targets.append(target)
    return tuple(targets)


@functools.cache
def _known() -> tuple[Index, ...]:
    """The configured indexes, read once per process."""
    from ._credential_helper import configured  # noqa: PLC0415

    return configured()


@functools.cache
def _resolver() -> Resolver:
    """One chain per process, without keyring: lookups and misses are remembered."""
    from ._config import build_authenticator  # noqa: PLC0415

    return build_authenticator((), keyring_provider="disabled").resolver
