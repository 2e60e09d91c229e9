"""A tiny protected package index on 127.0.0.1 for the examples (stdlib only).

Everything under /simple/ and /files/ wants Basic credentials alice:wonder-land;
each request is printed as the server saw it (username only, never the password).
"""

from __future__ import annotations

import base64
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USERNAME, PASSWORD = "alice", "wonder-land"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        user = None
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            if (user, password) != (USERNAME, PASSWORD):
                user = f"{user} (wrong password)"
        ok = user == USERNAME
        # One write per line: print() writes the newline separately, and concurrent requests
        # (httpx_async.py) ran their lines together.
        sys.stdout.write(f"  server: GET {self.path} as {user or 'anonymous'} -> {200 if ok else 401}\n")
        body = f"<a href='/files/demo-1.0.tar.gz'>demo-1.0</a> for {self.path}".encode()
        self.send_response(200 if ok else 401)
        if not ok:
            self.send_header("WWW-Authenticate", 'Basic realm="demo"')
            body = b"who are you?"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def start() -> tuple[str, ThreadingHTTPServer]:
    """Serve on a free port of 127.0.0.1 in a daemon thread; return the base URL and server."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}", httpd
