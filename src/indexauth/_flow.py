"""The one authentication flow, shared by every driver, with no I/O of its own.

`Authenticator.flow()` is a generator. It yields effects and receives their
results:

- `Send(action, headers)`: send the request (`action` says whether to keep its
  headers, strip `Authorization`, or set `headers`: `Authorization`, or the
  headers a credential helper gave); the driver answers with the status code, or
  for 401, 403 and 404 with a `Reply` that carries the `WWW-Authenticate`
  header too (see `_driver.reply`). A second `Send` is the authenticated
  retry: the driver drains and closes the previous response and rewinds the
  body first.
- `Lookup(target)`: find credentials; the driver answers with a `LookupResult`
  (sync drivers call `Resolver.lookup`, async ones run it in a worker thread).

When it returns, the `Outcome` says whether to raise or attach an error. A
driver is a loop around this generator plus its own way of sending.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple

from ._challenge import offered
from ._exceptions import (
    Attempt,
    ConfigurationError,
    CredentialsRejectedError,
    ForbiddenError,
    IncompleteCredentialsError,
    IndexAuthError,
    MissingCredentialsError,
    UnreplayableRequestError,
)
from ._models import Credentials, Index
from ._resolver import URL_TOKEN_SOURCE, LookupResult, Refusal, Resolver
from ._sources import Target
from ._urls import (
    Realm,
    UrlError,
    effective_path,
    realm_of,
    redact,
    shown_username,
    split_url,
    wire_host,
)

if TYPE_CHECKING:
    from types import EllipsisType

__all__ = [
    "PIP_URL_SOURCE",
    "REQUEST_SOURCE",
    "Authenticator",
    "Lookup",
    "Outcome",
    "Reply",
    "Send",
]

logger = logging.getLogger("indexauth")

_FEW_SIZES = 4  # distinct root lengths on one realm up to which each length is tried
_REALM_CACHE = 1024  # distinct (scheme, authority) pairs remembered, least recently used dropped
REQUEST_SOURCE = "the request itself (its Authorization header or URL userinfo)"
# Inside pip, a request's own credentials can only come from the user:password@ of an
# index URL the user gave pip: name it so.
PIP_URL_SOURCE = "the URL given to pip (its user:password@ part)"


class Send(NamedTuple):
    """Send the request. *action*: keep its headers, strip `Authorization`, or set *headers*.

    Every header in *headers* is a secret; the repr shows their names only.
    """

    # A named tuple, not a frozen dataclass: one is made per request, at half the cost.
    action: Literal["keep", "strip", "set"]
    headers: tuple[tuple[str, str], ...] = ()
    retry: bool = False

    @property
    def authorization(self) -> str | None:
        """The `Authorization` value among *headers*, if any."""
        return next((v for n, v in self.headers if n.lower() == "authorization"), None)

    def __repr__(self) -> str:
        names = [name for name, _value in self.headers]
        return f"Send(action={self.action!r}, headers={names!r}, retry={self.retry})"


_KEEP, _STRIP = Send("keep"), Send("strip")
# `Send(*fields)` without the Python-level `__new__` the named tuple adds: every
# request with known credentials makes one.
_set: Callable[[tuple[str, tuple[tuple[str, str], ...], bool]], Send] = functools.partial(
    tuple.__new__, Send
)


# Named tuples, not frozen dataclasses: as immutable, and a dataclass costs the
# first request of every process about 0.4 ms to build its methods at import.
class Lookup(NamedTuple):
    """Find credentials for *target*."""

    target: Target


class Outcome(NamedTuple):
    """How the request ended: an error to raise, or one to attach to the response."""

    error: IndexAuthError | None = None
    raise_error: bool = False


Effect = Send | Lookup
Flow = Generator[Effect, "int | Reply | LookupResult", Outcome]
_OK = Outcome()


class Authenticator:
    """Configured indexes plus a resolver: everything a driver needs to decide."""

    def __init__(
        self, indexes: Sequence[Index], resolver: Resolver, *, request_source: str = REQUEST_SOURCE
    ) -> None:
        self.indexes = indexes
        self.resolver = resolver
        # How errors name credentials the caller put on the request itself.
        self.request_source = request_source
        # Where a 403/404 to an anonymous request, nothing found, goes instead of the log:
        # pip's driver reports it only if pip then fails on that index.
        self.defer: Callable[[IndexAuthError], None] | None = None
        self._diagnosed: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @property
    def indexes(self) -> tuple[Index, ...]:
        """The configured indexes, in the order given."""
        return self._indexes

    @indexes.setter
    def indexes(self, indexes: Sequence[Index]) -> None:
        indexes = tuple(indexes)
        for index in indexes:
            if not isinstance(index, Index):
                raise ConfigurationError(
                    f"expected indexauth.Index objects, got {type(index).__name__}: {index!r}",
                    hint='wrap each URL: indexauth.Index("https://pkgs.example.com/simple/")',
                )
        # Realm, then root: a request looks up its own path prefixes, so matching costs
        # the same with 1 or 10,000 indexes. The first index given wins a tie on root.
        # Targets are made here once, not per request; so are the realms of the
        # authorities written in index URLs, which the bounded cache need not hold.
        roots: dict[Realm, dict[str, Target]] = {}
        known: dict[tuple[str, str], Realm] = {}
        for index in indexes:
            target = Target(index, index.realm)
            roots.setdefault(index.realm, {}).setdefault(index.root, target)
            wire = wire_host(index.realm.host)
            if wire is not None:
                # A Unicode host name: clients send (and hand the flow) its IDNA name, the
                # same host, so requests there belong to this index too.
                roots.setdefault(index.realm._replace(host=wire), {}).setdefault(index.root, target)
            scheme, _, rest = index.url.partition("://")
            known[(scheme, rest[: _authority_end(rest)])] = index.realm
        by_realm: dict[Realm, tuple[dict[str, Target], tuple[int, ...] | None]] = {}
        for realm, by_root in roots.items():
            # With few distinct root lengths (the usual case: one index per host), trying
            # each length is cheaper than walking the request path's segments.
            sizes = sorted({len(root) for root in by_root}, reverse=True)
            by_realm[realm] = (by_root, tuple(sizes) if len(sizes) <= _FEW_SIZES else None)
        self._indexes, self._by_realm, self._known_realms = indexes, by_realm, known

    def __reduce__(self) -> tuple[object, ...]:
        # Indexes and sources travel; remembered credentials and realms never do.
        return (type(self), (self.indexes, self.resolver))

    def match(self, url: str) -> Target | None:
        """The target for *url*: its index (longest root wins) or its realm; `None` if not http(s)."""
        scheme, sep, rest = url.partition("://")
        cut = rest.find("/")
        authority = rest[:cut] if cut >= 0 else rest
        # The usual URL: an authority with no user part, query or fragment, and none of
        # the characters `_match` reads its own way. What `_match` would do with it is
        # then exactly what follows, without its calls.
        if (
            sep
            and "@" not in authority
            and "?" not in authority
            and "#" not in authority
            and "\r" not in url
            and "\n" not in url
            and "\t" not in url
            and "\x00" not in url
            and not url[:1].isspace()
            and not url[-1:].isspace()
        ):
            written = rest[cut:] if cut >= 0 else ""
            if "?" in written or "#" in written:
                written = written.partition("?")[0].partition("#")[0]
            return self.match_parts(scheme, authority, written)
        return self._match(url)

    def match_parts(self, scheme: str, authority: str, path: str) -> Target | None:
        """`match` for a URL its client already keeps split, as httpx does.

        Only for a URL `match` would take its shorter way for: *authority* has no
        user part, and *path* no query, fragment, control or space character.
        Writing the URL out only for `match` to split it again costs more than
        the rest of matching. `match` ends here too, once it has split the string.
        """
        # The realm of an authority is parsed once; every package page of an index shares it.
        realm = self._known_realms.get((scheme, authority)) or _realm(scheme, authority)
        if realm is None:
            return None
        served = effective_path(path or "/")
        if served is None:
            return None  # a path servers read differently: no credentials at all
        return self._target(realm, served)

    def _match(self, url: str) -> Target | None:
        """`match` for any string: the usual URL takes the shorter way there."""
        scheme, sep, rest = url.partition("://")
        cut = _authority_end(rest)
        authority = rest[:cut]
        if (
            not sep
            or "@" in authority
            or "\r" in url
            or "\n" in url
            or "\t" in url
            or "\x00" in url
            or url[:1].isspace()
            or url[-1:].isspace()
        ):
            return self._match_slowly(url)
        return self.match_parts(scheme, authority, rest[cut:].partition("?")[0].partition("#")[0])

    def _match_slowly(self, url: str) -> Target | None:
        try:
            parts = split_url(url)
            realm = realm_of(parts)
        except UrlError:
            return None
        path = effective_path(parts.path or "/")
        if path is None:
            return None
        return self._target(realm, path)

    def _target(self, realm: Realm, path: str) -> Target:
        """The index with the longest root that covers *path* in whole segments, or just *realm*."""
        entry = self._by_realm.get(realm)
        if entry is not None:
            roots, sizes = entry
            end = len(path)
            if sizes is not None:
                # A root of length n covers the path if it is the path's first n
                # characters and they end the path or a segment.
                for size in sizes:
                    if size == end or (size < end and (size == 0 or path[size] == "/")):
                        target = roots.get(path[:size])
                        if target is not None:
                            return target
                return Target(None, realm)
            # Candidates, longest first: the path itself, then the part before each "/".
            while end > 0:
                target = roots.get(path[:end])
                if target is not None:
                    return target
                end = path.rfind("/", 0, end)
            target = roots.get("")
            if target is not None:
                return target
        return Target(None, realm)

    def flow(  # noqa: PLR0915 - one decision table, read top to bottom
        self,
        url: str,
        *,
        has_authorization: bool,
        replayable: bool,
        target: Target | EllipsisType | None = ...,
    ) -> Flow:
        """Decide, step by step, how *url* is sent; see the module docstring.

        *target* is `match(url)` when the driver has worked it out already.
        """
        if target is ...:
            target = self.match(url)
        if target is None:
            yield _KEEP
            return _OK
        index = target.index
        policy = index.authenticate if index is not None else "auto"
        if policy == "never":
            yield _STRIP if has_authorization else _KEEP
            return _OK
        if has_authorization:
            status, challenge = _answer((yield _KEEP))
            return self._judge(
                status, challenge, url, target, policy, None, self.request_source, ()
            )

        known = self.resolver.known(target)
        attempts: tuple[Attempt, ...] = ()
        # A user part in the index URL asks for credentials from the first request, as in
        # pip; credentials that expired are renewed before sending, not after a challenge.
        if known is None and (
            policy == "always"
            or (index is not None and index.lone_user)
            or self.resolver.renewing(target)
        ):
            result = yield Lookup(target.asked_by(url))
            assert isinstance(result, LookupResult)  # noqa: S101
            if not result.complete or result.credentials is None or result.source is None:
                return Outcome(self._not_found(url, target, policy, result, None), True)
            refusal = self.resolver.refused(target, result.credentials)
            if refusal is not None and policy == "always":
                return Outcome(self._refused_earlier(url, target, policy, refusal, result, None), True)
            if refusal is None:
                known = (result.credentials, result.source)
                attempts = result.attempts
            # Refused earlier, under `auto`: the request goes as it is, like any other.
        if known is not None:
            creds, source = known
            answer = yield _set(("set", creds.headers(), False))
            # An int is the usual answer (see `_answer`): read without a call.
            status, challenge = (answer, None) if type(answer) is int else _answer(answer)
            if creds.refreshable:
                if self._refused_credentials(status, target, creds):
                    return (
                        yield from self._refresh(
                            status, challenge, url, target, policy, creds, source, attempts, replayable
                        )
                    )
                if status == 403 and replayable:
                    return (
                        yield from self._ask_again(
                            status, challenge, url, target, policy, creds, source, attempts
                        )
                    )
            return self._judge(status, challenge, url, target, policy, creds, source, attempts)

        status, challenge = _answer((yield _KEEP))
        if not (status == 401 or (index is not None and status in (403, 404))):
            return _OK
        schemes = offered(challenge)
        if schemes is not None and not schemes & _ANSWERED:
            _step_aside(url, status, schemes)
            return _OK
        result = yield Lookup(target.asked_by(url))
        assert isinstance(result, LookupResult)  # noqa: S101
        found = result.credentials
        if schemes is not None and found is not None and not _may_answer(schemes, found):
            _step_aside(url, status, schemes)
            return _OK
        refusal = None
        if result.complete and result.credentials is not None:
            refusal = self.resolver.refused(target, result.credentials)
        if (
            not result.complete
            or result.credentials is None
            or result.source is None
            or refusal is not None
        ):
            if refusal is not None:
                error = self._refused_earlier(url, target, policy, refusal, result, status)
            else:
                error = self._not_found(url, target, policy, result, status)
            if status == 401:
                return Outcome(error, True)
            if self.defer is not None:
                self.defer(error)
            else:
                self.diagnose(error)
            return Outcome(error, False)
        if not replayable:
            return Outcome(self._unreplayable(url, target, policy, result, status), True)
        creds = result.credentials
        status, challenge = _answer((yield Send("set", creds.headers(), retry=True)))
        if creds.refreshable and self._refused_credentials(status, target, creds):
            return (
                yield from self._refresh(
                    status,
                    challenge,
                    url,
                    target,
                    policy,
                    creds,
                    result.source,
                    result.attempts,
                    replayable,
                )
            )
        if creds.refreshable and status == 403:
            return (
                yield from self._ask_again(
                    status, challenge, url, target, policy, creds, result.source, result.attempts
                )
            )
        return self._judge(
            status, challenge, url, target, policy, creds, result.source, result.attempts
        )

    def _ask_again(
        self,
        status: int,
        challenge: str | None,
        url: str,
        target: Target,
        policy: str,
        creds: Credentials,
        source: str,
        attempts: tuple[Attempt, ...],
    ) -> Flow:
        """Proven *creds* from a program met a 403: run the program once more.

        The same credentials back, or none: the server refused this one resource (a
        blocked package). Other credentials: the first may have been revoked early, so
        the request is retried once with them; a 403 to those too is the resource again.
        """
        self.resolver.ask_again(target, creds)
        result = yield Lookup(target.asked_by(url))
        assert isinstance(result, LookupResult)  # noqa: S101
        fresh = result.credentials
        if (
            not result.complete
            or fresh is None
            or result.source is None
            or fresh == creds
            or self.resolver.refused(target, fresh) is not None
        ):
            return self._judge(status, challenge, url, target, policy, creds, source, attempts)
        answer, challenge = _answer((yield Send("set", fresh.headers(), retry=True)))
        if answer == 403:
            # Two tokens, both proven or fresh, refused here: it is this resource (a
            # program that hands out a new token per run, as AWS CodeArtifact does).
            self.resolver.accepted(target, fresh, result.source)
            error = self._resource_refused(url, target, policy, result.source, result.attempts)
            return Outcome(error, True)
        return self._judge(
            answer,
            challenge,
            url,
            target,
            policy,
            fresh,
            result.source,
            result.attempts,
            refreshed=True,
        )

    def _refresh(
        self,
        status: int,
        challenge: str | None,
        url: str,
        target: Target,
        policy: str,
        creds: Credentials,
        source: str,
        attempts: tuple[Attempt, ...],
        replayable: bool,
    ) -> Flow:
        """*creds* from a program were refused: run it again once, and retry once."""
        # A password command or a credential helper may have handed out a token that
        # expired or was revoked early. The refused one is remembered as refused.
        outcome = self._judge(status, challenge, url, target, policy, creds, source, attempts)
        if not replayable or not outcome.raise_error:
            return outcome
        result = yield Lookup(target.asked_by(url))
        assert isinstance(result, LookupResult)  # noqa: S101
        if not result.complete or result.credentials is None or result.source is None:
            return Outcome(self._not_found(url, target, policy, result, status), True)
        fresh = result.credentials
        if self.resolver.refused(target, fresh) is not None:
            # The program gave a refused token again: sending it again cannot help.
            error = self._refused(
                status,
                url,
                target,
                policy,
                f"{result.source}, run again for fresh credentials, which were the refused ones",
                result.attempts,
            )
            return Outcome(error, True)
        answer, challenge = _answer((yield Send("set", fresh.headers(), retry=True)))
        return self._judge(
            answer,
            challenge,
            url,
            target,
            policy,
            fresh,
            result.source,
            result.attempts,
            refreshed=True,
        )

    def _refused_credentials(self, status: int, target: Target, creds: Credentials) -> bool:
        """Whether *status* refuses *creds* themselves, not the one resource asked for.

        A 401 always does, and so does a 403 to credentials the index has not yet
        answered with a 2xx. A 403 to credentials it has (Artifactory with Xray, Nexus
        Firewall: one blocked package) refuses that resource only: the credentials are
        not marked refused and still sent for the rest of the index (a program behind
        them is asked once more first, in `_ask_again`).
        """
        if status == 401:
            return True
        return status == 403 and not self.resolver.proven(target, creds)

    def _unreplayable(
        self, url: str, target: Target, policy: str, result: LookupResult, status: int
    ) -> IndexAuthError:
        from ._hints import unreplayable_hint  # noqa: PLC0415 - loaded when something went wrong

        index = target.index
        return UnreplayableRequestError(
            f"{redact(url)} answered {status} and asks for credentials, but the request body "
            "was a stream that cannot be sent a second time; nothing was retried",
            url=url,
            index=index.ref if index else None,
            policy=policy,
            attempts=result.attempts,
            hint=unreplayable_hint(target),
            status=status,
        )

    def _judge(
        self,
        status: int,
        challenge: str | None,
        url: str,
        target: Target,
        policy: str,
        creds: Credentials | None,
        source: str,
        attempts: tuple[Attempt, ...],
        *,
        refreshed: bool = False,
    ) -> Outcome:
        if status in (401, 403):
            if source.startswith("index URL") and self.request_source != REQUEST_SOURCE:
                # Inside pip the index URL is the one given to pip: name it as pip users know it.
                source = self.request_source
            if refreshed:
                source += ", run again for fresh credentials, which were refused too"
            if creds is not None and not self._refused_credentials(status, target, creds):
                return Outcome(self._resource_refused(url, target, policy, source, attempts), True)
            error = self._refused(status, url, target, policy, source, attempts)
            if creds is not None:
                refusal = Refusal(status, redact(url), source, type(error))
                self.resolver.rejected(target, creds, refusal)
                if status == 401 and not _may_answer(offered(challenge), creds):
                    # The server wants another scheme (Digest, Negotiate): the caller's own
                    # auth handler answers this response, so it is returned, not raised.
                    return Outcome(error, False)
            return Outcome(error, True)
        if creds is not None and status < 500:
            # A 404 to credentials is "no such package", not a refusal: keep sending
            # them up front, or every miss on a GitLab index costs two round trips.
            self.resolver.accepted(target, creds, source, proven=200 <= status < 300)
        return _OK

    def _resource_refused(
        self, url: str, target: Target, policy: str, source: str, attempts: tuple[Attempt, ...]
    ) -> IndexAuthError:
        from ._hints import resource_refused_hint  # noqa: PLC0415 - loaded when something went wrong

        return ForbiddenError(
            f"{redact(url)} answered 403 Forbidden to credentials it accepted earlier in this "
            f"process ({_where(target)}, authenticate={policy!r}): the server refused this one "
            f"resource, not the credentials (from {source}), which are still sent for the rest "
            "of the index",
            url=url,
            index=target.index.ref if target.index else None,
            policy=policy,
            attempts=attempts,
            hint=resource_refused_hint(),
            status=403,
            source=source,
        )

    def _refused(
        self,
        status: int,
        url: str,
        target: Target,
        policy: str,
        source: str,
        attempts: tuple[Attempt, ...],
    ) -> IndexAuthError:
        from ._hints import rejected_hint  # noqa: PLC0415 - loaded when something went wrong

        if source == URL_TOKEN_SOURCE:
            return self._token_refused(status, url, target, policy, attempts)
        cls = ForbiddenError if status == 403 else CredentialsRejectedError
        what = "401 Unauthorized" if status == 401 else "403 Forbidden"
        return cls(
            f"credentials for {redact(url)} were refused with {what} "
            f"({_where(target)}, authenticate={policy!r}); they came from {source}",
            url=url,
            index=target.index.ref if target.index else None,
            policy=policy,
            attempts=attempts,
            hint=rejected_hint(target, source, status),
            status=status,
            source=source,
        )

    def _refused_earlier(
        self,
        url: str,
        target: Target,
        policy: str,
        refusal: Refusal,
        result: LookupResult,
        status: int | None,
    ) -> IndexAuthError:
        from ._hints import rejected_hint, token_refused_hint  # noqa: PLC0415 - loaded when something went wrong

        what = "401 Unauthorized" if refusal.status == 401 else "403 Forbidden"
        when = "nothing was sent" if status is None else f"the server answered {status}"
        if refusal.source == URL_TOKEN_SOURCE:
            hint = token_refused_hint(target)
        else:
            hint = rejected_hint(target, refusal.source, refusal.status)
        return refusal.error_class(
            f"credentials for {redact(url)} from {refusal.source} were refused earlier in this "
            f"process by {refusal.url} ({what}), so they were not sent again ({_where(target)}, "
            f"authenticate={policy!r}); {when}",
            url=url,
            index=target.index.ref if target.index else None,
            policy=policy,
            attempts=result.attempts,
            hint=hint + "\n(a refused credential is not sent again by the same process, so a "
            "wrong one cannot lock the account; fix it, then run again)",
            status=status,
            source=refusal.source,
        )

    def _token_refused(
        self, status: int, url: str, target: Target, policy: str, attempts: tuple[Attempt, ...]
    ) -> IndexAuthError:
        from ._hints import token_refused_hint  # noqa: PLC0415 - loaded when something went wrong

        return IncompleteCredentialsError(
            f"the index URL gives a user part without a password and no source has a password "
            f"for it, so it was tried as a token (with an empty password) and {redact(url)} "
            f"refused it; status {status} ({_where(target)}, authenticate={policy!r})",
            url=url,
            index=target.index.ref if target.index else None,
            policy=policy,
            attempts=attempts,
            hint=token_refused_hint(target),
            status=status,
            source=URL_TOKEN_SOURCE,
        )

    def _not_found(
        self, url: str, target: Target, policy: str, result: LookupResult, status: int | None
    ) -> IndexAuthError:
        from ._hints import missing_hint  # noqa: PLC0415 - loaded when something went wrong

        cls: type[IndexAuthError] = MissingCredentialsError
        shown = _shown_user(target, result.username)
        hint = missing_hint(
            target,
            shown,
            frozenset(s.name for s in self.resolver.sources),
            result.attempts,
        )
        if result.username is not None and result.credentials is None:
            cls = IncompleteCredentialsError
        if result.failures:
            failure = result.failures[0]
            cls, hint = failure.error_class, failure.hint or hint
        when = "nothing was sent" if status is None else f"the server answered {status}"
        incomplete = f"username {shown!r} found but no password"
        if target.index is not None and target.index.lone_user and result.username == shown:
            # `__token__@host` whose keyring entry or stored login is gone.
            incomplete = (
                f"the index URL gives username {shown!r} without a password, and no source "
                "has a password or token for it (was its keyring entry or stored login removed?)"
            )
        what = {
            MissingCredentialsError: "no credentials found",
            IncompleteCredentialsError: incomplete,
        }.get(cls, "a credential source failed: " + "; ".join(f.message for f in result.failures))
        return cls(
            f"{what} for {redact(url)} ({_where(target)}, authenticate={policy!r}); {when}",
            url=url,
            index=target.index.ref if target.index else None,
            policy=policy,
            attempts=result.attempts,
            hint=hint,
            status=status,
        )

    def diagnose(self, error: IndexAuthError) -> None:
        """Log *error*: at warning level once per index and cause, then at debug level.

        Nothing found for a URL of no configured index is debug only: a GitHub API
        call answering 401 in some program is none of the user's index business.
        """
        if error.index is None and type(error) is MissingCredentialsError:
            logger.debug("indexauth: %s", error)
            return
        # pip fetches one page per package; the user needs to read this once.
        where = str(error.index) if error.index else _realm_label(error.url)
        key = (where, type(error).__name__)
        with self._lock:
            first = key not in self._diagnosed
            self._diagnosed.add(key)
        logger.log(logging.WARNING if first else logging.DEBUG, "indexauth: %s", error)


@functools.lru_cache(maxsize=_REALM_CACHE)
def _realm(scheme: str, authority: str) -> Realm | None:
    # Bounded and least-recently-used first out: a crawl over many hosts evicts
    # the hosts it no longer visits instead of emptying the cache for everyone.
    try:
        return realm_of(f"{scheme}://{authority}/")
    except UrlError:
        return None


def _authority_end(rest: str) -> int:
    cut = rest.find("/")
    if cut < 0:
        cut = len(rest)
    if "?" in rest[:cut] or "#" in rest[:cut]:  # rare: a query or fragment right after the host
        cut = min(i for i in (cut, rest.find("?"), rest.find("#")) if i >= 0)
    return cut


def _realm_label(url: str) -> str:
    # Keyed by realm, not URL, so a crawl over many URLs cannot grow the set.
    try:
        return str(realm_of(url))
    except UrlError:
        return "?"


class Reply(NamedTuple):
    """A driver's answer to a `Send` for a 401, 403 or 404: the status and its challenge."""

    status: int
    challenge: str | None = None  # every `WWW-Authenticate` value, joined by ", "


