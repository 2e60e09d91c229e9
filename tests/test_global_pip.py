"""End to end: real pip, in a fresh venv with the built indexauth wheel, against real pypiserver.

One wheel, one venv and one server per module. Each test runs pip as a
subprocess with `INDEXAUTH=1` (the wheel's `.pth` does the rest) and checks
pip's exit code and output, and what the server saw on the wire.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from conftest import TESTS, KeyringStore, ensure_supported_pip
from pypi_front import (
    BACKEND,
    Front,
    files_hidden_when_anonymous,
    not_found_when_anonymous,
    public_app,
    pypi_app,
    write_backend_sdist,
    write_wheel,
)

ROOT = TESTS.parent
PIP_FLAGS = ("--no-cache-dir", "--disable-pip-version-check", "--timeout", "30")


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> Path:
    """A fresh venv with the wheel installed (not editable); keyring comes from this environment."""
    path = tmp_path_factory.mktemp("gvenv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=300)
    python = path / "bin" / "python"
    ensure_supported_pip(python)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", *PIP_FLAGS, str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
        env=dict(os.environ, PIP_CONFIG_FILE=os.devnull),
    )
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
    )
    assert (site / "indexauth.pth").is_file()
    assert (site / "indexauth.start").is_file()
    # keyring and requests from this environment, after the venv's own packages.
    (site / "zz_outer.pth").write_text(sysconfig.get_path("purelib") + "\n", "utf-8")
    return path


@pytest.fixture(scope="session")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """pypiserver indexes: /a/, /al/ (alice), /b/ (bob), /gl/ (alice; 404 when anonymous),
    /fa/ (alice; public pages, files 404 when anonymous), /pub/ (a public mirror without demo)."""
    base = tmp_path_factory.mktemp("indexes")
    a, b, pub = base / "a", base / "b", base / "pub"
    a.mkdir()
    b.mkdir()
    pub.mkdir()
    write_wheel(pub, "mirrored")
    write_wheel(a, "demo")
    write_wheel(a, "privbackend", {"privbackend.py": BACKEND})
    write_backend_sdist(a, "needsbackend", "privbackend")
    write_wheel(b, "bdemo")
    app_a = pypi_app(a, {"alice": "pw-a"})
    server = Front(
        mounts={
            "a": app_a,
            "al": app_a,
            "b": pypi_app(b, {"bob": "pw-b"}),
            "gl": not_found_when_anonymous(app_a),
            "fa": files_hidden_when_anonymous(app_a, "alice", "pw-a"),
            "pub": public_app(pub),
        }
    ).start()
    yield server
    server.stop()


Env = dict[str, "str | None"]


@pytest.fixture(name="env")
def fixture_env(front: Front) -> Env:
    """Changes to the test's environment for a run: INDEXAUTH=1, no pip configuration.

    Applied when the process starts (`None` removes a variable), so fixtures
    such as `kr` that set variables later still count. The server log is cleared.
    """
    front.hits.clear()
    return {"INDEXAUTH": "1", "PIP_CONFIG_FILE": os.devnull}


def environ(env: Env) -> dict[str, str]:
    """The full environment for a run."""
    full = {**os.environ, **env}
    return {name: value for name, value in full.items() if value is not None}


def user_config(text: str) -> None:
    """Write the user configuration file where global mode looks for it (XDG_CONFIG_HOME)."""
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "indexauth" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


def run(venv: Path, env: Env, *argv: str) -> subprocess.CompletedProcess[str]:
    """`python ARGV` in *venv*."""
    return subprocess.run(
        [str(venv / "bin" / "python"), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ(env),
        check=False,
    )


def pip(
    venv: Path, env: Env, *args: str, python_flags: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """`python -m pip download ARGS` in *venv*, to a fresh directory."""
    dest = Path(os.environ["HOME"]) / "downloads"
    return subprocess.run(
        [str(venv / "bin" / "python"), *python_flags, "-m", "pip", "download", *PIP_FLAGS,
         "--no-deps", "-d", str(dest), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ(env),
        check=False,
    )


def output(done: subprocess.CompletedProcess[str]) -> str:
    """What pip printed, both streams."""
    return done.stdout + done.stderr


def assert_clean_failure(done: subprocess.CompletedProcess[str]) -> None:
    """pip failed with exit 1 and nothing a user should never see."""
    text = output(done)
    assert done.returncode == 1, text
    assert "Traceback" not in text
    assert "User for" not in text
    assert "Password:" not in text


def test_keyring_lazy_success(venv: Path, env: Env, front: Front, kr: KeyringStore) -> None:
    """keyring: one anonymous 401, one lookup, then credentials up front for the file."""
    url = front.url("a")
    kr.set(url, "alice", "pw-a")
    done = pip(venv, env, "--index-url", url, "demo")
    assert done.returncode == 0, output(done)
    hits = front.under("a")
    assert [(h.user, h.status) for h in hits[:2]] == [(None, 401), ("alice", 200)]
    assert all(h.user == "alice" for h in hits[1:])
    assert any(h.path.startswith("/a/packages/demo-1.0") for h in hits)
    assert kr.lookups() == [(url, None)]


def test_env_credentials_sent_up_front(venv: Path, env: Env, front: Front) -> None:
    """INDEXAUTH_INDEX_<NAME>_* names pip's index: credentials go with the first request."""
    env.update(
        INDEXAUTH_INDEX_PRIV_URL=front.url("a"),
        INDEXAUTH_INDEX_PRIV_USERNAME="alice",
        INDEXAUTH_INDEX_PRIV_PASSWORD="pw-a",
    )
    done = pip(venv, env, "--index-url", front.url("a"), "demo")
    assert done.returncode == 0, output(done)
    assert front.under("a")
    assert all(h.user == "alice" and h.status == 200 for h in front.under("a"))


