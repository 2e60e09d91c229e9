"""The indexes global mode knows about, gathered from the environment and configuration files.

Sources, highest precedence first (the first definition of an index wins,
matched by name or by URL):

1. `INDEXAUTH_INDEX_<NAME>_URL`, with `_AUTHENTICATE` and `_USERNAME`
   (`_PASSWORD` is a credential, read by the environment source at lookup
   time). `_AUTHENTICATE` or `_USERNAME` without `_URL` adjust the index of
   that name defined further down.
2. uv's `UV_INDEX` and `UV_DEFAULT_INDEX` (`name=url` or `url`, space-separated).
3. The user configuration file: `$INDEXAUTH_CONFIG`, else
   `indexauth/config.toml` in the user configuration directory
   (`$XDG_CONFIG_HOME` or `~/.config`; `%APPDATA%` on Windows), with
   `[[index]]` tables using uv's keys `name`, `url`, `authenticate`, `username`.
4. The working directory's `uv.toml` (`[[index]]`), else its `pyproject.toml`
   (`[[tool.uv.index]]`): the keys `name`, `url`, `authenticate`, `username`.
5. Inside pip, pip's own index URLs: an index pip knows only by URL takes
   name, policy and username from the entry above with the same URL.

Layers 1 to 3 are *trusted*: you set them. Layer 4 is not: a cloned repository
chooses it. A working-directory file may add indexes, but never redefine a name
or URL a trusted layer defines (the trusted definition wins, with one warning
naming both files), never set a key of `TRUSTED_ONLY_KEYS`, and never weaken
the policy of a trusted index that covers its URL. Its indexes are marked
(`mark_untrusted`), so `INDEXAUTH_INDEX_<NAME>_*` credentials never follow a
name it chose. A broken working-directory file is skipped alone, with one
warning; an invalid trusted file or variable raises one `ConfigurationError`
naming it and the bad value.

uv entries indexauth has no use for are skipped with a debug line, not refused:
flat indexes (`format = "flat"`) and local ones (`url = "./wheelhouse"`, `file://`).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ._exceptions import ConfigurationError
from ._models import POLICIES, Index, Record, env_name, mark_untrusted
from ._urls import Realm, UrlError, realm_of, redact, split_url

__all__ = [
    "TRUSTED_ONLY_KEYS",
    "Entry",
    "config_path",
    "data_dir",
    "entries",
    "for_url",
    "load",
    "merge",
    "store_path",
    "url_key",
]

logger = logging.getLogger("indexauth")

ENV_PREFIX = "INDEXAUTH_INDEX_"
# Longest first where one ends another (`_AUTHENTICATE`, `_AUTH`).
_ENV_FIELDS = (
    "_URL",
    "_AUTHENTICATE",
    "_AUTH",
    "_USERNAME",
    "_PASSWORD_COMMAND",
    "_CREDENTIAL_HELPER",
)
_PROGRAM_FIELDS = ("password_command", "credential_helper")
# Keys of uv's index tables that indexauth accepts and ignores.
_UV_KEYS = frozenset(
    {"default", "explicit", "format", "publish-url", "ignore-error-codes", "cache-control"}
)
_OWN_KEYS = frozenset(
    {"name", "url", "authenticate", "username", "auth", "password-command", "credential-helper"}
)
# Keys only a trusted layer may set: anything that chooses a command to run or
# where a secret goes. In a working-directory file they are ignored, with a
# warning: cloning a repository must never run code.
TRUSTED_ONLY_KEYS: frozenset[str] = frozenset({"password-command", "credential-helper"})

Key = tuple[Realm, str]


class Entry(Record):
    """A configured index and where it was defined: a file's path or `environment VAR`."""

    __slots__ = ("index", "origin")  # the fields, in `__init__` order

    index: Index
    origin: str

    def __init__(self, index: Index, origin: str) -> None:
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "origin", origin)


