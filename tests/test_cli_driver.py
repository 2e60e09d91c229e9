"""`indexauth check` and `login --check` follow the library's rules (issue 9.4).

Their live request is one more driver of the shared flow (`indexauth._urllib`),
so the netrc rules for URLs you did not configure hold on the wire.
"""

from __future__ import annotations

import io
import os
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from index_server import IndexServer
from indexauth import Index
from indexauth._cli import EXIT_CODES, main
from indexauth._flow import Authenticator
from indexauth._resolver import Resolver
from indexauth._sources import IndexUrlSource
from indexauth._urllib import get

SECRET = "netrc-S3CRET-4c"
DEFAULT = "netrc-D3FAULT-4c"


def netrc(text: str) -> Path:
    """~/.netrc holding *text*, mode 0600."""
    path = Path(os.environ["HOME"]) / ".netrc"
    path.write_text(text, "utf-8")
    path.chmod(0o600)
    return path


def check(url: str, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str]:
    """`indexauth check URL` in process: exit code and everything printed."""
    code = main(["check", url, "--keyring-provider", "disabled", *more])
    out, err = capsys.readouterr()
    return code, out + err


def test_check_sends_no_netrc_password_over_plain_http_off_loopback(
    server: IndexServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`check http://pkgs.example/` (through a proxy on 127.0.0.1): the netrc entry stays home."""
    server.route("http://pkgs.example/", users={"alice": SECRET})
    netrc(f"machine pkgs.example login alice password {SECRET}\n")
    monkeypatch.setenv("HTTP_PROXY", server.url())
    monkeypatch.setenv("http_proxy", server.url())
    code, text = check("http://pkgs.example/simple/", capsys)
    assert server.seen, "the request went through the proxy"
    assert [s.authorization for s in server.seen] == [None]
    assert code == EXIT_CODES["missing"]
    assert "plain http to an unconfigured URL" in text
    assert SECRET not in text


def test_check_never_sends_the_netrc_default_to_a_url_you_did_not_configure(
    server: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """netrc's `default` entry is for your indexes, not for any URL typed at `check`."""
    server.route("/simple/", users={"bob": DEFAULT})
    netrc(f"default login bob password {DEFAULT}\n")
    code, text = check(server.url("/simple/"), capsys)
    assert [s.authorization for s in server.seen] == [None]
    assert code == EXIT_CODES["missing"]
    assert DEFAULT not in text


def test_check_sends_the_netrc_default_to_your_configured_index(
    server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same URL configured in your config.toml: `default` is used, as the library does."""
    server.route("/simple/", users={"bob": DEFAULT})
    netrc(f"default login bob password {DEFAULT}\n")
    config = tmp_path / "config.toml"
    config.write_text(f'[[index]]\nurl = "{server.url("/simple/")}"\n', "utf-8")
    monkeypatch.setenv("INDEXAUTH_CONFIG", str(config))
    code, _text = check(server.url("/simple/"), capsys)
    assert code == EXIT_CODES["ok"]
    # Over plain http netrc waits for the Basic challenge (up front only over https).
    assert [s.user for s in server.seen] == [None, "bob"]


def test_check_sends_nothing_to_a_path_servers_read_differently(
    server: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A URL whose path the flow will not credit is refused before anything is sent."""
    netrc(f"default login bob password {DEFAULT}\n")
    code, text = check(server.url("/simple/..%2f..%2fother/"), capsys)
    assert code == EXIT_CODES["usage"]
    assert server.seen == []
    assert "sends no credentials" in text


@pytest.mark.parametrize(
    "path", ["/a/simple/..%00/..%00/b/", "/a/simple/%c0%ae%c0%ae/b/", "/a/simple/%u002e%u002e/b/"]
)
def test_check_sends_nothing_to_a_dot_segment_in_disguise(
    server: IndexServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    path: str,
) -> None:
    """Under a configured index, a segment some server decodes to `..` gets nothing, not even a request."""
    server.route("/", users={"alice": SECRET})
    monkeypatch.setenv("INDEXAUTH_INDEX_A_URL", server.url("/a/simple/"))
    monkeypatch.setenv("INDEXAUTH_INDEX_A_USERNAME", "alice")
    monkeypatch.setenv("INDEXAUTH_INDEX_A_PASSWORD", SECRET)
    code, text = check(server.url(path), capsys)
    assert [s.authorization for s in server.seen] == []
    assert code == EXIT_CODES["usage"]
    assert "sends no credentials" in text
    assert SECRET not in text


def test_login_check_goes_through_the_flow(
    server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`login --check` sends what you typed, once, up front; a refusal stores nothing."""
    monkeypatch.setenv("INDEXAUTH_DATA_DIR", str(tmp_path / "data"))
    server.route("/simple/", users={"alice": "right"})
    url = server.url("/simple/")
    argv = ["login", url, "--username", "alice", "--password-stdin", "--check", "--store", "file"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("wrong\n"))
    assert main(argv) == EXIT_CODES["rejected"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("right\n"))
    assert main(argv) == EXIT_CODES["ok"]
    assert [s.user for s in server.seen] == ["alice", "alice"]
    assert not (tmp_path / "data" / "credentials.toml").read_text("utf-8").count("wrong")
    capsys.readouterr()


def test_the_urllib_driver_answers_a_challenge(server: IndexServer) -> None:
    """The stdlib driver runs the flow: anonymous, 401, lookup, one retry with the password."""
    server.route("/simple/", users={"alice": "pw"})
    index = Index(server.url("/simple/").replace("http://", "http://alice:pw@"))
    auth = Authenticator([index], Resolver([IndexUrlSource()]))
    outcome, exchange = get(auth, server.url("/simple/pkg/"), timeout=10)
    assert outcome.error is None
    assert exchange.sent == [("basic", 200)]  # userinfo is known up front, as in every driver
    anonymous = Authenticator([Index(server.url("/simple/"))], Resolver([]))
    outcome, exchange = get(anonymous, server.url("/simple/pkg/"), timeout=10)
    assert exchange.sent == [("none", 401)]
    assert outcome.error is not None


DRIP_EVERY = 0.25  # seconds between bytes: well inside a 1 s read timeout, so each read succeeds
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 40\r\n\r\n" + b"x" * 40


@contextmanager
def dripping_server(part: str) -> Iterator[int]:
    """A server on 127.0.0.1 that answers 200 one byte at a time: in its headers, or its body.

    Read whole, the answer takes about 20 s (`DRIP_EVERY` per byte); it stops as soon
    as the client goes away.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    stop = threading.Event()
    head, _, body = ANSWER.partition(b"\r\n\r\n")
    at_once, dripped = (b"", ANSWER) if part == "headers" else (head + b"\r\n\r\n", body)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                try:
                    conn.sendall(at_once)
                    for byte in dripped:
                        if stop.wait(DRIP_EVERY):
                            break
                        conn.sendall(bytes([byte]))
                except OSError:
                    continue  # the client gave up: good

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        listener.close()


@pytest.mark.timeout(60)
def test_check_ends_when_the_server_drips_its_answer(capsys: pytest.CaptureFixture[str]) -> None:
    """A status line and headers dripped one byte at a time cannot hold `check`: they get --timeout."""
    with dripping_server("headers") as port:
        code, text = check(f"http://127.0.0.1:{port}/simple/", capsys, "--timeout", "1")
    assert code == EXIT_CODES["unreachable"], text
    assert "the answer did not arrive whole within 1 s (--timeout)" in text
    assert "Traceback" not in text


@pytest.mark.timeout(60)
def test_check_does_not_wait_for_the_body_of_a_2xx(capsys: pytest.CaptureFixture[str]) -> None:
    """A 200 whose body comes slowly (a big index page on a slow link) is an answer: `check`
    needs its status, not its body, so it neither waits for it nor calls the server unreachable."""
    with dripping_server("body") as port:
        code, text = check(f"http://127.0.0.1:{port}/simple/", capsys, "--timeout", "1")
    assert code == EXIT_CODES["ok"], text
    assert "did not arrive whole" not in text


@pytest.mark.timeout(60)
def test_login_check_ends_when_the_server_drips_its_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`login --check` against a dripping server: unreachable, nothing stored."""
    monkeypatch.setenv("INDEXAUTH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("pw\n"))
    with dripping_server("headers") as port:
        code = main([
            "login", f"http://127.0.0.1:{port}/simple/", "--username", "alice",
            "--password-stdin", "--check", "--store", "file", "--timeout", "1",
        ])
    out, err = capsys.readouterr()
    assert code == EXIT_CODES["unreachable"], out + err
    assert "the answer did not arrive whole within 1 s" in err
    assert not (tmp_path / "data" / "credentials.toml").exists()
