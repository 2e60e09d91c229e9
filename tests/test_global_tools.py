"""poetry, pdm, pip-tools and hatch under `INDEXAUTH=1`, as real tools in fresh environments (slow).

Each tool is installed from PyPI into its own venv with the built indexauth
wheel, and pointed at a password-protected pypiserver on 127.0.0.1 through
its own source configuration. The credentials are only in indexauth's store
(`indexauth login` writes it): `lock` and `install` must succeed, with every
request carrying them. When the tool has credentials of its own for the
source, the tool's win (indexauth's store then holds a wrong password).
No run says that global mode could not help (issue 11.6).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pypi_front import Front, pypi_app, write_wheel

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1200),
    # pypiserver (bottle) leaves a served package file for the garbage collector to close.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

PIP = ("--disable-pip-version-check", "-q")


def make_venv(path: Path, wheel: Path, *packages: str) -> Path:
    """A fresh venv with *packages* from PyPI and the indexauth wheel; its bin directory."""
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    done = subprocess.run(
        [str(path / "bin" / "python"), "-m", "pip", "install", *PIP, *packages, str(wheel)],
        capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    if done.returncode != 0:
        pytest.skip(f"could not install {packages} from PyPI: {done.stderr[-500:]}")
    return path / "bin"


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """One private index, /a/ (alice), holding `demo`."""
    root = tmp_path_factory.mktemp("tools-index") / "a"
    root.mkdir()
    write_wheel(root, "demo")
    server = Front(mounts={"a": pypi_app(root, {"alice": "pw-a"})}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def poetry(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """poetry (the newest on PyPI) in its own venv, with indexauth."""
    return make_venv(tmp_path_factory.mktemp("poetry") / "venv", wheel, "poetry") / "poetry"


@pytest.fixture(scope="module")
def pdm(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """pdm (the newest on PyPI; it talks httpx2) in its own venv, with indexauth."""
    # pdm 2.29 starts only with hishel < 2.
    return make_venv(tmp_path_factory.mktemp("pdm") / "venv", wheel, "pdm", "hishel<2") / "pdm"


@pytest.fixture(scope="module")
def pip_tools(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """pip-tools (the newest on PyPI) in its own venv, with indexauth: its bin directory."""
    return make_venv(tmp_path_factory.mktemp("pip-tools") / "venv", wheel, "pip-tools")


@pytest.fixture(scope="module")
def hatch(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """hatch (the newest on PyPI; it brings keyring, httpx2 and uv) in its own venv, with indexauth."""
    return make_venv(tmp_path_factory.mktemp("hatch") / "venv", wheel, "hatch")


def login(url: str, password: str) -> None:
    """`indexauth login URL -u alice --password-stdin`, into this test's store."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "indexauth"), "login", url, "--username", "alice",
         "--password-stdin", "--store", "file"],
        input=password, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def outside_any_venv() -> dict[str, str]:
    """This environment as a shell outside any venv: poetry and pdm install into an activated
    venv (`VIRTUAL_ENV`, as `.ci/run` sets) instead of the project's own `.venv`."""
    return {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}


def run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """*argv* in *cwd* with INDEXAUTH=1, no pip configuration and the test's HOME."""
    done = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=600, check=False,
        env={**outside_any_venv(), "INDEXAUTH": "1", "PIP_CONFIG_FILE": os.devnull, **env},
    )
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
    assert "did not authenticate it" not in done.stderr, done.stderr
    assert "did not take part" not in done.stderr, done.stderr
    return done


def installed(project: Path) -> bool:
    """Whether the project's own venv imports `demo`."""
    python = project / ".venv" / "bin" / "python"
    return subprocess.run([str(python), "-c", "import demo"], timeout=60, check=False).returncode == 0


POETRY_PROJECT = """\
[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["demo"]

[tool.poetry]
package-mode = false

[[tool.poetry.source]]
name = "private"
url = "{url}"
priority = "primary"
"""

PDM_PROJECT = """\
[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["demo"]

[tool.pdm]
distribution = false

[[tool.pdm.source]]
name = "pypi"
url = "{url}"
"""


