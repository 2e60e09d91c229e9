"""The examples run as they are, each against a server it starts itself."""

from __future__ import annotations

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
