"""A challenge body cannot hold the caller (issue 9.5): endless and huge 401 bodies, every driver.

No timing assertions: each test has a pytest timeout (a hang fails it), and the
server counts the bytes it managed to serve.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import requests

import indexauth
from drivers import DRIVERS, Call

HUGE = 1 << 30  # a declared 1 GiB body
BLOCK = b"x" * 16384


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Say nothing: a client dropping a 401 mid-body is what these tests expect."""


class BodyServer:
    """Answers an anonymous request with 401 and an endless or huge body, and `ok` otherwise."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.served = 0  # body bytes of 401s written to sockets
        self.dropped = threading.Event()  # a client closed a 401 mid-body
        self.authorized = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.headers.get("Authorization"):
                    outer.authorized += 1
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    return
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="index"')
                if outer.mode == "endless":
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(HUGE))
                self.end_headers()
                try:
                    while True:
                        if outer.mode == "endless":
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(BLOCK), BLOCK))
                            time.sleep(0.01)  # slow: a drip that never ends
                        else:
                            self.wfile.write(BLOCK)
                        outer.served += len(BLOCK)
                        if outer.served > 4 * HUGE:
                            return  # never reached unless a client reads everything
                except OSError:
                    outer.dropped.set()
                    self.close_connection = True

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str = "/simple/pkg/", user: str = "") -> str:
        """A URL on this server."""
        return f"http://{user}127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(name="body_server", params=["endless", "huge"])
def fixture_body_server(request: pytest.FixtureRequest) -> Iterator[BodyServer]:
    """A server whose 401 bodies never end (slowly) or are 1 GiB."""
    server = BodyServer(request.param)
    yield server
    server.stop()


@pytest.fixture(name="netrc")
def fixture_netrc() -> Path:
    """A ~/.netrc entry for 127.0.0.1: found only after the challenge (netrc is not eager)."""
    path = Path(os.environ["HOME"]) / ".netrc"
    path.write_text("machine 127.0.0.1 login alice password pw\n", "utf-8")
    path.chmod(0o600)
    return path


# Far below a full read of either body; a little above what socket buffers on loopback take.
LIMIT = 64 << 20


def settled(server: BodyServer) -> None:
    """The 401 connection was dropped, and far less than the body was served."""
    assert server.dropped.wait(30), "the server still writes the challenge body"
    assert server.served < LIMIT


@pytest.mark.timeout(90)
@pytest.mark.parametrize("driver_name", list(DRIVERS))
def test_retry_after_an_endless_or_huge_challenge(
    body_server: BodyServer, driver_name: str, netrc: Path
) -> None:
    """Credentials found after the 401: the retry goes out, the 401's body is not read."""
    index = indexauth.Index(body_server.url("/simple/"))
    (result,) = DRIVERS[driver_name]().run(
        [Call(body_server.url())], indexes=[index], options={"keyring_provider": "disabled"}
    )
    assert getattr(result, "status", None) == 200, result
    assert body_server.authorized == 1
    settled(body_server)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("driver_name", list(DRIVERS))
def test_raise_after_an_endless_or_huge_challenge(body_server: BodyServer, driver_name: str) -> None:
    """Nothing found: the error is raised without reading the body."""
    index = indexauth.Index(body_server.url("/simple/"), authenticate="auto")
    driver = DRIVERS[driver_name]()
    (result,) = driver.run(
        [Call(body_server.url())], indexes=[index], options={"keyring_provider": "disabled"}
    )
    assert isinstance(result, indexauth.MissingCredentialsError), result
    settled(body_server)


@pytest.mark.timeout(90)
def test_requests_stream_true(body_server: BodyServer, netrc: Path) -> None:
    """`stream=True` through requests: the retry's response comes back, the 401 is dropped."""
    index = indexauth.Index(body_server.url("/simple/"))
    with requests.Session() as session:
        session.trust_env = False  # requests would send netrc itself, before any challenge
        session.mount("http://", indexauth.IndexAuthAdapter([index], keyring_provider="disabled"))
        with session.get(body_server.url(), stream=True, timeout=10) as response:
            assert response.status_code == 200
            assert response.raw.read() == b"ok"
            assert [r.status_code for r in response.history] == [401]
            assert response.history[0].content == b""
    settled(body_server)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("backend", ["sync", "asyncio"])
def test_httpx_client_stream(body_server: BodyServer, backend: str, netrc: Path) -> None:
    """`client.stream(...)` through httpx, sync and async: the same."""
    index = indexauth.Index(body_server.url("/simple/"))
    if backend == "sync":
        transport = indexauth.IndexAuthTransport([index], keyring_provider="disabled")
        with httpx.Client(transport=transport) as client, client.stream(
            "GET", body_server.url()
        ) as response:
            assert response.status_code == 200
            assert response.read() == b"ok"
    else:

        async def main() -> None:
            transport = indexauth.AsyncIndexAuthTransport([index], keyring_provider="disabled")
            async with httpx.AsyncClient(transport=transport) as client, client.stream(
                "GET", body_server.url()
            ) as response:
                assert response.status_code == 200
                assert await response.aread() == b"ok"

        anyio.run(main)
    settled(body_server)


def test_a_short_challenge_body_keeps_the_connection(netrc: Path) -> None:
    """A 401 with a short declared body is read, so the retry reuses the same connection."""
    ports: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            ports.append(self.client_address[1])
            status, body = (200, b"ok") if self.headers.get("Authorization") else (401, b"no" * 500)
            self.send_response(status)
            self.send_header("WWW-Authenticate", 'Basic realm="x"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/simple/"
        index = indexauth.Index(url)
        for name in DRIVERS:
            ports.clear()
            (result,) = DRIVERS[name]().run(
                [Call(url + "pkg/")], indexes=[index], options={"keyring_provider": "disabled"}
            )
            assert getattr(result, "status", None) == 200, (name, result)
            assert len(ports) == 2
            assert ports[0] == ports[1], name  # one connection: the short body was drained
    finally:
        httpd.shutdown()
        httpd.server_close()
