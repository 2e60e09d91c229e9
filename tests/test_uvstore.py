"""uv's credential store as a source: files written by the real `uv auth login`, uv's matching,
its lock honoured, never written, a broken file one warning."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import subprocess
import threading
from pathlib import Path

import pytest
import requests

import indexauth
from index_server import IndexServer
from indexauth._cli import main
from indexauth._config import build_authenticator
from indexauth._sources import Recorder, Target
from indexauth._urls import realm_of
from indexauth._uvstore import UvStoreSource, best_match, read_uv_store, uv_credentials_path

# uv comes with the test extra; an environment made before it was added skips these.
UV = str(pytest.importorskip("uv", reason="pip install -e '.[test]' brings uv").find_uv_bin())


def uv(*args: str, stdin: str = "") -> str:
    """Run the real uv with this test's environment (HOME, XDG dirs, UV_CREDENTIALS_DIR)."""
    done = subprocess.run(
        [UV, *args], input=stdin, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "UV_NO_CONFIG": "1"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def uv_login(service: str, username: str | None, secret: str) -> None:
    """`uv auth login SERVICE` with the secret on stdin (`--token -` when no username)."""
    if username is None:
        uv("auth", "login", service, "--token", "-", stdin=secret)
    else:
        uv("auth", "login", service, "--username", username, "--password", "-", stdin=secret)


def lookup(url: str, username: str | None = None, source: UvStoreSource | None = None) -> tuple[object, Recorder]:
    """The uv store source alone, for the index at *url*."""
    record = Recorder()
    index = indexauth.Index(url, username=username)
    found = (source or UvStoreSource()).find(Target(index, index.realm), username, record)
    return found, record


def digest(directory: Path) -> dict[str, tuple[str, int]]:
    """Every file in *directory* with its content hash and mtime: what "never written" compares."""
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(directory.iterdir())
    }


