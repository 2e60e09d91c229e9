"""End to end: global mode follows the installers into interpreters that have no indexauth.

One parent venv has the built indexauth wheel and a package `parentonly`;
build, pipx, tox, nox and keyring come from this test environment through a
`.pth` line (read before indexauth's own, so they are on the path the carrier
hands down, as an installed dependency would be). Every child environment is
made by the tool under test and has no indexauth. Credentials live only in
the parent's keyring (a JSON-file backend) or in the user configuration, and
the index is a real pypiserver with htpasswd on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import TESTS, KeyringStore, ensure_supported_pip
from pypi_front import BACKEND, Front, pypi_app, write_backend_sdist, write_wheel

pytestmark = pytest.mark.slow
QUIET = ("--no-cache-dir", "--disable-pip-version-check", "--timeout", "30")

# A build backend that records whether `parentonly` (installed only in the parent) is importable.
ISOBACKEND = BACKEND.replace(
    '        name + ".py": "BUILT = True\\n",',
    '        name + ".py": "PARENTONLY = %r\\n" % (__import__("importlib.util").util.find_spec("parentonly")'
    " is not None),",
)
assert ISOBACKEND != BACKEND


@pytest.fixture(scope="session")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """One private index, /a/ (alice), with an app, a library and two private build backends."""
    root = tmp_path_factory.mktemp("children-index") / "a"
    root.mkdir()
    write_wheel(root, "demo")
    write_wheel(root, "isobackend", {"isobackend.py": ISOBACKEND})
    write_wheel(root, "privbackend", {"privbackend.py": BACKEND})
    write_backend_sdist(root, "needsbackend", "privbackend")
    write_wheel(
        root,
        "demoapp",
        {
            "demoapp/__init__.py": "def main():\n    print('demoapp ran')\n",
            "demoapp-1.0.dist-info/entry_points.txt": "[console_scripts]\ndemoapp = demoapp:main\n",
        },
    )
    server = Front(mounts={"a": pypi_app(root, {"alice": "pw-a"})}).start()
    yield server
    server.stop()


def _purelib(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True, timeout=60,
    )
    return Path(out.stdout.strip())


@pytest.fixture(scope="session")
def parent(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """The environment where the user runs the command: indexauth (the wheel) and `parentonly`."""
    base = tmp_path_factory.mktemp("parent")
    path = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    python = path / "bin" / "python"
    ensure_supported_pip(python)
    extra = write_wheel(base, "parentonly")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", *QUIET, str(wheel), str(extra)],
        check=True, capture_output=True, timeout=300, env=dict(os.environ, PIP_CONFIG_FILE=os.devnull),
    )
    # The tools from this test environment, after the venv's own packages (its pip wins).
    # The tests directory too, so the parent's Python finds the test keyring backend even where
    # a tool (tox) hands its children no PYTHONPATH.
    (_purelib(python) / "aa_tools.pth").write_text(f"{sysconfig.get_path('purelib')}\n{TESTS}\n", "utf-8")
    return python


@pytest.fixture(scope="session")
def other(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another environment, without pip or indexauth: the target of `pip --python`."""
    path = tmp_path_factory.mktemp("other") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=300)
    return path / "bin" / "python"


@pytest.fixture(name="env")
def fixture_env(front: Front, parent: Path, kr: KeyringStore) -> dict[str, str]:
    """INDEXAUTH=1, the private index as pip's, keyring with alice's entry, no `keyring` on PATH."""
    front.hits.clear()
    kr.set(front.url("a"), "alice", "pw-a")
    return {
        **os.environ,
        "INDEXAUTH": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": front.url("a"),
        # Only the parent's bin: the keyring module lives in the parent's Python, no command.
        "PATH": os.pathsep.join([str(parent.parent), "/usr/bin", "/bin"]),
    }


def always(front: Front) -> None:
    """The user configuration says `authenticate = "always"` for the index."""
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "indexauth" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[[index]]\nname = "team"\nurl = "{front.url("a")}"\nauthenticate = "always"\n', "utf-8")


