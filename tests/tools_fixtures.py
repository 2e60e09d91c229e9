"""Session fixtures shared by the end-to-end tests of the keyring backend and docs/tools.md:
a venv with the indexauth wheel, a venv without indexauth, and a pypiserver at /a/."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ensure_supported_pip
from pypi_front import Front, pypi_app, write_wheel

OUTER = sysconfig.get_path("purelib")  # keyring, keyrings.alt, twine, requests of this environment
QUIET = ("--disable-pip-version-check", "--no-cache-dir", "--timeout", "30", "--no-input")


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    python = path / "bin" / "python"
    ensure_supported_pip(python)
    return python


@pytest.fixture(scope="session")
def tools_venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A venv with the indexauth wheel; this environment's packages after its own."""
    python = _venv(tmp_path_factory.mktemp("kvenv") / "venv")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", *QUIET, str(wheel)],
        check=True, capture_output=True, timeout=300, env=dict(os.environ, PIP_CONFIG_FILE=os.devnull),
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    (Path(site) / "zz_outer.pth").write_text(OUTER + "\n", "utf-8")
    return python


@pytest.fixture(scope="session")
def tools_plain(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> tuple[Path, Path]:
    """A venv without indexauth, and a directory with the indexauth wheel unpacked (`--target`),
    for PYTHONPATH: its `.pth` files never run from there, only its entry point is seen."""
    base = tmp_path_factory.mktemp("plain")
    python = _venv(base / "venv")
    # The bundled pip may predate username-less `keyring` command lookups (pip#14150).
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *QUIET, "--upgrade", "pip"],
        check=True, capture_output=True, timeout=300,
    )
    target = base / "indexauth-only"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", *QUIET, "--target", str(target), str(wheel)],
        check=True, capture_output=True, timeout=300, env=dict(os.environ, PIP_CONFIG_FILE=os.devnull),
    )
    return python, target


@pytest.fixture(scope="session")
def tools_front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """pypiserver at /a/ (alice / pw-a for reading and uploading) with the package `demo`."""
    root = tmp_path_factory.mktemp("kindex") / "a"
    root.mkdir()
    write_wheel(root, "demo")
    server = Front(mounts={"a": pypi_app(root, {"alice": "pw-a"})}).start()
    yield server
    server.stop()
