"""indexauth's own credential store: the file, its TOML, its lock, and its place in the chain."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

import indexauth
from conftest import KeyringStore
from index_server import IndexServer
from indexauth._config import build_authenticator
from indexauth._sources import Recorder
from indexauth._store import (
    Store,
    StoredCredential,
    StoreError,
    StoreSource,
    data_dir,
    emit_toml,
    parse_toml,
    service_key,
    toml_string,
)

ALICE = {"alice": "wonder-land"}


@pytest.fixture(name="data")
def fixture_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh data directory, selected through INDEXAUTH_DATA_DIR."""
    path = tmp_path / "data"
    monkeypatch.setenv("INDEXAUTH_DATA_DIR", str(path))
    return path


def session(url: str, **options: object) -> requests.Session:
    """A session with the adapter for index *url*, keyring per the test's backend."""
    s = requests.Session()
    s.trust_env = False
    s.mount("http://", indexauth.IndexAuthAdapter([url], **options))  # type: ignore[arg-type]
    return s


class TestToml:
    """The emitter writes TOML that tomllib reads back exactly."""

    @given(
        st.lists(
            st.tuples(st.text(), st.text(), st.text()),
            max_size=5,
        )
    )
    def test_round_trip_any_text(self, rows: list[tuple[str, str, str]]) -> None:
        """Quotes, backslashes, unicode and control characters survive a write and a read."""
        creds = [StoredCredential(*row) for row in rows]
        assert parse_toml(emit_toml(creds), Path("x.toml")) == creds

    def test_round_trip_nasty_examples(self) -> None:
        """The usual suspects, named, so a failure reads clearly."""
        nasty = [
            '"',
            "\\",
            '\\"',
            "'''",
            '"""',
            "\x00\x1f\x7f",
            "\b\t\n\f\r",
            "é🔑\u2028",
            "a = 1\n[x]",
        ]
        creds = [StoredCredential(v, v, v) for v in nasty]
        assert parse_toml(emit_toml(creds), Path("x.toml")) == creds

    def test_lone_surrogate_is_refused(self) -> None:
        """A string TOML cannot hold raises instead of writing a broken file."""
        with pytest.raises(ValueError, match="surrogate"):
            toml_string("\ud800")

    def test_wrong_shape_names_the_path(self) -> None:
        """A table without a password is an error naming the file, not a crash."""
        with pytest.raises(StoreError, match=r"x\.toml") as info:
            parse_toml('[[credential]]\nservice = "s"\nusername = "u"\n', Path("x.toml"))
        assert "indexauth login" in info.value.hint