def test_netrc_over_plain_http_takes_one_challenge(venv: Path, env: Env, front: Front, tmp_path: Path) -> None:
    """netrc for a plain-http index waits for one Basic challenge (it may be meant for Digest), then
    goes up front for the rest of the run; over https it goes first (tests/test_resolver.py)."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice password pw-a\n", "utf-8")
    netrc.chmod(0o600)
    env["NETRC"] = str(netrc)
    done = pip(venv, env, "--index-url", front.url("a"), "demo")
    assert done.returncode == 0, output(done)
    assert any(h.user == "alice" and "/packages/" in h.path for h in front.under("a"))
    seen = [(h.user, h.status) for h in front.under("a")]
    assert seen[0] == (None, 401), seen
    assert seen[1:] == [("alice", 200)] * (len(seen) - 1), seen


def test_store_sent_up_front(venv: Path, env: Env, front: Front) -> None:
    """`indexauth login` credentials for pip's index go with the first request: 0 challenges."""
    from indexauth._store import Store

    Store().put(front.url("a"), "alice", "pw-a")
    done = pip(venv, env, "--index-url", front.url("a"), "demo")
    assert done.returncode == 0, output(done)
    assert any(h.user == "alice" and "/packages/" in h.path for h in front.under("a"))
    assert [(h.user, h.status) for h in front.under("a")] == [("alice", 200)] * len(front.under("a"))


def test_missing_credentials_one_warning(venv: Path, env: Env, front: Front, kr: KeyringStore) -> None:
    """Nothing found: one warning (index, sources, service names, fix), then pip's error."""
    url = front.url("a")
    done = pip(venv, env, "--index-url", url, "demo")
    assert_clean_failure(done)
    text = output(done)
    assert "Could not find a version that satisfies the requirement demo" in text
    assert text.count("no credentials found") == 1
    assert f"index {url}" in text
    assert f"service '{url}'" in text
    assert "netrc" in text
    assert f"keyring set {url} USERNAME" in text


def test_wrong_password_is_rejected(
    venv: Path, env: Env, front: Front, kr: KeyringStore
) -> None:
    """A wrong keyring password: one warning that says so and where the credentials came from.

    pypiserver answers a wrong password with 403, so this is the forbidden kind.
    """
    url = front.url("a")
    kr.set(url, "alice", "pw-WRONG-secret")
    done = pip(venv, env, "--index-url", url, "demo")
    assert_clean_failure(done)
    text = output(done)
    assert text.count("WARNING: indexauth: credentials for") == 1
    assert "refused with 403 Forbidden" in text
    assert "they came from keyring" in text
    assert f"kr_backends.JsonFileKeyring) service '{url}'" in text
    assert "pw-WRONG-secret" not in text


def test_index_answering_404_to_anonymous(
    venv: Path, env: Env, front: Front, kr: KeyringStore
) -> None:
    """A GitLab-style index (404 when anonymous) gets credentials on the 404 and works."""
    url = front.url("gl")
    kr.set(url, "alice", "pw-a")
    done = pip(venv, env, "--index-url", url, "demo")
    assert done.returncode == 0, output(done)
    hits = front.under("gl")
    assert [(h.user, h.status) for h in hits[:2]] == [(None, 404), ("alice", 200)]


def test_two_indexes_on_one_host(
    venv: Path, env: Env, front: Front, kr: KeyringStore
) -> None:
    """Two indexes on one host, two users: each index only ever gets its own credentials."""
    kr.set(front.url("a"), "alice", "pw-a")
    kr.set(front.url("b"), "bob", "pw-b")
    done = pip(
        venv, env, "--index-url", front.url("a"), "--extra-index-url", front.url("b"), "demo",
        "bdemo",
    )
    assert done.returncode == 0, output(done)
    assert {h.user for h in front.under("a")} <= {None, "alice"}
    assert {h.user for h in front.under("b")} <= {None, "bob"}
    assert any(h.user == "bob" and "/packages/bdemo" in h.path for h in front.under("b"))


def test_always_sends_nothing_anonymous(
    venv: Path, env: Env, front: Front, kr: KeyringStore
) -> None:
    """authenticate = "always" from the user config for pip's index URL: nothing anonymous."""
    url = front.url("al")
    user_config(f'[[index]]\nname = "team"\nurl = "{url}"\nauthenticate = "always"\n')
    kr.set(url, "alice", "pw-a")
    done = pip(venv, env, "--index-url", url, "demo")
    assert done.returncode == 0, output(done)
    assert front.under("al")
    assert all(h.user == "alice" for h in front.under("al"))


def test_always_missing_stops_pip(venv: Path, env: Env, front: Front) -> None:
    """authenticate = "always" and nothing found: pip's diagnostic error, exit 1, nothing sent."""
    url = front.url("al")
    user_config(f'[[index]]\nname = "team"\nurl = "{url}"\nauthenticate = "always"\n')
    done = pip(venv, env, "--index-url", url, "demo")
    assert_clean_failure(done)
    text = output(done)
    assert "error: missing-index-credentials" in text
    assert "INDEXAUTH_INDEX_TEAM_USERNAME" in text
    assert "hint" in text
    assert front.under("al") == []


