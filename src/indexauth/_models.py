"""Values: `Credentials`, `Index` and the `authenticate` policy."""

from __future__ import annotations

import base64
import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple, get_args
from urllib.parse import unquote

from ._exceptions import ConfigurationError
from ._urls import (
    Realm,
    UrlError,
    is_path_prefix,
    realm_of,
    redact,
    root_path,
    shown_username,
    split_url,
    strip_userinfo,
    username_may_be_token,
)

__all__ = [
    "AuthScheme",
    "Credentials",
    "Index",
    "IndexRef",
    "Policy",
    "ProgramRun",
    "Record",
    "env_name",
    "format_rfc3339",
    "mark_from_file",
    "mark_untrusted",
    "parse_argv",
]

Policy = Literal["auto", "always", "never"]
POLICIES: tuple[str, ...] = get_args(Policy)
AuthScheme = Literal["basic", "bearer"]
AUTH_SCHEMES: tuple[str, ...] = get_args(AuthScheme)
# An HTTP header name (RFC 9110 token) and a value with no line break or NUL: only a
# credential helper's headers are checked, so these are compiled when one answers.
_HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
_HEADER_VALUE_BAD = r"[\r\n\x00]"

# uv's rule for index names (uv: crates/uv-distribution-types/src/index_name.rs): one or
# more of these characters. A set, not a regex: compiling one costs more than the checks.
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


class Record:
    """A small immutable value whose fields are its `__slots__`, in its `__init__` order.

    What `@dataclass(frozen=True)` gives (equality with its own class, a hash,
    a repr, no assignment, pickling), for values made on a program's first
    request: a dataclass generates its methods when its module is imported,
    about 0.3 ms each, and loads `dataclasses`. Subclasses set their fields
    with `object.__setattr__`; fields named in `_unshown` stay out of the repr.
    """

    __slots__: tuple[str, ...] = ()
    _unshown: tuple[str, ...] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = (f"{n}={getattr(self, n)!r}" for n in self.__slots__ if n not in self._unshown)
        return f"{type(self).__qualname__}({', '.join(shown)})"

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), self._values())


def env_name(name: str) -> str:
    """The `<NAME>` of `INDEXAUTH_INDEX_<NAME>_PASSWORD` for index *name*.

    >>> env_name("internal-proxy.v2")
    'INTERNAL_PROXY_V2'
    """
    return "".join(c.upper() if c.isascii() and c.isalnum() else "_" for c in name)


class ProgramRun(NamedTuple):
    """One run of a password command or credential helper: what ran, how long, until when.

    *program* is the first word of the command line only: the rest may hold a
    secret. Times are seconds since the epoch; *run* counts the runs for that
    index in this process, so a value above 1 means the result was refreshed.
    """

    kind: str  # "password command" or "credential helper"
    program: str
    seconds: float
    issued: float
    expires: float | None
    run: int = 1

    @property
    def refreshed(self) -> bool:
        """Whether an earlier result for the same index was replaced by this one."""
        return self.run > 1

    def describe(self) -> str:
        """`ran in 0.41 s, expires 2026-11-30T12:00:00Z`, for messages."""
        text = f"ran in {self.seconds:.2f} s"
        if self.expires is not None:
            text += f", expires {format_rfc3339(self.expires)}"
        if self.refreshed:
            text += f", refreshed (run {self.run})"
        return text


