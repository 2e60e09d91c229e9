"""docs/recipes.md, run: every recipe that uses a command, against a stand-in of that command.

The configuration and code blocks are read from the document itself, with the
index URL pointed at a local server; the command is tests/standin.py installed
on PATH under the real CLI's name. Nothing reaches a cloud.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

import indexauth
from conftest import ROOT, StandIn
from index_server import IndexServer
from indexauth._settings import load

DOC = (ROOT / "docs" / "recipes.md").read_text("utf-8")
URL = re.compile(r'"https://[^"\s]+/simple/"')


def section(title: str) -> str:
    """The text of the recipe under `## title`."""
    start = DOC.index(f"## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end >= 0 else len(DOC)]


def blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of *language* in *text*."""
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


COMMAND_RECIPES = {
    # title: (program, username the index expects)
    "AWS CodeArtifact": ("aws", "aws"),
    "Google Artifact Registry": ("gcloud", "oauth2accesstoken"),
    "Azure Artifacts": ("az", "azure"),
}


def _config_index(title: str, server: IndexServer, tmp_path: Path) -> indexauth.Index:
    (toml,) = [b for b in blocks(section(title), "toml") if "password-command" in b]
    config = tmp_path / "config.toml"
    config.write_text(URL.sub(f'"{server.url("/private/simple/")}"', toml))
    (index,) = load({"INDEXAUTH_CONFIG": str(config)}, tmp_path)
    return index


def _code_index(title: str, server: IndexServer) -> dict[str, Any]:
    """Run the recipe's Python block (after the first recipe's, which has the imports)."""
    first = blocks(section("AWS CodeArtifact"), "python")[0]
    code = blocks(section(title), "python")[0]
    namespace: dict[str, Any] = {}
    for block in (first, code) if code != first else (first,):
        exec(URL.sub(f'"{server.url("/private/simple/")}"', block), namespace)  # noqa: S102 - the document's own code
    return namespace


@pytest.mark.parametrize("title", sorted(COMMAND_RECIPES))
def test_config_recipe(title: str, server: IndexServer, standin: Callable[[str], StandIn], tmp_path: Path) -> None:
    """The config.toml block: its command runs once with its exact arguments; requests get in."""
    program, username = COMMAND_RECIPES[title]
    cli = standin(program).tokens("token-1")
    server.route("/private/", users={username: "token-1"})
    index = _config_index(title, server, tmp_path)
    assert index.username == username
    with requests.Session() as session:
        session.mount("http://", indexauth.IndexAuthAdapter([index], keyring_provider="disabled"))
        for name in ("a", "b"):
            assert session.get(server.url(f"/private/simple/{name}/")).status_code == 200
    (toml,) = [b for b in blocks(section(title), "toml") if "password-command" in b]
    command = re.search(r'password-command = "(.*)"', toml)
    assert command is not None
    assert [c["argv"] for c in cli.calls()] == [shlex.split(command.group(1))[1:]]
    assert [s.user for s in server.seen] == [None, username, username]


@pytest.mark.parametrize("title", sorted(COMMAND_RECIPES))
def test_code_recipe_rotating_token(title: str, server: IndexServer, standin: Callable[[str], StandIn]) -> None:
    """The Python block, with requests and httpx: a token the server stops taking is replaced."""
    program, username = COMMAND_RECIPES[title]
    cli = standin(program).tokens("old", "new")
    server.route("/private/", users={username: "new"})
    namespace = _code_index(title, server)
    session: requests.Session = namespace["session"]
    session.mount("http://", session.adapters["https://"])
    assert session.get(server.url("/private/simple/a/")).status_code == 200
    # anonymous (401), "old" refused (401), the command run again: "new" accepted
    assert [s.user for s in server.seen] == [None, username, username]
    assert len(cli.calls()) == 2
    client: httpx.Client = namespace["client"]
    with client:
        assert client.get(server.url("/private/simple/b/")).status_code == 200
    assert len(cli.calls()) == 3  # the httpx client has its own cache; the CLI now prints "new"


@pytest.mark.parametrize("title", sorted(COMMAND_RECIPES))
def test_failing_command_names_it(title: str, server: IndexServer, standin: Callable[[str], StandIn], tmp_path: Path) -> None:
    """A CLI that fails (expired login) is a ProviderError naming the program, never its arguments."""
    program, username = COMMAND_RECIPES[title]
    standin(program).fail("Error: your session expired; token=abcdefabcdefabcdefabcdefabcdef\n", 255)
    server.route("/private/", users={username: "token-1"})
    index = _config_index(title, server, tmp_path)
    with requests.Session() as session:
        session.mount("http://", indexauth.IndexAuthAdapter([index], keyring_provider="disabled"))
        with pytest.raises(indexauth.ProviderError) as info:
            session.get(server.url("/private/simple/a/"))
    message = str(info.value)
    assert f"password command `{program}` failed with exit status 255" in message
    assert "abcdefabcdef" not in message
    assert "--domain" not in message and "--resource" not in message


def test_artifactory_helper_recipe(server: IndexServer, standin: Callable[[str], StandIn], tmp_path: Path) -> None:
    """The helper script of the Artifactory recipe, run as written, with a stand-in `pass`."""
    section_text = section("JFrog Artifactory")
    (script,) = blocks(section_text, "sh")
    bin_dir = Path(str(tmp_path / "standin-bin"))
    helper = bin_dir / "artifactory-helper"
    helper.write_text(script)
    helper.chmod(0o755)
    standin("pass").tokens("AKCp-api-key")
    server.route("/private/", tokens={"X-JFrog-Art-Api": ["AKCp-api-key"]})
    toml = next(b for b in blocks(section_text, "toml") if "credential-helper" in b)
    config = tmp_path / "config.toml"
    config.write_text(URL.sub(f'"{server.url("/private/simple/")}"', toml))
    (index,) = load({"INDEXAUTH_CONFIG": str(config)}, tmp_path)
    with httpx.Client(transport=indexauth.IndexAuthTransport([index], keyring_provider="disabled")) as client:
        assert client.get(server.url("/private/simple/a/")).status_code == 200
    assert [s.headers.get("x-jfrog-art-api") for s in server.seen] == [None, "AKCp-api-key"]


def test_artifactory_bearer_recipe(server: IndexServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`auth = "bearer"` sends the token from the environment as a bearer token."""
    section_text = section("JFrog Artifactory")
    toml = next(b for b in blocks(section_text, "toml") if "bearer" in b)
    config = tmp_path / "config.toml"
    config.write_text(URL.sub(f'"{server.url("/private/simple/")}"', toml))
    monkeypatch.setenv("INDEXAUTH_INDEX_ARTIFACTORY_PASSWORD", "access-token")
    server.route("/private/", tokens={"Authorization": ["Bearer access-token"]})
    (index,) = load({"INDEXAUTH_CONFIG": str(config)}, tmp_path)
    with httpx.Client(transport=indexauth.IndexAuthTransport([index], keyring_provider="disabled")) as client:
        assert client.get(server.url("/private/simple/a/")).status_code == 200
    assert [s.headers.get("authorization") for s in server.seen] == ["Bearer access-token"]
