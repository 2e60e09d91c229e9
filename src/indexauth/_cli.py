"""The `indexauth` command: login, logout, token, check, status, demo.

It is for the person setting up or debugging access to an index, and answers
the question every other tool leaves open: which names were looked up, where,
and why it failed. Output is plain text (or `--json`); errors go to stderr as
what happened, what was tried, and what to do. No command but `token` ever
prints a secret. Exit codes are in `EXIT_CODES` and docs/cli.md.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import site
import sys
import sysconfig
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar
from urllib.parse import unquote

import _indexauth_startup

from . import _integrations, _settings, _urllib
from ._config import build_authenticator
from ._exceptions import (
    ERRORS_DOC,
    Attempt,
    ConfigurationError,
    CredentialsRejectedError,
    ForbiddenError,
    IncompleteCredentialsError,
    IndexAuthError,
    MissingCredentialsError,
)
from ._flow import Authenticator
from ._hints import missing_hint
from ._keyring import (
    DEFAULT_TIMEOUT,
    PROVIDERS,
    KeyringCommandSource,
    KeyringImportSource,
    _needs_username,
)
from ._models import Credentials, Index, format_rfc3339, mark_untrusted
from ._resolver import URL_TOKEN_SOURCE, Resolver
from ._sources import GivenSource, Target
from ._store import Store, StoreError, service_key
from ._urllib import UnreachableError
from ._urls import (
    UrlError,
    is_loopback,
    realm_of,
    redact,
    service_names,
    split_url,
    username_may_be_token,
)
from ._uvstore import UvStoreError, read_uv_store, uv_credentials_path
from ._version import __version__

__all__ = ["EXIT_CODES", "CliError", "ConfiguredIndex", "configured_indexes", "main"]

# Stable exit codes; `check` (and `login --check`) use one per outcome class.
EXIT_CODES = {
    "ok": 0,
    "error": 1,  # the command could not do its job (store or keyring broken, nothing to log out)
    "usage": 2,  # bad command line or input: unknown flag, malformed URL, empty password
    "missing": 3,
    "incomplete": 4,
    "rejected": 5,
    "forbidden": 6,
    "not-found": 7,
    "unreachable": 8,
    "source-failed": 9,  # a credential source (keyring, netrc, store) is broken
    "redirected": 10,  # a 3xx (often an SSO login page): not followed, nothing stored
    "interrupted": 130,  # Ctrl-C, as shells report SIGINT
}
HTTP_TIMEOUT = 15.0
T = TypeVar("T")
TOKEN_USERNAME = "__token__"  # noqa: S105 - a username, not a secret


class CliError(Exception):
    """A failure the command reports on stderr as what / tried / hint, with an exit code."""

    def __init__(
        self, what: str, *, hint: str = "", tried: Sequence[str] = (), code: str = "error"
    ) -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint
        self.tried = tuple(tried)
        self.code = code


# --- configured indexes ------------------------------------------------------------


@dataclass(frozen=True)
class ConfiguredIndex:
    """An index indexauth knows about, and where that configuration came from."""

    index: Index
    origin: str


def configured_indexes(extra: Sequence[ConfiguredIndex] = ()) -> list[ConfiguredIndex]:
    """Every configured index: *extra* first, then what global mode reads (see `_settings`).

    That is the `INDEXAUTH_INDEX_*` and `UV_INDEX`/`UV_DEFAULT_INDEX` variables,
    the working directory's uv.toml or pyproject.toml and the user config file,
    so `status` and `check` see what `INDEXAUTH=1` uses. An invalid configuration
    is one warning and no indexes, as in global mode.
    """
    found = list(extra)
    try:
        entries = _settings.entries(warn=_warn)
    except ConfigurationError as exc:
        _warn(f"the global configuration is ignored: {exc}")
        return found
    found += [
        ConfiguredIndex(entry.index, entry.origin) for entry in entries
    ]
    return found


def _index_for(url: str, username: str | None, given: str | None = None) -> tuple[Index, str]:
    """The configured index that covers *url* (with *username*), or an ad-hoc one.

    An ad-hoc index is *url* as pip's `-i URL` is (keyring names of the URL are
    tried), but marked as not configured by you, so the netrc rules for such
    URLs hold as in the library: no netrc password over plain http off
    loopback, no netrc `default` entry. *given* is the URL as typed: a user part
    in it that may be a token makes the ad-hoc index from it (see `Index`).
    """
    items = configured_indexes()
    target = Authenticator([item.index for item in items], Resolver(())).match(url)
    if target is None or target.index is None:
        adhoc = given if given is not None and _url_token(given) else url
        return (
            mark_untrusted(Index(adhoc, username=username), "the URL given on the command line"),
            "not configured: checked as an index at this URL",
        )
    origin = next(item.origin for item in items if item.index is target.index)
    index = target.index if username is None else target.index.replace(username=username)
    return index, origin


# --- small helpers ----------------------------------------------------------------


def _warn(message: str) -> None:
    print(f"indexauth: warning: {message}", file=sys.stderr)


def _out(text: str = "") -> None:
    print(text)


def _table(rows: Sequence[Sequence[str]], indent: str = "") -> str:
    """*rows* with every column but the last padded to its widest cell."""
    if not rows:
        return ""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append((indent + "  ".join([*cells, row[-1]])).rstrip())
    return "\n".join(lines)


def _url_arg(text: str) -> str:
    """*text* as an index URL (no userinfo, normalised), or a usage error."""
    try:
        parts = split_url(text)
    except UrlError as exc:
        raise CliError(
            f"invalid URL: {exc}",
            hint="give the index URL in full, for example https://pkgs.example.com/simple/",
            code="usage",
        ) from None
    if parts.password is not None:
        raise CliError(
            f"the URL {redact(text)} contains a password; it would end up in your shell history",
            hint="give the URL without it and pass the password with --password-stdin",
            code="usage",
        )
    return service_key(text)


def _url_username(text: str) -> str | None:
    """The user part of *text*, decoded as pip decodes it, or `None`."""
    try:
        user = split_url(text).username
    except UrlError:
        return None
    return unquote(user) if user else None


def _url_token(text: str) -> bool:
    """Whether the user part of *text* may be a token (pip's `https://TOKEN@host/`)."""
    user = _url_username(text)
    return user is not None and username_may_be_token(user, None)


def _who(username: str, text: str) -> str:
    """*username* as output may show it: `****` if it is *text*'s user part and may be a token.

    A lone user part is shown nowhere, since indexauth cannot tell a user name
    from a pasted token; the conventional names (`__token__`, ...) stay visible.
    """
    return "****" if username == _url_username(text) and _url_token(text) else username


def _stored_who(username: str | None, *given: str | None) -> str | None:
    """A stored *username* as output may show it: `****` unless it is a conventional name
    (`__token__`, ...) or one you gave as a user name (`--username`, an index's username).

    Neither the store nor a keyring says where a name came from, and `login` takes a
    URL's lone user part, which may be a pasted token, as the user name: so no stored
    name is shown by itself, as `_who` shows none from a URL's user part.
    """
    if username is None or not username_may_be_token(username, None) or username in given:
        return username
    return "****"


def _shown_url_username(text: str) -> str | None:
    """The user part of *text* as a user name, or `None` when it may be a token."""
    return None if _url_token(text) else _url_username(text)


def _is_loopback(url: str) -> bool:
    return is_loopback(realm_of(url).host)


def _attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "source": attempt.source,
        "where": attempt.where,
        "username": attempt.username,  # a stored name is masked as it is recorded (`Recorder`)
        "outcome": attempt.outcome,
    }


