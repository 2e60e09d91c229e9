"""indexauth with requests, runnable as is: it starts its own protected index on 127.0.0.1.

    python examples/requests_session.py

The index answers 401 to anonymous requests and wants alice / wonder-land.
The password comes from the environment, as it would in CI.

It needs the requests extra (`pip install '.[requests]'` in the clone); without it,
it says so in one line instead of a traceback.
"""

from __future__ import annotations

import base64
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import requests
except ImportError:
    sys.exit("examples/requests_session.py needs requests: pip install '.[requests]' in the indexauth clone")

import indexauth

EXPECTED = "Basic " + base64.b64encode(b"alice:wonder-land").decode()


class Index(BaseHTTPRequestHandler):
    """A one-route private index: /simple/ wants Basic alice:wonder-land."""

    def do_GET(self) -> None:
        ok = self.headers.get("Authorization") == EXPECTED
        body = b"<a href='demo-1.0.tar.gz'>demo-1.0.tar.gz</a>" if ok else b"login required"
        self.send_response(200 if ok else 401)
        if not ok:
            self.send_header("WWW-Authenticate", 'Basic realm="demo"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        print(f"  server saw: {self.command} {self.path} -> {args[1]}")


def main() -> None:
    """Fetch a package page from the protected index, first without, then with credentials."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/simple/"

    session = requests.Session()
    session.mount("http://", indexauth.IndexAuthAdapter([indexauth.Index(url, name="internal")]))

    print("1. No credentials anywhere:")
    try:
        session.get(url + "demo/", timeout=10)
    except indexauth.MissingCredentialsError as exc:
        print(f"  MissingCredentialsError:\n    {str(exc).replace(chr(10), chr(10) + '    ')}")

    print("2. INDEXAUTH_INDEX_INTERNAL_USERNAME / _PASSWORD set:")
    os.environ["INDEXAUTH_INDEX_INTERNAL_USERNAME"] = "alice"
    os.environ["INDEXAUTH_INDEX_INTERNAL_PASSWORD"] = "wonder-land"
    session = requests.Session()
    session.mount("http://", indexauth.IndexAuthAdapter([indexauth.Index(url, name="internal")]))
    response = session.get(url + "demo/", timeout=10)
    print(f"  {response.status_code}: {response.text}")
    server.shutdown()


if __name__ == "__main__":
    main()