def run(argv: list[str | Path], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a tool, its output as text."""
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=600, env=env, cwd=cwd, check=False
    )


def output(done: subprocess.CompletedProcess[str]) -> str:
    """Both streams."""
    return done.stdout + done.stderr


def assert_one_challenge_per_process(front: Front, kr: KeyringStore, processes: int, policy: str) -> None:
    """What the index saw: per child process at most one anonymous request, then alice; one lookup each."""
    hits = front.under("a")
    assert hits
    anonymous = [h for h in hits if h.user is None]
    if policy == "always":
        assert anonymous == []
    else:
        assert len(anonymous) <= processes
        assert all(h.status == 401 for h in anonymous)
    # Authenticated: 200, or 404 for a project the index does not have (an old pip asks for `pip`).
    assert all(h.user == "alice" and h.status in (200, 404) for h in hits if h.user is not None)
    assert kr.lookups() == [(front.url("a"), None)] * processes
    assert len(kr.pids()) == processes


@pytest.mark.timeout(600)
@pytest.mark.parametrize("policy", ["auto", "always"])
def test_pip_python_other(
    parent: Path, other: Path, env: dict[str, str], front: Front, kr: KeyringStore, policy: str
) -> None:
    """`pip --python OTHER install`: the pip re-run in OTHER authenticates, OTHER gets the package."""
    if policy == "always":
        always(front)
    target = Path(os.environ["HOME"]) / f"target-{policy}"
    done = run(
        [parent, "-m", "pip", "--python", other, "install", *QUIET, "--target", target, "demo"], env
    )
    assert done.returncode == 0, output(done)
    assert (target / "demo" / "__init__.py").is_file()
    assert any("/packages/demo-1.0" in h.path for h in front.under("a"))
    assert_one_challenge_per_process(front, kr, 1, policy)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("policy", ["auto", "always"])
def test_build_with_private_build_dependency(
    parent: Path, env: dict[str, str], front: Front, kr: KeyringStore, tmp_path: Path, policy: str
) -> None:
    """`python -m build`: its isolated env gets the private backend; `parentonly` stays out of it."""
    if policy == "always":
        always(front)
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["isobackend"]\nbuild-backend = "isobackend"\n', "utf-8"
    )
    (project / "NAME").write_text("isolated", "utf-8")
    done = run([parent, "-m", "build", "--wheel", "--outdir", tmp_path / "dist", project], env)
    assert done.returncode == 0, output(done)
    built = tmp_path / "dist" / "isolated-1.0-py3-none-any.whl"
    with zipfile.ZipFile(built) as archive:
        assert archive.read("isolated.py").decode() == "PARENTONLY = False\n"
    assert any("/packages/isobackend-1.0" in h.path for h in front.under("a"))
    assert_one_challenge_per_process(front, kr, 1, policy)


@pytest.mark.timeout(600)
def test_parentonly_is_importable_in_the_parent(parent: Path, env: dict[str, str]) -> None:
    """The control for the isolation checks: `parentonly` is there in the parent itself."""
    done = run([parent, "-c", "import parentonly"], env)
    assert done.returncode == 0, output(done)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("policy", ["auto", "always"])
def test_venv_child_pip(
    parent: Path, env: dict[str, str], front: Front, kr: KeyringStore, tmp_path: Path, policy: str
) -> None:
    """A program makes a plain venv and runs its own pip: that pip authenticates (sdist + build dep too)."""
    if policy == "always":
        always(front)
    child = tmp_path / "child"
    program = (
        "import subprocess, sys, venv\n"
        f"venv.create({str(child)!r}, with_pip=True)\n"
        f"argv = [{str(child / 'bin' / 'python')!r}, '-m', 'pip', 'install', *{QUIET!r}, 'demo', 'needsbackend']\n"
        "sys.exit(subprocess.run(argv).returncode)\n"
    )
    done = run([parent, "-c", program], env)
    assert done.returncode == 0, output(done)
    installed = run([child / "bin" / "python", "-c", "import demo, needsbackend"], env)
    assert installed.returncode == 0, output(installed)
    assert any("/packages/privbackend-1.0" in h.path for h in front.under("a"))
    # The venv's pip, and the pip it runs to install the build backend: one lookup each.
    assert_one_challenge_per_process(front, kr, 2, policy)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("policy", ["auto", "always"])
def test_pipx_install(
    parent: Path, env: dict[str, str], front: Front, kr: KeyringStore, tmp_path: Path, policy: str
) -> None:
    """`pipx install --index-url`: pipx drops PYTHONPATH for its children; the carrier is put back."""
    if policy == "always":
        always(front)
    env.update(
        PIPX_HOME=str(tmp_path / "pipx"),
        PIPX_BIN_DIR=str(tmp_path / "bin"),
        PIPX_MAN_DIR=str(tmp_path / "man"),
        # Shared libraries from the bundled pip, offline, instead of an upgrade from PyPI.
        PIPX_DISABLE_SHARED_LIBS_AUTO_UPGRADE="1",
        # pipx picks uv when it finds it; uv is no Python, so the carrier is for pip's backend.
        PIPX_DEFAULT_BACKEND="pip",
    )
    del env["PIP_INDEX_URL"]
    done = run([parent, "-m", "pipx", "install", "--index-url", front.url("a"), "demoapp"], env)
    assert done.returncode == 0, output(done)
    ran = run([tmp_path / "bin" / "demoapp"], env)
    assert ran.stdout == "demoapp ran\n", output(ran)
    assert_one_challenge_per_process(front, kr, 1, policy)


TOX_INI = """\
[tox]
env_list = py
[testenv]
skip_install = true
deps = demo
set_env = PIP_INDEX_URL = {url}
commands = python -c "import demo, sys; print('demo from', sys.prefix)"
"""


@pytest.mark.timeout(600)
@pytest.mark.parametrize("policy", ["auto", "always"])
def test_tox_environment(
    parent: Path, env: dict[str, str], front: Front, kr: KeyringStore, tmp_path: Path, policy: str
) -> None:
    """A tox environment installs a private dependency; tox.ini says nothing about indexauth."""
    if policy == "always":
        always(front)
    project = tmp_path / "project"
    project.mkdir()
    (project / "tox.ini").write_text(TOX_INI.format(url=front.url("a")), "utf-8")
    done = run([parent, "-m", "tox", "-e", "py"], env, cwd=project)
    assert done.returncode == 0, output(done)
    assert f"demo from {project / '.tox' / 'py'}" in done.stdout
    assert_one_challenge_per_process(front, kr, 1, policy)
    # The carrier's `.pth` line, and for Python 3.15+ its `.start` twin and the module it names.
    [site] = (project / ".tox" / "py").glob("lib/python3.*/site-packages")
    assert (site / "indexauth_carrier.start").read_text("utf-8") == "_indexauth_carrier_start:start\n"
    assert "_indexauth_carrier/sitecustomize.py" in (site / "_indexauth_carrier_start.py").read_text("utf-8")
    assert "_indexauth_carrier/sitecustomize.py" in (site / "indexauth_carrier.pth").read_text("utf-8")


NOXFILE = """\
import nox

@nox.session(venv_backend="venv")
def tests(session):
    session.install("demo")
    session.run("python", "-c", "import demo, sys; print('demo from', sys.prefix)")
"""


@pytest.mark.timeout(600)
@pytest.mark.parametrize("policy", ["auto", "always"])
def test_nox_session(
    parent: Path, env: dict[str, str], front: Front, kr: KeyringStore, tmp_path: Path, policy: str
) -> None:
    """A nox session installs a private dependency with its own pip."""
    if policy == "always":
        always(front)
    project = tmp_path / "project"
    project.mkdir()
    (project / "noxfile.py").write_text(NOXFILE, "utf-8")
    done = run([parent, "-m", "nox", "-s", "tests"], env, cwd=project)
    assert done.returncode == 0, output(done)
    assert f"demo from {project / '.nox' / 'tests'}" in output(done)
    assert_one_challenge_per_process(front, kr, 1, policy)
