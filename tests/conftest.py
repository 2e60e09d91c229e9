"""Fixtures: a clean environment per test, a real index server, real keyring backends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from index_server import IndexServer

# A suite started in the background of a non-interactive shell inherits SIGINT as ignored, and
# so would every child it starts: the tests that press Ctrl-C on a real terminal or send a real
# SIGINT need it delivered, however the suite was started.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Session venvs and a pypiserver shared by the keyring-backend and docs/tools.md end-to-end tests.
pytest_plugins = ["tools_fixtures"]

TESTS = Path(__file__).parent
ROOT = TESTS.parent
BIN = Path(sys.executable).parent
# An editable install copies the modules at the wheel's root (`_indexauth_startup`,
# `_indexauth_gate`: hatch's force-include) into site-packages once, at install time, and
# site-packages comes before the source directory on sys.path. Tests import the tree's own,
# as `--doctest-modules` collecting src/ already does in a full run.
if str(ROOT / "src") not in sys.path[:1]:
    sys.path.insert(0, str(ROOT / "src"))

_CLEARED_PREFIXES = ("INDEXAUTH", "UV_INDEX", "UV_DEFAULT_INDEX", "PIP_", "KEYRING_")
_CLEARED = (
    "NETRC",
    "PYTHON_KEYRING_BACKEND",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)


def _init_keyring() -> None:
    import keyring.core

    keyring.core.init_backend()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Every test starts with no credentials anywhere: its own HOME, no variables, null keyring."""
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name in _CLEARED:
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share")):
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    # The real `keyring` command of this environment, found first on PATH.
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    _init_keyring()
    yield
    monkeypatch.undo()
    _init_keyring()


@pytest.fixture(name="server")
def fixture_server() -> Iterator[IndexServer]:
    """A real HTTP server on 127.0.0.1, stopped after the test."""
    server = IndexServer().start()
    yield server
    server.stop()


@dataclass
class KeyringStore:
    """The JSON-file keyring that this test uses, in this process and in `keyring` commands."""

    path: Path

    def set(self, service: str, username: str, password: str) -> None:
        """Store an entry, as `keyring set` would."""
        data = json.loads(self.path.read_text("utf-8")) if self.path.exists() else {}
        data.setdefault(service, {})[username] = password
        self.path.write_text(json.dumps(data), "utf-8")

    def lookups(self) -> list[tuple[str, str | None]]:
        """Every (service, username) the backend was asked for, in order."""
        log = Path(str(self.path) + ".log")
        if not log.exists():
            return []
        return [tuple(json.loads(line)[:2]) for line in log.read_text("utf-8").splitlines()]

    def pids(self) -> frozenset[int]:
        """The processes that did the lookups."""
        log = Path(str(self.path) + ".log")
        return frozenset(json.loads(line)[2] for line in log.read_text("utf-8").splitlines())


def use_backend(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    """Select *backend* (a class path) through keyring's own configuration."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", backend)
    _init_keyring()


@pytest.fixture(name="kr")
def fixture_kr(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> KeyringStore:
    """A real keyring backend (JSON file) selected through PYTHON_KEYRING_BACKEND."""
    path = tmp_path / "keyring.json"
    monkeypatch.setenv("INDEXAUTH_TEST_KEYRING", str(path))
    use_backend(monkeypatch, "kr_backends.JsonFileKeyring")
    return KeyringStore(path)


# Shared by every test that drives a real installer in a fresh environment.
@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """indexauth's wheel, built once per session."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return next(out.glob("indexauth-*.whl"))


def ensure_supported_pip(python: Path) -> None:
    """The venv's bundled pip must be one indexauth patches (>= 23.1); older Pythons bundle 23.0."""
    version = subprocess.run(
        [str(python), "-c", "import pip; print(pip.__version__)"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()
    if tuple(int(p) for p in version.split(".")[:2]) >= (23, 1):
        return
    upgraded = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--upgrade", "pip>=23.1"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    if upgraded.returncode != 0:
        pytest.skip(f"this Python bundles pip {version}, older than 23.1, and it could not be upgraded")


@dataclass
class StandIn:
    """A stand-in for a token-printing CLI, installed on PATH under *name* (see tests/standin.py)."""

    name: str
    state: Path

    def tokens(self, *tokens: str) -> StandIn:
        """Print these, one per call (the last one once they run out): a rotating token."""
        (self.state / "tokens").write_text("\n".join(tokens) + "\n")
        return self

    def helper(self, header: str = "Authorization", template: str = "Bearer {token}", expires: str | None = None) -> StandIn:
        """Speak Bazel's credential-helper protocol, answering with *header*: *template*."""
        (self.state / "helper").write_text(f"{header}\n{template}\n")
        if expires is not None:
            (self.state / "expires").write_text(expires)
        return self

    def fail(self, stderr: str, status: int = 1, *, from_call: int = 1) -> StandIn:
        """Fail with *stderr* and exit *status*, from call number *from_call* on."""
        (self.state / "fail").write_text(stderr)
        (self.state / "status").write_text(str(status))
        (self.state / "fail-from").write_text(str(from_call))
        return self

    def flag(self, name: str) -> StandIn:
        """Turn on a behaviour by its file name (`hang`, `empty`)."""
        (self.state / name).write_text("")
        return self

    def recover(self) -> StandIn:
        """Stop failing."""
        (self.state / "fail").unlink(missing_ok=True)
        return self

    def calls(self) -> list[dict[str, object]]:
        """Every call so far: its arguments and its stdin."""
        log = self.state / "calls"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture(name="standin")
def fixture_standin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], StandIn]:
    """Install stand-ins on PATH: `standin("aws").tokens("t1", "t2")`."""
    bin_dir = tmp_path / "standin-bin"
    home = tmp_path / "standin-state"
    bin_dir.mkdir()
    home.mkdir()
    monkeypatch.setenv("STANDIN_HOME", str(home))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    source = (TESTS / "standin.py").read_text()

    def install(name: str) -> StandIn:
        exe = bin_dir / name
        exe.write_text(f"#!{sys.executable}\n{source}")
        exe.chmod(0o755)
        (home / name).mkdir(exist_ok=True)
        return StandIn(name, home / name).tokens(f"{name}-token-1")

    return install
