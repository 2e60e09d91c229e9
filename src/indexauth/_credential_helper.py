"""`indexauth credential-helper get`: indexauth's credentials for any tool that speaks Bazel's
credential helper protocol.

The tool runs `<helper> get` and writes `{"uri": "https://..."}` to its stdin;
the helper prints `{"headers": {"Authorization": ["Basic ..."]}}`, or
`{"headers": {}}` when it has nothing for that URI (the tool then goes on
without credentials). The URI is matched to a configured index as every other
indexauth lookup is (longest root); an unconfigured URI is looked up as an
index at that URL, as `indexauth check URI` does: not one you configured, so netrc's
`default` entry and netrc over plain http are not used for it. A username in the URI is
honoured (without a password beside it, it may be a token: what the lookup logs shows it as
`****`); a password in it is ignored (never echoed back, never used).

Bad input is one line on stderr and exit code 2, never a traceback. When
indexauth itself runs this command as a credential helper for the same index,
the nested run answers `{"headers": {}}` at once instead of asking itself again.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from ._models import Index

__all__ = ["MAX_INPUT", "NESTED", "answer", "configured", "index_for", "main", "read_request"]

MAX_INPUT = 64 * 1024  # a request is one URI: far more than that is not a request
NESTED = "INDEXAUTH_CREDENTIAL_HELPER_RUNNING"  # set for this command's children


class HelperInputError(Exception):
    """The request on stdin is not what the protocol says; the message says what is wrong."""


def read_request(data: bytes) -> tuple[str, str | None, bool]:
    """The URI of a `get` request (without userinfo), the username it carries, if any, and
    whether that name may be a token (no password beside it, as pip and uv read it)."""
    from ._urls import UrlError, split_url, strip_userinfo, username_may_be_token  # noqa: PLC0415

    if len(data) > MAX_INPUT:
        raise HelperInputError(f"the request on stdin is longer than {MAX_INPUT // 1024} KiB")
    try:
        request = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise HelperInputError(
            'stdin is not a JSON object; expected {"uri": "https://..."}'
        ) from None
    if not isinstance(request, dict):
        raise HelperInputError('stdin is not a JSON object; expected {"uri": "https://..."}')
    uri = request.get("uri")
    if not isinstance(uri, str) or not uri:
        raise HelperInputError('the request has no "uri" string; expected {"uri": "https://..."}')
    try:
        parts = split_url(uri)
    except UrlError as exc:
        raise HelperInputError(f'"uri" is not usable: {exc}') from None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    lone = username is not None and username_may_be_token(username, password)
    return strip_userinfo(uri.strip()), username, lone


def answer(uri: str, username: str | None, *, keyring_provider: str, timeout: float) -> dict[str, Any]:
    """The protocol's answer for *uri*: the headers indexauth would send up front, or none."""
    from ._config import build_authenticator  # noqa: PLC0415

    index = index_for(uri)
    if username is not None:
        index = index.replace(username=username)
    if index.authenticate == "never":
        return {"headers": {}}
    auth = build_authenticator([index], keyring_provider=keyring_provider, keyring_timeout=timeout)
    target = auth.match(uri)
    if target is None or target.index is None:
        return {"headers": {}}  # a path that leaves the index root (dot segments): nothing
    result = auth.resolver.lookup(target)
    if not result.complete or result.credentials is None:
        return {"headers": {}}
    # Every header, as indexauth would send it (a configured helper may answer with another
    # header than Authorization), and its expiry, so the tool does not cache it for longer.
    headers: dict[str, list[str]] = {}
    for name, value in result.credentials.headers():
        headers.setdefault(name, []).append(value)
    reply: dict[str, Any] = {"headers": headers}
    if result.credentials.expires is not None:
        from ._models import format_rfc3339  # noqa: PLC0415

        reply["expires"] = format_rfc3339(result.credentials.expires)
    return reply


