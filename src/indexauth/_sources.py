"""Credential sources and what they share: the target of a lookup and the record of each step.

A source answers one question: "credentials for this index (or realm), for this
username?" It returns `Credentials` (maybe only a username), `None` for "not
here", or raises `SourceFailure` for "this source is broken". New sources go
here or in a module of their own, never into the flow or the drivers.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import ClassVar, Protocol
from urllib.parse import quote

from ._exceptions import Attempt, ConfigurationError, IndexAuthError, ProviderError
from ._models import Credentials, Index, Record, env_name
from ._urls import Realm, is_loopback, service_names, shown_username

__all__ = [
    "EnvSource",
    "GivenSource",
    "IndexUrlSource",
    "NetrcSource",
    "Recorder",
    "Source",
    "SourceFailure",
    "Target",
]

logger = logging.getLogger("indexauth")


class Target(Record):
    """What a lookup is for: a configured index, or just a realm for an unconfigured URL.

    *url* is the request URL that asked for the lookup (a credential helper is
    told it); matching leaves it empty, and the cache key never includes it.
    """

    __slots__ = ("index", "realm", "url")  # the fields, in `__init__` order

    index: Index | None
    realm: Realm
    url: str

    def __init__(self, index: Index | None, realm: Realm, url: str = "") -> None:
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "realm", realm)
        object.__setattr__(self, "url", url)

    def asked_by(self, url: str) -> Target:
        """This target, for a lookup that *url* asked for."""
        return Target(self.index, self.realm, url)

    @property
    def key(self) -> tuple[str, str]:
        """The cache key: the index URL, or the realm."""
        if self.index is not None:
            return ("index", self.index.url)
        return ("realm", str(self.realm))

    @property
    def label(self) -> str:
        """How messages name it."""
        return str(self.index.ref) if self.index is not None else f"realm {self.realm}"

    @property
    def service_names(self) -> tuple[str, ...]:
        """Keyring service names, in the order they are tried."""
        if self.index is not None:
            return service_names(self.index.url)
        return service_names(str(self.realm))


class SourceFailure(Exception):  # noqa: N818 - a signal between sources and the resolver
    """A source is broken; *error_class* is what the user gets if nothing else is found."""

    def __init__(
        self, message: str, *, hint: str = "", error_class: type[IndexAuthError] = ProviderError
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.error_class = error_class


class Recorder:
    """Collects the attempts of one lookup and writes one debug line for each.

    *hidden* is a user part that may be a token (see `Index.lone_user`): every
    step shows it as `****`, whichever source mentions it. So is any other user name
    a source found but was not asked for (*asked*: the index's own), unless it is a
    conventional one (`__token__`, ...): a stored name may be a token that
    `indexauth login https://TOKEN@host/` or `uv auth login` stored as one.
    """

    def __init__(
        self, attempts: list[Attempt] | None = None, hidden: str | None = None, asked: str | None = None
    ) -> None:
        self.attempts: list[Attempt] = [] if attempts is None else attempts
        self.hidden = hidden
        self.asked = asked

    def __call__(self, source: str, where: str, username: str | None, outcome: str) -> None:
        if username is not None and username != self.asked:
            username = shown_username(username, None)
        if self.hidden is not None and username == self.hidden:
            username = "****"
        attempt = Attempt(source, self.mask(where), username, self.mask(outcome))
        self.attempts.append(attempt)
        logger.debug("lookup: %s", attempt)

    def mask(self, text: str) -> str:
        """*text* with the hidden user part replaced by `****`, quoted forms included."""
        hidden = self.hidden
        if not hidden or not text:
            return text
        for form in (hidden, repr(hidden)[1:-1], quote(hidden, safe=""), quote(hidden)):
            text = text.replace(form, "****")
        return text


class Source(Protocol):
    """One place credentials can come from.

    Sources pickle (an `IndexAuthAdapter` pickles with its authenticator): one
    holding a lock or a cache defines `__reduce__` to leave them behind.
    """

    name: str
    # Cheap, local and never prompting or running a process (URL, environment, netrc,
    # indexauth's store): consulted before the first request to a configured index under
    # `auto`. Keyring and commands stay lazy: asked only after a challenge.
    eager: bool

    def find(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        """Credentials for *target* and *username*, `None`, or raise `SourceFailure`."""
        ...


class GivenSource:
    """Credentials handed over by the caller: what you just typed at `indexauth login --check`."""

    name = "given"
    eager = True

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def find(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        record(self.name, "typed at the prompt or on stdin", self._credentials.username, "found")
        return self._credentials


class IndexUrlSource:
    """Userinfo in the configured index URL (`https://user:pass@host/simple/`)."""

    name = "index URL"
    eager = True

    def find(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        index = target.index
        if index is None:
            return None
        creds = index._url_credentials  # noqa: SLF001 - the index hands its userinfo to this source only
        where = index._shown_url  # noqa: SLF001 - shows user:****@ where the URL has userinfo
        if creds is None:
            record(self.name, where, username, "no userinfo")
            return None
        if username is not None and creds.username and creds.username != username:
            record(self.name, where, username, f"userinfo is for username {creds.username!r}")
            return None
        record(self.name, where, creds.username or username, _found(creds))
        return creds


class EnvSource:
    """`INDEXAUTH_INDEX_<NAME>_USERNAME`/`_PASSWORD`, then uv's `UV_INDEX_<NAME>_*`."""

    name = "environment"
    eager = True
    prefixes: ClassVar[tuple[str, ...]] = ("INDEXAUTH_INDEX_", "UV_INDEX_")

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ

    def find(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        index = target.index
        if index is None:
            return None
        if not index.name:
            record(self.name, "", username, "skipped: the index has no name to build variables from")
            return None
        environ = os.environ if self._environ is None else self._environ
        for prefix in self.prefixes:
            base = f"{prefix}{env_name(index.name)}"
            where = f"{base}_USERNAME/_PASSWORD"
            if prefix == "INDEXAUTH_INDEX_" and index.untrusted_origin is not None:
                # A cloned repository may name its own index after yours; your
                # variables go only to the URL you gave that name. (UV_INDEX_<NAME>_*
                # follow the name wherever it is defined, as uv does.)
                record(
                    self.name,
                    where,
                    username,
                    f"skipped: the index is defined by {index.untrusted_origin}, not by you",
                )
                continue
            user = environ.get(f"{base}_USERNAME")
            password = environ.get(f"{base}_PASSWORD")
            if user is None and password is None:
                record(self.name, where, username, "not set")
                continue
            if username is not None and user and user != username:
                record(self.name, where, username, f"set for username {user!r}")
                continue
            try:
                creds = Credentials(user or (username or ""), password)
            except ConfigurationError as exc:
                raise SourceFailure(
                    f"{where}: {exc.summary}", hint=exc.hint, error_class=ConfigurationError
                ) from None
            record(self.name, where, creds.username or None, _found(creds))
            return creds
        return None


_Hosts = dict[str, tuple[str, str | None, str | None]]


class NetrcSource:
    """`$NETRC` or `~/.netrc`, matched by host (the port is ignored, as curl and requests do)."""

    name = "netrc"
    # A local file, read as pip reads it: for a configured index, sent before the first request.
    eager = True

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        # path -> (mtime and size, the hosts read then)
        self._parsed: dict[str, tuple[tuple[int, int], _Hosts]] = {}

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self._path,))

    def path(self) -> Path:
        """The netrc file that is read."""
        if self._path is not None:
            return Path(self._path)
        env = os.environ.get("NETRC")
        if env:
            return Path(env).expanduser()
        home = Path.home()
        if os.name == "nt" and not (home / ".netrc").exists():
            return home / "_netrc"
        return home / ".netrc"

    def find(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        path = self.path()
        host = target.realm.host
        # Configured by you: not a bare URL, not an index a working-directory file
        # or a command line named (see `Index.untrusted_origin`).
        configured = target.index is not None and target.index.untrusted_origin is None
        if not configured and target.realm.scheme != "https" and not is_loopback(host):
            # netrc entries name a host, not a scheme: one meant for https must not
            # go out in clear to a URL nobody configured.
            record(self.name, str(path), username, "skipped: plain http to an unconfigured URL")
            return None
        hosts = self._load(path)
        if hosts is None:
            record(self.name, str(path), username, "no such file")
            return None
        entry = hosts.get(host)
        if entry is None and configured and target.index is not None and target.index.file_origin is None:
            # `default` is for indexes you configured, not for any host that answers 401,
            # nor for an index only a requirements file (a cloned repository's) named.
            entry = hosts.get("default")
        if entry is None:
            origin = target.index.file_origin if target.index is not None else None
            withheld = f"; `default` is not for an index only {origin} named" if origin else ""
            record(self.name, str(path), username, f"no entry for {host}{withheld}")
            return None
        login, _account, password = entry
        if username is not None and login and login != username:
            # The login may be a token (Gemfury's netrc has `login TOKEN`, no password).
            shown = shown_username(login, None)
            record(self.name, str(path), username, f"entry for {host} is for login {shown!r}")
            return None
        try:
            creds = Credentials(login or (username or ""), password if password else None)
        except ConfigurationError as exc:
            raise SourceFailure(f"{path}: {exc.summary}", hint=exc.hint) from None
        record(self.name, str(path), creds.username or None, _found(creds))
        return creds

    def _load(self, path: Path) -> _Hosts | None:
        try:
            st = path.stat()
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._parsed.get(str(path))
            if cached is not None and cached[0] == stamp:
                return cached[1]
        if os.name == "posix" and stat.S_IMODE(st.st_mode) & 0o077:
            raise SourceFailure(
                f"{path} can be read by other users (mode {stat.S_IMODE(st.st_mode):o}); skipped",
                hint=f"run `chmod 600 {path}`",
            )
        import netrc  # noqa: PLC0415 - loaded when there is a file to read, not with the source

        try:
            parsed = netrc.netrc(str(path))
        except netrc.NetrcParseError as exc:
            raise SourceFailure(
                # Not exc.msg: it quotes the offending token, which may be a password.
                f"{path} cannot be parsed (near line {exc.lineno}); skipped",
                hint=f"fix {path}: each entry reads `machine HOST login USER password SECRET`",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceFailure(
                f"{path} cannot be read ({type(exc).__name__}); skipped",
                hint=f"check that {path} is a readable UTF-8 text file",
            ) from None
        hosts = {host.lower(): entry for host, entry in parsed.hosts.items()}
        with self._lock:
            self._parsed[str(path)] = (stamp, hosts)
        return hosts


def _found(creds: Credentials) -> str:
    return "found" if creds.complete else "username only, no password"


SourceFactory = Callable[[], Source]
