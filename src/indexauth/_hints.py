"""The literal next step each error suggests, written once for every driver and the CLI."""

from __future__ import annotations

from collections.abc import Sequence

from ._exceptions import Attempt
from ._models import env_name
from ._sources import Target

__all__ = [
    "missing_hint",
    "rejected_hint",
    "resource_refused_hint",
    "token_refused_hint",
    "unreplayable_hint",
]


def _service(target: Target) -> str:
    return target.service_names[0]


def missing_hint(
    target: Target,
    username: str | None,
    sources: frozenset[str] | None = None,
    attempts: Sequence[Attempt] = (),
) -> str:
    """How to give credentials for *target*, through the *sources* in the chain (all if `None`).

    *attempts* is the `tried:` list: no line proposes a step it shows was done.
    """
    def has(name: str) -> bool:
        return sources is None or name in sources

    if username == "****":  # masked, as it may be a token: no command can name it
        username = None
    user = username or "USERNAME"
    url = target.index.url if target.index is not None else str(target.realm)
    index = target.index
    var = f"INDEXAUTH_INDEX_{env_name(index.name)}" if index is not None and index.name else None
    blind = username is None and any(
        a.source == "keyring" and "cannot look up without a username" in a.outcome
        for a in attempts
    )
    env_user = var is not None and any(
        a.source == "environment" and a.where.startswith(var) and a.outcome.startswith("username")
        for a in attempts
    )
    lines = []
    if blind:
        # `keyring set SERVICE USER` may well have been run: the backend just cannot find
        # an entry without its username, so the index needs one, in a form pip users can set.
        lines.append(
            "this keyring backend finds a password only for a known username: give the index "
            f"the username you stored it under: in its URL ({_with_user(url)}, as given to pip "
            "or uv)"
        )
        if var is not None and has("environment"):
            lines.append(f"export {var}_USERNAME=USERNAME")
        lines.append(
            f'add `[[index]] url = "{url}"` with `username = "USERNAME"` to '
            "~/.config/indexauth/config.toml"
        )
    if has("keyring") or has("indexauth store"):
        lines.append(f"run `{login_command(url, username)}`")
    if has("keyring") and not blind:
        lines.append(f"store a password in keyring: `keyring set {_service(target)} {user}`")
    if var is not None and has("environment") and not blind:
        if env_user:
            lines.append(f"export {var}_PASSWORD=...")
        else:
            lines.append(f"export {var}_USERNAME={user} and {var}_PASSWORD=...")
    elif var is None and has("netrc") and not blind:
        lines.append(f"add `machine {target.realm.host} login {user} password ...` to ~/.netrc")
    if not lines:
        lines.append(
            "every source that could hold them is turned off: put them in the index URL "
            "(https://USER:PASSWORD@host/...) or turn a source back on"
        )
    lines[1:] = [f"or {line}" for line in lines[1:]]
    if index is not None and username is None:
        lines.append(
            "(use the username your index expects: __token__ for GitLab and PyPI tokens, "
            "oauth2accesstoken for Google, aws for CodeArtifact)"
        )
    return "\n".join(lines)


def login_command(url: str, username: str | None) -> str:
    """`indexauth login URL [--username U]`."""
    return f"indexauth login {url}" + (f" --username {username}" if username else "")


def _with_user(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}USERNAME@{rest}" if sep else url


def rejected_hint(target: Target, source: str, status: int) -> str:
    """What to check when the server refused credentials from *source*, and where to fix them."""
    fix = _fix(target, source)
    if status == 403:
        return (
            f"403 means the credentials from {source} are not allowed here: either wrong or "
            "expired (some servers, pypiserver and Nexus among them, answer 403 rather than "
            "401), or valid without read access: check the token's scopes or the user's "
            "permissions on the index (GitLab needs read_api or read_package_registry)"
            + (f"; if they are wrong: {fix}" if fix else "")
        )
    what = f"the password or token from {source} is wrong or expired"
    return f"{what}: {fix}" if fix else what


def resource_refused_hint() -> str:
    """What a 403 means for one resource when the same credentials read the rest of the index."""
    return (
        "your credentials are fine (this index accepted them earlier): the server forbids "
        "this one resource, usually a package that a policy blocks (JFrog Xray, Nexus "
        "Firewall, a quarantine) or a path your permissions do not cover; the server's "
        "response body says which. Pin another version, or ask the index's administrators"
    )


def _fix(target: Target, source: str) -> str:
    url = target.index.url if target.index is not None else str(target.realm)
    if source.startswith("environment "):
        variable = source.removeprefix("environment ").replace("USERNAME/_PASSWORD", "PASSWORD")
        return f"set the right one in {variable}"
    if source.startswith("index URL"):
        return "fix the userinfo in the configured index URL"
    if source.startswith("the URL given to pip"):
        return (
            "fix the user:password@ in the index URL given to pip (--index-url, "
            "--extra-index-url, PIP_INDEX_URL or pip.conf), or leave it out and store the "
            f"password: `{login_command(url, None)}`"
        )
    if source.startswith("the request itself"):
        return "the caller set it; indexauth sends a request's own credentials as they are"
    if source.startswith("netrc "):
        return f"fix its entry in {source.removeprefix('netrc ')}"
    return f"replace it: `indexauth login {url}`, or for keyring `keyring set {_service(target)} USERNAME`"


def token_refused_hint(target: Target) -> str:
    """What to do when the index URL's lone user part, tried as a token, was refused."""
    url = target.index.url if target.index is not None else str(target.realm)
    return (
        "if the user part is a token, it is wrong or expired: put a new one in the index URL; "
        "if it is a user name, store its password: "
        f"`indexauth login {url} --username USER` (or `keyring set {_service(target)} USER`)"
    )


def unreplayable_hint(target: Target) -> str:
    """How to avoid the lazy retry for a streamed body: `always`, in code or configuration."""
    index = target.index
    url = index.ref.url if index is not None else f"{target.realm}/..."
    where = [
        f'`[[index]] url = "{url}"` with `authenticate = "always"` in '
        "~/.config/indexauth/config.toml"
    ]
    if index is not None and index.name:
        where.append(f"INDEXAUTH_INDEX_{env_name(index.name)}_AUTHENTICATE=always")
    where.append(f'indexauth.Index("{url}", authenticate="always") in code')
    return (
        'set authenticate="always" for this index, so credentials go with the first request: '
        + ", or ".join(where)
    )
