"""The errors indexauth raises, one class per thing you would do differently.

    IndexAuthError                        .url .index .policy .attempts .hint .status .source
    ├── ConfigurationError (ValueError)   a bad index URL, name, policy or variable
    ├── MissingCredentialsError           no source had credentials
    ├── IncompleteCredentialsError        a username, but no password anywhere
    ├── CredentialsRejectedError          the server refused credentials we sent (401)
    │   └── ForbiddenError                ... or answered 403 to them
    ├── UnreplayableRequestError          the body cannot be sent twice for a lazy retry
    └── ProviderError                     keyring, netrc or the store is broken

Raised from a driver, each is also the client's own error (for requests,
`requests.HTTPError`; for httpx, `httpx.HTTPError`), so `except` clauses you
already have still catch it. Messages, reprs and pickles never hold a secret.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any, NamedTuple

from ._urls import redact

# Where each error's `reference` is a section (its `see:` line), as pip links its errors.
ERRORS_DOC = "docs/errors.md"

__all__ = [
    "ERRORS_DOC",
    "Attempt",
    "ConfigurationError",
    "CredentialsRejectedError",
    "ForbiddenError",
    "IncompleteCredentialsError",
    "IndexAuthError",
    "MissingCredentialsError",
    "ProviderError",
    "UnreplayableRequestError",
]


class Attempt(NamedTuple):
    """One step of a credential lookup: which source, where, for which username, and what came of it."""

    source: str
    where: str
    username: str | None
    outcome: str

    def __str__(self) -> str:
        who = f"username {self.username!r}" if self.username is not None else "no username"
        where = f" {self.where}" if self.where else ""
        return f"{self.source}{where} ({who}): {self.outcome}"


class IndexAuthError(Exception):
    """Base class: something about index authentication needs your attention."""

    reference = "index-auth-error"
    _driver: str | None = None
    _driver_base: type[BaseException] = Exception

    def __init__(
        self,
        summary: str,
        *,
        url: str = "",
        index: Any = None,
        policy: str | None = None,
        attempts: tuple[Attempt, ...] = (),
        hint: str = "",
        status: int | None = None,
        source: str | None = None,
    ) -> None:
        self.summary = summary
        self.url = redact(url) if url else ""
        self.index = index
        self.policy = policy
        self.attempts = tuple(attempts)
        self.hint = hint
        self.status = status
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        """The full message: what happened, what was tried, what to do."""
        lines = [self.summary]
        for i, attempt in enumerate(self.attempts):
            lines.append(("  tried: " if i == 0 else "         ") + str(attempt))
        if self.hint:
            hint_lines = self.hint.splitlines()
            lines.append("  hint: " + hint_lines[0])
            lines.extend("        " + line for line in hint_lines[1:])
        lines.append(f"  see: {self.link}")
        return "\n".join(lines)

    @property
    def link(self) -> str:
        """This error's section of docs/errors.md: meaning, causes per host, fix."""
        return f"{ERRORS_DOC}#{self.reference}"

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else self.summary

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.summary!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        state = {k: v for k, v in self.__dict__.items() if k not in _UNPICKLED}
        return (_restore, (_public_class(type(self)), self._driver, self.args, state))


# The request and response can hold an Authorization header or a stream; an
# error that is pickled (to another process, into a log) carries neither.
_UNPICKLED = frozenset({"request", "response", "_request"})


class ConfigurationError(IndexAuthError, ValueError):
    """A configured value (index URL, name, policy, variable, file) is invalid."""

    reference = "indexauth-configuration"


class MissingCredentialsError(IndexAuthError):
    """No source had credentials for the index."""

    reference = "missing-index-credentials"


class IncompleteCredentialsError(IndexAuthError):
    """A username was found but no password for it."""

    reference = "incomplete-index-credentials"


class CredentialsRejectedError(IndexAuthError):
    """The server answered 401 (or 403) to the credentials we sent."""

    reference = "index-credentials-rejected"


class ForbiddenError(CredentialsRejectedError):
    """The server answered 403 to the credentials we sent: valid, perhaps, but not allowed."""

    reference = "index-forbidden"


class UnreplayableRequestError(IndexAuthError):
    """The request body cannot be sent a second time for the authenticated retry."""

    reference = "unreplayable-request-body"


class ProviderError(IndexAuthError):
    """A credential source is broken: keyring locked or failing, command missing or hung, bad file."""

    reference = "credential-provider-failed"


# Client base classes the drivers mix in, imported only when a driver needs them.
_DRIVER_BASES = {
    "requests": ("requests.exceptions", "HTTPError"),
    "httpx": ("httpx", "HTTPError"),
    "httpx2": ("httpx2", "HTTPError"),
}
_driver_classes: dict[tuple[type[IndexAuthError], str], type[IndexAuthError]] = {}


def _public_class(cls: type[IndexAuthError]) -> type[IndexAuthError]:
    while cls._driver is not None:
        cls = cls.__bases__[0]
    return cls


def driver_class(cls: type[IndexAuthError], driver: str) -> type[IndexAuthError]:
    """*cls* mixed with *driver*'s base error, made once and reused (so it pickles)."""
    cls = _public_class(cls)
    key = (cls, driver)
    made = _driver_classes.get(key)
    if made is None:
        module, name = _DRIVER_BASES[driver]
        base = getattr(importlib.import_module(module), name)
        made = type(
            cls.__name__,
            (cls, base),
            {"_driver": driver, "_driver_base": base, "__module__": "indexauth"},
        )
        made.__qualname__ = cls.__qualname__
        _driver_classes[key] = made
    return made


def for_driver(error: IndexAuthError, driver: str, **attributes: Any) -> IndexAuthError:
    """A copy of *error* that is also *driver*'s error class, with *attributes* set."""
    cls = driver_class(type(error), driver)
    copy = cls._driver_base.__new__(cls, *error.args)
    copy.args = error.args
    copy.__dict__.update(error.__dict__)
    for name, value in attributes.items():
        setattr(copy, name, value)
    return copy


def _restore(
    cls: type[IndexAuthError], driver: str | None, args: tuple[Any, ...], state: dict[str, Any]
) -> IndexAuthError:
    if driver is not None:
        # Unpickled where the client is not installed, the plain class will do.
        with contextlib.suppress(ImportError):
            cls = driver_class(cls, driver)
    error = cls._driver_base.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    for name in _UNPICKLED:
        error.__dict__.setdefault(name, None)
    return error