def format_rfc3339(timestamp: float) -> str:
    """*timestamp* (seconds since the epoch) as RFC 3339 in UTC, to the second.

    >>> format_rfc3339(0)
    '1970-01-01T00:00:00Z'
    """
    moment = datetime.datetime.fromtimestamp(int(timestamp), tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class Credentials:
    """A username and password (or a bearer token) whose repr never shows the secret.

    >>> Credentials("__token__", "glpat-x")
    Credentials(username='__token__', password='****')

    A username without a password, or with an empty one, may be a token, so
    the repr masks it too:

    >>> Credentials("glpat-x", "")
    Credentials(username='****', password='****')
    """

    __slots__ = ("_header", "_headers", "_password", "_run", "_sent", "_token", "username")

    username: str
    _password: str | None
    _token: str | None
    _header: str | None
    _headers: tuple[tuple[str, str], ...]
    _run: ProgramRun | None
    _sent: tuple[tuple[str, str], ...] | None  # what `headers()` gives, made once

    def __init__(self, username: str, password: str | None) -> None:
        _refuse_line_breaks(username, "username")
        if password is not None:
            _refuse_line_breaks(password, "password")
        object.__setattr__(self, "username", username)
        object.__setattr__(self, "_password", password)
        object.__setattr__(self, "_token", None)
        object.__setattr__(self, "_header", None)
        object.__setattr__(self, "_headers", ())
        object.__setattr__(self, "_run", None)
        object.__setattr__(self, "_sent", None)

    @classmethod
    def bearer(cls, token: str) -> Credentials:
        """Credentials sent as `Authorization: Bearer <token>`."""
        _refuse_line_breaks(token, "token")
        creds = cls("", None)
        object.__setattr__(creds, "_token", token)
        object.__setattr__(creds, "_header", None)
        return creds

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Credentials:
        """Credentials that are whole headers, sent as given (what a credential helper returns).

        Every one of them is a secret, like `Authorization`; names are checked
        as HTTP header names and values may not hold a line break.
        """
        pairs: list[tuple[str, str]] = []
        for name, value in headers.items():
            if not isinstance(name, str) or not re.fullmatch(_HEADER_NAME, name):
                raise ConfigurationError(f"{name!r} is not a valid HTTP header name")
            if not isinstance(value, str) or re.search(_HEADER_VALUE_BAD, value):
                raise ConfigurationError(
                    f"the value of header {name!r} is not a single line of text",
                    hint="a header value may not contain a line break (CR or LF) or NUL",
                )
            pairs.append((name, value))
        if not pairs:
            raise ConfigurationError("credentials made of headers need at least one header")
        creds = cls("", None)
        object.__setattr__(creds, "_headers", tuple(pairs))
        return creds

    def made_by(self, run: ProgramRun) -> Credentials:
        """A copy that says which program run made it, and until when it is good."""
        copy = Credentials.__new__(Credentials)
        for slot in Credentials.__slots__:
            object.__setattr__(copy, slot, getattr(self, slot))
        object.__setattr__(copy, "_run", run)
        return copy

    def as_bearer(self) -> Credentials:
        """The same secret sent as `Authorization: Bearer <password>` (for `auth="bearer"`)."""
        if self._token is not None or self._headers or self._password is None:
            return self
        copy = Credentials.bearer(self._password)
        object.__setattr__(copy, "_run", self._run)
        return copy

    @property
    def run(self) -> ProgramRun | None:
        """The password command or credential helper run that made these, or `None`."""
        return self._run

    @property
    def expires(self) -> float | None:
        """When these stop working (seconds since the epoch), if the program that made them said."""
        return self._run.expires if self._run is not None else None

    @property
    def refreshable(self) -> bool:
        """Whether running the program again may give other credentials (commands, helpers)."""
        return self._run is not None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Credentials are immutable")

    @property
    def password(self) -> str | None:
        """The password, or `None` when only a username (or only headers) is known."""
        return self._password if self._token is None else self._token

    @property
    def complete(self) -> bool:
        """Whether these can be sent: a password (even empty), a token or headers."""
        return self._password is not None or self._token is not None or bool(self._headers)

    @property
    def from_helper(self) -> bool:
        """Whether these are whole headers from a credential helper."""
        return bool(self._headers)

    @property
    def header_names(self) -> tuple[str, ...]:
        """The names of the headers these are sent as (never their values)."""
        if self._headers:
            return tuple(name for name, _value in self._headers)
        return ("Authorization",)

    def headers(self) -> tuple[tuple[str, str], ...]:
        """Every header to set on a request: `Authorization`, or a helper's headers as given."""
        if self._headers:
            return self._headers
        sent = self._sent
        if sent is None:  # made once: sent on every request
            sent = (("Authorization", self.authorization()),)
            object.__setattr__(self, "_sent", sent)
        return sent

    @property
    def may_be_token(self) -> bool:
        """Whether the username may itself be a token (no password, or an empty one)."""
        return self._token is None and username_may_be_token(self.username, self._password)

    @property
    def is_bearer(self) -> bool:
        """Whether these are a bearer token rather than a username and password."""
        return self._token is not None

    def authorization(self) -> str:
        """The `Authorization` header value; Basic is UTF-8 encoded."""
        header: str | None = self._header
        if header is None and self._headers:
            found = [v for n, v in self._headers if n.lower() == "authorization"]
            header = found[0] if found else ""
            object.__setattr__(self, "_header", header)
        if header is None:
            if self._token is not None:
                header = f"Bearer {self._token}"
            else:
                pair = f"{self.username}:{self._password or ''}".encode()
                header = "Basic " + base64.b64encode(pair).decode("ascii")
            object.__setattr__(self, "_header", header)  # made once: sent on every request
        return header

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self.username, self._password, self._token, self._headers) == (
            other.username,
            other._password,
            other._token,
            other._headers,
        )

    def __hash__(self) -> int:
        return hash((self.username, self._password, self._token, self._headers))

    def __repr__(self) -> str:
        if self._headers:
            shown = ", ".join(f"{name!r}: '****'" for name, _value in self._headers)
            return f"Credentials.from_headers({{{shown}}})"
        if self._token is not None:
            return "Credentials.bearer('****')"
        shown = "None" if self._password is None else "'****'"
        user = shown_username(self.username, self._password)
        return f"Credentials(username={user!r}, password={shown})"

    def __reduce__(self) -> tuple[object, ...]:
        # Credentials are process-local on purpose: pickling would copy the secret.
        raise TypeError("Credentials cannot be pickled")


