"""A small keep-alive index server for the benchmarks, run in its own process.

    python bench_server.py USER PASSWORD

It prints its port, then serves until stdin closes. Paths under /simple/ and
/files/ want Basic USER:PASSWORD and answer 401 without it; /public/ is open;
/_stats returns what it has seen as JSON and /_reset clears it.
"""

from __future__ import annotations

import base64
import json
import socket
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    """Serve until stdin is closed."""
    user, password = sys.argv[1], sys.argv[2]
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    stats: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body leave in two writes; without this, Nagle and delayed ACK
            # add 40 ms to every keep-alive request.
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/_stats":
                with lock:
                    return self._send(200, json.dumps(stats).encode())
            if self.path == "/_reset":
                with lock:
                    stats.clear()
                return self._send(200, b"{}")
            auth = self.headers.get("Authorization")
            protected = self.path.startswith(("/simple/", "/files/"))
            with lock:
                stats["requests"] += 1
                stats["anonymous"] += auth is None
            if protected and auth != expected:
                with lock:
                    stats["challenges"] += 1
                return self._send(401, b"login required", challenge=True)
            body = b"x" * 512 if self.path.startswith("/files/") else b"<a href='../files/p-1.0.whl'>p</a>"
            return self._send(200, body)

        def _send(self, status: int, body: bytes, *, challenge: bool = False) -> None:
            self.send_response(status)
            if challenge:
                self.send_header("WWW-Authenticate", 'Basic realm="bench"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        request_queue_size = 256  # 200 clients connect at once; the default backlog of 5 drops SYNs

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