def url_key(url: str) -> Key:
    """What makes two URLs the same index: realm and path, ignoring userinfo and a final `/`."""
    parts = split_url(url)
    return realm_of(parts), parts.path.rstrip("/")


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The user configuration file (it need not exist)."""
    environ = os.environ if environ is None else environ
    explicit = environ.get("INDEXAUTH_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    if sys.platform == "win32" and environ.get("APPDATA"):
        base = Path(environ["APPDATA"])
    else:
        base = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "indexauth" / "config.toml"


def data_dir() -> Path:
    """Where indexauth keeps its data: `$INDEXAUTH_DATA_DIR`, else the platform's user data dir."""
    override = os.environ.get("INDEXAUTH_DATA_DIR")
    if override:
        return Path(override).expanduser()
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "indexauth"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "indexauth"
    xdg = os.environ.get("XDG_DATA_HOME")
    base_dir = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base_dir / "indexauth"


def store_path() -> Path:
    """The file `indexauth login` writes (`_store.Store`'s default; it need not exist).

    Here, not in `_store`, so that global mode can see there is none without
    loading the store's code.
    """
    return data_dir() / "credentials.toml"


Warn = Callable[[str], None]


def load(
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    *,
    warn: Warn | None = None,
) -> tuple[Index, ...]:
    """Every configured index, merged by precedence; raises `ConfigurationError`."""
    return tuple(entry.index for entry in entries(environ, cwd, warn=warn))


def entries(
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    *,
    warn: Warn | None = None,
) -> tuple[Entry, ...]:
    """What `load` returns, each index with its origin; raises `ConfigurationError`.

    Only a trusted layer raises; a working-directory file's problems go to *warn*
    (default: a warning on the `indexauth` logger), one line each.
    """
    environ = os.environ if environ is None else environ
    say: Warn = warn if warn is not None else _log_warning
    directory = Path.cwd() if cwd is None else Path(cwd)
    env_entries, overrides = _from_indexauth_env(environ)
    trusted = _merge_entries(
        env_entries,
        _from_uv_env(environ),
        _from_file(config_path(environ), explicit=bool(environ.get("INDEXAUTH_CONFIG"))),
    )
    merged = trusted + _untrusted_additions(trusted, _from_uv_project(directory, say), say)
    return tuple(_override(entry, overrides, say) for entry in merged)


def _log_warning(message: str) -> None:
    logger.warning("indexauth: %s", message)


def merge(*layers: Iterable[Index]) -> list[Index]:
    """The indexes of *layers*, earlier layers winning over later ones by name or URL."""
    pairs = ([Entry(index, "") for index in layer] for layer in layers)
    return [entry.index for entry in _merge_entries(*pairs)]


def _merge_entries(*layers: Iterable[Entry]) -> list[Entry]:
    out: list[Entry] = []
    names: set[str] = set()
    keys: set[Key] = set()
    for layer in layers:
        for entry in layer:
            index = entry.index
            key = url_key(index.url)
            if key in keys or (index.name and env_name(index.name) in names):
                continue
            keys.add(key)
            if index.name:
                names.add(env_name(index.name))
            out.append(entry)
    return out


# Policies a working-directory index may end up with under a trusted index that
# covers its URL: never weaker than yours (`always` stays `always`; `never` stays
# `never`, so no credentials go where you said none should), at most stricter.
_NO_WEAKER: dict[tuple[str, str], str] = {
    (trusted, asked): trusted if trusted != "auto" else ("always" if asked == "always" else "auto")
    for trusted in POLICIES
    for asked in POLICIES
}


def _untrusted_additions(trusted: list[Entry], project: list[Entry], warn: Warn) -> list[Entry]:
    """The working-directory entries that add an index, marked untrusted; conflicts warned once."""
    by_name = {env_name(e.index.name): e for e in trusted if e.index.name}
    by_key = {url_key(e.index.url): e for e in trusted}
    out: list[Entry] = []
    for entry in project:
        index = entry.index
        clash = by_key.get(url_key(index.url)) or (
            by_name.get(env_name(index.name)) if index.name else None
        )
        if clash is not None:
            if not _same_definition(clash.index, index):
                warn(
                    f"{entry.origin} redefines index {_label(index)}, which {clash.origin} "
                    f"defines as {_label(clash.index)}; a working-directory file cannot "
                    f"redefine your indexes, so {clash.origin} is used"
                )
            continue
        covering = _covering(index, trusted)
        if covering is not None:
            allowed = _NO_WEAKER[(covering.index.authenticate, index.authenticate)]
            if allowed != index.authenticate:
                warn(
                    f"{entry.origin} sets authenticate = {index.authenticate!r} for "
                    f"{redact(index.url)}, inside index {_label(covering.index)} from "
                    f"{covering.origin}; a working-directory file cannot weaken your policy, "
                    f"so {allowed!r} is used"
                )
                index = index.replace(authenticate=allowed)
        out.append(Entry(mark_untrusted(index, entry.origin), entry.origin))
    return out


