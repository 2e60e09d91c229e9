"""The carrier: global mode in a child Python that has no indexauth of its own.

A bare venv (no pip, no indexauth) plays the child. Its environment is what a
parent with `INDEXAUTH=1` hands down: the carrier directory first on
`PYTHONPATH` and `_INDEXAUTH_CARRIER` naming the parent's interpreter and
import path. The carrier used is the source tree's, and the "parent path" is
the source tree plus a directory holding a package that only the parent has.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import ROOT, TESTS, KeyringStore, ensure_supported_pip
from pypi_front import Front

CARRIER = ROOT / "src" / "_indexauth_carrier"
SRC = ROOT / "src"

# What a child reports about itself.
PROBE = """
import json, os, sys
try:
    import parentonly
    parent_only = True
except ImportError:
    parent_only = False
startup = sys.modules.get("_indexauth_startup")
print(json.dumps({
    "modules": sorted(m for m in sys.modules if "indexauth" in m or m == "sitecustomize"),
    "path": sys.path,
    "parentonly": parent_only,
    "watching": getattr(startup, "_watching", None),
    "carried": getattr(startup, "carried", None),
    "own": os.environ.get("OWN_SITECUSTOMIZE_RAN"),
    "pythonpath": os.environ.get("PYTHONPATH"),
    "var": os.environ.get("_INDEXAUTH_CARRIER"),
}))
"""


@pytest.fixture(scope="session")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with nothing installed, not even pip: its python is the child."""
    path = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    return path / "bin" / "python"


@pytest.fixture(name="parent_path")
def fixture_parent_path(tmp_path: Path) -> list[str]:
    """The parent's import path: indexauth (the source tree), its dependencies, and `parentonly`."""
    other = tmp_path / "parent-site"
    (other / "parentonly").mkdir(parents=True)
    (other / "parentonly" / "__init__.py").write_text("", "utf-8")
    return [str(SRC), str(other), sysconfig.get_path("purelib")]


