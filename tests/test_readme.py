"""The README's commands and code, as written, against a local protected index.

Each quickstart code block is run in a fresh interpreter with only the host of
its example URL replaced by a local server's (`https://gitlab.example.com` ->
`http://127.0.0.1:PORT`); the password is in a real keyring backend (chosen
through PYTHON_KEYRING_BACKEND), so the first request is challenged and
retried, as the comments in the README say.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, KeyringStore
from index_server import IndexServer

README = (ROOT / "README.md").read_text("utf-8")
PASSWORD = "pw-readme-4711"


def section(title: str) -> str:
    """The README's text under `## title`, up to the next `## `."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end > 0 else None]


def python_blocks(title: str) -> list[str]:
    """The ```python blocks of a section."""
    return re.findall(r"```python\n(.*?)```", section(title), re.S)


def run_snippet(code: str, host: str, server: IndexServer, kr: KeyringStore, index: str) -> None:
    """Run *code* with *host* pointing at *server*; keyring holds alice's password for *index*."""
    local = server.url("").rstrip("/")
    kr.set(index.replace(host, local), "alice", PASSWORD)
    done = subprocess.run(
        [sys.executable, "-c", code.replace(host, local)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr


def test_requests_quickstart(server: IndexServer, kr: KeyringStore) -> None:
    """The requests block: a page (401, one lookup, one retry) then a file with credentials up front.

    It mounts the adapter on http:// too, so it works for an http index as written."""
    server.route("/api/v4/projects/1/packages/pypi/", users={"alice": PASSWORD})
    [code] = python_blocks("requests")
    url = "https://gitlab.example.com/api/v4/projects/1/packages/pypi/simple/"
    run_snippet(code, "https://gitlab.example.com", server, kr, url)
    assert [(s.path.rsplit("/", 2)[-2:], s.user) for s in server.seen] == [
        (["my-package", ""], None),
        (["my-package", ""], "alice"),
        (["files", "x.whl"], "alice"),
    ]


def test_httpx_quickstart(server: IndexServer, kr: KeyringStore) -> None:
    """The httpx block, sync then async, each challenged once and retried with credentials."""
    pytest.importorskip("httpx")
    server.route("/simple/", users={"alice": PASSWORD})
    [code] = python_blocks("httpx and httpx2")
    run_snippet(code, "https://pkgs.example.com", server, kr, "https://pkgs.example.com/simple/")
    assert [s.user for s in server.seen] == [None, "alice", None, "alice"]


def test_install_command_names_the_checkout() -> None:
    """The first install command works from a clone (the package is not published yet)."""
    first = re.search(r"```console\n(.*?)```", section("Install"), re.S)
    assert first is not None
    commands = [line.split("#")[0].strip() for line in first.group(1).splitlines()]
    assert "pip install '.[requests,keyring]'" in commands
    assert "not on PyPI yet" in section("Install")