# --- keyring --------------------------------------------------------------------


def _keyring_for_writing() -> tuple[Any | None, str]:
    """The `keyring` module when its backend can store secrets, and a description of it."""
    try:
        import keyring  # noqa: PLC0415 - optional, and only the CLI writes to it
    except ImportError:
        return None, "keyring is not installed (pip install 'indexauth[keyring]')"
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - any backend may fail to load; reported, not raised
        return None, f"no backend could be loaded ({type(exc).__name__})"
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    module = type(backend).__module__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return None, f"{name}, which cannot store anything"
    if name == "indexauth._keyring_backend.IndexAuthKeyring":
        return None, "only indexauth's own read-only backend (INDEXAUTH=1), which stores nothing"
    if type(backend).__name__ == "ChainerBackend" and not getattr(backend, "backends", None):
        return None, f"{name} with no backends behind it"
    return keyring, name


def _keyring_label(provider: str, timeout: float) -> tuple[str, str]:
    """(provider, backend) as `check` and `status` show them."""
    if provider == "disabled":
        return "disabled", "-"
    from ._keyring import keyring_source  # noqa: PLC0415

    source = keyring_source(provider, timeout=timeout)
    if source is None:
        return f"{provider}: none available", "keyring is not installed and not on PATH"
    if isinstance(source, KeyringImportSource):
        label = source.describe()
        return f"{provider} -> import", label.removeprefix("(import, ").removesuffix(")")
    assert isinstance(source, KeyringCommandSource)  # noqa: S101 - the only other kind
    return f"{provider} -> subprocess", source.executable() or "not on PATH"


