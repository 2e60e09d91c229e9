"""indexauth's own credential store: `credentials.toml` in the user data directory.

The file holds `[[credential]]` tables (`service` = the index URL as
`service_key` normalises it, `username`, `password`). It is written only by
`indexauth login`/`logout`, always the same way:

- under an exclusive lock on the sibling `credentials.toml.lock`, so two
  logins at once never lose an entry (each re-reads the file under the lock);
- to a temporary file in the same directory, mode 0600, then `os.replace`,
  so a reader never sees half a file;
- never over a file that cannot be parsed, and never over a file other users
  can read (fix the mode first).

`StoreSource` is the store as a credential source (DESIGN.md position 4).
Reading TOML uses `tomllib` (`tomli` on Python 3.10), loaded on first use;
writing uses the small emitter below, so no dependency is needed to write.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from . import _toml
from ._exceptions import ConfigurationError
from ._models import Credentials, Record
from ._settings import data_dir, store_path
from ._sources import Recorder, SourceFailure, Target
from ._urls import UrlError, realm_of, shown_username, split_url, strip_userinfo

__all__ = [
    "LOCK_TIMEOUT",
    "Store",
    "StoreError",
    "StoreSource",
    "StoredCredential",
    "data_dir",
    "emit_toml",
    "service_key",
]

logger = logging.getLogger("indexauth")

LOCK_TIMEOUT = 10.0  # seconds to wait for another login holding the lock
_HEADER = (
    "# indexauth credentials, written by `indexauth login`. Keep this file private (mode 0600).\n"
)


def service_key(url: str) -> str:
    """*url* as the store (and `indexauth login`) names services: no userinfo, query or
    fragment, lower-case scheme and host, no default port, no lone `/` path.

    >>> service_key("HTTPS://alice@Pkgs.Example.com:443/Simple/")
    'https://pkgs.example.com/Simple/'
    >>> service_key("https://pkgs.example.com/")
    'https://pkgs.example.com'
    """
    text = strip_userinfo(url.strip())
    try:
        parts = split_url(text)
    except UrlError:
        return text
    # A query is never part of a service name (it may hold a token): see `service_names`.
    path = "" if parts.path == "/" else parts.path
    return f"{realm_of(parts)}{path}"


class StoreError(Exception):
    """The store file cannot be read or written; *hint* says how to fix it."""

    def __init__(self, message: str, *, path: Path, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint


class StoredCredential(Record):
    """One `[[credential]]` table; its repr never shows the password."""

    __slots__ = ("service", "username", "password")  # noqa: RUF023 - the fields, in `__init__` order
    _unshown = ("password",)

    service: str
    username: str
    password: str

    def __init__(self, service: str, username: str, password: str) -> None:
        object.__setattr__(self, "service", service)
        object.__setattr__(self, "username", username)
        object.__setattr__(self, "password", password)


# --- TOML ------------------------------------------------------------------

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(value: str) -> str:
    """*value* as a TOML basic string: quotes, backslashes and control characters escaped.

    >>> print(toml_string('a"b\\\\c\\x01é'))
    "a\\"b\\\\c\\u0001é"
    """
    out = ['"']
    for char in value:
        escaped = _ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04X}")
        elif "\ud800" <= char <= "\udfff":
            # TOML strings are Unicode scalar values: a lone surrogate cannot be written.
            raise ValueError("a lone surrogate cannot be stored")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def emit_toml(credentials: list[StoredCredential]) -> str:
    """The whole store file for *credentials*."""
    lines = [_HEADER]
    for cred in credentials:
        lines.append("\n[[credential]]\n")
        lines.append(f"service = {toml_string(cred.service)}\n")
        lines.append(f"username = {toml_string(cred.username)}\n")
        lines.append(f"password = {toml_string(cred.password)}\n")
    return "".join(lines)


def parse_toml(text: str, path: Path) -> list[StoredCredential]:
    """The credentials in *text*, or `StoreError` saying what is wrong (never the values)."""
    try:
        toml = _toml.reader()
    except _toml.NoTomlReader as exc:
        raise StoreError(f"{path} cannot be read: {exc.reason}", path=path, hint=exc.fix) from None
    fix = f"fix {path} by hand, or move it aside and run `indexauth login URL` again"
    try:
        data = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        raise StoreError(f"{path} is not valid TOML ({exc})", path=path, hint=fix) from None
    except RecursionError:
        raise StoreError(f"{path} nests arrays or tables too deeply", path=path, hint=fix) from None
    tables = data.get("credential", [])
    if not isinstance(tables, list):
        raise StoreError(f"{path}: `credential` must be an array of tables", path=path, hint=fix)
    out = []
    for number, table in enumerate(tables, 1):
        if not isinstance(table, dict) or not all(
            isinstance(table.get(key), str) for key in ("service", "username", "password")
        ):
            raise StoreError(
                f"{path}: [[credential]] number {number} needs the strings service, username "
                "and password",
                path=path,
                hint=fix,
            )
        out.append(StoredCredential(table["service"], table["username"], table["password"]))
    return out


# --- the file --------------------------------------------------------------


class Store:
    """The store file at *path* (default: `store_path()`, `credentials.toml` in `data_dir()`,
    read each time)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else None

    @property
    def path(self) -> Path:
        """The store file."""
        return self._path if self._path is not None else store_path()

    def loose_permissions(self) -> str | None:
        """A warning when other users may read the file (POSIX), else `None`."""
        if os.name != "posix":
            return None
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
        except OSError:
            return None
        if mode & 0o077:
            return f"{self.path} can be read by other users (mode {mode:o})"
        return None

    def load(self) -> list[StoredCredential]:
        """Every stored credential; `[]` when there is no file; `StoreError` when it is broken."""
        path = self.path
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(
                f"{path} cannot be read ({exc.strerror or type(exc).__name__})",
                path=path,
                hint=f"check the permissions of {path} and its directory",
            ) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise StoreError(
                f"{path} is not UTF-8 text",
                path=path,
                hint=f"fix {path} by hand, or move it aside and run `indexauth login URL` again",
            ) from None
        return parse_toml(text, path)

    def find(self, service: str, username: str | None = None) -> StoredCredential | None:
        """The entry for *service* (and *username*, if given)."""
        key = service_key(service)
        for cred in self.load():
            if service_key(cred.service) == key and username in (None, cred.username):
                return cred
        return None

    def put(self, service: str, username: str, password: str) -> bool:
        """Store a credential, replacing any for this service and username; `True` if replaced."""
        entry = StoredCredential(service_key(service), username, password)
        with self._locked():
            current = self.load()
            kept = [c for c in current if not _same(c, entry.service, username)]
            self._write([*kept, entry])
        return len(kept) != len(current)

    def remove(self, service: str, username: str | None = None) -> list[StoredCredential]:
        """Remove the entries for *service* (only *username*'s, if given); the removed ones."""
        key = service_key(service)
        # Read first: a file others can read is refused only when there is something to
        # take out of it, so `logout` of an entry that lives elsewhere is not an error.
        if not any(_same(c, key, username) for c in self.load()):
            return []
        with self._locked():
            current = self.load()
            gone = [c for c in current if _same(c, key, username)]
            if gone:
                self._write([c for c in current if c not in gone])
        return gone

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        path = self.path
        loose = self.loose_permissions()
        if loose is not None:
            raise StoreError(
                f"{loose}; refusing to write to it", path=path, hint=f"run `chmod 600 {path}`"
            )
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle = open(str(path) + ".lock", "a+b")  # noqa: SIM115 - held for the block
        except OSError as exc:
            raise StoreError(
                f"cannot create {path.parent} or its lock file ({exc.strerror or exc})",
                path=path,
                hint=f"check that you can write to {path.parent}, or set INDEXAUTH_DATA_DIR",
            ) from None
        with handle:
            _lock(handle, path)
            try:
                _remove_stale_temp_files(path)
                yield
            finally:
                _unlock(handle)

    def _write(self, credentials: list[StoredCredential]) -> None:
        path = self.path
        try:
            text = emit_toml(credentials)
        except ValueError as exc:
            raise StoreError(
                f"cannot store that value: {exc}", path=path, hint="store a valid Unicode string"
            ) from None
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(text.encode("utf-8"))
                out.flush()
                os.fsync(out.fileno())
            if os.name == "posix":
                os.chmod(tmp, 0o600)  # mkstemp already does; the umask never widens it
            os.replace(tmp, path)
        except BaseException as exc:
            # Ctrl-C included: the temporary file holds every secret and nothing else removes it.
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if not isinstance(exc, OSError):
                raise
            raise StoreError(
                f"cannot write {path} ({exc.strerror or exc}); it was left as it was",
                path=path,
                hint=f"check that you can write to {path.parent}",
            ) from None


