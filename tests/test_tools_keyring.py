"""End to end: real twine, uv and pip find credentials stored only with `indexauth login`,
through indexauth's keyring backend (INDEXAUTH=1), against a real pypiserver on 127.0.0.1.

keyring detects its backends itself in these runs (keyrings.alt's plaintext
file is the real backend, empty): only indexauth's backend knows the password.
Two venvs per session: `venv` has the indexauth wheel installed (twine runs
there, with global mode); `plain` has no indexauth at all (pip runs there, so
pip's own keyring code is what authenticates, not global mode).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BIN
from pypi_front import Front, write_wheel
from tools_fixtures import OUTER, QUIET

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(600),
    # uv fetches wheel metadata with range requests; bottle (inside pypiserver) serves a range
    # from a generator that never closes the package file: the test server's leak, not ours.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]



@pytest.fixture(name="venv")
def fixture_venv(tools_venv: Path) -> Path:
    """The session's venv with the indexauth wheel (tools_fixtures)."""
    return tools_venv


@pytest.fixture(name="plain")
def fixture_plain(tools_plain: tuple[Path, Path]) -> tuple[Path, Path]:
    """The session's venv without indexauth, and the wheel unpacked for PYTHONPATH."""
    return tools_plain


@pytest.fixture(name="front")
def fixture_front(tools_front: Front) -> Front:
    """The session's pypiserver at /a/."""
    return tools_front


@pytest.fixture(name="login")
def fixture_login(front: Front, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """`indexauth login` (the real command) into indexauth's store, and the environment for the
    tools: keyring detects its backends, INDEXAUTH=1, this environment's `keyring` first on PATH."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    monkeypatch.setenv("INDEXAUTH_DATA_DIR", str(tmp_path / "data"))
    done = subprocess.run(
        [str(BIN / "indexauth"), "login", front.url("a"), "--username", "alice", "--password-stdin",
         "--store", "file"],
        input="pw-a", capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    front.hits.clear()
    return {**os.environ, "INDEXAUTH": "1", "PIP_CONFIG_FILE": os.devnull}


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a tool; both streams captured."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, check=False)


def test_twine_upload(venv: Path, front: Front, login: dict[str, str], tmp_path: Path) -> None:
    """`twine upload --non-interactive` gets username and password from indexauth's backend;
    with INDEXAUTH unset it stops as it did before, asking for a password it cannot find."""
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = write_wheel(dist, "uploaded")
    argv = [str(venv), "-m", "twine", "upload", "--non-interactive", "--disable-progress-bar",
            "--repository-url", f"http://127.0.0.1:{front.port}/a/", str(wheel)]
    before = run(argv, {k: v for k, v in login.items() if k != "INDEXAUTH"})
    assert before.returncode != 0
    assert "Credential not found for username" in before.stdout + before.stderr
    assert not front.hits  # nothing was sent
    done = run(argv, login)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [(h.user, h.status) for h in front.hits if h.path == "/a/"] == [("alice", 200)]


def test_uv_keyring_subprocess(front: Front, login: dict[str, str], tmp_path: Path) -> None:
    """`uv pip install --keyring-provider subprocess` runs `keyring get URL alice`, the `keyring`
    command of the environment that has indexauth, which answers from indexauth's store."""
    uv = str(pytest.importorskip("uv").find_uv_bin())
    env = dict(login, UV_NO_CONFIG="1", UV_CACHE_DIR=str(tmp_path / "uvcache"), UV_PYTHON_DOWNLOADS="never")
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    url = f"http://alice@127.0.0.1:{front.port}/a/simple/"
    done = run(
        [uv, "pip", "install", "--keyring-provider", "subprocess", "--index-url", url,
         "--target", str(tmp_path / "t"), "--python", sys.executable, "demo"],
        env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "t" / "demo").is_dir() or any((tmp_path / "t").glob("demo-1.0*"))
    assert any(h.user == "alice" and h.status == 200 and "/packages/" in h.path for h in front.hits)


@pytest.mark.parametrize("provider", ["import", "subprocess"])
def test_pip_keyring_provider(
    provider: str, plain: tuple[Path, Path], front: Front, login: dict[str, str], tmp_path: Path
) -> None:
    """pip's own `--keyring-provider import` and `subprocess`, in a venv without indexauth (no
    global mode): after the 401, pip asks keyring, and indexauth's backend answers."""
    python, target = plain
    env = dict(login)
    url = front.url("a")
    if provider == "import":
        # keyring and indexauth importable, but no site directory of theirs: no `.pth` runs.
        env["PYTHONPATH"] = os.pathsep.join([str(target), OUTER])
        check = run([str(python), "-c", "import _indexauth_startup as s, sys; print(s._watching, 'pip._internal' in sys.modules)"], env)
        assert check.stdout.split() == ["False", "False"], check.stderr
    else:
        env.pop("PYTHONPATH", None)
        env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"  # the `keyring` of the environment with indexauth
        url = front.url("a")
    done = run(
        [str(python), "-m", "pip", "download", *QUIET, "--no-deps", "--keyring-provider", provider,
         "-d", str(tmp_path / "d"), "--index-url", url, "demo"],
        env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert [(h.user, h.status) for h in front.hits[:2]] == [(None, 401), ("alice", 200)]
    assert any((tmp_path / "d").glob("demo-1.0*"))
