"""A real HTTP server on 127.0.0.1 for the tests: protected paths, challenges, redirects.

Each route is a path prefix with what it demands. The server records every
request it sees, with the Authorization header it carried, so tests assert
what went over the wire, not only what the client returned.
"""

from __future__ import annotations

import base64
import hashlib
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    """What the server does under one path prefix."""

    prefix: str
    users: dict[str, str] | None = None  # None: public
    anonymous: int = 401  # status for a request without credentials
    wrong: int = 401  # status for wrong credentials
    status: int = 200  # status when allowed
    redirect: str | None = None  # Location to send (302) when allowed
    body: bytes = b"ok"
    challenge: bool = True  # send WWW-Authenticate with the 401
    www_authenticate: str = 'Basic realm="index"'  # the challenge sent with the 401
    accept: tuple[str, ...] = ("Basic",)  # schemes whose credentials are checked: Basic, Digest
    # Whole headers that are let in, name -> accepted values: bearer tokens
    # ("Authorization": ["Bearer t"]) or custom ones ("X-JFrog-Art-Api": ["key"]).
    tokens: dict[str, list[str]] | None = None


@dataclass
class Seen:
    """One request as the server saw it."""

    method: str
    path: str
    authorization: str | None
    body: bytes
    host: str
    client_port: int = 0
    headers: dict[str, str] = field(default_factory=dict)  # every header, names lower-cased

    @property
    def scheme(self) -> str | None:
        """The Authorization scheme (`Basic`, `Digest`, ...), if any."""
        return self.authorization.split(" ", 1)[0] if self.authorization else None

    @property
    def user(self) -> str | None:
        """The Basic username, if any."""
        if not self.authorization or not self.authorization.startswith("Basic "):
            return None
        return base64.b64decode(self.authorization[6:]).decode().partition(":")[0]


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when 100 clients connect at
    # once (the concurrency tests); dropped SYNs are retried only after seconds.
    request_queue_size = 256


@dataclass
class IndexServer:
    """The server, its routes and what it saw."""

    routes: list[Route] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    _httpd: Any = None

    def route(self, prefix: str, **kwargs: Any) -> Route:
        """Add a route; longer prefixes win."""
        route = Route(prefix, **kwargs)
        self.routes.append(route)
        self.routes.sort(key=lambda r: len(r.prefix), reverse=True)
        return route

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        """An http URL on this server."""
        return f"http://{host}:{self.port}{path}"

    def start(self) -> IndexServer:
        """Start serving on a free port of 127.0.0.1."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body leave in two writes; without this, Nagle and delayed ACK
                # add 40 ms to every keep-alive request.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = self._read_chunked()
                else:
                    body = self.rfile.read(length) if length else b""
                auth = self.headers.get("Authorization")
                server.seen.append(
                    Seen(
                        self.command,
                        self.path,
                        auth,
                        body,
                        self.headers.get("Host", ""),
                        self.client_address[1],
                        {k.lower(): v for k, v in self.headers.items()},
                    )
                )
                route = next((r for r in server.routes if self.path.startswith(r.prefix)), None)
                if route is None:
                    return self._reply(404, b"no route")
                if route.users is not None or route.tokens is not None:
                    tokens = route.tokens or {}
                    offered = [n for n in tokens if self.headers.get(n) is not None]
                    if auth is None and not offered:
                        return self._reply(route.anonymous, b"who are you", challenge=route)
                    let_in = any(self.headers.get(n) in tokens[n] for n in offered) or (
                        auth is not None
                        and route.users is not None
                        and self._allowed(auth, route, self.command)
                    )
                    if not let_in:
                        return self._reply(route.wrong, b"bad credentials", challenge=route)
                if route.redirect is not None:
                    return self._reply(302, b"", location=route.redirect)
                return self._reply(route.status, route.body + b" " + body)

            def _read_chunked(self) -> bytes:
                out = b""
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()

            @staticmethod
            def _allowed(auth: str, route: Route, method: str) -> bool:
                users = route.users or {}
                if auth.startswith("Digest ") and "Digest" in route.accept:
                    return _digest_ok(auth[7:], users, method)
                if not auth.startswith("Basic ") or "Basic" not in route.accept:
                    return False
                try:
                    pair = base64.b64decode(auth[6:]).decode("utf-8")
                except ValueError:
                    return False
                user, _, password = pair.partition(":")
                return users.get(user) == password

            def _reply(
                self, status: int, body: bytes, *, challenge: Route | None = None, location: str = ""
            ) -> None:
                self.send_response(status)
                if status == 401 and challenge is not None and challenge.challenge:
                    self.send_header("WWW-Authenticate", challenge.www_authenticate)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = _handle

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def auths(self) -> list[str | None]:
        """The Authorization header of each request seen, in order."""
        return [s.authorization for s in self.seen]


# The nonce of every Digest challenge the tests send (RFC 7616, MD5, qop=auth).
DIGEST_NONCE = "dcd98b7102dd2f0e8b11d0f600bfb0c093"
DIGEST_CHALLENGE = f'Digest realm="index", qop="auth", nonce="{DIGEST_NONCE}", algorithm=MD5'


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - Digest's own hash, in a test server


def _digest_ok(params_text: str, users: dict[str, str], method: str) -> bool:
    """Whether a Digest `Authorization` (its parameters) answers our challenge for one of *users*."""
    params = {k: q or t for k, q, t in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', params_text)}
    password = users.get(params.get("username", ""))
    if password is None or params.get("nonce") != DIGEST_NONCE:
        return False
    ha1 = _md5(f"{params['username']}:{params.get('realm', '')}:{password}")
    ha2 = _md5(f"{method}:{params.get('uri', '')}")
    if params.get("qop"):
        parts = [ha1, DIGEST_NONCE, params.get("nc", ""), params.get("cnonce", ""), params["qop"], ha2]
        return params.get("response") == _md5(":".join(parts))
    return params.get("response") == _md5(f"{ha1}:{DIGEST_NONCE}:{ha2}")
