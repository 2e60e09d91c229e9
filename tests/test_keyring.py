"""Keyring as a source: the in-process API and the real `keyring` command, working and broken."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

import indexauth
from conftest import BIN, KeyringStore, use_backend
from drivers import DRIVERS, Call
from index_server import IndexServer
from indexauth._keyring import KeyringCommandSource, KeyringImportSource, keyring_source
from indexauth._resolver import LookupResult, Resolver
from indexauth._sources import NetrcSource, Source, Target

URL = "http://127.0.0.1:8765/simple/"
NAMES = [
    "http://127.0.0.1:8765/simple/",
    "http://127.0.0.1:8765/simple",
    "http://127.0.0.1:8765",
    "127.0.0.1:8765",
    "127.0.0.1",
]


def _lookup(source: Source | None, index: indexauth.Index, *more: Source) -> LookupResult:
    sources = [s for s in (*more, source) if s is not None]
    return Resolver(sources).lookup(Target(index, index.realm))


def _fake_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> Path:
    """A `keyring` executable first on PATH whose behaviour is *body* (Python)."""
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    exe = bindir / "keyring"
    exe.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return exe


class TestImport:
    """keyring.get_credential in this process."""

    def test_service_names_in_order_until_hit(self, kr: KeyringStore) -> None:
        """Names are tried in the documented order; the first hit ends the walk."""
        kr.set("127.0.0.1:8765", "alice", "pw")
        result = _lookup(KeyringImportSource(), indexauth.Index(URL))
        assert result.credentials == indexauth.Credentials("alice", "pw")
        assert [s for s, _ in kr.lookups()] == NAMES[:4]
        assert [u for _, u in kr.lookups()] == [None] * 4

    def test_with_username(self, kr: KeyringStore) -> None:
        """A known username is passed to keyring."""
        kr.set(URL, "bob", "b")
        kr.set(URL, "alice", "a")
        result = _lookup(KeyringImportSource(), indexauth.Index(URL, username="alice"))
        assert result.credentials == indexauth.Credentials("alice", "a")
        assert kr.lookups() == [(URL, "alice")]

    def test_full_miss_lists_every_name(self, kr: KeyringStore) -> None:
        """A miss records every service name tried, for the error message."""
        result = _lookup(KeyringImportSource(), indexauth.Index(URL))
        assert result.credentials is None
        tried = [a.where for a in result.attempts if a.source == "keyring"]
        assert [w.split("service ")[1].strip("'") for w in tried] == NAMES

    def test_keyrings_alt_plaintext_backend(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A real third-party backend (keyrings.alt plaintext), set with its own API, is found."""
        use_backend(monkeypatch, "keyrings.alt.file.PlaintextKeyring")
        import keyring

        keyring.set_password(URL, "__token__", "glpat-123")
        result = _lookup(KeyringImportSource(), indexauth.Index(URL, username="__token__"))
        assert result.credentials == indexauth.Credentials("__token__", "glpat-123")

    def test_backend_without_usernameless_lookup_says_so(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A backend that needs a username is skipped once, with the fix, instead of five blind misses."""
        use_backend(monkeypatch, "keyrings.alt.file.PlaintextKeyring")
        result = _lookup(KeyringImportSource(), indexauth.Index(URL))
        keyring_attempts = [a for a in result.attempts if a.source == "keyring"]
        assert len(keyring_attempts) == 1
        assert "cannot look up without a username" in keyring_attempts[0].outcome

    def test_no_backend_is_a_miss_not_a_failure(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """keyring's fail backend (headless CI) means "no keyring", with a note in the attempts."""
        use_backend(monkeypatch, "keyring.backends.fail.Keyring")
        result = _lookup(KeyringImportSource(), indexauth.Index(URL))
        assert result.credentials is None and not result.failures
        assert "no keyring backend is configured" in result.attempts[-1].outcome

    def test_locked_is_a_failure(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A locked keyring stops the walk and is reported."""
        use_backend(monkeypatch, "kr_backends.LockedKeyring")
        result = _lookup(KeyringImportSource(), indexauth.Index(URL))
        assert len(result.failures) == 1 and "locked" in result.failures[0].message
        assert "`--keyring-provider disabled` (pip, indexauth)" in result.failures[0].hint
        assert len([a for a in result.attempts if a.source == "keyring"]) == 1

    def test_hung_backend_is_abandoned_after_the_timeout(
        self, kr: KeyringStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A backend that never answers (an unlock prompt nobody sees) cannot hang the caller."""
        use_backend(monkeypatch, "kr_backends.HangingJsonFileKeyring")
        result = _lookup(KeyringImportSource(timeout=0.5), indexauth.Index(URL))
        assert "did not answer within 0.5 s" in result.failures[0].message
        assert result.attempts[-1].outcome == "failed: no answer in 0.5 s"

    def test_broken_backend_warns_once_and_other_sources_still_win(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The documented rule: a broken source is warned about and skipped while others remain."""
        use_backend(monkeypatch, "kr_backends.BrokenKeyring")
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login alice password pw\n")
        netrc.chmod(0o600)
        resolver = Resolver([KeyringImportSource(), NetrcSource(netrc)])
        index = indexauth.Index(URL)
        with caplog.at_level(logging.WARNING, logger="indexauth"):
            result = resolver.lookup(Target(index, index.realm))
        assert result.credentials == indexauth.Credentials("alice", "pw")
        assert "D-Bus connection refused" in caplog.text


class TestCommand:
    """The `keyring` command with --mode creds --output json."""

    def test_real_command_finds_entry(self, kr: KeyringStore) -> None:
        """The real keyring executable, with our backend configured in its environment, answers."""
        kr.set(URL.rstrip("/"), "alice", "pw")
        source = KeyringCommandSource(timeout=60)
        assert source.executable() == str(BIN / "keyring")
        result = _lookup(source, indexauth.Index(URL))
        assert result.credentials == indexauth.Credentials("alice", "pw")
        assert kr.lookups() == [(URL, None), (URL.rstrip("/"), None)]

    def test_real_command_with_username_and_unicode(self, kr: KeyringStore) -> None:
        """A username is passed on; non-ASCII passwords come back intact."""
        kr.set(URL, "jürgen", "pässwörd-✓")
        result = _lookup(KeyringCommandSource(timeout=60), indexauth.Index(URL, username="jürgen"))
        assert result.credentials == indexauth.Credentials("jürgen", "pässwörd-✓")

    def test_full_miss_is_one_process(self, kr: KeyringStore) -> None:
        """With the usual console script, every service name is asked in one process."""
        result = _lookup(KeyringCommandSource(timeout=60), indexauth.Index(URL))
        assert result.credentials is None and not result.failures
        assert [s for s, _ in kr.lookups()] == NAMES
        assert len(kr.pids()) == 1
        assert len([a for a in result.attempts if a.source == "keyring"]) == len(NAMES)

    def test_wrapped_command_runs_once_per_name(
        self, kr: KeyringStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A keyring command that is not a plain console script is run as a command, name by name."""
        kr.set("127.0.0.1:8765", "alice", "pw")
        _fake_keyring(
            tmp_path,
            monkeypatch,
            f"import os; os.execv({str(BIN / 'keyring')!r}, [{str(BIN / 'keyring')!r}, *sys.argv[1:]])",
        )
        result = _lookup(KeyringCommandSource(timeout=60), indexauth.Index(URL))
        assert result.credentials == indexauth.Credentials("alice", "pw")
        assert [s for s, _ in kr.lookups()] == NAMES[:4]
        assert len(kr.pids()) == 4

    def test_real_command_hung_backend_killed(
        self, kr: KeyringStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The real command whose backend hangs is killed after the timeout."""
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "kr_backends.HangingJsonFileKeyring")
        result = _lookup(KeyringCommandSource(timeout=1), indexauth.Index(URL))
        assert "did not answer within 1 s" in result.failures[0].message

    def test_real_command_broken_backend(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The real command whose backend raises is a failure naming the error."""
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "kr_backends.BrokenKeyring")
        result = _lookup(KeyringCommandSource(timeout=60), indexauth.Index(URL))
        assert "D-Bus connection refused" in result.failures[0].message

    def test_not_found_walks_every_name(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Exit 1 with nothing on stderr is "not here"; every name is tried."""
        _fake_keyring(tmp_path, monkeypatch, "sys.exit(1)")
        result = _lookup(KeyringCommandSource(), indexauth.Index(URL))
        assert result.credentials is None and not result.failures
        assert len([a for a in result.attempts if a.source == "keyring"]) == len(NAMES)

    def test_outdated_keyring(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """keyring < 25.2.1 rejects --mode: one failure that says to upgrade."""
        _fake_keyring(
            tmp_path,
            monkeypatch,
            "sys.stderr.write('usage: keyring\\nkeyring: error: unrecognized arguments: --mode creds\\n'); sys.exit(2)",
        )
        result = _lookup(KeyringCommandSource(), indexauth.Index(URL))
        assert len(result.failures) == 1
        assert "25.2.1" in result.failures[0].message and "upgrade" in result.failures[0].hint

    def test_backend_traceback(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Exit 1 with a traceback is a broken backend, not a miss."""
        _fake_keyring(
            tmp_path,
            monkeypatch,
            "sys.stderr.write('Traceback (most recent call last):\\nRuntimeError: backend exploded\\n'); sys.exit(1)",
        )
        result = _lookup(KeyringCommandSource(), indexauth.Index(URL))
        assert len(result.failures) == 1
        assert "backend exploded" in result.failures[0].message

    def test_hung_command_is_killed(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: IndexServer
    ) -> None:
        """A keyring waiting on an unlock prompt is killed after the timeout: ProviderError."""
        _fake_keyring(tmp_path, monkeypatch, "time.sleep(60)")
        server.route("/p/", users={"a": "b"})
        [error] = DRIVERS["requests"]().run(
            [Call(server.url("/p/simple/x/"))],
            indexes=[indexauth.Index(server.url("/p/simple/"))],
            options={"keyring_provider": "subprocess", "keyring_timeout": 0.5},
        )
        assert isinstance(error, indexauth.ProviderError)
        assert "did not answer within 0.5 s" in str(error)
        assert len([a for a in error.attempts if a.source == "keyring"]) == 1

    def test_missing_command(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """provider='subprocess' without a keyring command is a failure that says how to install it."""
        monkeypatch.setenv("PATH", str(tmp_path))
        result = _lookup(KeyringCommandSource(), indexauth.Index(URL))
        assert "not on PATH" in result.failures[0].message
        assert "pipx install keyring" in result.failures[0].hint

    def test_bad_output(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Output that is not the expected JSON is a failure, never a crash."""
        _fake_keyring(tmp_path, monkeypatch, "print('alice'); print('pw')")
        result = _lookup(KeyringCommandSource(), indexauth.Index(URL))
        assert "not the expected JSON" in result.failures[0].message

    def test_child_has_global_hook_off(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """The command runs with INDEXAUTH=0, so a backend doing HTTP cannot loop back into us."""
        monkeypatch.setenv("INDEXAUTH", "1")
        _fake_keyring(
            tmp_path,
            monkeypatch,
            "import os, json; print(json.dumps({'username': 'u', 'password': os.environ['INDEXAUTH']}))",
        )
        result = _lookup(KeyringCommandSource(), indexauth.Index(URL))
        assert result.credentials == indexauth.Credentials("u", "0")


class TestProviderChoice:
    """keyring_provider values."""

    def test_auto_prefers_import(self) -> None:
        """auto uses the in-process API when keyring is importable."""
        assert isinstance(keyring_source("auto"), KeyringImportSource)

    def test_disabled(self, kr: KeyringStore, server: IndexServer) -> None:
        """disabled never asks keyring."""
        server.route("/p/", users={"alice": "pw"})
        kr.set(server.url("/p/simple/"), "alice", "pw")
        [error] = DRIVERS["requests"]().run(
            [Call(server.url("/p/simple/x/"))],
            indexes=[indexauth.Index(server.url("/p/simple/"))],
            options={"keyring_provider": "disabled"},
        )
        assert isinstance(error, indexauth.MissingCredentialsError)
        assert kr.lookups() == []
        assert "keyring set" not in error.hint, "the hint offers only sources that are in use"
        assert "indexauth login" in error.hint

    @pytest.mark.parametrize("bad", ["keychain", "", "IMPORT"])
    def test_bad_value(self, bad: str) -> None:
        """An unknown provider is a ConfigurationError naming the value."""
        with pytest.raises(indexauth.ConfigurationError, match=repr(bad)):
            keyring_source(bad)

    def test_bad_timeout(self) -> None:
        """A timeout must be a positive number."""
        with pytest.raises(indexauth.ConfigurationError, match="timeout"):
            keyring_source("subprocess", timeout=0)