def _same_definition(trusted: Index, untrusted: Index) -> bool:
    return url_key(trusted.url) == url_key(untrusted.url) and (
        untrusted.name is None or trusted.name == untrusted.name
    ) and _NO_WEAKER[(trusted.authenticate, untrusted.authenticate)] == trusted.authenticate and (
        untrusted.username is None or untrusted.username == trusted.username
    )


def _covering(index: Index, trusted: Iterable[Entry]) -> Entry | None:
    """The trusted entry with the longest root that covers *index*'s URL, if any."""
    found: Entry | None = None
    for entry in trusted:
        if entry.index.covers(index.realm, index.root) and (
            found is None or len(entry.index.root) > len(found.index.root)
        ):
            found = entry
    return found


def _label(index: Index) -> str:
    name = f"{index.name!r} " if index.name else ""
    return f"{name}({redact(index.url)}, authenticate = {index.authenticate!r})"


def for_url(url: str, indexes: Iterable[Index]) -> Index | None:
    """The configured index with the same URL as *url*, if any."""
    try:
        key = url_key(url)
    except UrlError:
        return None
    return next((index for index in indexes if url_key(index.url) == key), None)


def _index(origin: str, url: object, **fields: object) -> Index:
    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError(
            f"{origin}: expected an index URL, got {url!r}",
            hint="give the full URL, for example url = \"https://pkgs.example.com/simple/\"",
        )
    for field in ("name", "username"):
        if fields.get(field) is not None and not isinstance(fields[field], str):
            raise ConfigurationError(f"{origin}: {field} must be a string, got {fields[field]!r}")
    policy = fields.get("authenticate") or "auto"
    if policy not in POLICIES:
        raise ConfigurationError(
            f"{origin}: invalid authenticate value {policy!r}",
            hint="use one of 'auto', 'always' or 'never'",
        )
    for field in ("auth",):
        if fields.get(field) is not None and not isinstance(fields[field], str):
            raise ConfigurationError(
                f"{origin}: {field} must be a string, got {fields[field]!r}",
                hint="use auth = \"basic\" (the default) or auth = \"bearer\"",
            )
    name, username = fields.get("name"), fields.get("username")
    if isinstance(username, str) and username.startswith("-"):
        raise ConfigurationError(
            f"{origin}: username {username!r} begins with '-'",
            hint="a username that begins with '-' would be read as an option by the "
            "`keyring` command; give the real username",
        )
    assert name is None or isinstance(name, str)  # noqa: S101 - checked above
    assert username is None or isinstance(username, str)  # noqa: S101
    auth = fields.get("auth") or "basic"
    command, helper = fields.get("password_command"), fields.get("credential_helper")
    try:
        return Index(
            url,
            name=name,
            authenticate=str(policy),
            username=username,
            auth=str(auth),
            password_command=_argv(command),
            credential_helper=_argv(helper),
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"{origin}: {exc.summary}", hint=exc.hint) from None