def _temp_prefix(path: Path) -> str:
    return f".{path.stem}-"  # `.credentials-` for the default file


def _remove_stale_temp_files(path: Path) -> None:
    # Called holding the lock, and every writer writes only while holding it, so a
    # temporary file that exists now is from a process that died mid-write (SIGKILL,
    # power loss): it holds a copy of the secrets, mode 0600, that nothing else removes.
    prefix = _temp_prefix(path)
    with contextlib.suppress(OSError):
        for stale in path.parent.iterdir():
            if stale.name.startswith(prefix) and stale.name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    stale.unlink()


def _same(cred: StoredCredential, key: str, username: str | None) -> bool:
    return service_key(cred.service) == key and username in (None, cred.username)


def _lock(handle: IO[bytes], path: Path) -> None:
    deadline = time.monotonic() + LOCK_TIMEOUT
    while True:
        try:
            if os.name == "nt":  # pragma: no cover - Windows only
                import msvcrt  # noqa: PLC0415

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            else:
                import fcntl  # noqa: PLC0415

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            if time.monotonic() > deadline:
                raise StoreError(
                    f"{path}.lock is held by another process for more than {LOCK_TIMEOUT:g} s",
                    path=path,
                    hint="wait for the other `indexauth login` to finish; if none is running, "
                    f"delete {path}.lock",
                ) from None
            time.sleep(0.02)
        else:
            return