class TestWhere:
    """indexauth looks where uv writes, for each of uv's three rules."""

    @pytest.mark.parametrize("case", ["UV_CREDENTIALS_DIR", "XDG_DATA_HOME", "HOME", "relative XDG"])
    def test_same_directory_as_uv(self, case: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """`uv auth dir` and indexauth agree on the directory."""
        monkeypatch.delenv("UV_CREDENTIALS_DIR", raising=False)
        if case == "UV_CREDENTIALS_DIR":
            monkeypatch.setenv("UV_CREDENTIALS_DIR", str(tmp_path / "creds"))
        elif case == "HOME":
            monkeypatch.delenv("XDG_DATA_HOME")
        elif case == "relative XDG":
            monkeypatch.setenv("XDG_DATA_HOME", "relative/data")
        assert Path(uv("auth", "dir").strip()) == uv_credentials_path().parent


class TestRealUvFiles:
    """Entries that the real `uv auth login` wrote are found, with uv's matching rule."""

    def test_basic_and_token_entries(self) -> None:
        """A username/password entry and a `--token` entry, each for its own index."""
        uv_login("https://pkgs.example.com/simple/", "alice", "pw-alice")
        uv_login("https://tok.example.com/", None, "t0ken")
        found, record = lookup("https://pkgs.example.com/simple/")
        assert isinstance(found, indexauth.Credentials)
        assert (found.username, found.password) == ("alice", "pw-alice")
        assert "found" in str(record.attempts[-1])
        token, _ = lookup("https://tok.example.com/api/pypi/simple/")
        assert isinstance(token, indexauth.Credentials)
        assert (token.username, token.password) == ("__token__", "t0ken")

    def test_longest_segment_prefix_and_realm(self) -> None:
        """The longest whole-segment prefix in the same realm wins; other realms never match."""
        uv_login("https://h.example.com/", "general", "pw-general")
        uv_login("https://h.example.com/api", "specific", "pw-specific")
        assert _user("https://h.example.com/api/v1/simple/") == "specific"
        assert _user("https://h.example.com/apiv2/simple/") == "general"  # not a whole segment
        assert _user("https://h.example.com/other/simple/") == "general"
        assert _user("http://h.example.com/api/simple/") is None  # http is another realm
        assert _user("https://h.example.com:8443/api/simple/") is None  # so is another port
        assert _user("https://h.example.com:443/api/simple/") == "specific"

    def test_username_filters(self) -> None:
        """A known username picks that user's entry; two users at the same depth are ambiguous."""
        uv_login("https://two.example.com/", "ann", "pw-ann")
        uv_login("https://two.example.com/", "bob", "pw-bob")
        assert _user("https://two.example.com/simple/", "bob") == "bob"
        found, record = lookup("https://two.example.com/simple/")
        assert found is None
        assert "several entries" in record.attempts[-1].outcome
        assert "give the index a username" in record.attempts[-1].outcome
        # Stored names may be pasted tokens: counted, not shown.
        assert "('****', '****')" in record.attempts[-1].outcome
        found, record = lookup("https://two.example.com/simple/", "carol")
        assert found is None
        assert "(stored for '****', '****')" in record.attempts[-1].outcome
        assert not any(name in str(a) for a in record.attempts for name in ("ann", "bob"))

    def test_in_the_chain_after_the_store_and_in_tried(
        self, server: IndexServer, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A real request through the adapter gets uv's entry; `indexauth token` says where from."""
        server.route("/private", users={"alice": "pw-uv"})
        url = server.url("/private/simple/")
        uv_login(url, "alice", "pw-uv")
        session = requests.Session()
        session.trust_env = False
        session.mount("http://", indexauth.IndexAuthAdapter([url], keyring_provider="disabled"))
        assert session.get(url + "demo/").status_code == 200
        assert [s.user for s in server.seen] == ["alice"]  # a local file: sent up front
        auth = build_authenticator([url], keyring_provider="disabled")
        names = [source.name for source in auth.resolver.sources]
        assert names.index("uv store") == names.index("indexauth store") + 1
        assert main(["token", url, "--keyring-provider", "disabled"]) == 0
        assert capsys.readouterr().out == "pw-uv\n"

    def test_tried_line_names_the_file(self, capsys: pytest.CaptureFixture[str]) -> None:
        """With nothing found, `tried:` shows what uv's store held."""
        uv_login("https://else.example.com/", "alice", "pw")
        assert main(["token", "https://pkgs.example.com/simple/", "--keyring-provider", "disabled"]) == 3
        err = capsys.readouterr().err
        line = next(line for line in err.splitlines() if "uv store" in line)
        assert str(uv_credentials_path()) in line
        assert "no entry for https://pkgs.example.com/simple/" in line
        assert "pw" not in line.replace(str(uv_credentials_path()), "")

    def test_store_false_turns_it_off(self) -> None:
        """`store=False` is the one switch for both persistent stores."""
        names = [s.name for s in build_authenticator([], store=False).resolver.sources]
        assert "uv store" not in names


def _user(url: str, username: str | None = None) -> str | None:
    found, _ = lookup(url, username)
    return found.username if isinstance(found, indexauth.Credentials) else None


class TestReadOnly:
    """indexauth never writes uv's files, and waits while uv holds the lock."""

    def test_never_written(self) -> None:
        """Lookups, hits and misses leave every file in the directory as it was."""
        uv_login("https://pkgs.example.com/", "alice", "pw")
        directory = uv_credentials_path().parent
        before = digest(directory)
        for url in ("https://pkgs.example.com/simple/", "https://nothing.example.com/simple/"):
            lookup(url)
            lookup(url, "bob")
        assert digest(directory) == before

    def test_no_lock_file_is_created(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A hand-written file without a lock file is read, and no lock file appears."""
        monkeypatch.setenv("UV_CREDENTIALS_DIR", str(tmp_path / "uvc"))
        path = uv_credentials_path()
        path.parent.mkdir()
        path.write_text('[[credential]]\nservice = "https://h.example.com"\nusername = "u"\npassword = "p"\n')
        assert _user("https://h.example.com/simple/") == "u"
        assert sorted(p.name for p in path.parent.iterdir()) == ["credentials.toml"]

    def test_waits_for_uv_lock(self) -> None:
        """While the lock is held exclusively (uv writing), the read waits; then it finds the entry."""
        uv_login("https://pkgs.example.com/", "alice", "pw")
        lock = Path(str(uv_credentials_path()) + ".lock")
        results: list[object] = []
        with open(lock, "rb") as held:
            fcntl.flock(held.fileno(), fcntl.LOCK_EX)
            reader = threading.Thread(target=lambda: results.append(lookup("https://pkgs.example.com/simple/")[0]))
            reader.start()
            reader.join(0.5)
            assert reader.is_alive() and not results  # still waiting for the lock
            fcntl.flock(held.fileno(), fcntl.LOCK_UN)
        reader.join(10)
        assert isinstance(results[0], indexauth.Credentials)

    def test_lock_held_too_long_is_a_warning(self, caplog: pytest.LogCaptureFixture) -> None:
        """A lock nobody releases: one warning naming the file, and no credentials from it."""
        uv_login("https://pkgs.example.com/", "alice", "pw")
        lock = Path(str(uv_credentials_path()) + ".lock")
        source = UvStoreSource(lock_timeout=0.1)
        with open(lock, "rb") as held, caplog.at_level(logging.WARNING, "indexauth"):
            fcntl.flock(held.fileno(), fcntl.LOCK_EX)
            found, record = lookup("https://pkgs.example.com/simple/", source=source)
        assert found is None
        assert record.attempts[-1].outcome.startswith("failed")
        assert [r.getMessage() for r in caplog.records] == [
            f"indexauth: uv store: {uv_credentials_path()} is locked by another process ({lock} held "
            "for more than 0.1 s; a `uv auth login` still running?); skipped (indexauth only reads "
            "it: fix it with `uv auth login`)"
        ]


class TestBrokenFile:
    """A file uv would refuse is one warning naming it; the chain goes on."""

    @pytest.mark.parametrize(
        "text",
        [
            "[[credential]\nservice = 'x'",
            '[[credential]]\nservice = "https://h.example.com"\npassword = "secret-pw"\n',
            '[[credential]]\nservice = "https://h.example.com"\nscheme = "bearer"\nusername = "u"\ntoken = "secret-pw"\n',
            '[[credential]]\nservice = "ftp://h.example.com"\nusername = "u"\npassword = "secret-pw"\n',
            'credential = "secret-pw"\n',
            b"\xff\xfe".decode("latin-1"),
        ],
    )
    def test_warning_then_netrc(
        self, text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The warning names the file and never a secret; netrc, later in the chain, still answers."""
        monkeypatch.setenv("UV_CREDENTIALS_DIR", str(tmp_path / "uvc"))
        path = uv_credentials_path()
        path.parent.mkdir()
        path.write_bytes(text.encode("latin-1"))
        netrc = tmp_path / "netrc"
        netrc.write_text("machine h.example.com login n password from-netrc\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        auth = build_authenticator(["https://h.example.com/simple/"], keyring_provider="disabled")
        target = auth.match("https://h.example.com/simple/")
        assert target is not None
        with caplog.at_level(logging.WARNING, "indexauth"):
            result = auth.resolver.lookup(target)
            auth.resolver.lookup(Target(None, realm_of("https://h.example.com/")))
        assert result.source is not None and result.source.startswith("netrc")
        warnings = [r.getMessage() for r in caplog.records]
        assert len(warnings) == 1, warnings
        assert str(path) in warnings[0]
        assert "secret-pw" not in warnings[0]
        assert path.read_bytes() == text.encode("latin-1")


def test_service_with_userinfo_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hand-edited `service` with a password in it: the `tried:` line (shown by `check`) and
    the several-entries reason show it redacted."""
    monkeypatch.setenv("UV_CREDENTIALS_DIR", str(tmp_path / "uvc"))
    path = uv_credentials_path()
    path.parent.mkdir()
    path.write_text(
        '[[credential]]\nservice = "https://u:svc-s3cret@h.example.com/"\nusername = "u"\npassword = "p"\n'
        '[[credential]]\nservice = "https://v:svc-s3cret@h.example.com/x/"\nusername = "v"\npassword = "p"\n'
        '[[credential]]\nservice = "https://w:svc-s3cret@h.example.com/x/"\nusername = "w"\npassword = "p"\n'
    )
    path.chmod(0o600)
    found, record = lookup("https://h.example.com/simple/")
    assert found is not None
    ambiguous, record2 = lookup("https://h.example.com/x/simple/")
    assert ambiguous is None
    text = repr(record.attempts) + repr(record2.attempts)
    assert "h.example.com" in text and "****" in text
    assert "svc-s3cret" not in text


def test_best_match_bearer_and_exact() -> None:
    """A bearer entry answers only username-less lookups; the exact service beats its parent."""
    path = Path("/nonexistent")
    from indexauth._uvstore import _parse

    entries = _parse(
        '[[credential]]\nservice = "h.example.com"\nscheme = "bearer"\ntoken = "tk"\n'
        '[[credential]]\nservice = "https://h.example.com/a/"\nusername = "u"\npassword = "p"\n',
        path,
    )
    bearer = best_match(entries, "https://h.example.com/b/simple/", None)
    assert not isinstance(bearer, str) and bearer.credentials().authorization() == "Bearer tk"
    assert isinstance(best_match(entries, "https://h.example.com/b/simple/", "u"), str)
    exact = best_match(entries, "https://h.example.com/a/simple/", None)
    assert not isinstance(exact, str) and exact.username == "u"
    assert read_uv_store(path / "credentials.toml") is None


class TestStatus:
    """`indexauth status` shows uv's store: absent, with entries, or unreadable."""

    def test_status_rows(self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        """No file, then the entries uv wrote, then a broken file as a warning naming it."""
        path = uv_credentials_path()

        def row() -> str:
            assert main(["status", "--keyring-provider", "disabled"]) == 0
            return next(line for line in capsys.readouterr().out.splitlines() if line.startswith("uv store"))

        assert row().endswith(f"{path} (no file: `uv auth login` writes it)")
        uv_login("https://pkgs.example.com/", "alice", "pw-a")
        uv_login("https://pkgs.example.com/", "bob", "pw-b")
        assert row().endswith(f"{path} (2 credential(s), read only)")
        assert main(["status", "--json", "--keyring-provider", "disabled"]) == 0
        info = json.loads(capsys.readouterr().out)["uv_store"]
        assert info == {"path": str(path), "exists": True, "problem": None, "entries": 2}
        path.write_text("not toml [")
        assert main(["status", "--keyring-provider", "disabled"]) == 0
        out, err = capsys.readouterr()
        assert f"{path} (unreadable)" in out
        assert f"indexauth: warning: {path} is not valid TOML" in err