def test_unset_leaves_pip_alone(venv: Path, env: Env, front: Front) -> None:
    """INDEXAUTH unset: nothing of indexauth is imported and pip uses its own auth."""
    env["INDEXAUTH"] = None
    probe = (
        "import sys, pip._internal.network.session as s, requests;"
        "print(sorted(m for m in sys.modules if 'indexauth' in m or m == 'wrapt'),"
        " [hasattr(c.send, '__wrapped__') for c in (s.PipSession, requests.adapters.HTTPAdapter)])"
    )
    done = run(venv, env, "-c", probe)
    assert done.stdout.strip() == "[] [False, False]", output(done)
    url = front.url("a").replace("http://", "http://alice:pw-a@")
    done = pip(venv, env, "--index-url", url, "demo")
    assert done.returncode == 0, output(done)
    assert "indexauth" not in output(done)


@pytest.mark.parametrize(
    ("value", "imported"),
    [("0", False), ("false", False), ("", False), ("no", False), ("off", False),
     ("1", True), ("TRUE", True), ("on", True), (" yes ", True)],
)
def test_pth_imports_the_hook_only_when_on(venv: Path, value: str, imported: bool) -> None:
    """The `.pth` line imports nothing for INDEXAUTH=0/false/empty (keyring children run so)."""
    done = run(
        venv,
        {"INDEXAUTH": value, "PIP_CONFIG_FILE": os.devnull},
        "-c",
        "import sys; print(sorted(m for m in sys.modules if 'indexauth' in m))",
    )
    assert done.returncode == 0, output(done)
    assert done.stderr == ""
    assert done.stdout.strip() == ("['_indexauth_startup']" if imported else "[]"), value


@pytest.mark.parametrize("value", ["2", "enabled", "y"])
def test_a_value_not_understood_says_so_once(venv: Path, value: str) -> None:
    """INDEXAUTH=enabled is not silently off: one stderr line says so and how to fix it."""
    done = run(
        venv,
        {"INDEXAUTH": value, "PIP_CONFIG_FILE": os.devnull},
        "-c",
        "import sys; print(sorted(m for m in sys.modules if 'indexauth' in m))",
    )
    assert done.returncode == 0, output(done)
    assert done.stdout.strip() == "[]"  # said, and nothing of indexauth left loaded
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert f"INDEXAUTH={value!r} is not understood" in lines[0]
    assert "INDEXAUTH=1" in lines[0]


def site_packages(venv: Path) -> Path:
    """The venv's site-packages, where the wheel put `indexauth.pth` and `indexauth.start`."""
    done = run(venv, {}, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    return Path(done.stdout.strip())


@pytest.mark.parametrize("value", ["0", "", "false", "no", "off", " Off ", "FALSE", "No"])
def test_off_pth_line_imports_nothing(venv: Path, value: str) -> None:
    """INDEXAUTH off (`0` or empty, as indexauth's own keyring children run, or false/no/off in
    any case): the `.pth` line imports nothing at all, not even the start-up module it then
    throws away (+7.6 % instructions)."""
    done = run(venv, {"INDEXAUTH": value, "PIP_CONFIG_FILE": os.devnull}, "-X", "importtime", "-c", "pass")
    assert done.returncode == 0, output(done)
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line]
    assert "os" in imported or "site" in imported, done.stderr  # importtime did report
    assert not [name for name in imported if "indexauth" in name], done.stderr


