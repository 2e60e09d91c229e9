"""The ordered chain of sources, with a per-process memo and one lookup in flight per key.

Rules, in one place:
- Sources are asked in order. The first complete credentials win. The first
  username any source gives is kept, and later sources are asked for that
  username.
- A source that fails is recorded, warned about once, and skipped; the rest are
  still asked. If nothing is found, the first failure becomes the error
  (`ProviderError` or `ConfigurationError`) instead of `MissingCredentialsError`,
  because the fix is to repair that source.
- One lookup per (index or realm) per process, however many threads ask at once;
  misses are remembered. Credentials the server accepted are sent up front on
  later requests under the index; credentials it rejected are dropped.
- Credentials with an expiry (from a password command or a credential helper)
  are good until `expires` less a margin: 60 s, or half their lifetime when
  that is shorter. After that they are neither sent nor answered from the
  cache, and the next lookup runs the program again (once, however many ask).
- An index with `auth="bearer"` gets whatever secret the chain found as a
  bearer token.
- A user part in the index URL without a password may be a token (pip's
  `https://TOKEN@host/`): it is never shown, and when no source has a password
  for it, it is sent as a token with an empty password (`URL_TOKEN_SOURCE`).
  A conventional name such as `__token__` is never sent alone.
- Credentials a server refused (401, or 403 to credentials) are remembered per
  index (or realm) by a keyed hash of what went on the wire, never the secret
  itself, and never sent there again by this process (`refused`): a wrong
  token cannot lock an account one package page at a time. A refreshed or
  corrected credential hashes differently and is sent as usual.
- Credentials an index answered with a 2xx are `proven` there: a later 403 is
  about that one resource (a package a policy blocks), not about them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import NamedTuple

from ._exceptions import Attempt, IndexAuthError
from ._models import Credentials
from ._sources import NetrcSource, Recorder, Source, SourceFailure, Target
from ._urls import shown_username

__all__ = ["URL_TOKEN_SOURCE", "LookupResult", "Refusal", "Resolver"]

logger = logging.getLogger("indexauth")

MEMO_SIZE = 1024  # keys are indexes and realms: a bound, not a working set
URL_TOKEN_SOURCE = "the user part of the index URL, sent as a token with an empty password"  # noqa: S105 - a label
EXPIRY_MARGIN = 60.0  # seconds before `expires` that a token is renewed


def renew_at(creds: Credentials) -> float | None:
    """When *creds* should be replaced: `expires` less the margin, or `None` (never)."""
    run = creds.run
    if run is None or run.expires is None:
        return None
    # A token that lives less than two margins is renewed half-way through its life
    # instead of on every request.
    return run.expires - min(EXPIRY_MARGIN, max(run.expires - run.issued, 0.0) / 2)


# The key of the hashes that identify refused credentials: per process, so a hash
# means nothing outside it.
_FINGERPRINT_KEY = os.urandom(32)  # what secrets.token_bytes(32) returns, without importing it


def fingerprint(creds: Credentials) -> str:
    """A keyed hash of what *creds* put on the wire: equal for the same credential only."""
    wire = "\0".join([creds.username, *(f"{n}: {v}" for n, v in creds.headers())]).encode()
    return hmac.new(_FINGERPRINT_KEY, wire, hashlib.sha256).hexdigest()


# Named tuples, not frozen dataclasses: as immutable, and cheaper to import (see _flow.Outcome).
class Refusal(NamedTuple):
    """A server refused credentials: how, to which (redacted) URL, and where they came from."""

    status: int
    url: str
    source: str
    error_class: type[IndexAuthError]


class LookupResult(NamedTuple):
    """What a lookup found, and every step it took."""

    credentials: Credentials | None
    username: str | None
    source: str | None
    attempts: tuple[Attempt, ...]
    failures: tuple[SourceFailure, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether there are credentials that can be sent."""
        return self.credentials is not None and self.credentials.complete


