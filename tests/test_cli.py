"""The `indexauth` command, in process through `main([...])` and as the installed console script."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import KeyringStore, StandIn, use_backend
from index_server import IndexServer
from indexauth._cli import EXIT_CODES, main
from indexauth._store import Store

ALICE = {"alice": "wonder-land"}
SECRET = "planted-S3CRET-7f1c"  # a value that must never reach stdout or stderr
URL = "https://h.example/simple/"


@pytest.fixture(name="data")
def fixture_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh store directory, selected through INDEXAUTH_DATA_DIR."""
    path = tmp_path / "data"
    monkeypatch.setenv("INDEXAUTH_DATA_DIR", str(path))
    return path


def run(
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stdin: str = "",
) -> tuple[int, str, str]:
    """`main(argv)` with *stdin* (never a terminal); exit code, stdout, stderr."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def script(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The installed `indexauth` console script, found on PATH, in a subprocess."""
    return subprocess.run(
        ["indexauth", *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def non_http_server() -> Iterator[int]:
    """A port on 127.0.0.1 where something that is not HTTP (an SSH banner) answers.

    The accepting thread is stopped and joined before the listener is closed: a thread
    still inside `accept()` on a closed descriptor can land on whatever socket later
    reuses that number, and once answered another test's index server with this banner.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                conn.recv(4096)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()


def on_a_terminal(argv: list[str], answer: bytes, wait_for: bytes) -> tuple[int, str]:
    """The `indexauth` script on a real pseudo-terminal: *answer* typed once *wait_for* shows.

    The exit code (130 for SIGINT-style exits) and everything the terminal showed.
    """
    exe = shutil.which("indexauth")
    assert exe is not None
    pid, master = pty.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.execv(exe, [exe, *argv])  # noqa: S606 - a fixed argv, no shell wanted
        finally:
            os._exit(127)
    seen = b""
    sent = idle = 0
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 1)
            if not ready:
                idle += 1
                if idle > 60:
                    break  # the child hung: the assertions below say so
                if sent:
                    # CPython's readline loop misses a SIGINT that lands just before its
                    # select(); a person would press Ctrl-C again, and so does this.
                    os.write(master, answer)
                continue
            idle = 0
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            if not sent and wait_for in seen:
                os.write(master, answer)
                sent = 1
    finally:
        os.close(master)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), seen.decode("utf-8", "replace")


class TestLogin:
    """`indexauth login`."""

    def test_file_store_when_no_keyring(
        self, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With the null keyring, the password goes to credentials.toml; the output hides it."""
        code, out, err = run(
            [
                "login",
                "https://pkgs.example.com/simple/",
                "--username",
                "alice",
                "--password-stdin",
            ],
            capsys,
            monkeypatch,
            stdin=SECRET + "\n",
        )
        assert code == 0, err
        assert "alice@https://pkgs.example.com/simple/" in out
        assert str(data / "credentials.toml") in out
        assert SECRET not in out + err
        stored = Store().find("https://pkgs.example.com/simple/", "alice")
        assert stored is not None
        assert stored.password == SECRET

    def test_keyring_when_usable_and_found_first(
        self,
        data: Path,
        kr: KeyringStore,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """With a real backend, the entry is stored under the index URL and is the first lookup."""
        server.route("/private/", users=ALICE)
        url = server.url("/private/simple/")
        code, out, err = run(
            ["login", url, "-u", "alice", "--password-stdin"],
            capsys,
            monkeypatch,
            stdin="wonder-land",
        )
        assert code == 0, err
        assert "in the keyring (kr_backends.JsonFileKeyring)" in out
        assert json.loads(kr.path.read_text())[url] == {"alice": "wonder-land"}
        assert not (data / "credentials.toml").exists()
        code, out, err = run(["check", url], capsys, monkeypatch)
        assert code == 0, out + err
        assert kr.lookups()[0] == (url, None)
        assert "wonder-land" not in out + err

    def test_keyring_login_removes_shadowing_store_entry(
        self,
        data: Path,
        kr: KeyringStore,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """An older store entry for the same user would win over keyring: it is removed."""
        url = "https://pkgs.example.com/simple/"
        Store().put(url, "alice", "old")
        Store().put(url, "bob", "kept")
        code, out, _ = run(
            ["login", url, "-u", "alice", "--password-stdin"], capsys, monkeypatch, "new"
        )
        assert code == 0
        assert "Removed the older entry" in out
        assert [(c.username, c.password) for c in Store().load()] == [("bob", "kept")]

    def test_token_stdin_means_token_username(
        self, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--token-stdin stores username __token__."""
        code, _, err = run(
            [
                "login",
                "https://gitlab.example.com/api/v4/projects/1/packages/pypi/simple",
                "--token-stdin",
            ],
            capsys,
            monkeypatch,
            stdin="glpat-xyz\n",
        )
        assert code == 0, err
        stored = Store().find("https://gitlab.example.com/api/v4/projects/1/packages/pypi/simple")
        assert stored is not None
        assert (stored.username, stored.password) == ("__token__", "glpat-xyz")

    @pytest.mark.parametrize(
        ("argv", "says"),
        [
            (["login", "https://h.example/simple/"], "--username"),
            (["login", "https://h.example/simple/", "-u", "alice"], "--password-stdin"),
        ],
    )
    def test_never_prompts_without_a_terminal(
        self,
        data: Path,
        argv: list[str],
        says: str,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """No TTY and no flag: a usage error that names the flag to use; nothing stored."""
        code, out, err = run(argv, capsys, monkeypatch)
        assert code == EXIT_CODES["usage"]
        assert "stdin is not a terminal" in err
        assert says in err
        assert out == ""
        assert not (data / "credentials.toml").exists()

    def test_endless_stdin_is_refused_not_read_whole(
        self, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`yes | indexauth login ... --password-stdin` must end: stdin is read up to a bound,
        and more than that is a usage error, not a password; nothing is stored."""
        code, _, err = run(
            ["login", "https://h.example/simple/", "-u", "alice", "--password-stdin"],
            capsys,
            monkeypatch,
            stdin="y\n" * 100_000,
        )
        assert code == EXIT_CODES["usage"], err
        assert "longer than 64 KiB" in err
        assert not (data / "credentials.toml").exists()

    def test_empty_password_refused(
        self, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An empty password (or just a newline) is refused; the old entry stays."""
        Store().put("https://h.example/simple/", "alice", "old")
        code, _, err = run(
            ["login", "https://h.example/simple/", "-u", "alice", "--password-stdin"],
            capsys,
            monkeypatch,
            stdin="\n",
        )
        assert code == EXIT_CODES["usage"]
        assert "empty" in err
        stored = Store().find("https://h.example/simple/", "alice")
        assert stored is not None
        assert stored.password == "old"

    @pytest.mark.parametrize(
        ("url", "allowed"),
        [
            ("http://pkgs.example.com/simple/", False),
            ("http://127.0.0.1:8080/simple/", True),
            ("http://localhost/simple/", True),
            ("http://[::1]:3141/root/pypi/+simple/", True),
        ],
    )
    def test_plain_http_only_for_loopback(
        self,
        data: Path,
        url: str,
        allowed: bool,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """http:// is refused for real hosts and allowed for loopback."""
        code, _, err = run(["login", url, "-u", "a", "--password-stdin"], capsys, monkeypatch, "pw")
        assert (code == 0) is allowed, err
        if not allowed:
            assert "--allow-insecure-http" in err
            code, _, err = run(
                ["login", url, "-u", "a", "--password-stdin", "--allow-insecure-http"],
                capsys,
                monkeypatch,
                "pw",
            )
            assert code == 0, err

    @pytest.mark.parametrize(
        ("argv", "says"),
        [
            (["login", "pkgs.example.com/simple", "-u", "a", "--password-stdin"], "invalid URL"),
            (["login", "https:///simple", "-u", "a", "--password-stdin"], "has no host"),
            (["login", "https://a:pw@h.example/", "--password-stdin"], "contains a password"),
            (["login", "https://h.example/", "--bogus"], "unrecognized arguments: --bogus"),
            (["login", "https://h.example/", "--password-stdin", "--token-stdin"], "not allowed"),
            (["frobnicate"], "invalid choice"),
            (["check", "https://h.example/", "--timeout", "0"], "above 0"),
            # Beyond what a socket or thread join accepts: was an OverflowError traceback.
            (["check", "https://h.example/", "--timeout", "1e10"], "at most 86400"),
            (["check", "https://h.example/", "--timeout", "inf"], "at most 86400"),
        ],
    )
    def test_bad_input_is_one_clear_usage_error(
        self,
        data: Path,
        argv: list[str],
        says: str,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Malformed URLs and flags: exit 2, the problem on the first stderr line, no traceback."""
        code, out, err = run(argv, capsys, monkeypatch, "pw")
        assert code == EXIT_CODES["usage"]
        assert says in err.splitlines()[0]
        assert err.startswith("indexauth: error: ")
        assert "Traceback" not in err
        assert out == ""
        assert "pw" not in err.replace("pw@", "")

    def test_check_refuses_wrong_credentials_before_storing(
        self,
        data: Path,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """--check: wrong password exits 5 and stores nothing; the right one is stored."""
        server.route("/private/", users=ALICE)
        url = server.url("/private/simple/")
        code, _, err = run(
            ["login", url, "-u", "alice", "--password-stdin", "--check"],
            capsys,
            monkeypatch,
            SECRET,
        )
        assert code == EXIT_CODES["rejected"]
        assert "nothing was stored" in err
        assert SECRET not in err
        assert Store().load() == []
        code, out, _ = run(
            ["login", url, "-u", "alice", "--password-stdin", "--check"],
            capsys,
            monkeypatch,
            "wonder-land",
        )
        assert code == 0
        assert "answered 200" in out
        assert [s.user for s in server.seen] == ["alice", "alice"]

    def test_check_unreachable(
        self, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--check against a closed port exits 8 and stores nothing."""
        url = f"http://127.0.0.1:{closed_port()}/simple/"
        code, _, err = run(
            ["login", url, "-u", "a", "--password-stdin", "--check"], capsys, monkeypatch, "x"
        )
        assert code == EXIT_CODES["unreachable"]
        assert "unreachable" in err
        assert Store().load() == []

    def test_check_redirect_stores_nothing(
        self,
        data: Path,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """--check answered by a 302 (an SSO login page): own exit code, the target, no entry."""
        server.route("/sso/", users=ALICE, redirect="https://sso.example/login?next=/simple/")
        url = server.url("/sso/simple/")
        code, out, err = run(
            ["login", url, "-u", "alice", "--password-stdin", "--check"],
            capsys,
            monkeypatch,
            "wonder-land",
        )
        assert code == EXIT_CODES["redirected"] == 10, err
        assert "answered 302" in err
        assert "https://sso.example/login?next=/simple/" in err
        assert "nothing was stored" in err
        assert "Traceback" not in err
        assert out == ""
        assert not (data / "credentials.toml").exists()

    @pytest.mark.parametrize("command", ["check", "login"])
    def test_non_http_reply_is_unreachable(
        self,
        data: Path,
        command: str,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A server answering with an SSH banner: unreachable (8), one message, no traceback."""
        with non_http_server() as port:
            url = f"http://127.0.0.1:{port}/simple/"
            argv = ["check", url]
            if command == "login":
                argv = ["login", url, "-u", "a", "--password-stdin", "--check"]
            code, out, err = run(argv, capsys, monkeypatch, SECRET)
        assert code == EXIT_CODES["unreachable"], out + err
        assert "not an HTTP reply" in out + err
        assert "Traceback" not in err
        assert SECRET not in out + err
        assert not (data / "credentials.toml").exists()

    @pytest.mark.parametrize("command", ["check", "login"])
    def test_url_with_a_space_is_unreachable_not_a_traceback(
        self, data: Path, command: str
    ) -> None:
        """A URL with a space that http.client refuses: exit 8 through the script, no traceback."""
        url = f"http://127.0.0.1:{closed_port()}/my index/simple/"
        argv = ["check", url]
        if command == "login":
            argv = ["login", url, "-u", "a", "--password-stdin", "--check"]
        done = script(*argv, stdin="pw")
        assert done.returncode == EXIT_CODES["unreachable"], done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        assert "unreachable" in done.stdout + done.stderr
        assert not (data / "credentials.toml").exists()

    def test_login_into_keyring_warns_about_other_store_usernames(
        self,
        data: Path,
        kr: KeyringStore,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A store entry for olduser still wins over the new keyring login: one warning, kept.

        The store does not say where olduser came from (a URL's user part may be a token), so
        the warning hides it and says where to read it; a conventional name is shown."""
        url = "https://pkgs.example.com/simple/"
        Store().put(url, "olduser", "old-token")
        Store().put(url, "__token__", "older-token")
        code, out, err = run(
            ["login", url, "-u", "newuser", "--password-stdin"], capsys, monkeypatch, "new-token"
        )
        assert code == 0, err
        assert "in the keyring" in out
        assert "olduser" not in out + err
        warnings = [line for line in err.splitlines() if "still holds" in line]
        assert len(warnings) == 2, err
        hidden, conventional = warnings
        assert f"still holds ****@{url}" in hidden
        assert f"indexauth logout {url} --username USERNAME`" in hidden
        assert f"{Store().path} lists it" in hidden
        assert f"indexauth logout {url} --username __token__`" in conventional
        assert "older-token" not in out + err
        assert "old-token" not in out + err
        assert "new-token" not in out + err
        assert [(c.username, c.password) for c in Store().load()] == [
            ("olduser", "old-token"),
            ("__token__", "older-token"),
        ]
        code, out, _ = run(["token", url], capsys, monkeypatch)
        assert (code, out) == (0, "old-token\n")  # still shadowed, as the warning said

    def test_keyring_that_needs_a_username(
        self,
        data: Path,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """keyrings.alt's plaintext backend: auto goes to the store (found without a username);
        --store keyring stores there and names the three ways to configure the username."""
        server.route("/p/", users=ALICE)
        url = server.url("/p/simple/")
        use_backend(monkeypatch, "keyrings.alt.file.PlaintextKeyring")
        code, out, err = run(
            ["login", url, "-u", "alice", "--password-stdin"], capsys, monkeypatch, "wonder-land"
        )
        assert code == 0, err
        assert str(Store().path) in out
        assert "cannot look up without a username" in out
        assert [(c.username, c.password) for c in Store().load()] == [("alice", "wonder-land")]
        code, out, err = run(["check", url], capsys, monkeypatch)
        assert code == 0, out + err

        import keyring  # the backend chosen above

        other = server.url("/p/other/")
        code, out, err = run(
            ["login", other, "-u", "alice", "--password-stdin", "--store", "keyring"],
            capsys,
            monkeypatch,
            "wonder-land",
        )
        assert code == 0, err
        assert "in the keyring" in out
        assert keyring.get_password(other, "alice") == "wonder-land"
        for way in ("username=", "INDEXAUTH_INDEX_<NAME>_USERNAME", "config.toml"):
            assert way in err
        assert "wonder-land" not in out + err

    @pytest.mark.parametrize("backend", ["kr_backends.JsonFileKeyring", "keyrings.alt.file.PlaintextKeyring"])
    def test_url_user_part_into_the_keyring_is_never_shown(
        self,
        data: Path,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        backend: str,
    ) -> None:
        """`login https://NAME@host/` into a keyring: NAME is the username, never shown (nor by
        the warning of a backend that needs a username); the URL with NAME then finds it."""
        name = "glpat-Zx81UserPart"  # as a pasted token would look
        server.route("/p/", users={name: "wonder-land"})
        url = server.url("/p/simple/").replace("http://", f"http://{name}@")
        monkeypatch.setenv("INDEXAUTH_TEST_KEYRING", str(tmp_path / "keyring.json"))
        use_backend(monkeypatch, backend)
        code, out, err = run(["login", url, "--password-stdin", "--store", "keyring"], capsys, monkeypatch, "wonder-land")
        assert code == 0, err
        assert "Stored credentials for ****@" in out and "in the keyring" in out
        if backend.startswith("keyrings.alt"):
            assert "found only when the index has that username" in err
        import keyring  # the backend chosen above

        assert keyring.get_password(server.url("/p/simple/"), name) == "wonder-land"
        code, check, check_err = run(["check", url], capsys, monkeypatch)
        assert code == 0, check + check_err
        code, gone, gone_err = run(["logout", url], capsys, monkeypatch)
        assert code == 0, gone_err
        assert "Removed ****@" in gone
        assert name not in out + err + check + check_err + gone + gone_err

    def test_locked_keyring_stores_nothing(
        self, data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A locked keyring: one clear error suggesting --store file; the store is untouched."""
        Store().put("https://h.example/simple/", "bob", "kept")
        before = Store().path.read_bytes()
        use_backend(monkeypatch, "kr_backends.LockedKeyring")
        code, _, err = run(
            ["login", "https://h.example/simple/", "-u", "alice", "--password-stdin"],
            capsys,
            monkeypatch,
            SECRET,
        )
        assert code == EXIT_CODES["error"]
        assert "the keyring is locked" in err.splitlines()[0]
        assert "--store file" in err
        assert SECRET not in err
        assert Store().path.read_bytes() == before

    def test_store_keyring_without_backend(
        self, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--store keyring with only the null backend: an error, nothing stored anywhere."""
        code, _, err = run(
            [
                "login",
                "https://h.example/simple/",
                "-u",
                "a",
                "--password-stdin",
                "--store",
                "keyring",
            ],
            capsys,
            monkeypatch,
            "pw",
        )
        assert code == EXIT_CODES["error"]
        assert "no usable keyring" in err
        assert not (data / "credentials.toml").exists()

    def test_corrupt_store_is_kept(
        self, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A store that does not parse: error with its path, the file byte for byte as it was."""
        data.mkdir()
        path = data / "credentials.toml"
        path.write_bytes(b"[[credential]]\nservice = \n")
        os.chmod(path, 0o600)
        code, _, err = run(
            ["login", "https://h.example/simple/", "-u", "a", "--password-stdin"],
            capsys,
            monkeypatch,
            "pw",
        )
        assert code == EXIT_CODES["error"]
        assert str(path) in err
        assert path.read_bytes() == b"[[credential]]\nservice = \n"

    @pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
    def test_loose_store_refused_until_chmod(
        self, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A store others can read: login and logout refuse with the chmod fix; entries stay."""
        Store().put("https://h.example/simple/", "bob", "kept")
        os.chmod(Store().path, 0o644)
        before = Store().path.read_bytes()
        for argv in (
            ["login", "https://h.example/simple/", "-u", "a", "--password-stdin"],
            ["logout", "https://h.example/simple/"],
        ):
            code, _, err = run(argv, capsys, monkeypatch, "pw")
            assert code == EXIT_CODES["error"]
            assert f"chmod 600 {Store().path}" in err
        assert Store().path.read_bytes() == before


class TestLogoutToken:
    """`indexauth logout` and `indexauth token`."""

    def test_token_from_a_credential_helper(
        self,
        data: Path,
        standin: Callable[[str], StandIn],
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A helper's Bearer answer prints the token; another header prints `Name: value` (what
        is sent, usable with `curl -H`). It printed `None` with exit 0."""
        url = "https://art.example.com/api/pypi/simple/"
        monkeypatch.setenv("INDEXAUTH_INDEX_ART_URL", url)
        standin("bearhelper").tokens("tok-1").helper()
        monkeypatch.setenv("INDEXAUTH_INDEX_ART_CREDENTIAL_HELPER", "bearhelper")
        code, out, _ = run(["token", url, "--keyring-provider", "disabled"], capsys, monkeypatch)
        assert (code, out) == (0, "tok-1\n")
        standin("arthelper").tokens("art-key-1").helper("X-JFrog-Art-Api", "{token}")
        monkeypatch.setenv("INDEXAUTH_INDEX_ART_CREDENTIAL_HELPER", "arthelper")
        code, out, _ = run(["token", url, "--keyring-provider", "disabled"], capsys, monkeypatch)
        assert (code, out) == (0, "X-JFrog-Art-Api: art-key-1\n")

    def test_token_prints_the_secret_and_logout_removes_it(
        self, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """token prints exactly the password; after logout, token exits 3 (missing)."""
        url = "https://h.example/simple/"
        Store().put(url, "alice", SECRET)
        code, out, _ = run(["token", url, "--keyring-provider", "disabled"], capsys, monkeypatch)
        assert (code, out) == (0, SECRET + "\n")
        code, out, err = run(["logout", url], capsys, monkeypatch)
        assert code == 0
        # A stored name may be a token that `login` took from a URL: not shown by itself.
        assert "Removed ****@https://h.example/simple/" in out
        assert SECRET not in out + err
        assert "alice" not in out + err
        code, out, err = run(["token", url], capsys, monkeypatch)
        assert code == EXIT_CODES["missing"]
        assert out == ""
        assert "indexauth login https://h.example/simple/" in err

    def test_logout_from_keyring(
        self,
        data: Path,
        kr: KeyringStore,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """logout deletes the keyring entry login made; a second logout exits 3."""
        url = "https://h.example/simple/"
        kr.set(url, "alice", "pw")
        code, out, _ = run(["logout", url], capsys, monkeypatch)
        assert code == 0
        assert "from the keyring" in out
        assert json.loads(kr.path.read_text())[url] == {}
        code, _, err = run(["logout", url], capsys, monkeypatch)
        assert code == EXIT_CODES["missing"]
        assert "tried: keyring" in err

    @pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
    def test_logout_keyring_user_with_a_loose_store(
        self,
        data: Path,
        kr: KeyringStore,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A 0644 store without the user is no error; with the user, the keyring removal is
        still reported before the chmod error."""
        url = "https://h.example/simple/"
        kr.set(url, "alice", "pw")
        Store().put(url, "bob", "kept")
        os.chmod(Store().path, 0o644)
        before = Store().path.read_bytes()
        code, out, err = run(["logout", url, "-u", "alice"], capsys, monkeypatch)
        assert code == 0, err
        assert f"Removed alice@{url} from the keyring" in out
        assert Store().path.read_bytes() == before
        kr.set(url, "bob", "pw")
        code, out, err = run(["logout", url, "-u", "bob"], capsys, monkeypatch)
        assert code == EXIT_CODES["error"]
        assert f"Removed bob@{url} from the keyring" in out
        assert f"chmod 600 {Store().path}" in err
        assert Store().path.read_bytes() == before


class TestCheck:
    """`indexauth check`: every step of the lookup, then one live request, classified."""

    def test_redirect_is_its_own_outcome(
        self,
        data: Path,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A 302 to a login page is not ok: outcome redirected (10), naming where it goes."""
        server.route("/sso/", redirect="https://sso.example/login")
        code, out, err = run(["check", server.url("/sso/simple/")], capsys, monkeypatch)
        assert code == EXIT_CODES["redirected"], out + err
        assert "outcome: redirected (exit code 10)" in out
        assert "https://sso.example/login" in out
        assert "hint: " in out

    def test_lists_every_keyring_service_name_never_the_secret(
        self,
        data: Path,
        kr: KeyringStore,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """The entry is under host:port, so each earlier name is tried and listed; ok, exit 0."""
        server.route("/private/", users={"alice": SECRET})
        url = server.url("/private/simple/")
        kr.set(f"127.0.0.1:{server.port}", "alice", SECRET)
        code, out, err = run(["check", url], capsys, monkeypatch)
        assert code == 0, out + err
        names = [
            url,
            url.rstrip("/"),
            f"http://127.0.0.1:{server.port}",
            f"127.0.0.1:{server.port}",
        ]
        keyring_rows = [line.split() for line in out.splitlines() if line.startswith("  keyring ")]
        assert [row[2] for row in keyring_rows] == [repr(name) for name in names]
        assert [(row[3], " ".join(row[4:])) for row in keyring_rows] == [
            ("-", "not found"),
            ("-", "not found"),
            ("-", "not found"),
            ("****", "found"),  # a stored name: it may be a token `login` took from a URL
        ]
        assert f"=> found: keyring, service '127.0.0.1:{server.port}' (username '****')" in out
        assert "backend kr_backends.JsonFileKeyring" in out
        assert "indexauth store" in out
        assert "outcome: ok (exit code 0)" in out
        assert "1. no Authorization" in out
        assert "2. Basic" in out
        assert SECRET not in out + err
        assert [s.user for s in server.seen] == [None, "alice"]

    def test_json_report(
        self,
        data: Path,
        kr: KeyringStore,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """--json: attempts with source, where, username and outcome; no secret anywhere."""
        server.route("/private/", users={"alice": SECRET})
        url = server.url("/private/simple/")
        kr.set(url, "alice", SECRET)
        code, out, err = run(["check", url, "--json"], capsys, monkeypatch)
        assert code == 0
        report = json.loads(out)
        assert report["outcome"] == "ok"
        assert report["index"]["policy"] == "auto"
        assert report["realm"] == f"http://127.0.0.1:{server.port}"
        assert report["found"] == {
            "source": "keyring (import, backend kr_backends.JsonFileKeyring) "
            f"service {url!r}",
            "username": "****",  # stored, so it may be a token: shown only when given (below)
        }
        assert [a["source"] for a in report["attempts"]][-1] == "keyring"
        assert report["requests"] == [
            {"authorization": "none", "status": 401},
            {"authorization": "basic", "status": 200},
        ]
        assert SECRET not in out + err
        assert "alice" not in out + err
        code, out, err = run(["check", url, "--json", "--username", "alice"], capsys, monkeypatch)
        report = json.loads(out)
        assert report["found"]["username"] == "alice"  # the name you gave is shown back
        assert report["attempts"][-1]["username"] == "alice"

    @pytest.mark.parametrize(
        ("route", "stored", "outcome"),
        [
            ({"prefix": "/p/", "users": ALICE}, None, "missing"),
            ({"prefix": "/p/", "users": ALICE}, "wrong", "rejected"),
            ({"prefix": "/p/", "status": 403}, "wonder-land", "forbidden"),
            ({"prefix": "/p/", "status": 404}, "wonder-land", "not-found"),
            ({"prefix": "/p/", "users": ALICE}, "wonder-land", "ok"),
        ],
    )
    def test_outcome_classes_and_exit_codes(
        self,
        *,
        data: Path,
        server: IndexServer,
        route: dict[str, object],
        stored: str | None,
        outcome: str,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Each class has its own exit code, and a hint when it is not ok."""
        server.route(**route)  # type: ignore[arg-type]
        url = server.url("/p/simple/")
        if stored is not None:
            Store().put(url, "alice", stored)
        code, out, err = run(["check", url], capsys, monkeypatch)
        assert code == EXIT_CODES[outcome], out + err
        assert f"outcome: {outcome} (exit code {code})" in out
        if outcome != "ok":
            assert "hint: " in out
        if outcome == "missing":
            assert f"hint: run `indexauth login {url}`" in out

    def test_incomplete_from_configured_index(
        self,
        data: Path,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A configured index with a username and no password anywhere: incomplete, exit 4."""
        server.route("/p/", users=ALICE)
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_URL", server.url("/p/simple/"))
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_USERNAME", "alice")
        code, out, _ = run(["check", server.url("/p/simple/pkg/")], capsys, monkeypatch)
        assert code == EXIT_CODES["incomplete"]
        assert "'corp'" in out
        assert "environment INDEXAUTH_INDEX_CORP_URL" in out

    def test_policy_never_sends_nothing(
        self,
        data: Path,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """authenticate='never' on a protected index: missing (3), and the hint names the policy."""
        server.route("/p/", users=ALICE)
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_URL", server.url("/p/simple/"))
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_AUTHENTICATE", "never")
        Store().put(server.url("/p/simple/"), "alice", "wonder-land")
        code, out, _ = run(["check", server.url("/p/simple/")], capsys, monkeypatch)
        assert code == EXIT_CODES["missing"]
        assert "authenticate='never'" in out
        assert [s.user for s in server.seen] == [None]

    def test_unreachable(
        self, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Nothing listening: unreachable, exit 8."""
        code, out, _ = run(
            ["check", f"http://127.0.0.1:{closed_port()}/simple/"], capsys, monkeypatch
        )
        assert code == EXIT_CODES["unreachable"]
        assert "outcome: unreachable" in out

    def test_locked_keyring_is_a_source_failure(
        self,
        data: Path,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A locked keyring and nothing else: source-failed, exit 9, the unlock hint."""
        server.route("/p/", users=ALICE)
        use_backend(monkeypatch, "kr_backends.LockedKeyring")
        code, out, _ = run(["check", server.url("/p/simple/")], capsys, monkeypatch)
        assert code == EXIT_CODES["source-failed"]
        assert "failed: the keyring is locked" in out
        assert "unlock your keyring" in out

    def test_corrupt_store_is_a_source_failure(
        self,
        data: Path,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A corrupt store and nothing else: exit 9 naming the file; the file is not touched."""
        server.route("/p/", users=ALICE)
        data.mkdir()
        (data / "credentials.toml").write_text("= nope")
        code, out, _ = run(["check", server.url("/p/simple/")], capsys, monkeypatch)
        assert code == EXIT_CODES["source-failed"]
        assert str(data / "credentials.toml") in out
        assert (data / "credentials.toml").read_text() == "= nope"


class TestStatus:
    """`indexauth status`."""

    def test_json(
        self,
        data: Path,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Configured indexes with their origin, keyring, store, hook and the INDEXAUTH gate."""
        monkeypatch.setenv(
            "INDEXAUTH_INDEX_CORP_URL", "https://u:pw-in-url@pkgs.example.com/simple/"
        )
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_AUTHENTICATE", "always")
        monkeypatch.setenv("INDEXAUTH", "1")
        Store().put("https://h.example/", "a", "b")
        code, out, err = run(["status", "--json"], capsys, monkeypatch)
        assert code == 0, err
        report = json.loads(out)
        assert report["indexes"] == [
            {
                "name": "corp",
                "url": "https://pkgs.example.com/simple/",
                "policy": "always",
                "auth": "basic",
                "program": None,
                "origin": "environment INDEXAUTH_INDEX_CORP_URL",
                # PYTHON_KEYRING_BACKEND (null, from the fixtures) keeps keyring from asking indexauth.
                "integrations": {"keyring_backend": False, "uv_store": None},
            }
        ]
        assert report["store"] == {
            "path": str(data / "credentials.toml"),
            "exists": True,
            "entries": 1,
            "problem": None,
        }
        assert report["hook"]["enabled"] is True
        assert report["hook"]["path"].endswith("indexauth.pth")
        assert report["keyring"]["backend"] == "backend keyring.backends.null.Keyring"
        assert "pw-in-url" not in out + err

    def test_text_is_aligned(
        self, data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Plain text: labels padded to one column, the gate shown as disabled when unset."""
        monkeypatch.setenv("INDEXAUTH", "0")
        code, out, _ = run(["status"], capsys, monkeypatch)
        assert code == 0
        lines = {
            line.split()[0]: line for line in out.splitlines() if line and not line.startswith(" ")
        }
        assert lines["INDEXAUTH"].startswith("INDEXAUTH  disabled (INDEXAUTH='0')")
        assert lines["store"].startswith("store      ")
        assert "no file yet" in lines["store"]


class TestGlobalConfiguration:
    """`status` and `check` read the configuration global mode uses, and its INDEXAUTH rule."""

    def test_status_lists_every_source_with_its_origin(
        self,
        data: Path,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """User config, UV_INDEX, pyproject.toml and INDEXAUTH_INDEX_* all show, each with its origin."""
        user = tmp_path / "user.toml"
        user.write_text(
            '[[index]]\nname = "team"\nurl = "https://team.example/simple/"\n'
            'authenticate = "always"\nusername = "bot"\n',
            "utf-8",
        )
        project = tmp_path / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text(
            '[[tool.uv.index]]\nname = "proj"\nurl = "https://proj.example/simple/"\n'
            '[[tool.uv.index]]\nname = "wheels"\nurl = "./wheelhouse"\nformat = "flat"\n',
            "utf-8",
        )
        monkeypatch.chdir(project)
        monkeypatch.setenv("INDEXAUTH_CONFIG", str(user))
        monkeypatch.setenv("UV_INDEX", "uvidx=https://uv.example/simple/")
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_URL", "https://corp.example/simple/")
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_AUTHENTICATE", "Always")
        code, out, err = run(["status", "--json"], capsys, monkeypatch)
        assert code == 0, err
        assert err == ""
        assert [(i["name"], i["policy"], i["origin"]) for i in json.loads(out)["indexes"]] == [
            ("corp", "always", "environment INDEXAUTH_INDEX_CORP_URL"),
            ("uvidx", "auto", "environment UV_INDEX"),
            ("team", "always", str(user)),
            ("proj", "auto", str(project / "pyproject.toml")),
        ]
        code, out, _ = run(["status"], capsys, monkeypatch)
        assert code == 0
        assert str(user) in out
        assert "https://team.example/simple/" in out

    def test_invalid_configuration_is_one_warning(
        self,
        data: Path,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A bad config file: status still runs, and warns naming the file as global mode does."""
        user = tmp_path / "user.toml"
        user.write_bytes(b'[[index]]\nname = "caf\xe9"\nurl = "https://x.example/simple/"\n')
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("INDEXAUTH_CONFIG", str(user))
        code, out, err = run(["status", "--json"], capsys, monkeypatch)
        assert code == 0
        assert json.loads(out)["indexes"] == []
        assert f"the global configuration is ignored: {user} is not UTF-8 text" in err

    def test_check_uses_the_configured_policy_name_and_username(
        self,
        data: Path,
        tmp_path: Path,
        server: IndexServer,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """check URL under an index from the user config: its name, policy, username and origin."""
        server.route("/p/", users=ALICE)
        user = tmp_path / "user.toml"
        user.write_text(
            f'[[index]]\nname = "team"\nurl = "{server.url("/p/simple/")}"\n'
            'authenticate = "always"\nusername = "alice"\n',
            "utf-8",
        )
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("INDEXAUTH_CONFIG", str(user))
        Store().put(server.url("/p/simple/"), "alice", "wonder-land")
        Store().put(server.url("/p/simple/"), "mallory", "not-this-one")
        code, out, err = run(["check", "--json", server.url("/p/simple/pkg/")], capsys, monkeypatch)
        assert code == EXIT_CODES["ok"], out + err
        report = json.loads(out)
        assert report["index"] == {
            "name": "team",
            "url": server.url("/p/simple/"),
            "policy": "always",
            "username": "alice",
            "origin": str(user),
        }
        # authenticate = "always": the credentials go with the first request, no 401 first.
        assert [s.user for s in server.seen] == ["alice"]

    @pytest.mark.parametrize(
        ("value", "enabled"),
        [("1", True), ("TRUE", True), (" on ", True), ("yes", True), ("2", False),
         ("0", False), ("false", False), ("", False), ("enabled", False)],
    )
    def test_status_gate_follows_the_hook(
        self,
        data: Path,
        value: str,
        enabled: bool,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """status says enabled exactly when the start-up hook would install (INDEXAUTH=2: no)."""
        monkeypatch.setenv("INDEXAUTH", value)
        code, out, _ = run(["status", "--json"], capsys, monkeypatch)
        assert code == 0
        assert json.loads(out)["hook"]["enabled"] is enabled


class TestConsoleScript:
    """The installed `indexauth` script and `python -m indexauth`."""

    def test_login_token_check_through_the_script(self, data: Path, server: IndexServer) -> None:
        """A real login via a pipe, then token and check, each a separate process."""
        server.route("/p/", users={"alice": SECRET})
        url = server.url("/p/simple/")
        done = script("login", url, "--username", "alice", "--password-stdin", stdin=SECRET + "\n")
        assert done.returncode == 0, done.stderr
        assert SECRET not in done.stdout + done.stderr
        done = script("token", url)
        assert (done.returncode, done.stdout) == (0, SECRET + "\n")
        done = script("check", url)
        assert done.returncode == 0, done.stdout + done.stderr
        assert SECRET not in done.stdout + done.stderr

    def test_concurrent_logins_lose_nothing(self, data: Path) -> None:
        """Six `indexauth login` processes at once: all six entries are in the store."""
        procs = [
            subprocess.Popen(
                [
                    "indexauth",
                    "login",
                    f"https://h{i}.example/simple/",
                    "-u",
                    f"user{i}",
                    "--password-stdin",
                    "--store",
                    "file",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(6)
        ]
        results = [p.communicate(f"pw{i}", timeout=60) for i, p in enumerate(procs)]
        assert [p.returncode for p in procs] == [0] * 6, results
        assert sorted((c.username, c.password) for c in Store().load()) == [
            (f"user{i}", f"pw{i}") for i in range(6)
        ]

    def test_no_tty_error_through_the_script(self, data: Path) -> None:
        """Without a terminal and without flags the script exits 2 with the flag to use."""
        done = script("login", "https://h.example/simple/", "-u", "alice")
        assert done.returncode == 2
        assert "--password-stdin" in done.stderr
        assert len(done.stderr.splitlines()) == 2  # what, then the hint

    @pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
    @pytest.mark.parametrize(
        ("argv", "prompt", "answer", "exit_code"),
        [
            (["login", URL], b"Username: ", b"\x04", 2),
            (["login", URL, "-u", "alice"], b"Password for alice: ", b"\x04", 2),
            (["login", URL], b"Username: ", b"\x03", 130),
            (["login", URL, "-u", "alice"], b"Password for alice: ", b"\x03", 130),
        ],
    )
    def test_ctrl_d_or_ctrl_c_at_the_prompt(
        self, data: Path, argv: list[str], prompt: bytes, answer: bytes, exit_code: int
    ) -> None:
        """Ctrl-D or Ctrl-C at a prompt on a real terminal: one line, nothing stored, exit 2/130."""
        code, shown = on_a_terminal(argv, answer, prompt)
        assert code == exit_code, shown
        assert "Traceback" not in shown
        assert "nothing was stored" in shown
        assert len([line for line in shown.splitlines() if "indexauth:" in line]) == 1, shown
        assert not (data / "credentials.toml").exists()

    @pytest.mark.parametrize(
        ("user", "prompt"),
        [("glpat-Zx81Secret", b"Password for ****: "), ("__token__", b"Password for __token__: ")],
    )
    def test_prompt_for_a_url_user_part(self, data: Path, user: str, prompt: bytes) -> None:
        """`login https://NAME@host/` takes NAME as the user name, as uv does, and its password
        prompt on the terminal hides NAME (it may be a pasted token), unless it is conventional."""
        code, shown = on_a_terminal(["login", f"https://{user}@h.example/simple/"], b"\x04", prompt)
        assert code == 2, shown
        assert prompt.decode() in shown
        assert ("glpat" in shown) is False
        assert not (data / "credentials.toml").exists()

    def test_undecodable_stdin_is_a_usage_error(self, data: Path) -> None:
        """Bytes that are not UTF-8 on stdin: exit 2, no traceback, nothing stored."""
        done = subprocess.run(
            ["indexauth", "login", "https://h.example/simple/", "-u", "a", "--password-stdin"],
            input=b"\xff\xfe\xfa",
            capture_output=True,
            timeout=60,
            check=False,
            env={**os.environ, "PYTHONUTF8": "1"},
        )
        assert done.returncode == 2, done.stderr
        assert b"Traceback" not in done.stderr
        assert not (data / "credentials.toml").exists()

    @pytest.mark.parametrize(
        "argv",
        [
            ["login", "https://h.example/simple/", "-u", "a", "--password-stdin"],
            ["logout", "https://h.example/simple/"],
        ],
    )
    def test_hanging_keyring_is_cut_off(self, data: Path, argv: list[str]) -> None:
        """A keyring that never answers: exit 1 after --timeout, naming the unlock prompt."""
        done = subprocess.run(
            ["indexauth", *argv, "--timeout", "0.5"],
            input="pw",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PYTHON_KEYRING_BACKEND": "kr_cli_backends.HangingKeyring"},
        )
        assert done.returncode == 1, done.stderr
        assert "did not answer within 0.5 s" in done.stderr
        assert not (data / "credentials.toml").exists()

    def test_python_dash_m_and_version(self) -> None:
        """`python -m indexauth --version` works like the script."""
        done = subprocess.run(
            [sys.executable, "-m", "indexauth", "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0
        assert done.stdout.startswith("indexauth ")

    def test_demo_offline_without_keyring(self, tmp_path: Path) -> None:
        """`indexauth demo`, as installed, with no keyring at all: every outcome in under 40 lines.

        It shows a stored login sent up front and `always`, then the five failures with `check`'s exit
        code and the error's first line, and the exact keyring service names in order.
        """
        env = {**os.environ, "HOME": str(tmp_path), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        done = subprocess.run(
            ["indexauth", "demo"], capture_output=True, text=True, timeout=120, check=False, env=env
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stderr == ""
        lines = done.stdout.splitlines()
        assert len(lines) < 40
        url = re.search(r"at (http://127\.0\.0\.1:(\d+)/simple/)", lines[0])
        assert url is not None
        base, port = url.group(1)[: -len("/simple/")], url.group(2)
        names = [f"{base}/simple/", f"{base}/simple", base, f"127.0.0.1:{port}", "127.0.0.1"]
        assert ", ".join(repr(n) for n in names) in done.stdout
        assert "GET /simple/pkg-a/   Basic, user 'demo'   -> 200" in done.stdout
        assert "GET /simple/pkg-b/   Basic, user 'demo'   -> 200" in done.stdout
        expected = [
            ("missing", 3, "MissingCredentialsError: no credentials found", "answered 401"),
            ("incomplete", 4, "IncompleteCredentialsError: username 'demo' found but no password", "answered 401"),
            ("rejected", 5, "CredentialsRejectedError: credentials for", "refused with 401 Unauthorized"),
            ("forbidden", 6, "ForbiddenError: credentials for", "refused with 403 Forbidden"),
            ("404", 3, "MissingCredentialsError: no credentials found", "answered 404"),
        ]
        outcomes = [i for i, line in enumerate(lines) if "$ indexauth check " in line]
        assert len(outcomes) == len(expected)
        for i, (label, code, first, detail) in zip(outcomes, expected, strict=True):
            assert lines[i].lstrip().startswith(f"{label} ("), lines[i]
            assert lines[i + 1].lstrip().startswith(f"exit {code}, {first}"), lines[i + 1]
            assert detail in lines[i + 1]
        assert "did not behave as described" not in done.stdout
def test_demo_in_process_restores_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """main(["demo"]) works in process and leaves os.environ as it found it."""
    before = dict(os.environ)
    code, out, _ = run(["demo"], capsys, monkeypatch)
    assert code == 0, out
    assert "GET /simple/pkg-a/   Basic, user 'demo'   -> 200" in out
    assert dict(os.environ) == before


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    from indexauth._cli import _parser

    parser = _parser()
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_subcommand_and_option_has_one_line_of_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`indexauth --help` lists every command with text, and each command's `--help` gives every
    argument (URL, --username, --json, ...) one line of its own."""
    from indexauth._cli import _parser

    (sub,) = (a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    described = {choice.dest: choice.help for choice in sub._choices_actions}
    for name, parser in _subcommands().items():
        assert described.get(name), f"`indexauth {name}` has no line in `indexauth --help`"
        for action in parser._actions:
            label = "/".join(action.option_strings) or action.metavar or action.dest
            assert action.help and action.help != argparse.SUPPRESS, (
                f"`indexauth {name} {label}` has no help text"
            )
            assert "\n" not in action.help, f"`indexauth {name} {label}`: help is one line"
        code, out, _ = run([name, "--help"], capsys, monkeypatch)
        assert code == 0
        for action in parser._actions:
            assert (action.help or "").split("%")[0][:20] in " ".join(out.split())


def test_check_and_status_show_the_program_never_its_output(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    server: IndexServer,
    standin: Callable[[str], StandIn],
) -> None:
    """check --json says which command ran, how long, when it expires, refreshed or not; status names it."""
    standin("get-token").tokens("tok-PLANTED-1", "tok-PLANTED-2")
    server.route("/private/", users={"ci": "tok-PLANTED-2"})
    monkeypatch.setenv("INDEXAUTH_INDEX_CORP_URL", server.url("/private/simple/"))
    monkeypatch.setenv("INDEXAUTH_INDEX_CORP_USERNAME", "ci")
    monkeypatch.setenv("INDEXAUTH_INDEX_CORP_AUTHENTICATE", "always")
    monkeypatch.setenv("INDEXAUTH_INDEX_CORP_PASSWORD_COMMAND", "get-token --secret-arg")
    code, out, err = run(["check", server.url("/private/simple/x/"), "--json"], capsys, monkeypatch)
    assert "PLANTED" not in out + err and "secret-arg" not in out + err
    report = json.loads(out)
    assert code == 0, report
    program = report["program"]
    assert program["kind"] == "password command" and program["program"] == "get-token"
    assert program["ran"] is True and program["refreshed"] is True  # tok-1 refused, run again
    assert program["expires"] is None and program["seconds"] >= 0
    code, out, err = run(["check", server.url("/private/simple/x/")], capsys, monkeypatch)
    assert "password command `get-token`: ran in" in out and "PLANTED" not in out + err
    code, out, err = run(["status"], capsys, monkeypatch)
    assert "always, password command `get-token`" in out