# Schemes indexauth answers: Basic, and Bearer for a bearer token.
_ANSWERED = frozenset({"basic", "bearer"})


def _answer(answer: object) -> tuple[int, str | None]:
    """The status and challenge of a driver's answer to a `Send`."""
    if isinstance(answer, Reply):
        return answer.status, answer.challenge
    assert isinstance(answer, int)  # noqa: S101 - the driver's half of the protocol
    return answer, None


def _may_answer(schemes: frozenset[str] | None, creds: Credentials) -> bool:
    """Whether *creds* answer a challenge offering *schemes* (`None`: no header, any will do)."""
    if schemes is None:
        return True
    if creds.is_bearer or creds.from_helper:
        return bool(schemes & _ANSWERED)
    return "basic" in schemes


def _step_aside(url: str, status: int, schemes: frozenset[str]) -> None:
    logger.debug(
        "indexauth: %s answered %s asking for %s authentication; indexauth answers only "
        "Basic (or header-less) challenges, so the response goes to your own auth as it is",
        redact(url),
        status,
        ", ".join(sorted(schemes)),
    )


def _shown_user(target: Target, username: str | None) -> str | None:
    """*username* as messages show it: `****` when it may be a token.

    A user part of the index URL without a password may be one; so may any name a
    source found that the index does not give (a netrc `login`, a stored name), as
    the lookup's steps show them (`Recorder`), conventional names aside.
    """
    if username is None:
        return None
    index = target.index
    creds = index._url_credentials if index is not None else None  # noqa: SLF001
    if creds is not None and creds.may_be_token and username == creds.username:
        return "****"
    if index is not None and username == index.username:
        return username
    return shown_username(username, None)


def _where(target: Target) -> str:
    return str(target.index.ref) if target.index is not None else "no configured index"
