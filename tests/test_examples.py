"""The examples run as they are, each against a server it starts itself."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"
# What each example prints when it worked; by default, a 200 from its own server.
SHOWS = {"global_install.py": "HTTPAdapter True\nHTTPAdapter False"}


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("[!_]*.py")))
def test_example_runs(name: str) -> None:
    """The example exits 0 and shows that it worked."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert SHOWS.get(name, "200") in done.stdout


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with neither requests nor httpx; indexauth (stdlib only) comes from src/."""
    path = tmp_path_factory.mktemp("bare") / "venv"
    base = Path(getattr(sys, "_base_executable", sys.executable))
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    return path / "bin" / "python"


@pytest.mark.parametrize(
    ("name", "extra"),
    [("httpx_client.py", "httpx"), ("httpx_async.py", "httpx"),
     ("requests_session.py", "requests"), ("global_install.py", "requests")],
)
def test_example_without_its_extra_says_so_in_one_line(bare_python: Path, name: str, extra: str) -> None:
    """Without the client library, an example prints the install command, not a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(EXAMPLES.parent / "src")
    done = subprocess.run(
        [str(bare_python), str(EXAMPLES / name)], capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == f"examples/{name} needs {extra}: pip install '.[{extra}]' in the indexauth clone"
    assert extra in (EXAMPLES / name).read_text("utf-8").split('"""')[1], "said at the top"


def test_server_lines_stay_whole_under_concurrent_requests() -> None:
    """httpx_async.py's 20 concurrent requests: each server line is printed whole (print() wrote
    the text and its newline separately, so threads ran lines together in 4 runs of 5)."""
    line = re.compile(r"  server: GET /simple/project-\d+/ as (anonymous|alice) -> (200|401)|statuses: .*")
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / "httpx_async.py")], capture_output=True, text=True, timeout=120, check=True
        )
        assert all(line.fullmatch(text) for text in done.stdout.splitlines()), done.stdout


def test_pip_global_md_config_block_is_valid(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The config.toml of examples/pip_global.md loads as it reads: one `always` index with a user."""
    from indexauth import _settings

    doc = (EXAMPLES / "pip_global.md").read_text("utf-8")
    block = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    config = tmp_path / "config" / "indexauth" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(block, "utf-8")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    [index] = _settings.load(warn=pytest.fail)
    assert (index.name, index.authenticate, index.username) == ("artifactory", "always", "ci-bot")