def _unlock(handle: IO[bytes]) -> None:
    if os.name == "nt":  # pragma: no cover - Windows only
        import msvcrt  # noqa: PLC0415

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
    else:
        import fcntl  # noqa: PLC0415

        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# --- the source --------------------------------------------------------------


class StoreSource:
    """The store in the lookup chain: entries whose service is one of the target's names."""

    name = "indexauth store"
    eager = True  # a local file: sent up front to a configured index, as netrc

    def __init__(self, store: Store | None = None) -> None:
        self.store = store if store is not None else Store()
        self._warned: set[str] = set()
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.store,))

    def find(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        path = self.store.path
        try:
            entries = self.store.load()
        except StoreError as exc:
            record(self.name, str(path), username, "failed: the file cannot be read")
            raise SourceFailure(f"{exc.message}; skipped", hint=exc.hint) from None
        if not entries and not path.exists():
            record(self.name, str(path), username, "no such file")
            return None
        self._warn_loose()
        for service in target.service_names:
            if "://" not in service:
                continue  # the store holds URLs only; `indexauth login` takes nothing else
            key = service_key(service)
            where = f"{path} service {service!r}"
            mine = [e for e in entries if service_key(e.service) == key]
            match = next((e for e in mine if username in (None, e.username)), None)
            if match is None:
                outcome = "not found"
                if mine:
                    # A stored name may be a token that `login https://TOKEN@host/` stored.
                    names = ", ".join(repr(shown_username(e.username, None)) for e in mine)
                    outcome = f"stored only for username {names}"
                record(self.name, where, username, outcome)
                continue
            try:
                creds = Credentials(match.username, match.password)
            except ConfigurationError as exc:
                raise SourceFailure(f"{where}: {exc.summary}", hint=exc.hint) from None
            record(self.name, where, creds.username, "found")
            return creds
        return None

    def _warn_loose(self) -> None:
        loose = self.store.loose_permissions()
        if loose is None:
            return
        with self._lock:
            if loose in self._warned:
                return
            self._warned.add(loose)
        logger.warning(
            "indexauth: %s; run `chmod 600 %s` (indexauth will not write to it until then)",
            loose,
            self.store.path,
        )