def poetry_env(tmp_path: Path) -> dict[str, str]:
    """poetry's settings for a test: venv in the project, caches under tmp, no keyring of its own."""
    return {
        "POETRY_VIRTUALENVS_IN_PROJECT": "true",
        "POETRY_CACHE_DIR": str(tmp_path / "poetry-cache"),
        "POETRY_KEYRING_ENABLED": "false",
    }


def pdm_env(tmp_path: Path) -> dict[str, str]:
    """pdm's settings for a test: caches under tmp, no update check."""
    return {"PDM_CACHE_DIR": str(tmp_path / "pdm-cache"), "PDM_CHECK_UPDATE": "false"}


def test_poetry_lock_and_install_with_credentials_only_in_the_store(
    poetry: Path, front: Front, tmp_path: Path
) -> None:
    """poetry's own CacheControl adapter, mounted after the session is made, authenticates."""
    url = front.url("a")
    login(url, "pw-a")
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(POETRY_PROJECT.format(url=url), "utf-8")
    front.hits.clear()
    run([str(poetry), "lock"], project, **poetry_env(tmp_path))
    run([str(poetry), "install"], project, **poetry_env(tmp_path))
    assert installed(project)
    hits = front.under("a")
    assert any("/packages/demo" in h.path for h in hits)
    assert all(h.user == "alice" and h.status < 400 for h in hits), hits


def test_poetry_own_credentials_win(poetry: Path, front: Front, tmp_path: Path) -> None:
    """`POETRY_HTTP_BASIC_<SOURCE>_*` beats indexauth's store (which holds a wrong password)."""
    url = front.url("a")
    login(url, "not-the-password")
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(POETRY_PROJECT.format(url=url), "utf-8")
    env = {
        **poetry_env(tmp_path),
        "POETRY_HTTP_BASIC_PRIVATE_USERNAME": "alice",
        "POETRY_HTTP_BASIC_PRIVATE_PASSWORD": "pw-a",
    }
    run([str(poetry), "lock"], project, **env)
    run([str(poetry), "install"], project, **env)
    assert installed(project)


def test_pdm_lock_and_install_with_credentials_only_in_the_store(
    pdm: Path, front: Front, tmp_path: Path
) -> None:
    """pdm's per-source httpx2 transports (mounts=, transport=) authenticate."""
    url = front.url("a")
    login(url, "pw-a")
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(PDM_PROJECT.format(url=url), "utf-8")
    front.hits.clear()
    run([str(pdm), "lock"], project, **pdm_env(tmp_path))
    run([str(pdm), "install"], project, **pdm_env(tmp_path))
    assert installed(project)
    hits = front.under("a")
    assert any("/packages/demo" in h.path for h in hits)
    assert all(h.user == "alice" and h.status < 400 for h in hits), hits


def test_pdm_own_credentials_win(pdm: Path, front: Front, tmp_path: Path) -> None:
    """`PDM_PYPI_USERNAME`/`_PASSWORD` beat indexauth's store (which holds a wrong password)."""
    url = front.url("a")
    login(url, "not-the-password")
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(PDM_PROJECT.format(url=url), "utf-8")
    env = {**pdm_env(tmp_path), "PDM_PYPI_USERNAME": "alice", "PDM_PYPI_PASSWORD": "pw-a"}
    run([str(pdm), "lock"], project, **env)
    run([str(pdm), "install"], project, **env)
    assert installed(project)


def test_pip_compile_with_credentials_only_in_the_store(
    pip_tools: Path, front: Front, tmp_path: Path
) -> None:
    """pip-tools resolves through pip's own `PipSession` in its process: the pip instrumentation."""
    url = front.url("a")
    login(url, "pw-a")
    project = tmp_path / "app"
    project.mkdir()
    (project / "requirements.in").write_text("demo\n", "utf-8")
    front.hits.clear()
    run(
        [str(pip_tools / "pip-compile"), "--index-url", url, "--no-header", "--strip-extras",
         "requirements.in", "-o", "requirements.txt"],
        project,
    )
    assert "demo==1.0" in (project / "requirements.txt").read_text("utf-8")
    hits = front.under("a")
    assert any(h.path == "/a/simple/demo/" for h in hits)
    assert all(h.user == "alice" and h.status < 400 for h in hits), hits


