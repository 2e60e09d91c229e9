"""`indexauth demo`: a password-protected index on 127.0.0.1, the real adapter and `check` against it.

It needs no network and no keyring: the server runs in this process, the
credentials go into a temporary indexauth store (as `indexauth login` would
write them), and keyring, netrc and your own stored logins are turned off.
It shows lazy and eager authentication, then the five failures indexauth
tells apart, each with `indexauth check`'s exit code and the error's first
line, in under 40 lines. Nothing it prints holds the demo password.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._models import Index
from ._store import Store
from ._urls import service_names

__all__ = ["run_demo"]

USER = "demo"


class _Server:
    """A tiny index that wants Basic demo:<password>; it logs what it saw.

    - `/simple/`: 401 to anything else (most servers);
    - `/forbidden/simple/`: 401 when anonymous, 403 to a wrong password (pypiserver, Nexus);
    - `/gitlab/simple/`: 404 when anonymous, as GitLab answers for a private project.
    """

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
                if auth == _basic(USER, server.password):
                    status = 200
                elif auth is None and self.path.startswith("/gitlab/"):
                    status = 404
                elif auth is not None and self.path.startswith("/forbidden/"):
                    status = 403
                else:
                    status = 401
                server.seen.append((self.path, f"{shown:<20} -> {status}"))
                body = b"<html><body>a package page</body></html>" if status == 200 else b"no"
                self.send_response(status)
                if status == 401:
                    self.send_header("WWW-Authenticate", 'Basic realm="indexauth demo"')
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.url = f"{self.base}/simple/"
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


@contextlib.contextmanager
def _quiet_log() -> Iterator[None]:
    # The adapter logs each diagnosis as a warning; the demo prints its own lines.
    log = logging.getLogger("indexauth")
    handler, propagate = logging.NullHandler(), log.propagate
    log.addHandler(handler)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.propagate = propagate


def _check(argv: list[str]) -> tuple[int, dict[str, Any]]:
    """`indexauth check ARGV --json` in this process: its exit code and report."""
    from ._cli import main  # noqa: PLC0415 - the CLI imports this module lazily too

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", *argv, "--keyring-provider", "disabled", "--json"])
    try:
        report = json.loads(out.getvalue())
    except ValueError:
        report = {"detail": (err.getvalue().strip() or "no output").splitlines()[0]}
    return code, report


# The five failures: (label, path under the server, --username, stored password, exit code,
# error class, why). The exit codes are `indexauth check`'s (docs/cli.md).
_FAILURES = (
    ("missing", "/simple/", None, None, 3, "MissingCredentialsError", "nothing stored, 401"),
    ("incomplete", "/simple/", USER, None, 4, "IncompleteCredentialsError", "a username only"),
    ("rejected", "/simple/", None, "wrong", 5, "CredentialsRejectedError", "wrong password, 401"),
    ("forbidden", "/forbidden/simple/", None, "wrong", 6, "ForbiddenError", "403, as Nexus says"),
    ("404", "/gitlab/simple/", None, None, 3, "MissingCredentialsError", "GitLab's 404: log in"),
)


def run_demo() -> int:  # noqa: PLR0915 - a script, read top to bottom
    """Run the walk-through, printing each step; 0 when every step behaved as described."""
    try:
        import requests  # noqa: PLC0415 - the demo shows the requests adapter
    except ImportError:
        print(
            "indexauth: error: the demo uses the requests adapter, and requests is not installed\n"
            "  hint: pip install 'indexauth[requests]' (from a clone: pip install '.[requests]')"
        )
        return 1
    from . import diagnosis  # noqa: PLC0415
    from ._requests import IndexAuthAdapter  # noqa: PLC0415

    password = secrets.token_urlsafe(12)
    server = _Server(password)
    url = server.url
    failures: list[str] = []

    def session(index: Index) -> requests.Session:
        s = requests.Session()
        s.trust_env = False  # a proxy from the environment must not see the local demo
        adapter = IndexAuthAdapter(
            [index], keyring_provider="disabled", netrc=False, raise_on_failure=False
        )
        s.mount("http://", adapter)
        return s

    def get(
        s: requests.Session, index: Index, package: str, note: str | None = ""
    ) -> Exception | None:
        response = s.get(f"{index.url}{package}/", timeout=10)
        for path, line in server.drain():
            if note is not None:
                print(f"   GET {path:<16} {line}  {note}".rstrip())
                note = ""
        return diagnosis(response)

    with (
        tempfile.TemporaryDirectory(prefix="indexauth-demo-") as data,
        _environ(INDEXAUTH_DATA_DIR=data, NETRC=os.path.join(data, "no-netrc")),
        _quiet_log(),
    ):
        try:
            names = ", ".join(repr(name) for name in service_names(url))
            print(f"indexauth demo: a protected index at {url} (user {USER!r}), offline;")
            print("your keyring, netrc and stored logins are not used. keyring would be asked,")
            print(f"in this order: {names}")
            print()
            print(f"1. Lazy (authenticate='auto'), after `indexauth login {url} -u {USER}`:")
            Store().put(url, USER, password)
            lazy = Index(url)
            lazy_session = session(lazy)
            get(lazy_session, lazy, "pkg-a", "(challenged: one lookup, one retry)")
            get(lazy_session, lazy, "pkg-b", "(sent up front from now on)")
            print("2. Eager (authenticate='always'): no anonymous request, for GitLab or Nexus")
            eager = Index(url, authenticate="always")
            get(session(eager), eager, "pkg-a")
            Store().remove(url)
            print()
            print("3. The five failures, as `indexauth check URL` reports them (exit code, first line):")
            for label, path, username, stored, code, cls, why in _FAILURES:
                index_url = server.base + path
                if stored is not None:
                    Store().put(index_url, USER, stored)
                argv = [index_url] + (["--username", username] if username else [])
                print(f"   {label} ({why}): $ indexauth check {' '.join(argv)}")
                index = Index(index_url, username=username)
                error = get(session(index), index, "pkg", None)
                got, report = _check(argv)
                server.drain()
                name = type(error).__name__ if error is not None else "no error"
                print(f"     exit {got}, {name}: {report.get('detail', '')}")
                if got != code or name != cls:
                    failures.append(f"{label}: expected exit {code} and {cls}")
                if stored is not None:
                    Store().remove(index_url)
            print()
            print("Next: `indexauth login URL` for your own index, then `indexauth check URL`;")
            print("each error's hint links to its section of docs/errors.md.")
        finally:
            server.stop()
    for failure in failures:
        print(f"indexauth: error: the demo did not behave as described: {failure}")
    return 1 if failures else 0