def carried_env(parent_path: list[str], **extra: str | None) -> dict[str, str]:
    """The environment a parent with INDEXAUTH=1 hands to its children, plus *extra*."""
    env: dict[str, str | None] = {
        **os.environ,
        "INDEXAUTH": "1",
        "PYTHONPATH": str(CARRIER),
        "_INDEXAUTH_CARRIER": os.pathsep.join([sys.executable, *parent_path]),
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def run(python: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    """*python* ARGV, its output as text."""
    return subprocess.run(
        [str(python), *argv], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def probe(python: Path, env: dict[str, str], *flags: str) -> dict[str, object]:
    """What the child sees, from PROBE; the child must say nothing on stderr."""
    done = run(python, env, *flags, "-c", PROBE)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_child_gets_global_mode_and_nothing_else(bare: Path, parent_path: list[str]) -> None:
    """The hook is installed from the parent's indexauth; no other parent package is importable."""
    seen = probe(bare, carried_env(parent_path))
    assert seen["watching"] is True
    assert seen["carried"] == sys.executable
    assert seen["modules"] == ["_indexauth_startup"]
    assert seen["parentonly"] is False
    path = seen["path"]
    assert isinstance(path, list)
    assert not any(p in path for p in [*parent_path, str(CARRIER)])
    # Grandchildren get the same carrier, pointing at the same parent.
    assert seen["pythonpath"] == str(CARRIER)
    assert seen["var"] == os.pathsep.join([sys.executable, *parent_path])


def test_child_imports_indexauth_from_the_parent(bare: Path, parent_path: list[str]) -> None:
    """`import indexauth` works in the child and comes from the parent's path."""
    done = run(bare, carried_env(parent_path), "-c", "import indexauth; print(indexauth.__file__)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(SRC / "indexauth" / "__init__.py")


@pytest.mark.parametrize("value", ["0", "false", "", None])
def test_off_adds_nothing(bare: Path, parent_path: list[str], value: str | None) -> None:
    """INDEXAUTH unset or false in the child: it sees exactly what it would without the carrier."""
    without = probe(bare, {**os.environ, "PYTHONPATH": ""})
    seen = probe(bare, carried_env(parent_path, INDEXAUTH=value))
    assert seen == {**without, "pythonpath": None}
    assert seen["modules"] == []


@pytest.mark.parametrize("on", [True, False])
def test_childs_own_sitecustomize_and_pth_still_run(
    bare: Path, parent_path: list[str], tmp_path: Path, on: bool
) -> None:
    """The child's own sitecustomize (next on sys.path) and its .pth files run, on or off."""
    own = tmp_path / "own"
    own.mkdir()
    (own / "sitecustomize.py").write_text(
        "import os\nos.environ['OWN_SITECUSTOMIZE_RAN'] = __file__\n", "utf-8"
    )
    site = Path(run(bare, dict(os.environ), "-c", "import site; print(site.getsitepackages()[0])")
                .stdout.strip())
    (site / "zz_carrier_probe.pth").write_text(
        "import os; os.environ.get('CARRIER_PTH_PROBE') and print('pth ran')\n", "utf-8"
    )
    env = carried_env(
        parent_path,
        INDEXAUTH="1" if on else "0",
        PYTHONPATH=os.pathsep.join([str(CARRIER), str(own)]),
        CARRIER_PTH_PROBE="1",
    )
    done = run(bare, env, "-c", PROBE)
    assert done.returncode == 0, done.stderr
    *pth, result = done.stdout.splitlines()
    seen = json.loads(result)
    # As often as without the carrier (a venv's lib64 link makes CPython read it twice).
    without = run(bare, {**os.environ, "CARRIER_PTH_PROBE": "1", "PYTHONPATH": ""}, "-c", "pass")
    assert pth and pth == without.stdout.splitlines()
    assert seen["own"] == str(own / "sitecustomize.py")
    assert seen["modules"] == (["_indexauth_startup", "sitecustomize"] if on else ["sitecustomize"])
    assert seen["pythonpath"] == (env["PYTHONPATH"] if on else str(own))


@pytest.mark.parametrize("flag", ["-I", "-E"])
def test_isolated_and_ignore_environment_are_honoured(
    bare: Path, parent_path: list[str], flag: str
) -> None:
    """`-I`/`-E` ignore PYTHONPATH: the carrier never runs there."""
    seen = probe(bare, carried_env(parent_path), flag)
    assert seen["modules"] == []
    assert seen["watching"] is None


def test_parent_environment_gone_is_one_line(bare: Path, tmp_path: Path) -> None:
    """The parent's indexauth cannot be found: one line on stderr, the child runs on."""
    done = run(bare, carried_env([str(tmp_path / "gone")]), "-c", "print('ran')")
    assert done.returncode == 0
    assert done.stdout == "ran\n"
    assert done.stderr.count("\n") == 1
    assert "could not be carried: indexauth is no longer in the environment" in done.stderr
    assert str(bare) in done.stderr


def test_broken_hook_is_one_line(bare: Path, tmp_path: Path) -> None:
    """The parent's start-up module fails to import: one line, the child runs on without it."""
    broken = tmp_path / "broken"
    shutil.copytree(SRC / "indexauth", broken / "indexauth")
    (broken / "_indexauth_startup.py").write_text("raise RuntimeError('simulated')\n", "utf-8")
    done = run(bare, carried_env([str(broken)]), "-c", "import sys; print(sorted(sys.modules).count('indexauth'))")
    assert done.returncode == 0
    assert done.stdout == "0\n"
    assert done.stderr.count("\n") == 1
    assert "could not be carried: RuntimeError: simulated" in done.stderr


def _old_python() -> str | None:
    """A Python older than 3.10 on this machine (pyenv's or the system's), if there is one."""
    pyenv = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"
    found = sorted(pyenv.glob("3.[6-9].*/bin/python")) + sorted(Path("/usr/bin").glob("python3.[6-9]"))
    return str(found[-1]) if found else None


def test_unsupported_python_one_line_only_in_pip(parent_path: list[str]) -> None:
    """Python < 3.10: silent, except one line once the process loads pip's network session."""
    old = _old_python()
    if old is None:
        pytest.skip("no Python older than 3.10 on this machine")
    env = carried_env(parent_path)
    quiet = run(Path(old), env, "-c", "import sys; print('sitecustomize' in sys.modules)")
    assert quiet.returncode == 0, quiet.stderr
    assert (quiet.stdout, quiet.stderr) == ("False\n", "")
    has_pip = run(Path(old), dict(os.environ), "-c", "import pip").returncode == 0
    if not has_pip:
        pytest.skip(f"{old} has no pip")
    done = run(Path(old), env, "-c", "import pip._internal.network.session; import pip._internal.network.session")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("\n") == 1
    assert "not carried into Python 3." in done.stderr
    assert "needs 3.10 or later" in done.stderr


def test_parent_hook_sets_the_carrier(parent_path: list[str]) -> None:
    """INDEXAUTH=1 in a process with indexauth: its children get the carrier; unset: nothing."""
    show = "import os; print(os.environ.get('PYTHONPATH')); print(os.environ.get('_INDEXAUTH_CARRIER'))"
    done = run(Path(sys.executable), {**os.environ, "INDEXAUTH": "1", "PYTHONPATH": str(TESTS)}, "-c", show)
    pythonpath, var = done.stdout.splitlines()
    carrier = Path(sysconfig.get_path("purelib")) / "_indexauth_carrier"
    assert pythonpath == os.pathsep.join([str(carrier), str(TESTS)])
    assert var.split(os.pathsep)[0] == sys.executable
    assert str(SRC) in var.split(os.pathsep)  # the editable install's indexauth
    done = run(Path(sys.executable), {**os.environ, "PYTHONPATH": str(TESTS)}, "-c", show)
    assert done.stdout.splitlines() == [str(TESTS), "None"]


def test_grandchild_still_carried_from_the_first_parent(bare: Path, parent_path: list[str]) -> None:
    """A carried child starting another Python passes the same carrier on."""
    code = f"import subprocess, sys; sys.exit(subprocess.run([{str(bare)!r}, '-c', {PROBE!r}]).returncode)"
    done = run(bare, carried_env(parent_path), "-c", code)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["watching"] is True
    assert seen["carried"] == sys.executable
    assert seen["parentonly"] is False


def test_keyring_through_the_parent_python(bare: Path, parent_path: list[str], kr: KeyringStore) -> None:
    """No keyring module in the child: the parent's Python looks up, with the backend the user chose."""
    url = "https://private.example/simple/"
    kr.set(url, "alice", "pw-a")
    code = (
        "import importlib.util, json\n"
        "from indexauth import _keyring\n"
        "from indexauth._models import Index\n"
        "from indexauth._resolver import Resolver\n"
        "from indexauth._sources import Target\n"
        "assert importlib.util.find_spec('keyring') is None\n"
        f"index = Index({url!r})\n"
        "out = {}\n"
        "for provider in ('auto', 'import', 'subprocess'):\n"
        "    source = _keyring.keyring_source(provider)\n"
        "    found = Resolver([source]).lookup(Target(index, index.realm)).credentials\n"
        "    out[provider] = [source.describe(), found.username, found.password == 'pw-a']\n"
        "print(json.dumps(out))\n"
    )
    # No `keyring` command anywhere on PATH: only the parent's Python has keyring.
    env = carried_env(parent_path, PATH="/usr/bin:/bin", PYTHONPATH=os.pathsep.join([str(CARRIER), str(TESTS)]))
    done = run(bare, env, "-c", code)
    assert done.returncode == 0, done.stderr
    label = f"(subprocess, keyring of the parent Python {sys.executable})"
    assert json.loads(done.stdout) == {p: [label, "alice", True] for p in ("auto", "import", "subprocess")}
    assert kr.pids() and os.getpid() not in kr.pids()


@pytest.mark.parametrize("on", [True, False])
def test_pth_route_for_isolated_installers(tox_like: tuple[Path, Path], parent_path: list[str], on: bool) -> None:
    """tox's `python -I -m pip`: the carrier's `.pth` line runs it; INDEXAUTH off, it runs nothing."""
    python, _ = tox_like
    seen = probe(python, carried_env(parent_path, INDEXAUTH="1" if on else "0"), "-I")
    assert seen["watching"] is (True if on else None)
    assert seen["modules"] == (["_indexauth_startup"] if on else [])
    assert seen["parentonly"] is False


@pytest.fixture(scope="module", name="tox_like")
def fixture_tox_like(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A venv holding what indexauth's tox plugin writes into a tox environment; python, site."""
    from indexauth._children import carrier_files

    venv = tmp_path_factory.mktemp("toxlike") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(run(python, dict(os.environ), "-c", "import site; print(site.getsitepackages()[0])").stdout.strip())
    for name, text in carrier_files(str(CARRIER)).items():
        (site / name).write_text(text, "utf-8")
    return python, site


# What Python 3.15's site does with a `.start` file (PEP 829), then PROBE: the site directory
# on sys.path, each `module:callable` entry resolved with pkgutil.resolve_name and called.
START_ROUTE = """
import pkgutil, sys
site = sys.argv.pop()
sys.path.append(site)
for line in open(site + '/indexauth_carrier.start', encoding='utf-8'):
    line = line.strip()
    if line and not line.startswith('#'):
        pkgutil.resolve_name(line)()
"""


@pytest.mark.parametrize(("value", "on"), [("1", True), (" On ", True), ("0", False), ("off", False), (None, False)])
def test_start_route_for_isolated_installers(
    tox_like: tuple[Path, Path], parent_path: list[str], value: str | None, on: bool
) -> None:
    """Python 3.15+ skips the carrier's `.pth` line for its `.start` twin: on, that runs the
    carrier as the line does; off, it imports one tiny module and nothing else."""
    python, site = tox_like
    # -S: the interpreter starts as 3.15's would before its .start entries, without the .pth line.
    done = run(python, carried_env(parent_path, INDEXAUTH=value), "-S", "-I", "-c", START_ROUTE + PROBE, str(site))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    seen = json.loads(done.stdout)
    assert seen["watching"] is (True if on else None)
    assert seen["modules"] == (["_indexauth_carrier_start", "_indexauth_startup"] if on else ["_indexauth_carrier_start"])
    assert seen["parentonly"] is False


def test_status_in_a_carried_child(bare: Path, parent_path: list[str]) -> None:
    """`python -m indexauth status` in a child: the carrier is active there, carried from the parent."""
    done = run(bare, carried_env(parent_path), "-m", "indexauth", "status", "--json")
    assert done.returncode == 0, done.stderr
    carrier = json.loads(done.stdout)["carrier"]
    assert carrier["active"] is True
    assert carrier["carried_from"] == sys.executable
    assert carrier["interpreter"].startswith(f"{bare} (3.")
    text = run(bare, carried_env(parent_path), "-m", "indexauth", "status").stdout
    assert f"carrier    active in this interpreter, {bare} (3." in text
    assert f"carried from {sys.executable}" in text


@pytest.mark.parametrize("on", [True, False])
def test_status_in_the_parent(on: bool) -> None:
    """`indexauth status` where indexauth is installed: whether children get it, and from where."""
    env = {**os.environ, "INDEXAUTH": "1" if on else "0"}
    done = run(Path(sys.executable), env, "-m", "indexauth", "status", "--json")
    assert done.returncode == 0, done.stderr
    carrier = json.loads(done.stdout)["carrier"]
    assert carrier["active"] is on
    assert carrier["carried_from"] is None
    if on:
        assert carrier["directory"] == str(Path(sysconfig.get_path("purelib")) / "_indexauth_carrier")
        text = run(Path(sys.executable), env, "-m", "indexauth", "status").stdout
        assert "carrier    on: every Python started from here gets indexauth from this interpreter" in text


def _other_supported_python() -> str | None:
    """A Python 3.10+ of another minor version than this one (pyenv's), if there is one."""
    pyenv = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}."
    found = [p for p in sorted(pyenv.glob("3.1[0-9].*/bin/python")) if not p.parent.parent.name.startswith(mine)]
    return str(found[-1]) if found else None


def test_child_on_another_python_version(tmp_path: Path, parent_path: list[str]) -> None:
    """A child of another Python version loads the parent's indexauth and wrapt and instruments."""
    other = _other_supported_python()
    if other is None:
        pytest.skip("no other Python 3.10+ on this machine")
    venv = tmp_path / "venv"
    subprocess.run([other, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    code = (
        "import sys, types\n"
        "from indexauth import _patch\n"
        "owner = types.ModuleType('demo'); owner.send = lambda: 'sent'\n"
        "_patch.instrument(owner, 'send', lambda wrapped, instance, args, kwargs: 'via ' + wrapped())\n"
        "import wrapt\n"
        f"print(sys.version_info[:2] != {tuple(sys.version_info[:2])}, owner.send(),"
        f" wrapt.__file__.startswith({sysconfig.get_path('purelib')!r}))\n"
    )
    done = run(venv / "bin" / "python", carried_env(parent_path), "-c", code)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("True via sent True\n", "")


@pytest.mark.parametrize("value", [None, "0"])
def test_tox_plugin_loads_little_while_off(value: str | None) -> None:
    """tox loads every `tox` entry point at each run: with INDEXAUTH off ours must not pull in
    indexauth's flow, keyring code, patching and wrapt (it did: 24 ms on every `tox` call)."""
    env = {k: v for k, v in os.environ.items() if k != "INDEXAUTH"}
    if value is not None:
        env["INDEXAUTH"] = value
    code = (
        "import sys; from importlib import metadata\n"
        "[ep] = [e for e in metadata.entry_points(group='tox') if e.name == 'indexauth']\n"
        "ep.load()\n"
        "import json; print(json.dumps([m for m in sys.modules if m.startswith(('indexauth', 'wrapt', 'keyring'))]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(done.stdout))
    assert loaded <= {
        "indexauth", "indexauth._tox", "indexauth._children", "indexauth._exceptions",
        "indexauth._hints", "indexauth._models", "indexauth._urls", "indexauth._version",
    }, sorted(loaded)
    assert "indexauth._tox" in loaded


def _python310() -> str | None:
    """A Python 3.10 on this machine (pyenv's or the system's), if there is one."""
    pyenv = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"
    found = sorted(pyenv.glob("3.10.*/bin/python")) + sorted(Path("/usr/bin").glob("python3.10"))
    return str(found[-1]) if found else None


def _toml_files(url: str) -> None:
    """A user config.toml that makes *url* `always`, and an `indexauth login` entry for it."""
    from indexauth._store import Store

    config = Path(os.environ["XDG_CONFIG_HOME"]) / "indexauth" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[[index]]\nname = "team"\nurl = "{url}"\nauthenticate = "always"\n', "utf-8")
    Store().put(url, "alice", "pw-a")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_310_child_reads_toml_with_its_pips_tomli(
    tmp_path: Path, parent_path: list[str], tools_front: Front
) -> None:
    """A real 3.10 child of this 3.11+ parent, with no tomli anywhere: its pip's own copy reads
    config.toml (`always`: nothing anonymous) and indexauth's store (the password)."""
    python310 = _python310()
    if python310 is None:
        pytest.skip("no Python 3.10 on this machine")
    venv = tmp_path / "venv310"
    subprocess.run([python310, "-m", "venv", str(venv)], check=True, timeout=300)
    child = venv / "bin" / "python"
    ensure_supported_pip(child)
    assert run(child, dict(os.environ), "-c", "import tomli").returncode != 0
    url = tools_front.url("a")
    _toml_files(url)
    tools_front.hits.clear()
    done = run(
        child, carried_env(parent_path, PIP_CONFIG_FILE=os.devnull), "-m", "pip", "download",
        "--no-deps", "--no-cache-dir", "--disable-pip-version-check", "-d", str(tmp_path / "dl"),
        "--index-url", url, "demo",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "indexauth" not in done.stderr, done.stderr
    assert tools_front.under("a")
    assert all(h.user == "alice" and h.status == 200 for h in tools_front.under("a"))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_310_child_without_a_toml_reader_says_where_to_install_tomli(
    tmp_path: Path, parent_path: list[str]
) -> None:
    """No tomli and no pip in a 3.10 child: one warning names config.toml and the command that
    fixes it (tomli into the parent's environment), the store says the same, no traceback; and
    that command's result works."""
    python310 = _python310()
    if python310 is None:
        pytest.skip("no Python 3.10 on this machine")
    venv = tmp_path / "bare310"
    subprocess.run([python310, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    child = venv / "bin" / "python"
    url = "https://private.example/simple/"
    _toml_files(url)
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "indexauth" / "config.toml"
    fix = f"{sys.executable} -m pip install tomli"
    done = run(child, carried_env(parent_path), "-m", "indexauth", "status")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    # Each file once, at warning level, with the reason and the command.
    store = Path(os.environ["XDG_DATA_HOME"]) / "indexauth" / "credentials.toml"
    warnings = [line for line in done.stderr.splitlines() if line.startswith("indexauth: warning:")]
    assert len(warnings) == 2, done.stderr
    for path in (config, store):
        assert done.stderr.count(f"{path} cannot be read: Python 3.10 ({child}) has no TOML reader") == 1
    assert done.stderr.count(fix) == 2, done.stderr
    # The fix, as the hint says: tomli where the parent's indexauth is (here: on its path).
    extra = tmp_path / "parent-tomli"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target", str(extra), "tomli"],
        check=True, timeout=300, capture_output=True,
    )
    done = run(child, carried_env([*parent_path, str(extra)]), "-m", "indexauth", "status", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    report = json.loads(done.stdout)
    assert [(i["name"], i["policy"]) for i in report["indexes"]] == [("team", "always")]
    assert report["store"]["entries"] == 1
