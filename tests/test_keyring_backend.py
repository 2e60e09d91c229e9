"""indexauth's read-only keyring backend, loaded by the real keyring through its entry point.

Each test runs the real `keyring` command or a fresh interpreter with keyring's
own backend detection (no PYTHON_KEYRING_BACKEND): keyrings.alt's plaintext
backend (priority 0.5, from the test extra) is the "real" backend of these runs,
with its file under the test's XDG_DATA_HOME.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from conftest import BIN
from indexauth._cli import main
from indexauth._store import Store

KEYRING = str(BIN / "keyring")
INDEX = "https://pkgs.example.com/simple/"

_EP = [ep for ep in metadata.entry_points(group="keyring.backends") if ep.name == "indexauth"]
pytestmark = pytest.mark.skipif(
    not _EP, reason="this environment predates the entry point: pip install -e '.[test]'"
)


@pytest.fixture(autouse=True)
def _detected_backends(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """keyring detects its backends itself, as on a user's machine; indexauth's store is fresh."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    monkeypatch.setenv("INDEXAUTH_DATA_DIR", str(tmp_path / "data"))


def keyring(*args: str, indexauth: str | None = "1", stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The real `keyring` command, with INDEXAUTH set to *indexauth* (None: unset)."""
    env = dict(os.environ)
    env.pop("INDEXAUTH", None)
    if indexauth is not None:
        env["INDEXAUTH"] = indexauth
    return subprocess.run(
        [KEYRING, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False, env=env
    )


def python(code: str, indexauth: str | None) -> str:
    """Run *code* in a fresh interpreter of this environment; its stdout."""
    env = dict(os.environ)
    env.pop("INDEXAUTH", None)
    if indexauth is not None:
        env["INDEXAUTH"] = indexauth
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


_BACKENDS = """
import json, sys, keyring, keyring.backend
names = sorted(f"{type(b).__module__}.{type(b).__name__}" for b in keyring.backend.get_all_keyring())
chosen = keyring.get_keyring()
chain = [f"{type(b).__module__}.{type(b).__name__}" for b in getattr(chosen, "backends", [chosen])]
loaded = sorted(m for m in sys.modules if m.startswith(("indexauth", "_indexauth")))
print(json.dumps({"names": names, "chain": chain, "loaded": loaded}))
"""
OWN = "indexauth._keyring_backend.IndexAuthKeyring"


class TestOnlyWithIndexauth:
    """With INDEXAUTH unset (or off) keyring sees the backends it saw before; on, one more, last."""

    def test_backend_set(self) -> None:
        """Unset and `0`: no indexauth backend, and no indexauth module even imported. `1`: the
        same backends plus indexauth's, asked after the real one."""
        unset = json.loads(python(_BACKENDS, None))
        off = json.loads(python(_BACKENDS, "0"))
        on = json.loads(python(_BACKENDS, "1"))
        assert unset == off
        assert OWN not in unset["names"]
        # Nothing but the entry point's own module (the wheel's, `_indexauth_gate`, is checked in
        # tests/test_global_pip.py; an editable install names the one of its install time).
        assert unset["loaded"] == [_EP[0].value.partition(":")[0]]
        assert sorted([*unset["names"], OWN]) == on["names"]
        assert on["chain"][-1] == OWN
        assert "keyrings.alt.file.PlaintextKeyring" in on["chain"][:-1]
        assert OWN not in unset["chain"]

    def test_list_backends(self) -> None:
        """`keyring --list-backends` shows it with its priority only while INDEXAUTH=1."""
        assert OWN not in keyring("--list-backends", indexauth=None).stdout
        assert f"{OWN} (priority: 0.01)" in keyring("--list-backends").stdout


class TestReads:
    """`keyring get` answers from indexauth's chain, after the real backends."""

    def test_store_entry(self) -> None:
        """An `indexauth login` entry, by index URL, by a file URL under it, and without username."""
        Store().put(INDEX, "alice", "pw-store")
        assert keyring("get", INDEX, "alice").stdout == "pw-store\n"
        assert keyring("get", INDEX, "alice", indexauth=None).returncode == 1
        done = keyring("--mode", "creds", "--output", "json", "get", "https://pkgs.example.com/packages/x.whl")
        assert json.loads(done.stdout) == {"username": "alice", "password": "pw-store"}
        assert keyring("get", INDEX, "bob").returncode == 1  # another username: nothing
        assert keyring("get", "pkgs.example.com", "alice").stdout == "pw-store\n"  # pip's netloc form

    def test_real_backend_first(self) -> None:
        """An entry in the real backend wins over indexauth's for the same service."""
        Store().put(INDEX, "alice", "pw-store")
        assert keyring("set", INDEX, "alice", stdin="pw-real\n", indexauth=None).returncode == 0
        assert keyring("get", INDEX, "alice").stdout == "pw-real\n"

    def test_env_and_netrc(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Environment credentials of a configured index and netrc entries are answered too."""
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_URL", "https://corp.example.com/simple/")
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_USERNAME", "ci")
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_PASSWORD", "pw-env")
        netrc = tmp_path / "netrc"
        netrc.write_text("machine net.example.com login n password pw-netrc\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        assert keyring("get", "https://corp.example.com/simple/", "ci").stdout == "pw-env\n"
        assert keyring("get", "https://net.example.com/simple/", "n").stdout == "pw-netrc\n"

    def test_netrc_default_and_plain_http_only_for_your_indexes(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Any program may ask keyring about any URL: netrc's `default` entry is for your indexes
        only, and a netrc password is not handed out for plain http to an unconfigured URL."""
        netrc = tmp_path / "netrc"
        netrc.write_text(
            "machine net.example.com login n password pw-netrc\ndefault login d password pw-default\n"
        )
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_URL", "https://corp.example.com/simple/")
        for service in ("https://attacker.example/simple/", "attacker.example", "http://net.example.com/simple/"):
            done = keyring("--mode", "creds", "--output", "json", "get", service)
            assert done.returncode == 1 and "pw-" not in done.stdout, (service, done.stdout)
        assert keyring("get", "http://net.example.com/simple/", "n").returncode == 1
        assert keyring("get", "https://net.example.com/simple/", "n").stdout == "pw-netrc\n"
        assert keyring("get", "https://corp.example.com/simple/", "d").stdout == "pw-default\n"

    def test_no_keyring_in_its_chain(self) -> None:
        """The backend's chain never asks keyring: no recursion into keyring from keyring."""
        names = python(
            "from indexauth import _keyring_backend as b; print([s.name for s in b._resolver().sources])",
            "1",
        )
        assert "keyring" not in names
        assert "'indexauth store', 'uv store'" in names


class TestWrites:
    """Writes go where they went; a write that would reach indexauth's backend names `indexauth login`."""

    def test_set_lands_in_the_real_backend(self) -> None:
        """`keyring set` with INDEXAUTH=1 writes to the real backend: readable with it unset."""
        assert keyring("set", "svc", "bob", stdin="pw-b\n").returncode == 0
        assert keyring("get", "svc", "bob", indexauth=None).stdout == "pw-b\n"

    def test_only_indexauth_backend(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Named explicitly as the backend, writes fail naming `indexauth login` / `logout`."""
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", OWN)
        done = keyring("set", "https://pkgs.example.com/simple/", "bob", stdin="x\n")
        assert done.returncode == 1
        assert "`indexauth login https://pkgs.example.com/simple/ --username bob`" in done.stderr
        done = keyring("del", "https://pkgs.example.com/simple/", "bob")
        assert "`indexauth logout https://pkgs.example.com/simple/ --username bob`" in done.stderr

    def test_indexauth_login_does_not_write_to_it(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`indexauth login` under INDEXAUTH=1 with only that backend uses its own store instead."""
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", OWN)
        monkeypatch.setenv("INDEXAUTH", "1")
        import keyring as keyring_module

        keyring_module.core.init_backend()
        monkeypatch.setattr(sys, "stdin", io.StringIO("pw-a\n"))
        assert main(["login", INDEX, "--username", "alice", "--password-stdin"]) == 0
        out = capsys.readouterr().out
        assert f"in {Store().path}" in out
        assert "only indexauth's own read-only backend" in out
        assert Store().find(INDEX, "alice") is not None


class TestStatus:
    """`indexauth status` says, per configured index, which integrations would serve it."""

    def test_per_index(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        """Backend active only with INDEXAUTH=1 (and no backend forced); uv's entry named per index."""
        uv = str(pytest.importorskip("uv").find_uv_bin())
        subprocess.run(
            [uv, "auth", "login", "https://pkgs.example.com", "--username", "alice", "--password", "-"],
            input="pw", text=True, capture_output=True, check=True, timeout=60,
        )
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_URL", INDEX)
        monkeypatch.setenv("INDEXAUTH_INDEX_OTHER_URL", "https://other.example.com/simple/")

        def status() -> dict[str, object]:
            assert main(["status", "--json", "--keyring-provider", "disabled"]) == 0
            report = json.loads(capsys.readouterr().out)
            assert isinstance(report, dict)
            return report

        report = status()
        assert [i["integrations"] for i in report["indexes"]] == [  # type: ignore[attr-defined]
            # A stored name may be a pasted token: shown only as the index's own username (below).
            {"keyring_backend": False, "uv_store": "****@https://pkgs.example.com/"},
            {"keyring_backend": False, "uv_store": None},
        ]
        assert report["keyring_backend"]["why"].startswith("INDEXAUTH is not set to 1")  # type: ignore[index]
        monkeypatch.setenv("INDEXAUTH", "1")
        report = status()
        assert [i["integrations"]["keyring_backend"] for i in report["indexes"]] == [True, True]  # type: ignore[attr-defined]
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
        assert "picks that backend alone" in status()["keyring_backend"]["why"]  # type: ignore[index]
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
        assert main(["status", "--keyring-provider", "disabled"]) == 0
        out = capsys.readouterr().out
        assert "keyring backend: active; uv store: ****@https://pkgs.example.com/" in out
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_USERNAME", "alice")
        assert status()["indexes"][0]["integrations"]["uv_store"] == "alice@https://pkgs.example.com/"  # type: ignore[index]
        assert "keyring backend: active; uv store: no entry" in out
        assert "credential helper for Bazel: " in out


_OWN_SOURCE_ASKS = """
import json, keyring, indexauth
from indexauth._config import build_authenticator
index = indexauth.Index("https://pkgs.example.com/simple/", username="alice")
auth = build_authenticator([index], keyring_provider="import", store=False)
target = auth.match("https://pkgs.example.com/simple/")
result = auth.resolver.lookup(target)
backend = keyring.get_keyring()
print(json.dumps({"found": result.complete, "backends": [type(b).__name__ for b in backend.backends],
                  "attempts": [str(a) for a in result.attempts]}))
"""


def test_own_keyring_source_skips_the_backend() -> None:
    """indexauth's keyring source, in a process where its backend is active, never gets its own
    chain's answer back through keyring: the store holds the entry, the store source is off, and
    keyring (real backend, then indexauth's) finds nothing."""
    Store().put(INDEX, "alice", "pw-store")
    report = json.loads(python(_OWN_SOURCE_ASKS, "1"))
    assert report["backends"] == ["PlaintextKeyring", "IndexAuthKeyring"]
    assert report["found"] is False, report["attempts"]
    assert any("keyring" in a and "not found" in a for a in report["attempts"]), report["attempts"]
