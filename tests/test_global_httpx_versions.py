"""The httpx versions global mode supports, checked with real releases from PyPI (slow).

Supported is httpx >= 0.20, < 1 (`_uncovered.SUPPORTED`): 0.20 is the first
release whose `HTTPTransport.handle_request` takes the request, and 1.0 is a
rewrite with no `HTTPTransport` at all. One fresh venv with the indexauth wheel
gets each release in turn; a real `INDEXAUTH=1` process then talks to a
password-protected index on 127.0.0.1 whose credentials are in the environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from index_server import IndexServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PROGRAM = """
    import asyncio, httpx
    url = {url!r}
    statuses = []
    for _ in range(2):
        with httpx.Client() as client:
            statuses.append(int(client.get(url).status_code))
    if hasattr(httpx, "AsyncClient"):
        async def main():
            async with httpx.AsyncClient() as client:
                return (await client.get(url)).status_code
        statuses.append(asyncio.run(main()))
    print(httpx.__version__, statuses)
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh venv with the indexauth wheel; the tests install httpx releases into it."""
    path = tmp_path_factory.mktemp("httpx-versions") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    python = path / "bin" / "python"
    install(python, str(wheel))
    return python


def install(python: Path, *what: str) -> None:
    """`pip install` *what* into the venv of *python*, from PyPI; skip the test if PyPI fails us."""
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--pre", *what],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    if done.returncode != 0:
        pytest.skip(f"could not install {what} from PyPI: {done.stderr[-500:]}")


def run(python: Path, server: IndexServer, tmp_path: Path, *, configured: bool = True) -> tuple[str, str]:
    """The program under INDEXAUTH=1 (index /p/simple/ configured with its credentials): stdout, stderr."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("INDEXAUTH", "VIRTUAL_ENV"))
    } | {"INDEXAUTH": "1", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"),
         "XDG_DATA_HOME": str(tmp_path / ".local")}
    env.pop("PYTHONPATH", None)
    if configured:
        env |= {
            "INDEXAUTH_INDEX_P_URL": server.url("/p/simple/"),
            "INDEXAUTH_INDEX_P_USERNAME": "alice",
            "INDEXAUTH_INDEX_P_PASSWORD": "pw",
        }
    done = subprocess.run(
        [str(python), "-c", textwrap.dedent(PROGRAM.format(url=server.url("/p/simple/x/")))],
        capture_output=True, text=True, timeout=120, env=env, check=False, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip(), done.stderr


def test_httpx_0_20_the_oldest_supported_authenticates(
    venv: Path, server: IndexServer, tmp_path: Path
) -> None:
    """httpx 0.20.0, sync and async: every request carries the credentials, nothing is said."""
    install(venv, "httpx==0.20.0")
    server.route("/p/", users={"alice": "pw"})
    out, err = run(venv, server, tmp_path)
    assert out == "0.20.0 [200, 200, 200]"
    assert [s.user for s in server.seen] == ["alice"] * 3
    assert err == ""


def test_httpx_0_19_is_said_once_when_an_index_refuses(
    venv: Path, server: IndexServer, tmp_path: Path
) -> None:
    """httpx 0.19.0 (`handle_request` of another signature): three 401s, one warning line."""
    install(venv, "httpx==0.19.0")
    server.route("/p/", users={"alice": "pw"})
    out, err = run(venv, server, tmp_path)
    assert out == "0.19.0 [401, 401, 401]"
    assert [s.user for s in server.seen] == [None] * 3
    lines = [line for line in err.splitlines() if "is not supported" in line]
    assert lines == [
        f"indexauth: {server.url('/p/simple/')} answered 401, and indexauth did not take part: "
        "httpx 0.19.0 is not supported (global mode supports httpx >= 0.20, < 1; its "
        "HTTPTransport.handle_request(request) is missing or different)"
    ], err
    assert [line for line in err.splitlines() if line.startswith("indexauth:")] == lines, err


def test_httpx_1_0_is_said_once_at_import_with_an_index_configured(
    venv: Path, server: IndexServer, tmp_path: Path
) -> None:
    """httpx 1.0's rewrite (no HTTPTransport, no Client.send): said when imported, if you have an index."""
    install(venv, "httpx==1.0.dev6")
    server.route("/p/", users={"alice": "pw"})
    out, err = run(venv, server, tmp_path)
    assert out == "1.0.dev6 [401, 401]"
    lines = [line for line in err.splitlines() if "is not supported" in line]
    assert lines == [
        "indexauth: httpx 1.0.dev6 is not supported (global mode supports httpx >= 0.20, < 1; "
        "its HTTPTransport.handle_request(request) is missing or different): "
        f"its requests to your indexes ({server.url('/p/simple/')}) go without indexauth"
    ], err
    assert [line for line in err.splitlines() if line.startswith("indexauth:")] == lines, err
    out, err = run(venv, server, tmp_path, configured=False)
    assert out == "1.0.dev6 [401, 401]"
    assert err == ""
