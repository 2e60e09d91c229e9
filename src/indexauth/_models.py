"""Values: `Credentials`, `Index` and the `authenticate` policy."""

from __future__ import annotations

import base64
import re
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

__all__ = ["Credentials", "Index", "IndexRef", "Policy", "env_name", "mark_untrusted"]

Policy = Literal["auto", "always", "never"]
POLICIES: tuple[str, ...] = get_args(Policy)

# uv's rule for index names (uv: crates/uv-distribution-types/src/index_name.rs).
_NAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")
_LINE_BREAK = re.compile(r"[\r\n]")


def env_name(name: str) -> str:
    """The `<NAME>` of `INDEXAUTH_INDEX_<NAME>_PASSWORD` for index *name*.

    >>> env_name("internal-proxy.v2")
    'INTERNAL_PROXY_V2'
    """
    return "".join(c.upper() if c.isascii() and c.isalnum() else "_" for c in name)


class Credentials:
    """A username and password (or a bearer token) whose repr never shows the secret.

    >>> Credentials("__token__", "glpat-x")
    Credentials(username='__token__', password='****')

    A username without a password, or with an empty one, may be a token, so
    the repr masks it too:

    >>> Credentials("glpat-x", "")
    Credentials(username='****', password='****')
    """

    __slots__ = ("_header", "_password", "_token", "username")

    username: str
    _password: str | None
    _token: str | None
    _header: str | None

    def __init__(self, username: str, password: str | None) -> None:
        _refuse_line_breaks(username, "username")
        if password is not None:
            _refuse_line_breaks(password, "password")
        object.__setattr__(self, "username", username)
        object.__setattr__(self, "_password", password)
        object.__setattr__(self, "_token", None)
        object.__setattr__(self, "_header", None)

    @classmethod
    def bearer(cls, token: str) -> Credentials:
        """Credentials sent as `Authorization: Bearer <token>`."""
        _refuse_line_breaks(token, "token")
        creds = cls("", None)
        object.__setattr__(creds, "_token", token)
        object.__setattr__(creds, "_header", None)
        return creds

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Credentials are immutable")

    @property
    def password(self) -> str | None:
        """The password, or `None` when only a username is known."""
        return self._password if self._token is None else self._token

    @property
    def complete(self) -> bool:
        """Whether these can be sent: a password (even empty) or a token."""
        return self._password is not None or self._token is not None

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
        return (self.username, self._password, self._token) == (
            other.username,
            other._password,
            other._token,
        )

    def __hash__(self) -> int:
        return hash((self.username, self._password, self._token))

    def __repr__(self) -> str:
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
    if _LINE_BREAK.search(value):
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

    >>> Index("https://pkgs.example.com/simple/", name="internal")
    Index('https://pkgs.example.com/simple/', name='internal', authenticate='auto')
    """

    __slots__ = (
        "_shown_url",
        "_untrusted",
        "_url_credentials",
        "authenticate",
        "name",
        "realm",
        "root",
        "url",
        "username",
    )

    url: str
    name: str | None
    authenticate: Policy
    username: str | None
    realm: Realm
    root: str
    _url_credentials: Credentials | None
    _shown_url: str
    _untrusted: str | None

    def __init__(
        self,
        url: str,
        *,
        name: str | None = None,
        authenticate: Policy | str = "auto",
        username: str | None = None,
    ) -> None:
        try:
            parts = split_url(url)
        except UrlError as exc:
            raise ConfigurationError(
                f"invalid index URL: {exc}",
                hint="give the index URL in full, for example https://pkgs.example.com/simple/",
            ) from None
        if name is not None and (not isinstance(name, str) or not _NAME_RE.fullmatch(name)):
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
        set_ = object.__setattr__
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

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Index is immutable")

    def replace(self, *, authenticate: Policy | str | None = None, username: str | None = None) -> Index:
        """A copy with another policy or username; credentials in the URL come along."""
        copy = Index.__new__(Index)
        for slot in Index.__slots__:
            object.__setattr__(copy, slot, getattr(self, slot))
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
        return f"Index({redact(self.url)!r}{extra}, authenticate={self.authenticate!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Index):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[object, ...]:
        return (self.url, self.name, self.authenticate, self.username, self._url_credentials)

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

    def __reduce__(self) -> tuple[object, ...]:
        # Userinfo credentials are not pickled; the rest of the index is.
        return (
            _rebuild_index,
            (self.url, self.name, self.authenticate, self.username, self._untrusted),
        )


def mark_untrusted(index: Index, origin: str | None) -> Index:
    """A copy of *index* marked as defined by *origin*, a file you did not write (see `_settings`).

    Credentials meant for your own indexes by name (`INDEXAUTH_INDEX_<NAME>_*`)
    never go to a marked index.
    """
    copy = index.replace()
    object.__setattr__(copy, "_untrusted", origin)
    return copy


def _rebuild_index(
    url: str,
    name: str | None,
    authenticate: str,
    username: str | None,
    untrusted: str | None = None,
) -> Index:
    return mark_untrusted(Index(url, name=name, authenticate=authenticate, username=username), untrusted)