HATCH_PROJECT = """\
[project]
name = "app"
version = "0.1.0"

[tool.hatch.envs.default]
dependencies = ["demo"]
skip-install = true
{installer}
"""


def hatch_env(tmp_path: Path) -> dict[str, str]:
    """hatch's settings for a test: its data and cache under tmp."""
    return {"HATCH_DATA_DIR": str(tmp_path / "hatch-data"), "HATCH_CACHE_DIR": str(tmp_path / "hatch-cache")}


def test_hatch_environment_with_credentials_only_in_the_store(
    hatch: Path, front: Front, tmp_path: Path
) -> None:
    """`hatch run` makes its environment and installs its dependencies with that environment's
    pip (hatch's default installer), which global mode reaches as a child Python: carried."""
    url = front.url("a")
    login(url, "pw-a")
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(HATCH_PROJECT.format(installer=""), "utf-8")
    front.hits.clear()
    done = run(
        [str(hatch / "hatch"), "-v", "run", "python", "-c", "import demo; print('imported demo')"],
        project, PIP_INDEX_URL=url, **hatch_env(tmp_path),
    )
    assert "imported demo" in done.stdout
    assert f"Looking in indexes: {url}" in done.stdout + done.stderr  # pip installed it, not uv
    hits = front.under("a")
    assert any("/packages/demo" in h.path for h in hits)
    assert all(h.user == "alice" and h.status < 400 for h in hits), hits


def test_hatch_uv_installer_through_the_keyring_backend(
    hatch: Path, front: Front, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `installer = "uv"` hatch installs with uv, which is not Python: global mode cannot see
    it. uv's keyring support can: `UV_KEYRING_PROVIDER=subprocess` runs the `keyring` command of
    hatch's venv, and indexauth's keyring backend answers from the store."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")  # keyring chooses its backends itself
    url = front.url("a")
    login(url, "pw-a")
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(HATCH_PROJECT.format(installer='installer = "uv"'), "utf-8")
    front.hits.clear()
    done = run(
        [str(hatch / "hatch"), "run", "python", "-c", "import demo; print('imported demo')"],
        project,
        UV_DEFAULT_INDEX=url.replace("://", "://alice@"),
        UV_KEYRING_PROVIDER="subprocess",
        UV_CACHE_DIR=str(tmp_path / "uv-cache"),
        PATH=f"{hatch}{os.pathsep}{os.environ['PATH']}",
        **hatch_env(tmp_path),
    )
    assert "imported demo" in done.stdout
    hits = front.under("a")
    assert any("/packages/demo" in h.path for h in hits)
    assert all(h.user == "alice" for h in hits), hits


def test_hatch_publish_with_credentials_only_in_the_store(
    hatch: Path, front: Front, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hatch publish -u alice` asks keyring for the password (indexauth's keyring backend
    answers from the store) and uploads with httpx2."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    url = front.url("a")
    login(url, "pw-a")
    project = tmp_path / "app"
    (project / "dist").mkdir(parents=True)
    artifact = write_wheel(project / "dist", "hatched")
    front.hits.clear()
    run(
        [str(hatch / "hatch"), "publish", "-r", url.removesuffix("simple/"), "-u", "alice", "-n", str(artifact)],
        project, **hatch_env(tmp_path),
    )
    assert [(h.path, h.user, h.status) for h in front.under("a") if h.path == "/a/"] == [("/a/", "alice", 200)]
    listing = subprocess.run(
        [sys.executable, "-c", f"import urllib.request as u, base64; r = u.Request({url + 'hatched/'!r}, "
         "headers={'Authorization': 'Basic ' + base64.b64encode(b'alice:pw-a').decode()}); "
         "print(u.urlopen(r).read().decode())"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    assert artifact.name in listing