def _pyenv_pythons() -> list[Path]:
    """Every pyenv Python 3.10 or later on this machine (none in a clean CI image)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"
    return sorted(pyenv.glob("3.1[0-9].*/bin/python"))


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("python", _pyenv_pythons() or [None], ids=lambda p: p.parent.parent.name if p else "none")
def test_pth_line_on_every_python(python: Path | None, tmp_path: Path) -> None:
    """The line (an exec inside site's exec) means the same on each Python version: 3.13 changed
    how exec sees a function's locals (PEP 667)."""
    if python is None:
        pytest.skip("no pyenv Python 3.10+ on this machine")
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(tmp_path / "v")], check=True, timeout=120)
    child = tmp_path / "v"
    site = Path(run(child, {}, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").stdout.strip())
    for name in ("indexauth.pth", "_indexauth_startup.py"):
        (site / name).write_bytes((ROOT / "src" / name).read_bytes())
    probe = (
        "import sys; startup = sys.modules.get('_indexauth_startup');"
        "print(sorted(m for m in sys.modules if 'indexauth' in m), getattr(startup, '_watching', None))"
    )
    seen = {}
    for value in (None, "0", "", "off", "1", "enabled"):
        done = run(child, {"INDEXAUTH": value, "PYTHONPATH": None}, "-X", "importtime", "-c", probe)
        assert done.returncode == 0, output(done)
        imported = any(
            line.rsplit("|", 1)[-1].strip() == "_indexauth_startup" for line in done.stderr.splitlines()
        )
        seen[value] = (done.stdout.strip(), imported, done.stderr.count("is not understood"))
    off = ("[] None", False, 0)
    assert seen == {
        None: off, "0": off, "": off, "off": off,
        "1": ("['_indexauth_startup'] True", True, 0),
        "enabled": ("[] None", True, 1),  # imported to say so, then dropped
    }


# The `.pth` line of the wheels before the off values were free (a33c2af..5e4f8d8).
OLD_PTH_LINE = 'import os;"INDEXAUTH"in os.environ and __import__("_indexauth_startup").pth()\n'


@pytest.mark.parametrize(
    ("value", "modules", "stderr"),
    [("0", "[] None", ""), ("1", "['_indexauth_startup'] True", ""),
     ("false", "[] None", ""),
     ("enabled", "[] None", "INDEXAUTH='enabled' is not understood")],
)
def test_pth_line_of_an_older_wheel_still_works(
    venv: Path, tmp_path: Path, value: str, modules: str, stderr: str
) -> None:
    """A site directory holding the older wheel's `.pth` line beside this start-up module: off
    leaves nothing, on installs the hook, a value not understood is said once."""
    old = tmp_path / "old-site"
    old.mkdir()
    (old / "indexauth_old.pth").write_text(OLD_PTH_LINE, "utf-8")
    probe = (
        f"import site, sys; site.addsitedir({str(old)!r});"
        "startup = sys.modules.get('_indexauth_startup');"
        "print(sorted(m for m in sys.modules if 'indexauth' in m), getattr(startup, '_watching', None))"
    )
    # -S: only the old line runs (the venv's own `.pth` would load the module first).
    done = run(venv, {"INDEXAUTH": value, "PYTHONPATH": str(site_packages(venv))}, "-S", "-c", probe)
    assert done.returncode == 0, output(done)
    assert done.stdout.strip() == modules
    assert (stderr in done.stderr) and done.stderr.count("\n") == (1 if stderr else 0), done.stderr


# What Python 3.15's site does with a `.start` file (PEP 829): once the site directory is on
# sys.path, resolve each `module:callable` entry with pkgutil.resolve_name and call it.
START_PROBE = """
import json, pkgutil, sys
site = sys.argv[1]
sys.path.append(site)
before = set(sys.modules)
for line in open(site + '/indexauth.start', encoding='utf-8'):
    line = line.strip()
    if line and not line.startswith('#'):
        pkgutil.resolve_name(line)()
startup = sys.modules.get('_indexauth_startup')
new = sorted(m for m in set(sys.modules) - before
             if (getattr(sys.modules[m], '__file__', None) or '').startswith(site))
print(json.dumps([new, getattr(startup, '_watching', None)]))
"""


@pytest.mark.parametrize(
    ("value", "new", "watching", "stderr"),
    [
        (None, ["_indexauth_gate"], None, ""),
        ("0", ["_indexauth_gate"], None, ""),
        ("", ["_indexauth_gate"], None, ""),
        ("off", ["_indexauth_gate"], None, ""),
        ("1", ["_indexauth_gate", "_indexauth_startup"], True, ""),
        ("enabled", ["_indexauth_gate"], None, "INDEXAUTH='enabled' is not understood"),
    ],
)
def test_start_file_entry_imports_only_the_gate_while_off(
    venv: Path, value: str | None, new: list[str], watching: bool | None, stderr: str
) -> None:
    """Python 3.15 runs the `.start` entry in every process: while INDEXAUTH is unset or off it
    imports one tiny module of ours and nothing else; on, the hook; not understood, one line."""
    site = site_packages(venv)
    # -S: the interpreter starts as 3.15's would before its .start entries, without our .pth line.
    done = run(venv, {"INDEXAUTH": value}, "-S", "-c", START_PROBE, str(site))
    assert done.returncode == 0, output(done)
    assert json.loads(done.stdout) == [new, watching]
    assert (stderr in done.stderr) and done.stderr.count("\n") == (1 if stderr else 0), done.stderr


# keyring loads every `keyring.backends` entry point in every process that uses it (pip, twine, ...).
KEYRING_PROBE = """
import json, sys, keyring.backend
names = sorted(f"{type(b).__module__}.{type(b).__name__}" for b in keyring.backend.get_all_keyring())
print(json.dumps([sorted(m for m in sys.modules if "indexauth" in m), names]))
"""


@pytest.mark.parametrize(
    ("value", "loaded", "stderr"),
    [
        (None, ["_indexauth_gate"], ""),
        ("0", ["_indexauth_gate"], ""),
        ("off", ["_indexauth_gate"], ""),
        ("enabled", ["_indexauth_gate"], "INDEXAUTH='enabled' is not understood"),
        ("1", ["_indexauth_gate", "_indexauth_startup", "indexauth._keyring_backend"], ""),
    ],
)
def test_keyring_entry_point_imports_only_the_gate_while_off(
    venv: Path, value: str | None, loaded: list[str], stderr: str
) -> None:
    """keyring's backend entry point, loaded by keyring itself with INDEXAUTH unset or off,
    imports one tiny module of ours (it imported the start-up module); on, the backend is there."""
    done = run(venv, {"INDEXAUTH": value, "PYTHON_KEYRING_BACKEND": None}, "-c", KEYRING_PROBE)
    assert done.returncode == 0, output(done)
    modules, names = json.loads(done.stdout)
    assert [m for m in modules if m in loaded or m.startswith("_indexauth")] == loaded
    assert ("indexauth._keyring_backend.IndexAuthKeyring" in names) is (value == "1")
    assert (stderr in done.stderr) and done.stderr.count("\n") == (1 if stderr else 0), done.stderr


def test_gate_and_start_up_module_agree_on_the_off_values() -> None:
    """The `.start` gate stops at exactly the values `pth()` treats as quietly off, and the
    keyring gate goes on at exactly the values `enabled()` treats as on."""
    import _indexauth_gate
    import _indexauth_startup

    assert frozenset(_indexauth_gate.OFF) == _indexauth_startup._FALSE
    assert frozenset(_indexauth_gate.ON) == _indexauth_startup._TRUE


# Runs each value of INDEXAUTH through the shipped `.pth` line (by site.addpackage, as at start-up)
# and through the `.start` gate, from the source tree, and reports what each did.
SWITCH_PROBE = """
import io, json, os, site, sys
src = sys.argv[1]
sys.path.insert(0, src)
import _indexauth_gate
saved = dict(os.environ)
asked = []

class Recorder:
    def find_spec(self, name, path=None, target=None):
        asked.append(name)

def trial(value, route):
    os.environ.clear()
    os.environ.update(saved, INDEXAUTH=value)
    for name in [m for m in sys.modules if "indexauth" in m and m != "_indexauth_gate"]:
        del sys.modules[name]
    for name in [a for a in vars(sys) if "indexauth" in a]:  # "said once" is per process
        delattr(sys, name)
    sys.meta_path[:] = [Recorder()] + [f for f in sys.meta_path if type(f).__name__ not in ("Recorder", "_Finder")]
    asked.clear()
    sys.stderr = io.StringIO()
    try:
        site.addpackage(src, "indexauth.pth", set()) if route == "pth" else _indexauth_gate.start()
        said = sys.stderr.getvalue()
    finally:
        sys.stderr = sys.__stderr__
    startup = sys.modules.get("_indexauth_startup")
    loaded = sorted(m for m in sys.modules if "indexauth" in m and m != "_indexauth_gate")
    return [[m for m in asked if "indexauth" in m], said, loaded, getattr(startup, "_watching", None)]

print(json.dumps([[trial(v, "pth"), trial(v, "start")] for v in json.loads(sys.argv[2])]))
"""

WORDS = ("0", "1", "", "false", "true", "no", "yes", "off", "on", "enabled", "2", "of", "o", "n", "00")


def _respelled(word: str, spaces: str, upper: list[bool]) -> str:
    cased = "".join(c.upper() if i < len(upper) and upper[i] else c for i, c in enumerate(word))
    return spaces + cased + spaces[::-1]


# Environment values: no NUL, no lone surrogate (neither can be in an environment).
ENV_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=6)
SWITCH_VALUES = st.one_of(
    st.builds(
        _respelled,
        st.sampled_from(WORDS),
        st.text(st.sampled_from(" \t\n\r\x0b\x0c\xa0\u2003\x85\u3000"), max_size=2),
        st.lists(st.booleans(), max_size=5),
    ),
    ENV_TEXT,
)


# No shrinking: each example is a process, and the message lists every value that went wrong.
@settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(values=st.lists(SWITCH_VALUES, min_size=25, max_size=25))
def test_property_pth_line_and_start_gate_agree_on_every_value(values: list[str]) -> None:
    """Any value of INDEXAUTH: the `.pth` line and the `.start` gate do the same. Off (`0`, empty,
    `false`, `no`, `off`, any case and spacing): nothing imported. On: the hook. Anything else:
    one line, and nothing of indexauth left loaded."""
    values = [*values, "false", "No", " OFF ", "\tno\n", "enabled", "TRUE", " on "]
    done = subprocess.run(
        [sys.executable, "-S", "-c", SWITCH_PROBE, str(ROOT / "src"), json.dumps(values)],
        capture_output=True, text=True, timeout=120, check=False,
        env={k: v for k, v in os.environ.items() if k != "INDEXAUTH"},
    )
    assert done.returncode == 0, done.stderr
    wrong = [(value, by_pth, by_start) for value, (by_pth, by_start) in zip(values, json.loads(done.stdout), strict=True)
             if not by_pth == by_start == _switched(value)]
    assert not wrong, wrong


def _switched(value: str) -> list[object]:
    """What SWITCH_PROBE must see for *value*: what was imported, said, left loaded, watching."""
    word = value.strip().lower()
    if word in ("", "0", "false", "no", "off"):
        return [[], "", [], None]
    if word in ("1", "true", "yes", "on"):
        return [["_indexauth_startup"], "", ["_indexauth_startup"], True]
    said = f"indexauth: INDEXAUTH={word[:20]!r} is not understood, so global mode is off; " \
        "set INDEXAUTH=1 to turn it on, or INDEXAUTH=0 to turn it off quietly\n"
    return [["_indexauth_startup"], said, [], None]


def test_isolated_mode(venv: Path, env: Env, front: Front) -> None:
    """`python -I` still runs the site-packages hook; the environment gate still works."""
    env.update(
        INDEXAUTH_INDEX_PRIV_URL=front.url("a"),
        INDEXAUTH_INDEX_PRIV_USERNAME="alice",
        INDEXAUTH_INDEX_PRIV_PASSWORD="pw-a",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    done = pip(venv, env, "--index-url", front.url("a"), "demo", python_flags=("-I",))
    assert done.returncode == 0, output(done)
    assert all(h.user == "alice" for h in front.under("a"))


def test_duplicate_site_dir_is_idempotent(venv: Path, env: Env, front: Front) -> None:
    """The `.pth` run twice (a site dir seen twice) patches once, and pip still works."""
    env.update(
        INDEXAUTH_INDEX_PRIV_URL=front.url("a"),
        INDEXAUTH_INDEX_PRIV_USERNAME="alice",
        INDEXAUTH_INDEX_PRIV_PASSWORD="pw-a",
    )
    dest = Path(os.environ["HOME"]) / "downloads"
    program = (
        "import site, sys, sysconfig\n"
        "site.addsitedir(sysconfig.get_path('purelib').replace('/lib/', '/lib/./'))\n"
        "from pip._internal.cli.main import main\n"
        f"code = main(['download', '--no-cache-dir', '--disable-pip-version-check', '--no-deps',"
        f" '-d', {str(dest)!r}, '--index-url', {front.url('a')!r}, 'demo'])\n"
        "from indexauth import _patch\n"
        "finders = [f for f in sys.meta_path if type(f).__name__ == '_Finder']\n"
        "print(_patch.patched()[:5], len(set(_patch.patched())) == len(_patch.patched()),"
        " len(finders))\n"
        "sys.exit(code)\n"
    )
    done = run(venv, env, "-c", program)
    assert done.returncode == 0, output(done)
    last = done.stdout.strip().splitlines()[-1]
    # pip's failure paths are hooked at the first send (the download classes vary by pip version).
    assert last == (
        "['pip._vendor.requests.adapters.HTTPAdapter.send', "
        "'pip._internal.network.session.PipSession.send', "
        "'pip._internal.network.session.PipSession.update_index_urls', "
        "'pip._internal.network.auth.MultiDomainBasicAuth.__call__', "
        "'pip._internal.exceptions.DistributionNotFound.__init__'] True 1"
    )


def test_failing_hook_does_not_break_pip(
    venv: Path, env: Env, front: Front, tmp_path: Path
) -> None:
    """A broken indexauth import: one warning on stderr, and pip works on its own."""
    broken = tmp_path / "broken" / "indexauth"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise RuntimeError('simulated breakage')\n", "utf-8")
    env["PYTHONPATH"] = f"{broken.parent}{os.pathsep}{os.environ['PYTHONPATH']}"
    url = front.url("a").replace("http://", "http://alice:pw-a@")
    done = pip(venv, env, "--index-url", url, "demo")
    assert done.returncode == 0, output(done)
    assert done.stderr.count("indexauth: global mode (INDEXAUTH=1) failed and is skipped") == 1
    assert "simulated breakage" in done.stderr
    assert "Traceback" not in output(done)


def test_build_dependency_from_private_index(
    venv: Path, env: Env, front: Front, kr: KeyringStore
) -> None:
    """An sdist whose build backend is only on the private index: the build child authenticates."""
    url = front.url("a")
    kr.set(url, "alice", "pw-a")
    done = pip(venv, env, "--index-url", url, "needsbackend")
    assert done.returncode == 0, output(done)
    assert any(h.user == "alice" and "/packages/privbackend" in h.path for h in front.under("a"))


def test_keyring_backend_making_requests_does_not_loop(
    venv: Path, env: Env, front: Front, kr: KeyringStore
) -> None:
    """A keyring backend that requests the index itself (as Azure's does) cannot re-enter."""
    url = front.url("a")
    kr.set(url, "alice", "pw-a")
    env.update(PYTHON_KEYRING_BACKEND="kr_global.ProbingKeyring", INDEXAUTH_TEST_PROBE=url)
    done = pip(venv, env, "--index-url", url, "demo")
    assert done.returncode == 0, output(done)
    # The backend's own anonymous probe went out untouched (one 401 per lookup it made).
    assert Path(str(kr.path) + ".probes").read_text("utf-8").split() == ["401"]


def test_requests_session_in_global_mode(venv: Path, env: Env, front: Front) -> None:
    """A requests.Session authenticates to a configured index, through an adapter mounted later too."""
    env.update(
        INDEXAUTH_INDEX_PRIV_URL=front.url("a"),
        INDEXAUTH_INDEX_PRIV_USERNAME="alice",
        INDEXAUTH_INDEX_PRIV_PASSWORD="pw-a",
    )
    program = (
        "import requests\n"
        f"url = {front.url('a')!r} + 'demo/'\n"
        "s = requests.Session()\n"
        "print(type(s.adapters['http://']).__name__, s.get(url).status_code)\n"
        "s.mount('http://', requests.adapters.HTTPAdapter())\n"
        "print(type(s.adapters['http://']).__name__, s.get(url).status_code)\n"
    )
    done = run(venv, env, "-c", program)
    assert done.returncode == 0, output(done)
    assert done.stdout.split() == ["HTTPAdapter", "200", "HTTPAdapter", "200"]


def test_requirements_file_index_url(
    venv: Path, env: Env, front: Front, kr: KeyringStore, tmp_path: Path
) -> None:
    """`-i` inside a requirements file replaces pip's index list; that index authenticates."""
    kr.set(front.url("b"), "bob", "pw-b")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"-i {front.url('b')}\nbdemo\n", "utf-8")
    done = pip(venv, env, "--index-url", front.url("a"), "-r", str(requirements))
    assert done.returncode == 0, output(done)
    assert any(h.user == "bob" and "/packages/bdemo" in h.path for h in front.under("b"))
    assert front.under("a") == []


def test_keyring_provider_disabled_is_respected(
    venv: Path, env: Env, front: Front, kr: KeyringStore
) -> None:
    """pip's --keyring-provider disabled: keyring is never asked, and the warning says so."""
    url = front.url("a")
    kr.set(url, "alice", "pw-a")
    done = pip(venv, env, "--keyring-provider", "disabled", "--index-url", url, "demo")
    assert_clean_failure(done)
    assert kr.lookups() == []
    assert "no credentials found" in output(done)
    assert "service '" not in output(done)


def test_invalid_user_config_is_one_warning(venv: Path, env: Env, front: Front) -> None:
    """A broken user config: one warning naming the file and the value; pip carries on."""
    user_config('[[index]]\nurl = "https://x.example/simple/"\nauthenticate = "sometimes"\n')
    url = front.url("a").replace("http://", "http://alice:pw-a@")
    done = pip(venv, env, "--index-url", url, "demo")
    assert done.returncode == 0, output(done)
    assert done.stderr.count("indexauth: the global configuration is ignored") == 1
    assert "config.toml: [[index]] number 1: invalid authenticate value 'sometimes'" in done.stderr


TOKEN = "glpat-Zq81xTsecret4d9"  # a token that pypiserver does not accept


@pytest.mark.parametrize("form", ["{t}@", "{t}:@"])
def test_token_in_index_url_never_printed(
    venv: Path, env: Env, front: Front, kr: KeyringStore, form: str
) -> None:
    """A refused token in the index URL (pip's `TOKEN@` form, the README's `TOKEN:@`):
    pip's stdout and stderr at -vvv never show it, and it is tried once, as the user part
    with an empty password (issue 9, point 1)."""
    url = front.url("a").replace("http://", "http://" + form.format(t=TOKEN))
    done = pip(venv, env, "-vvv", "--index-url", url, "demo")
    text = output(done)
    assert done.returncode == 1, text  # -vvv: pip logs the resolver's traceback at debug level
    # pip itself shows `TOKEN:****@` for the `TOKEN:@` form (its own redaction):
    # what indexauth adds must not show it at all.
    shown = text.count(TOKEN) - (text.count(f"{TOKEN}:****@") if form == "{t}:@" else 0)
    assert shown == 0, text
    assert [h.user for h in front.under("a")] == [TOKEN]


def _keyring_set_alt(env: Env, service: str, username: str, password: str) -> None:
    """The real `keyring set`, with keyrings.alt's plaintext backend."""
    subprocess.run(
        [str(Path(sys.executable).parent / "keyring"), "set", service, username],
        input=password + "\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
        env=environ(env),
    )


@pytest.mark.parametrize("provider", ["import", "subprocess"])
def test_readme_recipe_with_a_username_less_keyring_backend(
    venv: Path, env: Env, front: Front, provider: str
) -> None:
    """The README's pip recipe on keyrings.alt, which cannot look up without a user name:
    `keyring set URL alice`, then pip with `http://alice@host/...` as its index URL."""
    env["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    url = front.url("a")
    _keyring_set_alt(env, url, "alice", "pw-a")
    with_user = url.replace("http://", "http://alice@")
    done = pip(venv, env, "--keyring-provider", provider, "--index-url", with_user, "demo")
    assert done.returncode == 0, output(done)
    # A user part in the index URL asks for a password before the first request, as pip does.
    assert {h.user for h in front.under("a")} == {"alice"}
    assert "pw-a" not in output(done)


def test_username_less_keyring_backend_hint_gives_the_username_forms(
    venv: Path, env: Env, front: Front
) -> None:
    """Without the user name, pip's one warning says the backend could not look and gives the
    forms a pip user can write (the URL given to pip, config.toml), never `keyring set` again."""
    env["PYTHON_KEYRING_BACKEND"] = "keyrings.alt.file.PlaintextKeyring"
    url = front.url("a")
    _keyring_set_alt(env, url, "alice", "pw-a")
    done = pip(venv, env, "--index-url", url, "demo")
    assert_clean_failure(done)
    text = output(done)
    assert "cannot look up without a username" in text
    assert url.replace("http://", "http://USERNAME@") in text
    assert "config.toml" in text
    assert "keyring set" not in text


def test_wrong_password_in_pips_url_is_named_as_such(venv: Path, env: Env, front: Front) -> None:
    """A password in `--index-url` that the server refuses: the warning names "the URL given to
    pip" (not "the request itself") and says where to fix it; the status is said once."""
    url = front.url("a").replace("http://", "http://alice:pw-WRONG-4242@")
    done = pip(venv, env, "--index-url", url, "demo")
    assert_clean_failure(done)
    text = output(done)
    assert "they came from the URL given to pip" in text
    assert "the request itself" not in text
    assert "--index-url" in text
    assert "403 Forbidden" in text and "status 403" not in text
    assert "pw-WRONG-4242" not in text


def test_mirror_plus_private_extra_index_is_quiet(
    venv: Path, env: Env, front: Front, kr: KeyringStore
) -> None:
    """A public mirror (404 for the private package) plus the private index: a good run, silent.

    The mirror's anonymous 404, with nothing found for it, is not a reason to speak.
    """
    kr.set(front.url("a"), "alice", "pw-a")
    done = pip(venv, env, "--index-url", front.url("pub"), "--extra-index-url", front.url("a"), "demo")
    assert done.returncode == 0, output(done)
    assert [h.status for h in front.under("pub")] == [404]
    assert any(h.user == "alice" and "/packages/demo" in h.path for h in front.under("a"))
    assert "indexauth" not in output(done)


def test_anonymous_404_index_reported_once_when_pip_fails(
    venv: Path, env: Env, front: Front, kr: KeyringStore
) -> None:
    """A GitLab-style index (404 to anonymous), nothing found: said once, then pip's own error."""
    done = pip(venv, env, "--index-url", front.url("gl"), "demo")
    assert_clean_failure(done)
    text = output(done)
    assert "Could not find a version that satisfies the requirement demo" in text
    assert text.count("WARNING: indexauth:") == 1
    assert text.count("no credentials found") == 1
    assert "the server answered 404" in text


def test_file_404_reported_once_when_the_download_fails(
    venv: Path, env: Env, front: Front, kr: KeyringStore
) -> None:
    """Public pages, files 404 to anonymous: nothing found is said once, with pip's HTTP error."""
    done = pip(venv, env, "--index-url", front.url("fa"), "demo")
    assert_clean_failure(done)
    text = output(done)
    assert "HTTP error 404 while getting" in text
    assert text.count("WARNING: indexauth:") == 1
    assert "/fa/packages/demo-1.0-py3-none-any.whl" in text


def test_file_404_to_anonymous_gets_credentials(
    venv: Path, env: Env, front: Front, kr: KeyringStore
) -> None:
    """The same index with a keyring entry: the file's 404 is a challenge, and the retry works."""
    kr.set(front.url("fa"), "alice", "pw-a")
    done = pip(venv, env, "--index-url", front.url("fa"), "demo")
    assert done.returncode == 0, output(done)
    files = [h for h in front.under("fa") if "/packages/" in h.path]
    assert [(h.user, h.status) for h in files] == [(None, 404), ("alice", 200)]
    assert "indexauth" not in output(done)


@pytest.mark.parametrize("form", ["{t}@", "{t}:@"])
def test_refused_token_is_not_sent_again_per_package_page(
    venv: Path, env: Env, front: Front, kr: KeyringStore, form: str
) -> None:
    """A wrong token in the index URL goes out once in a pip run, not once per package page
    (accounts lock that way on Artifactory and Nexus); later pages say it was refused earlier
    (issue 9, point 6). bdemo comes from the second index; demo is then looked for on both."""
    url = front.url("a").replace("http://", "http://" + form.format(t=TOKEN))
    extra = front.url("b").replace("http://", "http://bob:pw-b@")
    done = pip(venv, env, "-vv", "--index-url", url, "--extra-index-url", extra, "bdemo", "demo")
    text = output(done)
    assert done.returncode == 1, text
    pages = [h.path for h in front.under("a") if "/simple/" in h.path]
    assert len(pages) >= 2, pages
    assert [h.user for h in front.under("a")].count(TOKEN) == 1, front.under("a")
    assert "refused earlier in this process" in text
    assert any(h.user == "bob" and h.status == 200 for h in front.under("b"))


def pip_in(
    cwd: Path, venv: Path, env: Env, *args: str
) -> subprocess.CompletedProcess[str]:
    """`pip download ARGS` run in the working directory *cwd* (a cloned repository)."""
    dest = Path(os.environ["HOME"]) / "downloads"
    return subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "download", *PIP_FLAGS, "--no-deps",
         "-d", str(dest), *args],
        capture_output=True, text=True, timeout=120, env=environ(env), cwd=cwd, check=False,
    )


