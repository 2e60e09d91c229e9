"""uv's plaintext credential store (`uv auth login`) as a read-only credential source.

The file is `credentials.toml` in `$UV_CREDENTIALS_DIR`, else
`$XDG_DATA_HOME/uv/credentials/` (an absolute `XDG_DATA_HOME` only), else
`~/.local/share/uv/credentials/`, as uv finds it (uv: crates/uv-auth/src/store.rs).
It holds `[[credential]]` tables: `service` (a URL; a bare host means https),
`scheme` (`basic`, the default, with `username` and `password`; or `bearer`
with `token`).

indexauth never writes it, nor its lock file. While uv writes the file it holds
an exclusive lock on `credentials.toml.lock` (uv does not write atomically), so
a read takes a shared lock on that file first, when it exists.

Matching is uv's: entries in the same realm whose service path is a prefix of
the index URL's path in whole segments; the longest one wins; a username, when
known, must be the entry's. Two equally long entries for different usernames
are ambiguous and count as not found, as in uv. A file that cannot be read is
one warning naming it, and the chain goes on.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from . import _toml
from ._models import Credentials
from ._sources import Recorder, Target
from ._urls import Realm, UrlError, is_path_prefix, realm_of, redact, shown_username, split_url

__all__ = ["UvEntry", "UvStoreError", "UvStoreSource", "read_uv_store", "uv_credentials_path"]

logger = logging.getLogger("indexauth")

FILE_NAME = "credentials.toml"
LOCK_TIMEOUT = 5.0  # seconds to wait while `uv auth login` holds the lock


def uv_credentials_path() -> Path:
    """The `credentials.toml` that `uv auth login` writes (it need not exist)."""
    override = os.environ.get("UV_CREDENTIALS_DIR")
    if override:
        return Path(override).expanduser() / FILE_NAME
    if os.name == "nt":  # pragma: no cover - Windows only: uv's user state directory
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / "uv" / "data" / "credentials" / FILE_NAME
    xdg = os.environ.get("XDG_DATA_HOME")
    base_dir = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base_dir / "uv" / "credentials" / FILE_NAME


class UvStoreError(Exception):
    """uv's credentials file cannot be used; the message names it and never a value.

    *hint* is the fix when it is not the file's content (for that: `uv auth login`).
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class UvEntry:
    """One `[[credential]]` table of uv's store; its repr never shows the secret."""

    service: str
    realm: Realm
    path: str  # the service URL's path, without a trailing `/`
    username: str | None  # None for a bearer token
    secret: str | None = field(repr=False)
    bearer: bool = False

    def credentials(self) -> Credentials:
        """The entry as credentials to send."""
        if self.bearer:
            return Credentials.bearer(self.secret or "")
        return Credentials(self.username or "", self.secret)