def _argv(value: object) -> list[str] | str | None:
    """A command line from TOML or a variable: a string (split later) or a list of strings."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(word, str) for word in value):
        return value
    raise ConfigurationError(
        f"a command must be a string or a list of strings, got {value!r}",
        hint='for example password-command = ["aws", "codeartifact", "get-authorization-token"]',
    )


def _from_indexauth_env(
    environ: Mapping[str, str],
) -> tuple[list[Entry], dict[str, dict[str, str]]]:
    found: dict[str, dict[str, str]] = {}
    for var, value in environ.items():
        if not var.startswith(ENV_PREFIX):
            continue
        for suffix in _ENV_FIELDS:
            if var.endswith(suffix) and len(var) > len(ENV_PREFIX) + len(suffix):
                name = var[len(ENV_PREFIX) : -len(suffix)]
                found.setdefault(name, {})[suffix[1:].lower()] = value
                break
    indexes: list[Entry] = []
    overrides: dict[str, dict[str, str]] = {}
    for name in sorted(found):
        fields = found[name]
        base = f"{ENV_PREFIX}{name}"
        policy = fields.get("authenticate")
        if policy is not None and policy.strip().lower() not in POLICIES:
            raise ConfigurationError(
                f"{base}_AUTHENTICATE has an invalid value {policy!r}",
                hint=f"set {base}_AUTHENTICATE to auto, always or never",
            )
        if policy is not None:
            fields["authenticate"] = policy.strip().lower()
        if "url" not in fields:
            overrides[name] = fields
            continue
        url = fields.pop("url")
        try:
            split_url(url)
        except UrlError as exc:
            raise ConfigurationError(
                f"{base}_URL is not a usable index URL: {exc}",
                hint=f"set {base}_URL to the index URL, for example https://pkgs.example.com/simple/",
            ) from None
        index = _index(f"{base}_URL", url, name=name.lower(), **fields)
        indexes.append(Entry(index, f"environment {base}_URL"))
    return indexes, overrides


def _override(
    entry: Entry, overrides: Mapping[str, Mapping[str, str]], warn: Warn = _log_warning
) -> Entry:
    index = entry.index
    name = env_name(index.name) if index.name else None
    fields = overrides.get(name) if name else None
    if not fields:
        return entry
    if index.untrusted_origin is not None and any(f in fields for f in _PROGRAM_FIELDS):
        # Your token must not go to a URL a cloned repository chose under your index's name.
        given = [f"{ENV_PREFIX}{name}_{f.upper()}" for f in _PROGRAM_FIELDS if f in fields]
        warn(
            f"{', '.join(given)} not used for index {index.name!r}: that name is defined by "
            f"{index.untrusted_origin}, a working-directory file, not by you"
        )
        fields = {k: v for k, v in fields.items() if k not in _PROGRAM_FIELDS}
        if not fields:
            return entry
    try:
        adjusted = index.replace(
            authenticate=fields.get("authenticate"),
            username=fields.get("username"),
            auth=fields.get("auth"),
            password_command=fields.get("password_command"),
            credential_helper=fields.get("credential_helper"),
        )
    except ConfigurationError as exc:
        by = ", ".join(f"{ENV_PREFIX}{name}_{field.upper()}" for field in sorted(fields))
        raise ConfigurationError(f"{by}: {exc.summary}", hint=exc.hint) from None
    by = ", ".join(f"{ENV_PREFIX}{name}_{field.upper()}" for field in sorted(fields))
    return Entry(adjusted, f"{entry.origin}, adjusted by {by}")


def _from_uv_env(environ: Mapping[str, str]) -> list[Entry]:
    indexes: list[Entry] = []
    for var in ("UV_INDEX", "UV_DEFAULT_INDEX"):
        for item in environ.get(var, "").split():
            name, sep, url = item.partition("=")
            if not sep or "://" in name:
                name, url = "", item
            try:
                split_url(url)
            except UrlError as exc:
                raise ConfigurationError(
                    f"{var} has an entry that is not a usable index URL ({exc})",
                    hint=f"write {var} as space-separated `name=https://host/simple/` entries",
                ) from None
            indexes.append(Entry(_index(var, url, name=name or None), f"environment {var}"))
    return indexes


def _from_uv_project(directory: Path, warn: Warn) -> list[Entry]:
    """The working directory's uv.toml, else pyproject.toml; a broken file is one warning."""
    uv_toml = directory / "uv.toml"
    path = uv_toml if uv_toml.is_file() else directory / "pyproject.toml"
    try:
        if not path.is_file():
            return []
        if path is uv_toml:
            return _tables(
                uv_toml, _read_toml(uv_toml).get("index"), "[[index]]", trusted=False, warn=warn
            )
        tool = _read_toml(path).get("tool", {})
        uv = tool.get("uv", {}) if isinstance(tool, dict) else {}
        tables = uv.get("index") if isinstance(uv, dict) else None
        return _tables(path, tables, "[[tool.uv.index]]", trusted=False, warn=warn)
    except (ConfigurationError, RecursionError, OSError) as exc:
        # A cloned repository's file must not take your own configuration down with it.
        reason = exc.render() if isinstance(exc, ConfigurationError) else f"{path}: {exc!r}"
        warn(f"{path} is skipped (your other configuration still applies): {reason}")
        return []