def _in_time(call: Callable[[], T], timeout: float, doing: str) -> T:
    """*call*'s result, run in a worker thread so a keyring waiting for an unlock prompt
    cannot hang the command; `CliError` after *timeout* seconds."""
    box: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, raised there
            errors.append(exc)

    worker = threading.Thread(target=run, name="indexauth-keyring", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise CliError(
            f"the keyring did not answer within {timeout:g} s while {doing} "
            "(a keyring waiting for an unlock prompt does this)",
            hint="unlock the keyring and try again, raise --timeout, or use --store file",
        )
    if errors:
        raise errors[0]
    return box[0]


def _keyring_error(exc: Exception, doing: str) -> CliError:
    locked = type(exc).__name__ == "KeyringLocked"
    what = "the keyring is locked" if locked else f"the keyring failed: {type(exc).__name__}"
    return CliError(
        f"{what} while {doing} ({' '.join(str(exc).split())[:200]})",
        hint="unlock your keyring (log in to the desktop session), or run again with --store file"
        if locked
        else "run `keyring diagnose` to see the backend, or run again with --store file",
    )


# --- live requests --------------------------------------------------------------------


def _unreachable(url: str, exc: UnreachableError) -> CliError:
    reason = exc.reason
    return CliError(
        f"{redact(url)} is unreachable: {reason}",
        hint="check the URL, your network and proxy settings (HTTPS_PROXY, NO_PROXY), "
        "then run the command again",
        code="unreachable",
    )


def _classify_status(status: int) -> str:
    if 200 <= status < 300:
        return "ok"
    if 300 <= status < 400:
        # Often an SSO login page answering credentials it did not accept: never success.
        return "redirected"
    return {401: "rejected", 403: "forbidden", 404: "not-found"}.get(status, "unreachable")


_STATUS_HINTS = {
    "rejected": "the server refused these credentials (401): check the username and the "
    "password or token, and that it has not expired",
    "forbidden": "the credentials were accepted but may not read this URL (403): check the "
    "token's scopes or the user's permissions (GitLab needs read_api or read_package_registry)",
    "not-found": "the server answered 404: check the URL (PyPI-style indexes end in /simple/) "
    "and that this user may see the index (GitLab, Artifactory answer 404 to strangers)",
    "unreachable": "the server answered with an error: try again later, or check the URL",
    "redirected": "the server answered with a redirect, which indexauth does not follow: a "
    "login page (SSO) means these credentials were not accepted as they are (check the "
    "username and token); if it points to the index's real URL, use that URL instead",
}


# --- commands ---------------------------------------------------------------------


def _prompt(ask: Callable[[], str]) -> str:
    """*ask*'s answer; Ctrl-D or Ctrl-C at the prompt is one line saying nothing was stored."""
    try:
        return ask()
    except EOFError:
        print(file=sys.stderr)  # the prompt line is still open
        raise CliError("no input (Ctrl-D); nothing was stored", code="usage") from None
    except KeyboardInterrupt:
        print(file=sys.stderr)
        raise CliError("interrupted; nothing was stored", code="interrupted") from None


_MAX_SECRET = 64 * 1024  # characters; the longest real tokens are a few KiB


def _read_secret(args: argparse.Namespace, username: str) -> str:
    if args.password_stdin or args.token_stdin:
        try:
            # Bounded: `yes | indexauth login ...` must end, not fill memory.
            data = sys.stdin.read(_MAX_SECRET + 1)
            data.encode("utf-8")  # undecodable bytes arrive as lone surrogates
        except (UnicodeDecodeError, UnicodeEncodeError):
            raise CliError(
                "stdin is not valid UTF-8 text; nothing was stored",
                hint="pipe the secret as UTF-8 text",
                code="usage",
            ) from None
        if len(data) > _MAX_SECRET:
            raise CliError(
                f"stdin is longer than {_MAX_SECRET // 1024} KiB: not a password or token; "
                "nothing was stored",
                hint="pipe only the secret, for example `printf %s \"$TOKEN\" | indexauth login ...`",
                code="usage",
            )
        secret = data[:-1] if data.endswith("\n") else data
        secret = secret[:-1] if secret.endswith("\r") else secret
        what = "token" if args.token_stdin else "password"
        if not secret:
            raise CliError(f"the {what} read from stdin is empty; nothing was stored", code="usage")
        return secret
    if not sys.stdin.isatty():
        raise CliError(
            "no password given and stdin is not a terminal, so indexauth will not prompt",
            hint="pipe it in with --password-stdin (or --token-stdin for a token): "
            '`printf %s "$PASSWORD" | indexauth login URL --username USER --password-stdin`',
            code="usage",
        )
    secret = _prompt(lambda: getpass.getpass(f"Password for {username}: "))
    if not secret:
        raise CliError("empty password refused; nothing was stored", code="usage")
    return secret


def _read_username(args: argparse.Namespace, url_user: str | None) -> str:
    if args.token_stdin:
        return TOKEN_USERNAME
    if args.username:
        return str(args.username)
    if url_user:
        return url_user
    if not sys.stdin.isatty():
        raise CliError(
            "no username given and stdin is not a terminal, so indexauth will not prompt",
            hint="pass --username USER (with --password-stdin), or --token-stdin for a token "
            "(username __token__)",
            code="usage",
        )
    name = _prompt(lambda: input("Username: ")).strip()
    if not name:
        raise CliError("empty username refused; nothing was stored", code="usage")
    return name


def _login_keyring(choice: str, url: str, username: str) -> tuple[Any | None, str, bool]:
    """The keyring module to store into (`None`: use the store), its description, and
    whether it can find the entry only when the index has *username* configured."""
    if choice == "file":
        return None, "", False
    keyring_module, backend = _keyring_for_writing()
    if keyring_module is None:
        if choice == "keyring":
            raise CliError(
                f"no usable keyring: {backend}; nothing was stored",
                hint="configure a keyring backend (`keyring --list-backends`), or run again "
                "with --store file",
            )
        return None, backend, False
    # keyrings.alt and macOS keep keyring's base get_credential: they find nothing when
    # asked without a username, so an entry there is invisible unless one is configured.
    blind = _needs_username(keyring_module) and _index_for(url, None)[0].username != username
    if blind and choice == "auto":
        return (
            None,
            f"{backend} cannot look up without a username and none is configured for this "
            "index; indexauth's store finds the entry by URL alone",
            False,
        )
    return keyring_module, backend, blind


def _check_before_storing(url: str, creds: Credentials, timeout: float) -> None:
    """One GET with *creds*; `CliError` (nothing stored) unless the index answers 2xx.

    The request goes through the shared flow, as if *url* were an `always` index
    whose only source is what you typed: the rules of every driver apply.
    """
    index = Index(url, authenticate="always", username=creds.username)
    auth = Authenticator([index], Resolver([GivenSource(creds)]))
    try:
        _outcome, exchange = _urllib.get(auth, url, timeout=timeout)
    except UnreachableError as exc:
        raise _unreachable(url, exc) from None
    if not exchange.sent or exchange.sent[-1][0] == "none":
        raise CliError(
            f"indexauth does not send credentials to {redact(url)} (its path leaves the index "
            "root, or servers read it differently); nothing was stored",
            hint="give the index URL without `..`, `%2e`, `%2f` or `//` in its path",
            code="usage",
        )
    status = exchange.sent[-1][1]
    outcome = _classify_status(status)
    if outcome != "ok":
        location = exchange.location
        moved = f" (a redirect to {redact(location)}, not followed)" if location else ""
        raise CliError(
            f"{url} answered {status}{moved} to these credentials; nothing was stored",
            hint=_STATUS_HINTS[outcome],
            code=outcome,
        )
    _out(f"Checked: {url} answered {status} to these credentials")


def cmd_login(args: argparse.Namespace) -> int:
    """Store credentials for an index, in the keyring or indexauth's store."""
    url = _url_arg(args.url)
    if realm_of(url).scheme == "http" and not _is_loopback(url) and not args.allow_insecure_http:
        raise CliError(
            f"refusing to store credentials for {url}: plain http sends them readable by anyone "
            "on the way",
            hint="use the https:// URL of the index, or pass --allow-insecure-http if you must",
            code="usage",
        )
    if args.token_stdin and args.username and args.username != TOKEN_USERNAME:
        raise CliError(
            "--token-stdin stores username __token__; it cannot be combined with --username",
            code="usage",
        )
    username = _read_username(args, _url_username(args.url))
    shown = _who(username, args.url)
    secret = _read_secret(args, shown)
    try:
        creds = Credentials(username, secret)
    except ConfigurationError as exc:
        raise CliError(exc.summary, hint=exc.hint, code="usage") from None

    keyring_module, backend, blind = _login_keyring(args.store, url, username)
    store = Store()
    if args.check:
        _check_before_storing(url, creds, args.timeout)

    if keyring_module is not None:
        try:
            _in_time(
                lambda: keyring_module.set_password(url, username, secret),
                args.timeout,
                "storing the password; nothing was stored",
            )
        except CliError:
            raise
        except Exception as exc:  # noqa: BLE001 - a backend may raise anything
            raise _keyring_error(exc, "storing the password; nothing was stored") from None
        _out(f"Stored credentials for {shown}@{url} in the keyring ({backend})")
        if blind and shown != username:
            _warn(
                f"{backend} cannot look up without a username, so this entry is found only "
                "when the index has that username: give the index URL with the same user part, "
                "as here, or configure the username for it (Index(username=...) in code, "
                "INDEXAUTH_INDEX_<NAME>_USERNAME in the environment, or username in its "
                f"[[index]] table in {_settings.config_path()})"
            )
        elif blind:
            _warn(
                f"{backend} cannot look up without a username, so this entry is found only "
                f"when the index has username {username!r} configured: "
                f"Index({url!r}, username={username!r}) in code, "
                f"INDEXAUTH_INDEX_<NAME>_USERNAME={username} in the environment, or "
                f'username = "{username}" in its [[index]] table in config.toml '
                f"({_settings.config_path()})"
            )
        # The store comes before keyring in the chain: an old entry there would win.
        try:
            if store.path.exists():
                if store.remove(url, username):
                    _out(f"Removed the older entry for {shown}@{url} from {store.path}")
                _warn_shadowing(store, url, shown)
        except StoreError as exc:
            _warn(f"{exc.message}; an entry there may still shadow the keyring ({exc.hint})")
        return 0
    try:
        replaced = store.put(url, username, secret)
    except StoreError as exc:
        raise CliError(f"{exc.message}; nothing was stored", hint=exc.hint) from None
    verb = "Replaced" if replaced else "Stored"
    _out(f"{verb} credentials for {shown}@{url} in {store.path}")
    if args.store == "auto":
        _out(f"(the keyring was not used: {backend})")
    return 0


def _warn_shadowing(store: Store, url: str, given: str) -> None:
    """One warning per store entry that the lookup for *url* finds before the keyring.

    They are other users' (or host-wide) logins: kept, since only their owner knows
    whether they are stale, but named with the command that removes them. Their user
    names are shown only as `_stored_who` allows (*given*: the name just stored).
    """
    keys = {service_key(name) for name in service_names(url) if "://" in name}
    for cred in store.load():
        if service_key(cred.service) in keys:
            who = _stored_who(cred.username, given)
            if who == cred.username:
                remove = f"remove it with `indexauth logout {cred.service} --username {who}`"
            else:
                remove = (
                    f"remove it with `indexauth logout {cred.service} --username USERNAME`, where "
                    f"USERNAME is the user name it holds (not shown, as it may be a token; {store.path} "
                    "lists it)"
                )
            found = f"{store.path} still holds {who}@{cred.service}"
            _warn(f"{found}, which the lookup finds before the keyring; {remove}")


def cmd_logout(args: argparse.Namespace) -> int:
    """Remove stored credentials for an index from the keyring and indexauth's store."""
    url = _url_arg(args.url)
    username = args.username or _url_username(args.url)
    removed: list[str] = []
    tried: list[str] = []
    keyring_module, backend = _keyring_for_writing()
    if keyring_module is not None:
        tried.append(f"keyring ({backend}) service {url!r}")
        try:
            cred = _in_time(
                lambda: keyring_module.get_credential(url, username), args.timeout, "looking up"
            )
            if cred is not None and cred.username is not None:
                _in_time(
                    lambda: keyring_module.delete_password(url, cred.username),
                    args.timeout,
                    "removing the password",
                )
                who = _stored_who(cred.username, args.username)
                removed.append(f"{who}@{url} from the keyring ({backend})")
        except CliError:
            raise
        except Exception as exc:  # noqa: BLE001 - a backend may raise anything
            raise _keyring_error(exc, "removing the password") from None
    store = Store()
    tried.append(f"indexauth store {store.path}")
    if store.path.exists():
        try:
            gone = store.remove(url, username)
        except StoreError as exc:
            for line in removed:  # the keyring part is done: say so before the error
                _out(f"Removed {line}")
            raise CliError(f"{exc.message}; nothing was removed from it", hint=exc.hint) from None
        removed += [f"{_stored_who(cred.username, args.username)}@{url} from {store.path}" for cred in gone]
    if not removed:
        who = f" for username {_who(username, args.url)!r}" if username else ""
        raise CliError(
            f"no stored credentials for {url}{who}",
            tried=tried,
            hint=""
            if username
            else "if they were stored for a username, pass --username U; "
            "`indexauth check URL` shows where indexauth finds credentials",
            code="missing",
        )
    for line in removed:
        _out(f"Removed {line}")
    return 0


def _authenticator(args: argparse.Namespace, index: Index) -> Authenticator:
    return build_authenticator(
        [index],
        keyring_provider=args.keyring_provider,
        keyring_timeout=args.timeout,
    )


def _printed_secret(creds: Credentials) -> str:
    """What `token` prints: the password or token; for a credential helper's headers, a Bearer
    token itself, else each header as `Name: value` (what is sent, as `curl -H` takes it)."""
    if not creds.from_helper:
        return creds.password or ""
    headers = creds.headers()
    if len(headers) == 1 and headers[0][0].lower() == "authorization":
        scheme, _, value = headers[0][1].partition(" ")
        if scheme.lower() == "bearer" and value:
            return value
    return "\n".join(f"{name}: {value}" for name, value in headers)


def cmd_token(args: argparse.Namespace) -> int:
    """Print the password or token indexauth would send for an index."""
    url = _url_arg(args.url)
    index, _origin = _index_for(url, args.username or _shown_url_username(args.url), args.url)
    auth = _authenticator(args, index)
    target = auth.match(url)
    if target is None:
        raise CliError(
            f"indexauth sends no credentials to {redact(url)}: servers read its path "
            "differently (a segment some server reads as `..`, such as `..%00`, `%c0%ae`, "
            "`%u002e`, or dot segments with %2f, %5c, `\\`, `;` or `//`)",
            hint="give the index URL itself, without such a path",
            code="usage",
        )
    result = auth.resolver.lookup(target)
    if result.complete and result.credentials is not None:
        creds = result.credentials
        # A lone user part of the URL is sent as the token itself: that is the secret.
        print(creds.username if result.source == URL_TOKEN_SOURCE else _printed_secret(creds))
        return 0
    tried = [str(a) for a in result.attempts]
    if result.failures:
        failure = result.failures[0]
        raise CliError(
            f"a credential source failed for {url}: {failure.message}",
            hint=failure.hint,
            tried=tried,
            code="source-failed",
        )
    if result.username is not None:
        # A name a source found (a netrc `login`, a stored name) may be a token.
        who = _stored_who(result.username, args.username, index.username)
        raise CliError(
            f"username {who!r} found for {url} but no password",
            hint=missing_hint(target, who, attempts=result.attempts),
            tried=tried,
            code="incomplete",
        )
    raise CliError(
        f"no credentials found for {url}",
        hint=missing_hint(target, index.username, attempts=result.attempts),
        tried=tried,
        code="missing",
    )


def _classify_error(error: IndexAuthError) -> str:
    if isinstance(error, ForbiddenError):
        return "forbidden"
    if isinstance(error, CredentialsRejectedError):
        return "rejected"
    if isinstance(error, IncompleteCredentialsError):
        return "incomplete"
    if isinstance(error, MissingCredentialsError):
        return "missing"
    return "source-failed"


def _program_rows(program: dict[str, Any] | None) -> list[tuple[str, str]]:
    if program is None:
        return []
    text = f"{program['kind']} `{program['program']}`"
    if program["ran"]:
        text += f": ran in {program['seconds']:.2f} s, " + (
            f"expires {program['expires']}" if program["expires"] else "no expiry (kept for the process)"
        )
        if program["refreshed"]:
            text += ", refreshed"
    else:
        text += ": did not give credentials"
    return [("program", text)]


def _program_label(index: Index) -> str | None:
    """`password command `aws``: the program an index runs, by its first word only."""
    program = index.program
    return f"{program[0]} `{program[1][0]}`" if program is not None else None


def _program_json(index: Index, creds: Credentials | None) -> dict[str, Any] | None:
    """The index's password command or credential helper, and its last run: never its output."""
    program = index.program
    if program is None:
        return None
    kind, argv = program
    report: dict[str, Any] = {"kind": kind, "program": argv[0], "ran": False}
    run = creds.run if creds is not None else None
    if run is not None:
        report.update(
            ran=True,
            seconds=round(run.seconds, 3),
            expires=format_rfc3339(run.expires) if run.expires is not None else None,
            refreshed=run.refreshed,
        )
    return report


def cmd_check(args: argparse.Namespace) -> int:
    """Show every step of the lookup for a URL, then make one live request and classify it."""
    url = _url_arg(args.url)
    index, origin = _index_for(url, args.username or _shown_url_username(args.url), args.url)
    auth = _authenticator(args, index)
    target = auth.match(url)
    if target is None:
        raise CliError(
            f"indexauth sends no credentials to {redact(url)}: servers read its path "
            "differently (a segment some server reads as `..`, such as `..%00`, `%c0%ae`, "
            "`%u002e`, or dot segments with %2f, %5c, `\\`, `;` or `//`)",
            hint="check the index URL itself, without such a path",
            code="usage",
        )
    provider, backend = _keyring_label(args.keyring_provider, args.timeout)
    result = auth.resolver.lookup(target)

    error: IndexAuthError | None = None
    detail = ""
    sent: list[dict[str, Any]] = []
    try:
        outcome_, exchange = _urllib.get(auth, url, timeout=args.timeout)
    except UnreachableError as exc:
        outcome, hint = "unreachable", _unreachable(url, exc).hint
        detail = f"{redact(url)} is unreachable: {exc.reason}"
    else:
        sent = [{"authorization": scheme, "status": status} for scheme, status in exchange.sent]
        for item, extra in zip(sent, exchange.extra, strict=True):
            if extra:
                item["headers"] = extra  # a helper's header names; their values are secrets
        error = outcome_.error
        last = sent[-1]["status"] if sent else None
        if error is not None:
            outcome, hint, detail = _classify_error(error), error.hint, error.summary
        else:
            outcome = _classify_status(last) if last is not None else "ok"
            hint = _STATUS_HINTS.get(outcome, "")
            detail = f"the server answered {last}"
            if outcome in ("rejected", "forbidden", "not-found") and sent[-1]["authorization"] == "none":
                if target.index is not None and target.index.authenticate == "never":
                    outcome = "missing"
                    hint = (
                        f"{target.index.ref} has authenticate='never', so indexauth sends no "
                        "credentials to it; change the policy to 'auto'"
                    )
                elif target.index is None and outcome != "rejected":
                    outcome = "missing"
                    hint = (
                        f"{redact(url)} is not a configured index, so indexauth answers only a "
                        "401 challenge there; add it as an index (an [[index]] table in "
                        f"{_settings.config_path()}) to authenticate on 403 or 404"
                    )
            if exchange.location:
                detail += f" (a redirect to {redact(exchange.location)}, not followed)"
    code = EXIT_CODES[outcome]
    report = {
        "url": redact(url),
        "index": {
            "name": target.index.name if target.index else None,
            "url": target.index.ref.url if target.index else None,
            "policy": target.index.authenticate if target.index else "auto",
            "username": target.index.username if target.index else None,
            "origin": origin,
        },
        "realm": str(target.realm),
        "service_names": list(target.service_names),
        "keyring": {"provider": provider, "backend": backend},
        "store": str(Store().path),
        "attempts": [_attempt_json(a) for a in result.attempts],
        "found": {
            "source": result.source,
            # A stored name, or a password stored for the URL's lone user part: not shown.
            "username": _stored_who(result.username or None, args.username, index.username),
        }
        if result.complete and result.credentials is not None
        else None,
        # The last run: a refresh during the live request replaced the first lookup's.
        "program": _program_json(index, (auth.resolver.peek(target) or result).credentials),
        "requests": sent,
        "outcome": outcome,
        "detail": detail,
        "hint": hint,
        "exit_code": code,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return code
    _print_check(report, target)
    return code


def _short_where(attempt: dict[str, Any], store: str) -> str:
    where = str(attempt["where"])
    if attempt["source"] == "keyring" and ") service " in where:
        return "service " + where.split(") service ", 1)[1]
    if attempt["source"] == "indexauth store" and where.startswith(store + " "):
        return where[len(store) + 1 :]
    return where


def _print_check(report: dict[str, Any], target: Target) -> None:
    index = report["index"]
    name = f"{index['name']!r} " if index["name"] else ""
    shown = f"{name}{index['url']} ({index['origin']})" if index["url"] else index["origin"]
    _out(
        _table(
            [
                ("url", report["url"]),
                ("index", shown),
                ("policy", index["policy"]),
                ("username", index["username"] or "(none configured)"),
                ("realm", report["realm"]),
                ("keyring", f"{report['keyring']['provider']} ({report['keyring']['backend']})"),
                ("services", ", ".join(repr(s) for s in target.service_names)),
                ("store", report["store"]),
                *_program_rows(report["program"]),
            ]
        )
    )
    _out()
    _out("credential lookup, in order:")
    # The keyring backend and the store path are in the header: rows show what differs.
    rows = [
        (a["source"], _short_where(a, report["store"]), a["username"] or "-", a["outcome"])
        for a in report["attempts"]
    ]
    _out(_table([("source", "where", "username", "outcome"), *rows], indent="  "))
    found = report["found"]
    if found and rows:
        source, where, _user, _outcome = rows[-1]
        _out(f"  => found: {source}, {where} (username {found['username']!r})")
    else:
        _out("  => nothing found")
    _out()
    _out(f"live request: GET {report['url']}")
    for i, item in enumerate(report["requests"], 1):
        auth = {"none": "no Authorization"}.get(
            item["authorization"], item["authorization"].title()
        )
        _out(f"  {i}. {auth:<18} -> {item['status']}")
    _out()
    _out(f"outcome: {report['outcome']} (exit code {report['exit_code']})")
    if report["detail"]:
        _out(f"  {report['detail']}".replace("\n", "\n  "))
    if report["hint"]:
        hint_lines = report["hint"].splitlines()
        _out("  hint: " + hint_lines[0])
        for line in hint_lines[1:]:
            _out("        " + line)
    if report["exit_code"]:
        _out(f"  see: {ERRORS_DOC}#check-exit-{report['exit_code']}")


def _site_dirs() -> list[Path]:
    dirs = []
    for key in ("purelib", "platlib"):
        dirs.append(Path(sysconfig.get_paths()[key]))
    if hasattr(site, "getsitepackages"):
        dirs += [Path(p) for p in site.getsitepackages()]
    return list(dict.fromkeys(dirs))


def _carrier_state(enabled: bool) -> dict[str, Any]:
    """Global mode in child interpreters: whether this process got it or hands it on, and from where."""
    from ._children import carrier_directory  # noqa: PLC0415

    interpreter = f"{sys.executable} ({sys.version_info[0]}.{sys.version_info[1]})"
    carried = _indexauth_startup.carried
    directory = carrier_directory()
    return {
        "active": enabled and (carried is not None or directory is not None),
        "carried_from": carried,
        "interpreter": interpreter,
        "directory": directory,
    }


def _carrier_line(carrier: dict[str, Any]) -> str:
    if carrier["carried_from"] is not None:
        return f"active in this interpreter, {carrier['interpreter']}, carried from {carrier['carried_from']}"
    if carrier["active"]:
        return (
            f"on: every Python started from here gets indexauth from this interpreter, "
            f"{carrier['interpreter']} (PYTHONPATH has {carrier['directory']})"
        )
    return "off (INDEXAUTH is not on)"


def cmd_status(args: argparse.Namespace) -> int:
    """Show configured indexes, the keyring, the store and the global hook."""
    indexes = configured_indexes()
    provider, backend = _keyring_label(args.keyring_provider, args.timeout)
    store = Store()
    store_info: dict[str, Any] = {"path": str(store.path), "exists": store.path.exists()}
    try:
        store_info["entries"] = len(store.load())
        store_info["problem"] = store.loose_permissions()
    except StoreError as exc:
        store_info["entries"] = None
        store_info["problem"] = f"{exc.message} ({exc.hint})"
    uv_path = uv_credentials_path()
    uv_info: dict[str, Any] = {"path": str(uv_path), "exists": uv_path.exists(), "problem": None}
    uv_entries = None
    try:
        uv_entries = read_uv_store(uv_path)
        uv_info["entries"] = None if uv_entries is None else len(uv_entries)
    except UvStoreError as exc:
        uv_info["entries"] = None
        uv_info["problem"] = f"{exc}; indexauth skips it"
    kr_backend = _integrations.backend_state()
    hooks = [d / "indexauth.pth" for d in _site_dirs()]
    hook = next((p for p in hooks if p.exists()), None)
    gate = os.environ.get("INDEXAUTH")
    # The hook's own rule, so status never says "enabled" when the hook would not run.
    enabled = _indexauth_startup.enabled()
    carrier = _carrier_state(enabled)
    report: dict[str, Any] = {
        "indexes": [
            {
                "name": item.index.name,
                "url": item.index.ref.url,
                "policy": item.index.authenticate,
                "auth": item.index.auth,
                "program": _program_label(item.index),
                "origin": item.origin,
                "integrations": _integrations.for_index(item.index, uv_entries, kr_backend),
            }
            for item in indexes
        ],
        "keyring_backend": kr_backend,
        "keyring": {"provider": provider, "backend": backend},
        "store": store_info,
        "uv_store": uv_info,
        "hook": {
            "installed": hook is not None,
            "path": str(hook if hook is not None else hooks[0]),
            "INDEXAUTH": gate,
            "enabled": enabled,
        },
        "carrier": carrier,
        "version": __version__,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    _out("indexes:")
    if indexes:
        index_rows = [
            (
                repr(i["name"]) if i["name"] else "-",
                i["url"],
                ", ".join(
                    [i["policy"], *([i["program"]] if i["program"] else []),
                     *(["bearer"] if i["auth"] == "bearer" else [])]
                ),
                i["origin"],
            )
            for i in report["indexes"]
        ]
        _out(_table(index_rows, indent="  "))
        _out()
        _out("other tools, per index (docs/tools.md):")
        _out(
            _table(
                [
                    (
                        repr(i["name"]) if i["name"] else "-",
                        i["url"],
                        _integrations.describe(i["integrations"]),
                    )
                    for i in report["indexes"]
                ],
                indent="  ",
            )
        )
    else:
        _out(
            "  none configured (set INDEXAUTH_INDEX_<NAME>_URL or UV_INDEX, add [[index]] "
            f"tables to {_settings.config_path()} or uv.toml, or configure them in code)"
        )
    _out()
    entries = store_info["entries"]
    store_line = "no file yet" if not store_info["exists"] else f"{entries} credential(s)"
    if entries is None:
        store_line = "unreadable"
    hook_info = report["hook"]
    rows: list[tuple[str, str]] = [
        ("keyring", f"{provider} ({backend})"),
        ("store", f"{store_info['path']} ({store_line})"),
        ("uv store", f"{uv_info['path']} ({_uv_line(uv_info)})"),
        (
            "backend",
            "keyring backend active: tools that ask keyring get indexauth's credentials"
            if kr_backend["active"]
            else f"keyring backend inactive: {kr_backend['why']}",
        ),
        (
            "helper",
            f"credential helper for Bazel: {kr_backend['helper']} get"
            if kr_backend["helper"]
            else "credential helper: indexauth-credential-helper is not installed",
        ),
        (
            "hook",
            f"{'installed' if hook_info['installed'] else 'not installed'}: {hook_info['path']}",
        ),
        (
            "INDEXAUTH",
            f"{'enabled' if hook_info['enabled'] else 'disabled'} (INDEXAUTH={gate!r})"
            if gate is not None
            else "disabled (INDEXAUTH is not set)",
        ),
        ("carrier", _carrier_line(carrier)),
        ("version", __version__),
    ]
    _out(_table(rows))
    if store_info["problem"]:
        _warn(store_info["problem"])
    if uv_info["problem"]:
        _warn(uv_info["problem"])
    return 0


def _uv_line(info: dict[str, Any]) -> str:
    if info["problem"]:
        return "unreadable"
    if not info["exists"]:
        return "no file: `uv auth login` writes it"
    return f"{info['entries']} credential(s), read only"


def cmd_credential_helper(args: argparse.Namespace) -> int:
    """Print the headers for the URI on stdin, as Bazel's credential helper protocol asks."""
    from ._credential_helper import run  # noqa: PLC0415

    return run(args.helper_command, args.keyring_provider, args.timeout)


def cmd_demo(args: argparse.Namespace) -> int:
    """Walk through lazy, eager, missing and rejected credentials against a local index."""
    from ._demo import run_demo  # noqa: PLC0415 - pulls in requests and http.server

    return run_demo()


# --- parsing ------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise CliError(message, hint=f"run `{self.prog} --help`", code="usage")


_MAX_SECONDS = 86400.0  # a day; sockets and thread joins refuse much larger values


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    if not value <= _MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds at most {_MAX_SECONDS:g}, got {text!r}"
        )
    return value


URL_HELP = "the index URL, as given to pip or uv (https://host/simple/)"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="indexauth",
        description="Set up and debug credentials for private package indexes.",
        epilog="Exit codes: "
        + ", ".join(f"{code} {name}" for name, code in EXIT_CODES.items())
        + ". See docs/cli.md.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"indexauth {__version__}",
        help="print the version and exit",
    )
    seconds = _positive_seconds
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def lookup_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--keyring-provider",
            choices=PROVIDERS,
            default="auto",
            help="how to ask keyring: the module, the `keyring` command, or not at all",
        )
        p.add_argument(
            "--timeout",
            type=seconds,
            default=DEFAULT_TIMEOUT,
            help="seconds for keyring, and for each HTTP answer as a whole",
        )

    login = sub.add_parser("login", help="store credentials for an index")
    login.add_argument("url", metavar="URL", help=URL_HELP)
    login.add_argument("--username", "-u", help="the username (asked for when omitted)")
    secret = login.add_mutually_exclusive_group()
    secret.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    secret.add_argument(
        "--token-stdin", action="store_true", help="read a token from stdin (username __token__)"
    )
    login.add_argument("--check", action="store_true", help="try the credentials before storing")
    login.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// URL that is not on this machine",
    )
    login.add_argument(
        "--store",
        choices=("auto", "keyring", "file"),
        default="auto",
        help="where to store: keyring, indexauth's credentials.toml, or keyring when usable",
    )
    login.add_argument(
        "--timeout",
        type=seconds,
        default=HTTP_TIMEOUT,
        help="seconds for keyring, and for each HTTP answer as a whole",
    )
    login.set_defaults(func=cmd_login)

    logout = sub.add_parser("logout", help="remove stored credentials for an index")
    logout.add_argument("url", metavar="URL", help=URL_HELP)
    logout.add_argument("--username", "-u", help="remove only this username's entry")
    logout.add_argument(
        "--timeout", type=seconds, default=DEFAULT_TIMEOUT, help="seconds for keyring"
    )
    logout.set_defaults(func=cmd_logout)

    token = sub.add_parser("token", help="print the password or token for an index")
    token.add_argument("url", metavar="URL", help=URL_HELP)
    token.add_argument("--username", "-u", help="look up this username's secret")
    lookup_options(token)
    token.set_defaults(func=cmd_token)

    check = sub.add_parser("check", help="show the lookup and try one request")
    check.add_argument("url", metavar="URL", help=URL_HELP)
    check.add_argument("--username", "-u", help="look up this username (as Index(username=...))")
    check.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    lookup_options(check)
    check.set_defaults(func=cmd_check)

    status = sub.add_parser("status", help="show indexes, keyring, store and the global hook")
    status.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    lookup_options(status)
    status.set_defaults(func=cmd_status)

    helper = sub.add_parser(
        "credential-helper",
        help="answer Bazel's credential helper protocol: `get` reads {\"uri\": ...} on stdin",
    )
    helper.add_argument(
        "helper_command", metavar="get", help="the protocol's one command: answer for the URI on stdin"
    )
    lookup_options(helper)
    helper.set_defaults(func=cmd_credential_helper)

    demo = sub.add_parser("demo", help="a walk-through against a local password-protected index")
    demo.set_defaults(func=cmd_demo)
    return parser


def _report(error: CliError, stream: TextIO) -> None:
    lines = [f"indexauth: error: {error.what}"]
    for i, tried in enumerate(error.tried):
        lines.append(("  tried: " if i == 0 else "         ") + tried)
    if error.hint:
        hint_lines = error.hint.splitlines()
        lines.append("  hint: " + hint_lines[0])
        lines.extend("        " + line for line in hint_lines[1:])
    print("\n".join(lines), file=stream)


def main(argv: list[str] | None = None) -> int:
    """Run the `indexauth` command with *argv* (default: `sys.argv[1:]`); the exit code."""
    try:
        args = _parser().parse_args(argv)
        return int(args.func(args))
    except CliError as exc:
        _report(exc, sys.stderr)
        return EXIT_CODES[exc.code]
    except IndexAuthError as exc:
        print(f"indexauth: error: {exc}", file=sys.stderr)
        return EXIT_CODES["usage" if isinstance(exc, ConfigurationError) else "error"]
    except KeyboardInterrupt:
        print("indexauth: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