def read_uv_store(path: Path, *, lock_timeout: float = LOCK_TIMEOUT) -> list[UvEntry] | None:
    """The entries of uv's store at *path*; `None` when there is no file; `UvStoreError` when
    it cannot be read, parsed or locked."""
    with _shared_lock(Path(str(path) + ".lock"), path, lock_timeout):
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UvStoreError(
                f"{path} cannot be read ({exc.strerror or type(exc).__name__})"
            ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UvStoreError(f"{path} is not UTF-8 text") from None
    return _parse(text, path)


def _parse(text: str, path: Path) -> list[UvEntry]:
    try:
        toml = _toml.reader()
    except _toml.NoTomlReader as exc:
        raise UvStoreError(f"{path} cannot be read: {exc.reason}", hint=exc.fix) from None
    try:
        data = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        # The decoder's message names a line and column, never the text found there.
        raise UvStoreError(f"{path} is not valid TOML ({exc})") from None
    except RecursionError:
        raise UvStoreError(f"{path} nests arrays or tables too deeply") from None
    tables = data.get("credential", [])
    if not isinstance(tables, list):
        raise UvStoreError(f"{path}: `credential` must be an array of tables")
    return [_entry(table, number, path) for number, table in enumerate(tables, 1)]


def _entry(table: object, number: int, path: Path) -> UvEntry:
    def bad(why: str) -> UvStoreError:
        return UvStoreError(f"{path}: [[credential]] number {number} {why}")

    if not isinstance(table, dict):
        raise bad("is not a table")
    service = table.get("service")
    if not isinstance(service, str) or not service:
        raise bad("needs a `service` URL")
    text = service if "://" in service else f"https://{service}"  # uv: a bare host is https
    try:
        parts = split_url(text)
        realm = realm_of(parts)
    except UrlError:
        raise bad("has a `service` that is not an http(s) URL") from None
    for key in ("username", "password", "token"):
        if key in table and not isinstance(table[key], str):
            raise bad(f"has a `{key}` that is not a string")
    scheme = table.get("scheme", "basic")
    where = parts.path.rstrip("/")
    if scheme == "basic":
        if not table.get("username"):
            raise bad("needs a `username` (scheme = basic)")
        if "token" in table:
            raise bad("has a `token`, which scheme = basic does not take")
        return UvEntry(service, realm, where, table["username"], table.get("password"))
    if scheme == "bearer":
        if "username" in table or "password" in table or "token" not in table:
            raise bad("needs a `token` and no username or password (scheme = bearer)")
        return UvEntry(service, realm, where, None, table["token"], bearer=True)
    raise bad("has a `scheme` other than basic or bearer")


class _Unlocked:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class _SharedLock:
    """A shared `flock` on uv's lock file, opened read-only: indexauth never creates it."""

    def __init__(self, handle: IO[bytes], lock: Path, store: Path, timeout: float) -> None:
        self._handle = handle
        self._lock = lock
        self._store = store
        self._timeout = timeout

    def __enter__(self) -> None:
        import fcntl  # noqa: PLC0415 - POSIX only

        deadline = time.monotonic() + self._timeout
        while True:
            try:
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                if time.monotonic() > deadline:
                    self._handle.close()
                    raise UvStoreError(
                        f"{self._store} is locked by another process ({self._lock} held for "
                        f"more than {self._timeout:g} s; a `uv auth login` still running?)"
                    ) from None
                time.sleep(0.02)
            else:
                return

    def __exit__(self, *exc: object) -> None:
        self._handle.close()  # closing the descriptor releases the lock


def _shared_lock(lock: Path, store: Path, timeout: float) -> _SharedLock | _Unlocked:
    if os.name != "posix":  # pragma: no cover - uv's Windows lock is not advisory
        return _Unlocked()
    try:
        handle = open(lock, "rb")  # noqa: SIM115 - closed by _SharedLock.__exit__
    except OSError:
        return _Unlocked()  # no lock file: no uv has written here, or it cannot be opened
    return _SharedLock(handle, lock, store, timeout)


class UvStoreSource:
    """uv's store in the lookup chain, right after indexauth's own store."""

    name = "uv store"
    # A local file like netrc and indexauth's store (which it follows): sent up front to a
    # configured index, so the order of the chain holds before the first request too.
    eager = True

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, lock_timeout: float = LOCK_TIMEOUT
    ) -> None:
        self._path = Path(path) if path is not None else None
        self.lock_timeout = lock_timeout
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[object, ...]:
        # An IndexAuthAdapter pickles with its sources: the lock and warnings stay behind.
        return (functools.partial(type(self), self._path, lock_timeout=self.lock_timeout), ())

    @property
    def path(self) -> Path:
        """The file read: the one given, else where uv keeps it now."""
        return self._path if self._path is not None else uv_credentials_path()

    def find(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        path = self.path
        try:
            entries = read_uv_store(path, lock_timeout=self.lock_timeout)
        except UvStoreError as exc:
            record(self.name, str(path), username, "failed: the file cannot be used; skipped")
            fix = exc.hint or "indexauth only reads it: fix it with `uv auth login`"
            self._warn_once(f"{exc}; skipped ({fix})")
            return None
        if entries is None:
            record(self.name, str(path), username, "no such file")
            return None
        url = target.index.url if target.index is not None else f"{target.realm}/"
        found = best_match(entries, url, username)
        if isinstance(found, str):
            record(self.name, str(path), username, found)
            return None
        creds = found.credentials()
        shown = f"{path} service {redact(found.service)!r}"  # a hand-edited service may hold userinfo
        record(self.name, shown, found.username or username, "found")
        return creds

    def _warn_once(self, message: str) -> None:
        with self._lock:
            if message in self._warned:
                return
            self._warned.add(message)
        logger.warning("indexauth: uv store: %s", message)


def best_match(entries: list[UvEntry], url: str, username: str | None) -> UvEntry | str:
    """uv's choice for *url*: same realm, the longest whole-segment path prefix, the
    username if one is known; or a string saying why there is none."""
    parts = split_url(url)
    realm = realm_of(parts)
    candidates = [
        e
        for e in entries
        if e.realm == realm
        and is_path_prefix(e.path, parts.path)
        and (username is None or e.username == username)
    ]
    if not candidates:
        in_realm = [e for e in entries if e.realm == realm]
        if in_realm and username is not None:
            # A stored name may be a pasted token (`uv auth login https://TOKEN@host/`).
            stored = {e.username for e in in_realm if e.username}
            users = sorted(repr(shown_username(name, None)) for name in stored)
            return f"no entry for {realm} for username {username!r}" + (
                f" (stored for {', '.join(users)})" if users else ""
            )
        return f"no entry for {redact(url.split('?', 1)[0])}"
    longest = max(len(e.path) for e in candidates)
    best = [e for e in candidates if len(e.path) == longest]
    if len({e.username for e in best}) > 1:
        shown = (repr(shown_username(u, None)) if u else "a bearer token" for u in {e.username for e in best})
        names = ", ".join(sorted(shown))
        return (
            f"several entries for {redact(best[0].service)!r} ({names}) and no username to choose; "
            "give the index a username"
        )
    return best[0]
