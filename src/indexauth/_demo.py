"""`indexauth demo`: a password-protected index on 127.0.0.1 and the real adapter against it.

It needs no network and no keyring: the server runs in this process, the
credentials go into a temporary indexauth store (as `indexauth login` would
write them) or the environment, and the keyring and netrc are turned off.
Nothing it prints holds the demo password.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ._models import Index
from ._store import Store

__all__ = ["run_demo"]

USER = "demo"


class _Server:
    """A tiny index: `/simple/...` wants Basic demo:<password>; it logs what it saw."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.seen: list[tuple[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass  # the demo prints its own lines

            def do_GET(self) -> None:
                auth = self.headers.get("Authorization")
                user = _basic_user(auth)
                shown = "no Authorization" if auth is None else f"Basic, user {user!r}"
                ok = auth == _basic(USER, server.password)
                status = 200 if ok else 401
                server.seen.append((self.path, f"{shown:<24} -> {status}"))
                body = b"<html><body>a package page</body></html>" if ok else b"who are you?"
                self.send_response(status)
                if not ok:
                    self.send_header("WWW-Authenticate", 'Basic realm="indexauth demo"')
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/simple/"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def drain(self) -> list[tuple[str, str]]:
        seen, self.seen = self.seen, []
        return seen

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _basic_user(auth: str | None) -> str | None:
    if not auth or not auth.startswith("Basic "):
        return None
    try:
        return base64.b64decode(auth[6:]).decode("utf-8").partition(":")[0]
    except ValueError:
        return None


@contextlib.contextmanager
def _environ(**values: str | None) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_demo() -> int:  # noqa: PLR0915 - a script, read top to bottom
    """Run the walk-through, printing each step; 0 when every step behaved as described."""
    try:
        import requests  # noqa: PLC0415 - the demo shows the requests adapter
    except ImportError:
        print(
            "indexauth: error: the demo uses the requests adapter, and requests is not installed\n"
            "  hint: pip install 'indexauth[requests]'"
        )
        return 1
    from ._requests import IndexAuthAdapter  # noqa: PLC0415

    password = secrets.token_urlsafe(12)
    server = _Server(password)
    url = server.url
    failures = 0

    def session(index: Index) -> requests.Session:
        s = requests.Session()
        s.trust_env = False  # a proxy from the environment must not see the local demo
        s.mount("http://", IndexAuthAdapter([index], keyring_provider="disabled", netrc=False))
        return s

    def get(s: requests.Session, package: str, expect: str) -> None:
        nonlocal failures
        print(f"   session.get('{url}{package}/')")
        error: Exception | None = None
        try:
            response = s.get(f"{url}{package}/", timeout=10)
            result = f"returned {response.status_code}"
        except requests.RequestException as exc:
            result, error = f"raised {type(exc).__name__}", exc
        for path, line in server.drain():
            print(f"     server saw GET {path:<22} {line}")
        if error is not None:
            print(f"   {result}:")
            for line in str(error).splitlines():
                print(f"     {line}")
        if not result.endswith(expect):
            failures += 1
            print(f"   !! expected it to {'return' if expect.isdigit() else 'raise'} {expect}")
        elif result.startswith("returned"):
            print(f"   {result}")

    with (
        tempfile.TemporaryDirectory(prefix="indexauth-demo-") as data,
        _environ(
            INDEXAUTH_DATA_DIR=data,
            INDEXAUTH_INDEX_DEMO_USERNAME=None,
            INDEXAUTH_INDEX_DEMO_PASSWORD=None,
            UV_INDEX_DEMO_USERNAME=None,
            UV_INDEX_DEMO_PASSWORD=None,
        ),
    ):
        try:
            print(f"indexauth demo: a password-protected index at {url} (user {USER!r})")
            print(
                "Nothing leaves this machine; your keyring, netrc and stored logins are not used."
            )
            print()
            print("1. Lazy authentication (authenticate='auto', the default)")
            print(f"   $ indexauth login {url} --username {USER} --password-stdin")
            Store().put(url, USER, password)
            print("     (done for you, into a temporary indexauth store)")
            print(f"   adapter = IndexAuthAdapter([Index('{url}', name='demo')])")
            lazy = session(Index(url, name="demo"))
            get(lazy, "demo-package", "200")
            print("   The first request went out without credentials; on the 401 indexauth looked")
            print("   them up once and retried. From now on it sends them up front:")
            get(lazy, "other-package", "200")
            print()
            print("2. Eager authentication (authenticate='always')")
            print(f"   adapter = IndexAuthAdapter([Index('{url}', authenticate='always')])")
            get(session(Index(url, name="demo", authenticate="always")), "demo-package", "200")
            print(
                "   No anonymous request at all: use this for GitLab, Artifactory or Nexus, which"
            )
            print("   otherwise answer from PyPI or with 404.")
            print()
            print("3. Missing credentials")
            print(f"   $ indexauth logout {url}")
            Store().remove(url)
            get(session(Index(url, name="demo")), "demo-package", "MissingCredentialsError")
            print()
            print("4. Rejected credentials")
            print(
                "   $ export INDEXAUTH_INDEX_DEMO_USERNAME=demo INDEXAUTH_INDEX_DEMO_PASSWORD=wrong"
            )
            with _environ(
                INDEXAUTH_INDEX_DEMO_USERNAME=USER,
                INDEXAUTH_INDEX_DEMO_PASSWORD="wrong",  # noqa: S106 - wrong on purpose
            ):
                get(session(Index(url, name="demo")), "demo-package", "CredentialsRejectedError")
            print()
            print("Next: `indexauth login URL` for your own index, then `indexauth check URL`.")
        finally:
            server.stop()
    if failures:
        print(f"indexauth: error: {failures} step(s) did not behave as described")
        return 1
    return 0