def _refuse_line_breaks(value: str, what: str) -> None:
    if not isinstance(value, str):
        raise ConfigurationError(f"a {what} must be a string, not {type(value).__name__}")
    if "\r" in value or "\n" in value:
        raise ConfigurationError(
            f"a {what} contains a line break (CR or LF), which would split the HTTP header",
            hint=f"remove the line break from the stored {what}; a trailing newline often "
            "comes from `echo` or a file saved by an editor",
        )


class IndexRef(NamedTuple):
    """Which index an error is about: its name (or `None`) and its redacted URL."""

    name: str | None
    url: str

    def __str__(self) -> str:
        return f"index {self.name!r} ({self.url})" if self.name else f"index {self.url}"


class Index:
    """A package index you configure: its URL, optional name, policy and username.

    *authenticate* is `"auto"` (send anonymously, authenticate on a challenge),
    `"always"` (never send an anonymous request) or `"never"` (strip
    credentials, never look any up). Userinfo in *url* is used as credentials
    and never printed. A user part without a password (or with an empty one)
    may be a token: `username` is `None` then, unless it is a conventional
    name such as `__token__`, and the flow looks up a password for it, or
    sends it as a token with an empty password, as pip does.

    *password_command* is a program (a list of words, or one string split as a
    shell splits it) whose trimmed output is the password; *credential_helper*
    is a program speaking Bazel's credential-helper protocol. Either is run
    without a shell when credentials are needed, and again when they expire or
    are refused. *auth* `"bearer"` sends the secret the chain finds as
    `Authorization: Bearer <secret>` instead of Basic.

    >>> Index("https://pkgs.example.com/simple/", name="internal")
    Index('https://pkgs.example.com/simple/', name='internal', authenticate='auto')
    """

    __slots__ = (
        "_from_file",
        "_shown_url",
        "_untrusted",
        "_url_credentials",
        "auth",
        "authenticate",
        "credential_helper",
        "name",
        "password_command",
        "realm",
        "root",
        "url",
        "username",
    )

    url: str
    name: str | None
    authenticate: Policy
    username: str | None
    password_command: tuple[str, ...] | None
    credential_helper: tuple[str, ...] | None
    auth: AuthScheme
    realm: Realm
    root: str
    _url_credentials: Credentials | None
    _shown_url: str
    _untrusted: str | None
    _from_file: str | None

    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        authenticate: Policy | str = "auto",
        username: str | None = None,
        password_command: Sequence[str] | str | None = None,
        credential_helper: Sequence[str] | str | None = None,
        auth: AuthScheme | str = "basic",
    ) -> None:
        try:
            parts = split_url(url)
        except UrlError as exc:
            raise ConfigurationError(
                f"invalid index URL: {exc}",
                hint="give the index URL in full, for example https://pkgs.example.com/simple/",
            ) from None
        if name is not None and (not isinstance(name, str) or not name or not _NAME_CHARS.issuperset(name)):
            raise ConfigurationError(
                f"invalid index name {name!r}: names may only contain ASCII letters, digits, "
                "hyphens, underscores and periods",
                hint="use a name like 'internal' or 'gitlab-ci'",
            )
        if authenticate not in POLICIES:
            raise ConfigurationError(
                f"invalid authenticate policy {authenticate!r} for index {redact(url)}",
                hint="use one of 'auto', 'always' or 'never'",
            )
        if username is not None:
            _refuse_line_breaks(username, "username")
        command = parse_argv(password_command, "password_command")
        helper = parse_argv(credential_helper, "credential_helper")
        if command is not None and helper is not None:
            raise ConfigurationError(
                f"index {redact(url)} has both a password command and a credential helper",
                hint="keep one: password_command gives a password, credential_helper whole headers",
            )
        set_ = object.__setattr__
        set_(self, "password_command", command)
        set_(self, "credential_helper", helper)
        set_(self, "auth", _check_auth(auth, url))
        set_(self, "url", strip_userinfo(url.strip()))
        set_(self, "_shown_url", redact(url.strip()))
        set_(self, "name", name)
        set_(self, "authenticate", authenticate)
        set_(self, "realm", realm_of(parts))
        set_(self, "root", root_path(parts.path))
        url_user = unquote(parts.username) if parts.username is not None else None
        url_password = unquote(parts.password) if parts.password is not None else None
        creds = None
        if url_password is not None or url_user:
            creds = Credentials(url_user or "", url_password)
        set_(self, "_url_credentials", creds)
        if username is None and url_user and creds is not None and not creds.may_be_token:
            username = url_user
        set_(self, "username", username)
        set_(self, "_untrusted", None)
        set_(self, "_from_file", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Index is immutable")

    def replace(
        self,
        *,
        authenticate: Policy | str | None = None,
        username: str | None = None,
        password_command: Sequence[str] | str | None = None,
        credential_helper: Sequence[str] | str | None = None,
        auth: AuthScheme | str | None = None,
    ) -> Index:
        """A copy with another policy, username, program or scheme; URL credentials come along.

        A new *password_command* replaces a credential helper and the other way round.
        """
        copy = Index.__new__(Index)
        for slot in Index.__slots__:
            object.__setattr__(copy, slot, getattr(self, slot))
        command = parse_argv(password_command, "password_command")
        helper = parse_argv(credential_helper, "credential_helper")
        if command is not None and helper is not None:
            raise ConfigurationError(
                f"index {self.ref.url} has both a password command and a credential helper",
                hint="keep one: password_command gives a password, credential_helper whole headers",
            )
        if command is not None or helper is not None:
            object.__setattr__(copy, "password_command", command)
            object.__setattr__(copy, "credential_helper", helper)
        if auth is not None:
            object.__setattr__(copy, "auth", _check_auth(auth, self.url))
        if authenticate is not None:
            if authenticate not in POLICIES:
                raise ConfigurationError(
                    f"invalid authenticate policy {authenticate!r} for index {self.ref.url}",
                    hint="use one of 'auto', 'always' or 'never'",
                )
            object.__setattr__(copy, "authenticate", authenticate)
        if username is not None:
            _refuse_line_breaks(username, "username")
            object.__setattr__(copy, "username", username)
        return copy

    @property
    def program(self) -> tuple[str, tuple[str, ...]] | None:
        """`("password command", argv)` or `("credential helper", argv)`, if either is set."""
        if self.password_command is not None:
            return ("password command", self.password_command)
        if self.credential_helper is not None:
            return ("credential helper", self.credential_helper)
        return None

    @property
    def ref(self) -> IndexRef:
        """The index as errors show it."""
        return IndexRef(self.name, redact(self.url))

    def covers(self, realm: Realm, path: str) -> bool:
        """Whether a request to *realm* and *path* belongs to this index."""
        return realm == self.realm and is_path_prefix(self.root, path)

    def __repr__(self) -> str:
        extra = f", name={self.name!r}" if self.name else ""
        if self.username:
            extra += f", username={self.username!r}"
        program = self.program
        if program is not None:
            # Only the first word: the rest of a command line may hold a secret.
            extra += f", {program[0].replace(' ', '_')}=[{program[1][0]!r}, ...]"
        if self.auth != "basic":
            extra += f", auth={self.auth!r}"
        return f"Index({redact(self.url)!r}{extra}, authenticate={self.authenticate!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Index):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[object, ...]:
        return (
            self.url,
            self.name,
            self.authenticate,
            self.username,
            self._url_credentials,
            self.password_command,
            self.credential_helper,
            self.auth,
        )

    @property
    def lone_user(self) -> bool:
        """Whether the URL names a user without a password: the flow looks one up first."""
        creds = self._url_credentials
        return creds is not None and not creds.complete

    @property
    def untrusted_origin(self) -> str | None:
        """What named this index when you did not configure it, else `None`.

        A working-directory file, or a URL typed on the command line: credentials
        meant for your own indexes (`INDEXAUTH_INDEX_<NAME>_*`, netrc's `default`
        entry, netrc over plain http) never go to such an index.
        """
        return self._untrusted

    @property
    def file_origin(self) -> str | None:
        """The file that alone named this index (a requirements file pip read), else `None`.

        Your configuration did not name it, nor did the command line, environment
        or pip configuration: netrc's `default` entry never goes to such an index
        (every other source does, as for an index you configured).
        """
        return self._from_file

    def __reduce__(self) -> tuple[object, ...]:
        # Userinfo credentials are not pickled; the rest of the index is.
        return (
            _rebuild_index,
            (
                self.url,
                self.name,
                self.authenticate,
                self.username,
                self._untrusted,
                self.password_command,
                self.credential_helper,
                self.auth,
                self._from_file,
            ),
        )


def mark_untrusted(index: Index, origin: str | None) -> Index:
    """A copy of *index* marked as defined by *origin*, a file you did not write (see `_settings`).

    Credentials meant for your own indexes by name (`INDEXAUTH_INDEX_<NAME>_*`)
    never go to a marked index.
    """
    copy = index.replace()
    object.__setattr__(copy, "_untrusted", origin)
    return copy


def mark_from_file(index: Index, origin: str) -> Index:
    """A copy of *index* that only the file *origin* named: see `Index.file_origin`."""
    copy = index.replace()
    object.__setattr__(copy, "_from_file", origin)
    return copy


def _rebuild_index(
    url: str,
    name: str | None,
    authenticate: str,
    username: str | None,
    untrusted: str | None = None,
    password_command: tuple[str, ...] | None = None,
    credential_helper: tuple[str, ...] | None = None,
    auth: str = "basic",
    from_file: str | None = None,
) -> Index:
    index = Index(
        url,
        name=name,
        authenticate=authenticate,
        username=username,
        password_command=password_command,
        credential_helper=credential_helper,
        auth=auth,
    )
    if from_file is not None:
        index = mark_from_file(index, from_file)
    return mark_untrusted(index, untrusted)


def parse_argv(value: object, what: str) -> tuple[str, ...] | None:
    """*value* as a command line: a list of words, or one string split as a shell splits it.

    No shell ever runs it; the split only lets you write it on one line.

    >>> parse_argv("gcloud auth print-access-token --account 'a b'", "password_command")
    ('gcloud', 'auth', 'print-access-token', '--account', 'a b')
    """
    if value is None:
        return None
    if isinstance(value, str):
        import shlex  # noqa: PLC0415 - only an index with a program given as one string needs it

        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise ConfigurationError(
                f"{what} cannot be split into words: {exc}",
                hint="close the quote, or give the command as a list of words",
            ) from None
    elif isinstance(value, Sequence) and all(isinstance(word, str) for word in value):
        words = list(value)
    else:
        raise ConfigurationError(
            f"{what} must be a list of strings or one string, not {type(value).__name__}",
            hint=f'for example {what}=["gcloud", "auth", "print-access-token"]',
        )
    if not words or not words[0].strip():
        raise ConfigurationError(
            f"{what} is empty", hint="give the program to run and its arguments"
        )
    if any("\x00" in word for word in words):
        raise ConfigurationError(f"{what} contains a NUL character")
    return tuple(words)


def _check_auth(auth: object, url: str) -> AuthScheme:
    value = auth.strip().lower() if isinstance(auth, str) else auth
    if value == "basic":
        return "basic"
    if value == "bearer":
        return "bearer"
    raise ConfigurationError(
        f"invalid auth {auth!r} for index {redact(url)}", hint="use 'basic' (the default) or 'bearer'"
    )