class _Slot:
    __slots__ = ("done", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: LookupResult | None = None


class Resolver:
    """Finds credentials for a target through *sources*, once per process."""

    def __init__(self, sources: Sequence[Source], *, clock: Callable[[], float] = time.time) -> None:
        self.sources = tuple(sources)
        self.clock = clock  # seconds since the epoch; tests pass their own to cross an expiry
        self.lookups = 0  # full lookups run; benchmarks and tests read it
        self._lock = threading.Lock()
        self._memo: OrderedDict[tuple[str, str], _Slot] = OrderedDict()
        self._seeds: dict[tuple[str, str], LookupResult] = {}
        self._accepted: dict[tuple[str, str], tuple[Credentials, str]] = {}
        self._proven: dict[tuple[str, str], Credentials] = {}  # answered with a 2xx, per index
        self._expired: set[tuple[str, str]] = set()
        self._refused: OrderedDict[tuple[tuple[str, str], str], Refusal] = OrderedDict()
        self._warned: set[str] = set()

    def stale(self, creds: Credentials | None) -> bool:
        """Whether *creds* have reached their renewal time (never, without an expiry)."""
        if creds is None:
            return False
        when = renew_at(creds)
        return when is not None and self.clock() >= when

    def renewing(self, target: Target) -> bool:
        """Whether *target* had accepted credentials that expired: look up before sending."""
        return target.key in self._expired

    def __reduce__(self) -> tuple[object, ...]:
        # A copy starts with an empty cache (no credential is ever pickled) and the real clock.
        return (type(self), (self.sources,))

    def known(self, target: Target) -> tuple[Credentials, str] | None:
        """Credentials to send up front: accepted before, or from the index URL or environment."""
        index = target.index
        if index is None:
            return None
        key = ("index", index.url)  # `target.key`, without the property: every request asks
        accepted = self._accepted.get(key)
        if accepted is not None:
            if accepted[0].run is None or not self.stale(accepted[0]):
                return accepted
            with self._lock:
                if self._accepted.get(key) is accepted:
                    del self._accepted[key]
                    self._expired.add(key)
        seed = self._seeds.get(key)
        if seed is None:
            seed = self._run(target, eager_only=True)
            with self._lock:
                self._seeds[key] = seed
        if seed.complete and seed.credentials is not None and seed.source is not None:
            if self._refused and self.refused(target, seed.credentials) is not None:
                return None  # refused earlier: never sent up front again
            return seed.credentials, seed.source
        return None

    def refused(self, target: Target, creds: Credentials) -> Refusal | None:
        """How a server refused *creds* for *target* earlier in this process, or `None`."""
        if not self._refused:
            return None  # the common case: nothing was ever refused, nothing to hash
        return self._refused.get((target.key, fingerprint(creds)))

    def peek(self, target: Target) -> LookupResult | None:
        """The remembered result for *target*, without waiting or looking anything up."""
        slot = self._memo.get(target.key)
        if slot is None or not slot.done.is_set() or slot.result is None:
            return None
        return None if self.stale(slot.result.credentials) else slot.result

    def lookup(self, target: Target) -> LookupResult:
        """The full chain for *target*, run at most once at a time per key; it blocks."""
        key = target.key
        with self._lock:
            slot = self._memo.get(key)
            if (
                slot is not None
                and slot.done.is_set()
                and slot.result is not None
                and self.stale(slot.result.credentials)
            ):
                slot = None  # expired: the first caller runs the chain again, the rest wait
            owner = slot is None
            if slot is None:
                slot = self._memo[key] = _Slot()
                self._trim()
            else:
                self._memo.move_to_end(key)
        if not owner:
            slot.done.wait()
            assert slot.result is not None  # noqa: S101 - set before done
            logger.debug("lookup: %s answered from the cache", target.label)
            return slot.result
        try:
            slot.result = self._run(target, eager_only=False)
            with self._lock:
                self.lookups += 1
        finally:
            if slot.result is None:
                # An unexpected error escaped: forget the slot so the next caller retries.
                with self._lock:
                    self._memo.pop(key, None)
                slot.result = LookupResult(None, None, None, ())
            slot.done.set()
        return slot.result

    def accepted(
        self, target: Target, creds: Credentials, source: str, *, proven: bool = False
    ) -> None:
        """The server accepted *creds*: send them up front from now on.

        *proven*: it answered them with a 2xx, so they are `proven` for *target*.
        """
        index = target.index
        if index is None:
            return
        key = ("index", index.url)  # `target.key`, without the property: every request asks
        known = self._accepted.get(key)
        if known is not None and (known[0] is creds or known[0] == creds):
            if not proven:
                return  # the common case, on every request: nothing to write, no lock
            was = self._proven.get(key)  # `proven(target, creds)`, with the key at hand
            if was is not None and (was is creds or was == creds):
                return
        with self._lock:
            self._accepted[key] = (creds, source)
            if proven:
                self._proven[key] = creds
            self._expired.discard(key)

    def proven(self, target: Target, creds: Credentials) -> bool:
        """Whether *target*'s index answered *creds* with a 2xx earlier in this process."""
        known = self._proven.get(target.key)
        return known is not None and (known is creds or known == creds)

    def rejected(self, target: Target, creds: Credentials, refusal: Refusal | None = None) -> None:
        """The server refused *creds*: forget them, so the next challenge looks again.

        With *refusal*, they are also remembered as refused for *target*: `refused`
        answers for them from now on, and `known` never offers them again.
        """
        key = target.key
        with self._lock:
            if refusal is not None:
                self._refused[(key, fingerprint(creds))] = refusal
                while len(self._refused) > MEMO_SIZE:
                    self._refused.popitem(last=False)
            if self._accepted.get(key, (None,))[0] == creds:
                del self._accepted[key]
            if self._proven.get(key) == creds:
                del self._proven[key]
            slot = self._memo.get(key)
            if slot is not None and slot.result is not None and slot.result.credentials == creds:
                del self._memo[key]
            seed = self._seeds.get(key)
            if seed is not None and seed.credentials == creds:
                del self._seeds[key]

    def ask_again(self, target: Target, creds: Credentials) -> None:
        """Forget the lookup that gave *creds*, so the next one runs the chain again.

        They stay accepted and proven meanwhile: other threads keep sending them.
        """
        with self._lock:
            slot = self._memo.get(target.key)
            if slot is not None and slot.result is not None and slot.result.credentials == creds:
                del self._memo[target.key]

    def _trim(self) -> None:
        while len(self._memo) > MEMO_SIZE:
            oldest = next(iter(self._memo))
            if not self._memo[oldest].done.is_set():
                break
            del self._memo[oldest]
        while len(self._seeds) > MEMO_SIZE:
            del self._seeds[next(iter(self._seeds))]

    def _run(self, target: Target, *, eager_only: bool) -> LookupResult:
        hidden = _hidden_user(target)
        username = target.index.username if target.index is not None else None
        record = Recorder(hidden=hidden, asked=username)
        failures: list[SourceFailure] = []
        for source in self.sources:
            if eager_only and not _sent_up_front(source, target):
                continue
            try:
                found = source.find(target, username, record)
            except SourceFailure as failure:
                self._failed(source, failure, username, record, failures)
                continue
            except Exception as exc:  # noqa: BLE001 - one broken source must not break the chain
                unexpected = SourceFailure(
                    f"{source.name} failed unexpectedly: {type(exc).__name__}: "
                    + " ".join(str(exc).split())[:200],
                    hint="this is a bug or an unsupported setup; run with "
                    "logging.getLogger('indexauth') at DEBUG and report it",
                )
                self._failed(source, unexpected, username, record, failures)
                continue
            if found is None:
                continue
            if found.complete:
                if target.index is not None and target.index.auth == "bearer":
                    found = found.as_bearer()
                return LookupResult(
                    found, found.username, _describe(record.attempts[-1]), tuple(record.attempts)
                )
            if username is None and found.username:
                username = found.username
                if record.hidden is None and shown_username(username, None) != username:
                    # Later sources are asked with a name found without a password (a netrc
                    # `login`), which may be a token: their steps and failures (a `keyring`
                    # command line) show it masked.
                    record.hidden = username
        if not eager_only and hidden is not None and username == hidden:
            # pip's rule for a lone user part: no password anywhere, so it is the token.
            record("index URL", "", username, "no password for its user part in any source: "
                   "sent as a token with an empty password")
            return LookupResult(
                Credentials(hidden, ""),
                hidden,
                URL_TOKEN_SOURCE,
                tuple(record.attempts),
                tuple(failures),
            )
        return LookupResult(None, username, None, tuple(record.attempts), tuple(failures))

    def _failed(
        self,
        source: Source,
        failure: SourceFailure,
        username: str | None,
        record: Recorder,
        failures: list[SourceFailure],
    ) -> None:
        if record.hidden is not None:
            failure = SourceFailure(
                record.mask(failure.message),
                hint=record.mask(failure.hint),
                error_class=failure.error_class,
            )
        failures.append(failure)
        last = record.attempts[-1] if record.attempts else None
        if last is None or last.source != source.name or not last.outcome.startswith("failed"):
            record(source.name, "", username, f"failed: {failure.message}")
        self._warn_once(f"{source.name}: {failure.message}")

    def _warn_once(self, message: str) -> None:
        with self._lock:
            if message in self._warned or len(self._warned) >= MEMO_SIZE:
                return
            self._warned.add(message)
        logger.warning("indexauth: %s", message)


def _hidden_user(target: Target) -> str | None:
    """The index URL's user part when it may be a token, else `None`."""
    creds = target.index._url_credentials if target.index is not None else None  # noqa: SLF001
    return creds.username if creds is not None and creds.may_be_token else None


def _describe(attempt: Attempt) -> str:
    return f"{attempt.source} {attempt.where}".strip()


def _sent_up_front(source: Source, target: Target) -> bool:
    """Whether *source* may be asked before the first request to *target*.

    netrc is matched by host alone, so its password may be meant for Digest or
    another scheme: over plain http it waits for a Basic challenge (issue 9.7)
    and goes up front, as pip sends it, only over https.
    """
    if not source.eager:
        return False
    return not (isinstance(source, NetrcSource) and target.realm.scheme == "http")