@pytest.mark.parametrize("yours", ["elsewhere", "nowhere"])
def test_project_file_never_gets_your_named_credentials(
    venv: Path, env: Env, front: Front, tmp_path: Path, yours: str
) -> None:
    """A cloned repository's pyproject.toml names its own host `internal`: pip never sends it
    INDEXAUTH_INDEX_INTERNAL_PASSWORD, whether your `internal` is elsewhere or not defined
    (issue 9, point 2)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(
        f'[[tool.uv.index]]\nname = "internal"\nurl = "{front.url("a")}"\n', "utf-8"
    )
    if yours == "elsewhere":
        user_config(f'[[index]]\nname = "internal"\nurl = "{front.url("b")}"\n')
    env.update(INDEXAUTH_INDEX_INTERNAL_USERNAME="alice", INDEXAUTH_INDEX_INTERNAL_PASSWORD="pw-a")
    done = pip_in(repo, venv, env, "--index-url", front.url("a"), "demo")
    assert front.under("a")
    assert all(h.user is None for h in front.under("a")), front.under("a")
    assert done.returncode == 1, output(done)
    if yours == "elsewhere":
        assert output(done).count("redefines index 'internal'") == 1


def test_broken_project_file_keeps_your_always(
    venv: Path, env: Env, front: Front, tmp_path: Path, kr: KeyringStore
) -> None:
    """A pyproject.toml nested too deeply is skipped with one warning; your `always` holds:
    no anonymous request reaches the index (issue 9, point 2)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text("x = " + "[" * 3000 + "]" * 3000 + "\n", "utf-8")
    user_config(f'[[index]]\nurl = "{front.url("a")}"\nauthenticate = "always"\n')
    kr.set(front.url("a"), "alice", "pw-a")
    done = pip_in(repo, venv, env, "--index-url", front.url("a"), "demo")
    assert done.returncode == 0, output(done)
    assert front.under("a") and all(h.user == "alice" for h in front.under("a"))
    assert output(done).count(f"{repo / 'pyproject.toml'} is skipped") == 1