def _from_file(path: Path, *, explicit: bool) -> list[Entry]:
    if not path.is_file():
        if explicit:
            raise ConfigurationError(
                f"INDEXAUTH_CONFIG names {path}, which does not exist",
                hint="create the file or unset INDEXAUTH_CONFIG",
            )
        return []
    data = _read_toml(path)
    unknown = sorted(set(data) - {"index"})
    if unknown:
        raise ConfigurationError(
            f"{path}: unknown key {unknown[0]!r}", hint="the file holds only [[index]] tables"
        )
    return _tables(path, data.get("index"), "[[index]]", trusted=True)


def _tables(
    path: Path, tables: object, what: str, *, trusted: bool, warn: Warn | None = None
) -> list[Entry]:
    if tables is None:
        return []
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigurationError(
            f"{path}: {what} must be an array of tables, got {type(tables).__name__}",
            hint=f"write each index as its own {what} table",
        )
    out = []
    for number, table in enumerate(tables, 1):
        origin = f"{path}: {what} number {number}"
        unknown = sorted(set(table) - _UV_KEYS - _OWN_KEYS)
        refused = sorted(set(table) & TRUSTED_ONLY_KEYS)
        if refused and not trusted:
            (warn or _log_warning)(
                f"{origin}: {', '.join(repr(k) for k in refused)} ignored: a working-directory "
                "file cannot choose a program to run (cloning a repository must not run code); "
                "set it in your own config.toml or INDEXAUTH_INDEX_<NAME>_* variables"
            )
            table = {k: v for k, v in table.items() if k not in TRUSTED_ONLY_KEYS}  # noqa: PLW2901
        if unknown:
            raise ConfigurationError(
                f"{origin}: unknown key {unknown[0]!r}",
                hint="the keys are name, url, authenticate, username, auth, "
                "password-command and credential-helper",
            )
        url = table.get("url")
        if not trusted and (table.get("format") == "flat" or _is_local(url)):
            # uv reads these from disk or as find-links pages: nothing for indexauth to do,
            # and refusing them would throw away every other index of the project.
            shown = redact(url) if isinstance(url, str) else url  # debug logs reach `pip -vv` output
            logger.debug("%s: skipped, a flat or local uv index (url = %r)", origin, shown)
            continue
        index = _index(
            origin,
            url,
            name=table.get("name"),
            authenticate=table.get("authenticate"),
            username=table.get("username"),
            auth=table.get("auth"),
            password_command=table.get("password-command"),
            credential_helper=table.get("credential-helper"),
        )
        out.append(Entry(index, str(path)))
    return out


def _is_local(url: object) -> bool:
    """Whether *url* is what uv reads as a directory: a path, or a `file:` URL."""
    if not isinstance(url, str) or not url.strip():
        return False  # no URL at all: `_index` says so
    scheme, sep, _rest = url.strip().partition("://")
    return not sep or scheme.lower() == "file"


def _read_toml(path: Path) -> dict[str, Any]:
    from . import _toml  # noqa: PLC0415 - with the first file to read, not with the settings

    try:
        toml = _toml.reader()
    except _toml.NoTomlReader as exc:
        raise ConfigurationError(f"{path} cannot be read: {exc.reason}", hint=exc.fix) from None
    try:
        with path.open("rb") as file:
            data: dict[str, Any] = toml.load(file)
            return data
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{path} is not UTF-8 text (byte {exc.start}: {exc.reason})",
            hint=f"save {path} as UTF-8, as TOML requires",
        ) from None
    except toml.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"{path} is not valid TOML: {exc}", hint=f"fix the syntax of {path}"
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            f"{path} cannot be read: {exc.strerror or exc}", hint=f"check the permissions of {path}"
        ) from None
    except RecursionError:
        raise ConfigurationError(
            f"{path} nests tables or arrays too deeply to be read",
            hint=f"fix the structure of {path}",
        ) from None


def describe(indexes: Iterable[Index]) -> str:
    """The indexes as one line for debug logs (URLs redacted)."""
    return ", ".join(
        f"{index.name or '-'}={redact(index.url)}:{index.authenticate}" for index in indexes
    )
