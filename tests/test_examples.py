"""The examples run as they are, each against a server it starts itself."""

from __future__ import annotations

import os
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
