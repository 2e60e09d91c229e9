"""Real pypiserver indexes for the global-mode tests, mounted under path prefixes on one port.

pypiserver serves one index at `/simple/`; the tests need several on one host
(two indexes with different credentials, one that answers anonymous requests
with 404 as GitLab does). So the real pypiserver WSGI applications, each with
its own htpasswd file (made with passlib) and `authenticate=download,list,update`,
are mounted under prefixes (`SCRIPT_NAME`, so their links carry the prefix)
in one threaded server on 127.0.0.1 that records every request it answers.
"""

from __future__ import annotations

import base64
import io
import sys
import tarfile
import threading
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

with warnings.catch_warnings():
    # pypiserver's bundled bottle imports `cgi`, passlib imports `crypt`: both
    # deprecated on Python 3.11 and 3.12; bottle adds a legacy import hook.
    warnings.simplefilter("ignore")
    import pypiserver
    from passlib.apache import HtpasswdFile
# bottle's `bottle.ext` redirect has no find_spec: every later import in this
# process would raise ImportWarning (an error under our warning filter).
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_ImportRedirect"]

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class Hit:
    """One request as the front saw it."""

    path: str
    user: str | None
    status: int


@dataclass
class Front:
    """Mounted indexes, what they saw, and where they listen."""

    mounts: dict[str, Wsgi] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    port: int = 0
    _server: Any = None

    def url(self, prefix: str) -> str:
        """The simple-index URL of the index mounted at *prefix*."""
        return f"http://127.0.0.1:{self.port}/{prefix}/simple/"

    def under(self, prefix: str) -> list[Hit]:
        """The requests seen under *prefix*."""
        return [hit for hit in self.hits if hit.path.startswith(f"/{prefix}/")]

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        prefix, _, rest = path.lstrip("/").partition("/")
        app = self.mounts.get(prefix)
        user = _user(environ.get("HTTP_AUTHORIZATION"))
        if app is None:
            start("404 Not Found", [("Content-Type", "text/plain")])
            self.hits.append(Hit(path, user, 404))
            return [b"no such index"]
        environ["SCRIPT_NAME"], environ["PATH_INFO"] = f"/{prefix}", f"/{rest}"
        statuses: list[int] = []

        def recording_start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            statuses.append(int(status.split(maxsplit=1)[0]))
            return start(status, headers, *exc)

        result = app(environ, recording_start)
        try:
            body = list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # pypiserver hands out open package files
        self.hits.append(Hit(path, user, statuses[0] if statuses else 0))
        return body

    def start(self) -> Front:
        """Serve in a background thread on a free port."""
        self._server = make_server(
            "127.0.0.1", 0, self, server_class=_ThreadingServer, handler_class=_QuietHandler
        )
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def pypi_app(root: Path, users: dict[str, str]) -> Wsgi:
    """A real pypiserver app over *root* that needs one of *users* for everything."""
    htpasswd = root.parent / f"{root.name}.htpasswd"
    file = HtpasswdFile(str(htpasswd), new=True)
    for user, password in users.items():
        file.set_password(user, password)
    file.save()
    app: Wsgi = pypiserver.app(
        roots=[str(root)],
        password_file=str(htpasswd),
        authenticate=["download", "list", "update"],
        disable_fallback=True,
    )
    return app


def public_app(root: Path) -> Wsgi:
    """A real pypiserver app over *root* that anyone may read (a mirror); 404 for what it lacks."""
    app: Wsgi = pypiserver.app(
        roots=[str(root)], password_file=".", authenticate=[], disable_fallback=True
    )
    return app


def files_hidden_when_anonymous(app: Wsgi, user: str, password: str) -> Wsgi:
    """*app* with public pages, whose files answer 404 without credentials (Artifactory-like)."""
    basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    def wrapped(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        anonymous = not environ.get("HTTP_AUTHORIZATION")
        if anonymous and environ.get("PATH_INFO", "").startswith("/packages/"):
            start("404 Not Found", [("Content-Type", "text/plain")])
            return [b"404 Not Found"]
        if anonymous:
            environ = {**environ, "HTTP_AUTHORIZATION": basic}  # the page is public
        return app(environ, start)

    return wrapped


def not_found_when_anonymous(app: Wsgi) -> Wsgi:
    """*app*, answering 404 instead of 401 to requests without credentials (as GitLab does)."""

    def wrapped(environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("HTTP_AUTHORIZATION"):
            start("404 Not Found", [("Content-Type", "text/plain")])
            return [b"404 Not Found"]
        return app(environ, start)

    return wrapped


def _user(header: str | None) -> str | None:
    if not header or not header.startswith("Basic "):
        return None
    return base64.b64decode(header[6:]).decode().partition(":")[0]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


# -- package fixtures -----------------------------------------------------------


def write_wheel(directory: Path, name: str, files: dict[str, str] | None = None) -> Path:
    """A tiny pure-Python wheel `name-1.0-py3-none-any.whl` with a module `name`."""
    files = files or {f"{name}/__init__.py": f"NAME = {name!r}\n"}
    dist = f"{name}-1.0.dist-info"
    files = {
        **files,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = "".join(f"{path},,\n" for path in files) + f"{dist}/RECORD,,\n"
    path = directory / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in {**files, f"{dist}/RECORD": record}.items():
            archive.writestr(member, text)
    return path


# A PEP 517 backend that builds a wheel of one module; it lives only on the private index.
BACKEND = '''
import os, zipfile

def _name():
    return open("NAME").read().strip()

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = _name()
    dist = name + "-1.0.dist-info"
    filename = name + "-1.0-py3-none-any.whl"
    files = {
        name + ".py": "BUILT = True\\n",
        dist + "/METADATA": "Metadata-Version: 2.1\\nName: " + name + "\\nVersion: 1.0\\n",
        dist + "/WHEEL": "Wheel-Version: 1.0\\nGenerator: privbackend\\n"
        "Root-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    files[dist + "/RECORD"] = "".join(p + ",,\\n" for p in files) + dist + "/RECORD,,\\n"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return filename
'''


def write_backend_sdist(directory: Path, name: str, backend: str) -> Path:
    """An sdist `name-1.0.tar.gz` that needs the build backend *backend* to build."""
    base = f"{name}-1.0"
    files = {
        f"{base}/pyproject.toml": f'[build-system]\nrequires = ["{backend}"]\n'
        f'build-backend = "{backend}"\n',
        f"{base}/NAME": name,
        f"{base}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
    }
    path = directory / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path