class TestPaths:
    """Where the store lives."""

    def test_indexauth_data_dir_wins(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """INDEXAUTH_DATA_DIR is used as given."""
        monkeypatch.setenv("INDEXAUTH_DATA_DIR", str(tmp_path / "d"))
        assert Store().path == tmp_path / "d" / "credentials.toml"

    @pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="XDG layout")
    def test_xdg_then_home(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """$XDG_DATA_HOME/indexauth, else ~/.local/share/indexauth."""
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert data_dir() == tmp_path / "xdg" / "indexauth"
        monkeypatch.delenv("XDG_DATA_HOME")
        assert data_dir() == Path.home() / ".local" / "share" / "indexauth"

    def test_service_key_normalises(self) -> None:
        """Userinfo, case of scheme and host, default port and a lone slash do not matter."""
        assert (
            service_key("HTTPS://bob@Pkgs.Example.com:443/Simple/")
            == "https://pkgs.example.com/Simple/"
        )
        assert service_key("http://h.example:8080/") == "http://h.example:8080"


class TestFile:
    """Writing: private, atomic, locked, never over a broken or exposed file."""

    def test_put_find_remove(self, data: Path) -> None:
        """Entries are keyed by (service, username); put replaces, remove removes."""
        store = Store()
        assert store.put("https://h.example/simple/", "alice", "one") is False
        assert store.put("https://h.example/simple/", "bob", "two") is False
        assert store.put("https://H.example/simple/", "alice", "three") is True
        found = store.find("https://h.example/simple/", "alice")
        assert found is not None
        assert found.password == "three"
        assert "three" not in repr(found)
        assert [c.username for c in store.remove("https://h.example/simple/", "bob")] == ["bob"]
        assert [c.username for c in store.load()] == ["alice"]

    @pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
    def test_file_is_private_and_no_temp_files_remain(self, data: Path) -> None:
        """The file is 0600 whatever the umask, and the temporary file is gone."""
        old = os.umask(0o022)
        try:
            Store().put("https://h.example/simple/", "alice", "pw")
        finally:
            os.umask(old)
        assert stat.S_IMODE(Store().path.stat().st_mode) == 0o600
        assert sorted(p.name for p in data.iterdir()) == [
            "credentials.toml",
            "credentials.toml.lock",
        ]

    def test_corrupt_file_is_never_overwritten(self, data: Path) -> None:
        """A file that does not parse is left byte for byte; the error names it."""
        data.mkdir()
        path = data / "credentials.toml"
        path.write_bytes(b"[[credential]\nservice = 'oops")
        os.chmod(path, 0o600)
        with pytest.raises(StoreError, match=str(path).replace("\\", "\\\\")):
            Store().put("https://h.example/simple/", "alice", "pw")
        assert path.read_bytes() == b"[[credential]\nservice = 'oops"

    @pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
    def test_loose_permissions_refuse_writes(self, data: Path) -> None:
        """A file others can read is not written to until `chmod 600`."""
        store = Store()
        store.put("https://h.example/simple/", "alice", "pw")
        before = store.path.read_bytes()
        os.chmod(store.path, 0o644)
        with pytest.raises(StoreError, match="mode 644") as info:
            store.put("https://h.example/simple/", "bob", "pw2")
        assert info.value.hint == f"run `chmod 600 {store.path}`"
        assert store.path.read_bytes() == before

    def test_interrupted_write_leaves_no_temp_file(self, data: Path) -> None:
        """A real SIGINT in the middle of a write: no temporary copy of the secrets stays."""
        Store().put("https://h.example/simple/", "alice", "old")
        before = Store().path.read_bytes()
        script = textwrap.dedent(
            """
            import os, signal
            from indexauth._store import Store
            # The temporary file is written and open when the signal arrives.
            os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGINT)
            Store().put("https://h.example/simple/", "bob", "new-secret")
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        assert "KeyboardInterrupt" in done.stderr
        assert sorted(p.name for p in data.iterdir()) == [
            "credentials.toml",
            "credentials.toml.lock",
        ]
        assert Store().path.read_bytes() == before

    def test_stale_temp_files_are_removed_under_the_lock(self, data: Path) -> None:
        """Temporary files an earlier crash left behind go with the next write; others stay."""
        Store().put("https://h.example/simple/", "alice", "pw")
        stale = data / ".credentials-k3x9_q.tmp"
        stale.write_text("password = 'from a crash'")
        other = data / "notes.tmp"
        other.write_text("not ours")
        Store().put("https://h.example/simple/", "bob", "pw2")
        assert not stale.exists()
        assert other.exists()
        assert Store().remove("https://h.example/simple/", "nobody") == []

    @pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
    def test_loose_file_without_a_match_is_not_an_error(self, data: Path) -> None:
        """remove() with nothing to remove reads, but does not refuse, a file others can read."""
        store = Store()
        store.put("https://h.example/simple/", "bob", "pw")
        os.chmod(store.path, 0o644)
        assert store.remove("https://h.example/simple/", "alice") == []
        with pytest.raises(StoreError, match="mode 644"):
            store.remove("https://h.example/simple/", "bob")
        assert [c.username for c in store.load()] == ["bob"]

    def test_concurrent_writers_lose_nothing(self, data: Path) -> None:
        """Four processes each storing 15 entries at once leave all 60 in the file."""
        script = textwrap.dedent(
            """
            import sys
            from indexauth._store import Store
            me = sys.argv[1]
            for i in range(15):
                Store().put(f"https://h{i}.example/simple/", f"user-{me}", f"pw-{me}-{i}")
            """
        )
        procs = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in range(4)]
        assert [p.wait(timeout=60) for p in procs] == [0, 0, 0, 0]
        entries = Store().load()
        assert len(entries) == 60
        assert {(c.service, c.username, c.password) for c in entries} == {
            (f"https://h{i}.example/simple/", f"user-{n}", f"pw-{n}-{i}")
            for n in range(4)
            for i in range(15)
        }


class TestSource:
    """The store as source 4 of the chain."""

    def test_store_sent_up_front(self, data: Path, server: IndexServer) -> None:
        """The store is a local file: its entry goes with the first request, no challenge."""
        server.route("/private/", users=ALICE)
        url = server.url("/private/simple/")
        Store().put(url, "alice", "wonder-land")
        response = session(url).get(server.url("/private/simple/pkg/"), timeout=10)
        assert response.status_code == 200
        assert [s.user for s in server.seen] == ["alice"]

    def test_store_before_netrc_and_keyring(
        self,
        data: Path,
        server: IndexServer,
        kr: KeyringStore,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """With entries everywhere, the store's wins and keyring is never asked."""
        server.route("/private/", users=ALICE)
        url = server.url("/private/simple/")
        Store().put(url, "alice", "wonder-land")
        kr.set(url, "alice", "wrong-from-keyring")
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login alice password wrong-from-netrc\n")
        os.chmod(netrc, 0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        response = session(url).get(server.url("/private/simple/pkg/"), timeout=10)
        assert response.status_code == 200
        assert kr.lookups() == []

    def test_environment_before_store(
        self, data: Path, server: IndexServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Environment variables (position 3) win over the store (position 4)."""
        server.route("/private/", users=ALICE)
        url = server.url("/private/simple/")
        Store().put(url, "alice", "wrong-from-store")
        monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_USERNAME", "alice")
        monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_PASSWORD", "wonder-land")
        s = requests.Session()
        s.mount("http://", indexauth.IndexAuthAdapter([indexauth.Index(url, name="internal")]))
        assert s.get(server.url("/private/simple/pkg/"), timeout=10).status_code == 200

    def test_username_filter(self, data: Path) -> None:
        """A configured username matches only its own entry; the attempt says whose exist."""
        url = "https://h.example/simple/"
        Store().put(url, "bob", "x")
        auth = build_authenticator(
            [indexauth.Index(url, username="alice")], keyring_provider="disabled"
        )
        target = auth.match(url + "pkg/")
        assert target is not None
        result = auth.resolver.lookup(target)
        assert result.credentials is None
        # A stored name may be a token `login https://TOKEN@host/` stored: masked, not dropped.
        assert any("stored only for username '****'" in a.outcome for a in result.attempts)
        assert not any("bob" in str(a) for a in result.attempts)

    def test_realm_wide_login_matches_host_service(self, data: Path) -> None:
        """An entry for `https://host` serves an index under that host, as keyring's names do."""
        Store().put("https://h.example/", "alice", "pw")
        auth = build_authenticator(["https://h.example/simple/"], keyring_provider="disabled")
        target = auth.match("https://h.example/simple/pkg/")
        assert target is not None
        result = auth.resolver.lookup(target)
        assert result.credentials == indexauth.Credentials("alice", "pw")

    def test_corrupt_store_is_a_provider_error_with_path_and_fix(
        self, data: Path, server: IndexServer
    ) -> None:
        """A broken store and nothing else found: ProviderError naming the file and the fix."""
        server.route("/private/", users=ALICE)
        data.mkdir()
        path = data / "credentials.toml"
        path.write_text("not toml at all = = =")
        with pytest.raises(indexauth.ProviderError) as info:
            session(server.url("/private/simple/"), keyring_provider="disabled").get(
                server.url("/private/simple/pkg/"), timeout=10
            )
        assert isinstance(info.value, requests.RequestException)
        assert str(path) in str(info.value)
        assert "move it aside" in info.value.hint

    @pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
    def test_loose_store_is_read_with_a_warning(
        self, data: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A readable-by-others store still answers, and the warning names the file and chmod."""
        url = "https://h.example/simple/"
        Store().put(url, "alice", "s3cr3t-loose")
        os.chmod(Store().path, 0o644)
        source = StoreSource()
        auth = build_authenticator([url], keyring_provider="disabled")
        target = auth.match(url)
        assert target is not None
        with caplog.at_level(logging.WARNING, logger="indexauth"):
            creds = source.find(target, None, Recorder())
        assert creds == indexauth.Credentials("alice", "s3cr3t-loose")
        assert f"chmod 600 {Store().path}" in caplog.text
        assert "s3cr3t-loose" not in caplog.text

    def test_store_option_turns_it_off(self, data: Path) -> None:
        """build_authenticator(store=False) leaves the store out of the chain."""
        names = [s.name for s in build_authenticator(store=False).resolver.sources]
        assert "indexauth store" not in names
        names = [s.name for s in build_authenticator().resolver.sources]
        assert names[:7] == [
            "index URL",
            "environment",
            "password command",
            "credential helper",
            "indexauth store",
            "uv store",
            "netrc",
        ]