def configured() -> tuple[Index, ...]:
    """The indexes global mode and `status` know about; none when the configuration is invalid
    (the lookup then treats every URL as unconfigured; `indexauth status` says what is wrong)."""
    from . import _settings  # noqa: PLC0415
    from ._exceptions import ConfigurationError  # noqa: PLC0415

    try:
        return _settings.load()
    except ConfigurationError:
        return ()


def index_for(uri: str, known: Sequence[Index] | None = None) -> Index:
    """The index *uri* belongs to: a configured one (*known*, default: `configured()`; the
    longest root wins), else one you logged in to with `indexauth login` (its URL taken as an
    index, so files under its root are covered), else an index at *uri* itself, as
    `indexauth token URI` would take it."""
    from ._flow import Authenticator  # noqa: PLC0415
    from ._models import Index, mark_untrusted  # noqa: PLC0415
    from ._resolver import Resolver  # noqa: PLC0415
    from ._store import Store, StoreError  # noqa: PLC0415

    indexes = list(configured() if known is None else known)
    try:
        logins = [Index(entry.service) for entry in Store().load()]
    except (StoreError, ValueError):
        logins = []  # the lookup's own store source reports a broken store
    for candidates in (indexes, logins):
        target = Authenticator(candidates, Resolver(())).match(uri)
        if target is not None and target.index is not None:
            return target.index
    # Bazel asks about every URL it downloads, and any program may ask keyring about any
    # URL: such an index is not yours, so netrc's `default` entry and plain-http rules hold.
    return mark_untrusted(Index(uri), "a URL a tool asked about (not configured)")


def run(command: str, keyring_provider: str, timeout: float) -> int:
    """The `credential-helper` command: `get` reads stdin and prints the answer; exit code."""
    if command != "get":
        _error(f"unknown command {command!r}: the protocol has only `get`")
        return 2
    if os.environ.get(NESTED):
        # indexauth asked itself: its own chain is already running in the parent.
        print(json.dumps({"headers": {}}))
        return 0
    try:
        uri, username, lone = read_request(sys.stdin.buffer.read(MAX_INPUT + 1))
    except HelperInputError as exc:
        _error(str(exc))
        return 2
    import logging  # noqa: PLC0415

    from ._exceptions import ConfigurationError  # noqa: PLC0415

    # The URI's lone user part is looked up as a user name, so sources name it (a failing
    # `keyring` command's line): what the lookup logs to stderr, which Bazel shows, masks it.
    masked = _Masked(username) if lone and username is not None else None
    logger = logging.getLogger("indexauth")
    if masked is not None:
        logger.addFilter(masked)
    os.environ[NESTED] = "1"  # inherited by every program the lookup runs
    try:
        reply = answer(uri, username, keyring_provider=keyring_provider, timeout=timeout)
    except ConfigurationError as exc:
        _error(exc.summary if masked is None else masked.mask(exc.summary))
        return 2
    finally:
        del os.environ[NESTED]
        if masked is not None:
            logger.removeFilter(masked)
    print(json.dumps(reply))
    return 0


class _Masked:
    """A logging filter that shows *name* (a user part that may be a token) as `****`."""

    def __init__(self, name: str) -> None:
        from urllib.parse import quote  # noqa: PLC0415

        forms = {name, quote(name, safe=""), quote(name), repr(name)[1:-1]}
        self._forms = sorted(forms, key=len, reverse=True)  # the longest first: none left half-masked

    def mask(self, text: str) -> str:
        """*text* with every written form of the name replaced by `****`."""
        for form in self._forms:
            text = text.replace(form, "****")
        return text

    def filter(self, record: Any) -> bool:
        """Rewrite *record*'s message with the name masked; never drop it."""
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def _error(message: str) -> None:
    print(f"indexauth credential-helper: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """`indexauth-credential-helper get`: the command Bazel's --credential_helper can name."""
    from ._cli import main as cli_main  # noqa: PLC0415

    args = list(sys.argv[1:] if argv is None else argv)
    return cli_main(["credential-helper", *args])
