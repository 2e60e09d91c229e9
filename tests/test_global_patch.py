"""install()/uninstall() and the start-up hook, each in a fresh interpreter (a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import TESTS, KeyringStore
from index_server import IndexServer


def python(program: str, *, cwd: Path | None = None, **env: str) -> str:
    """Run *program* in a fresh interpreter of this environment; its stdout (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(program)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        cwd=cwd,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


SNAPSHOT = """
        import sys, requests, requests.sessions, pip._internal.network.session as ps

        def snapshot():
            classes = (requests.Session, ps.PipSession)
            attrs = {(c.__name__, k): v for c in classes for k, v in vars(c).items()}
            return attrs, list(sys.meta_path)
"""


def test_install_uninstall_restore_exactly() -> None:
    """A second install is a no-op, and uninstall restores every attribute and the import system."""
    out = python(
        SNAPSHOT
        + """
        import indexauth
        from indexauth import _patch
        from indexauth._adapter import AdapterDriver
        before = snapshot()
        indexauth.install()
        once = snapshot()
        indexauth.install()
        assert snapshot() == once, "second install changed something"
        print(_patch.patched())
        s = requests.Session()
        assert isinstance(s.adapters["https://"], AdapterDriver)
        assert type(s.adapters["https://"].inner) is requests.adapters.HTTPAdapter
        p = ps.PipSession()
        assert all(isinstance(p.adapters[k], AdapterDriver) for k in ("https://", "http://"))
        assert not isinstance(p.adapters["file://"], AdapterDriver)
        p.add_trusted_host("pkgs.example.com")
        assert isinstance(p.adapters["https://pkgs.example.com/"], AdapterDriver)
        indexauth.uninstall()
        assert snapshot() == before, "uninstall did not restore everything"
        assert _patch.patched() == []
        s = requests.Session()
        assert type(s.adapters["https://"]) is requests.adapters.HTTPAdapter
        print("ok")
        """
    )
    assert out.split("\n")[:2] == [
        "['pip._internal.network.session.PipSession.__init__', "
        "'pip._internal.network.session.PipSession.mount', "
        "'requests.sessions.Session.__init__']",
        "ok",
    ]


def test_install_patches_modules_imported_later() -> None:
    """Modules imported after install() are patched on import; after uninstall() they are not."""
    out = python(
        """
        import sys, indexauth
        from indexauth import _patch
        indexauth.install()
        assert "requests" not in sys.modules
        import requests
        print(_patch.patched())
        print(hasattr(requests.Session.__init__, "__wrapped__"),
              requests.sessions.__loader__.__class__.__name__,
              requests.sessions.__spec__.loader.__class__.__name__)
        indexauth.uninstall()
        import pip._internal.network.session
        print(_patch.patched())
        """
    )
    assert out.splitlines() == [
        "['requests.sessions.Session.__init__']",
        "True SourceFileLoader SourceFileLoader",
        "[]",
    ]


def test_start_up_hook_gate() -> None:
    """`install()` of the start-up module does nothing unless INDEXAUTH is 1/true/yes/on."""
    program = """
        import sys, _indexauth_startup
        _indexauth_startup.install()
        _indexauth_startup.install()
        import requests
        print(sum(type(f).__name__ == "_Finder" for f in sys.meta_path),
              hasattr(requests.Session.__init__, "__wrapped__"))
        """
    for value, expected in (
        ("1", "1 True"),
        ("TRUE", "1 True"),
        (" yes ", "1 True"),
        ("On", "1 True"),
        ("0", "0 False"),
        ("", "0 False"),
        ("false", "0 False"),
    ):
        assert python(program, INDEXAUTH=value).strip() == expected, value


def test_import_indexauth_stays_stdlib_only() -> None:
    """`import indexauth` (and naming install/uninstall) loads no client library."""
    out = python(
        """
        import sys, indexauth
        indexauth.install, indexauth.uninstall
        print(sorted(m for m in ("requests", "httpx", "httpx2", "keyring", "wrapt", "pip")
                     if m in sys.modules))
        """
    )
    assert out.strip() == "[]"


def test_sitecustomize_route(tmp_path: Path) -> None:
    """The one documented sitecustomize.py line turns global mode on where no `.pth` runs."""
    (tmp_path / "sitecustomize.py").write_text(
        (TESTS.parent / "docs" / "sitecustomize.py").read_text("utf-8"), "utf-8"
    )
    program = """
        import sys, requests
        from indexauth._adapter import AdapterDriver
        print(isinstance(requests.Session().adapters["https://"], AdapterDriver))
        """
    path = f"{tmp_path}{os.pathsep}{TESTS}"
    assert python(program, INDEXAUTH="1", PYTHONPATH=path).strip() == "True"
    assert python(program, INDEXAUTH="0", PYTHONPATH=path).strip() == "False"


def test_pip_keyring_provider_and_index_urls_reach_the_flow() -> None:
    """pip's --keyring-provider and a requirements-file -i become the session's flow settings."""
    out = python(
        """
        import indexauth
        indexauth.install()
        import pip._internal.network.session as ps
        s = ps.PipSession(index_urls=["https://pypi.org/simple", "https://a.example/simple/"])
        auth = s.adapters["https://"].authenticator
        print([i.url for i in auth.indexes])
        s.auth.keyring_provider = "disabled"
        s.update_index_urls(["https://b.example/simple/"])
        auth = s.adapters["https://"].authenticator
        print([i.url for i in auth.indexes], [x.name for x in auth.resolver.sources])
        assert s.adapters["http://"].authenticator is auth
        """
    )
    assert out.splitlines() == [
        "['https://a.example/simple/']",
        "['https://b.example/simple/'] ['index URL', 'environment', 'password command', 'credential helper', 'indexauth store', 'uv store', 'netrc']",
    ]


def test_httpx_clients_wrapped_unless_transport_given() -> None:
    """httpx clients get our transport around their own; one you pass is left alone."""
    pytest.importorskip("httpx")
    pytest.importorskip("indexauth._httpx")
    out = python(
        """
        import indexauth
        indexauth.install()
        import httpx
        from indexauth import _patch
        mine = httpx.HTTPTransport()
        print(type(httpx.Client()._transport).__name__,
              httpx.Client(transport=mine)._transport is mine)
        indexauth.uninstall()
        print(type(httpx.Client()._transport).__name__, _patch.patched())
        """
    )
    assert out.splitlines() == ["IndexAuthTransport True", "HTTPTransport []"]


def test_unsupported_pip_is_a_warning_not_a_crash() -> None:
    """A pip older than supported: one warning, PipSession untouched, pip still imports."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(
            """
            import pip
            pip.__version__ = "22.0.4"
            import indexauth
            indexauth.install()
            import pip._internal.network.session as ps
            ps.PipSession()
            print(hasattr(ps.PipSession.__init__, "__wrapped__"))
            """
        )],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert done.stderr.count("indexauth: pip 22.0 is not supported (needs pip >= 23.1)") == 1


def test_httpx_and_httpx2_both_patched_whichever_comes_first() -> None:
    """Importing our httpx driver loads the other library too; both still get wrapped."""
    pytest.importorskip("httpx2")
    for first, second in (("httpx", "httpx2"), ("httpx2", "httpx")):
        out = python(
            f"""
            import indexauth
            indexauth.install()
            import {first}, {second}
            print(type({first}.Client()._transport).__name__, type({second}.Client()._transport).__name__)
            """
        )
        assert out.split() == ["IndexAuthTransport", "IndexAuthTransport"], (first, out)


def test_httpx_mounts_kept_and_own_transport_still_wrapped() -> None:
    """A client given mounts= keeps those transports as they are; its own default is wrapped."""
    out = python(
        """
        import indexauth
        indexauth.install()
        import httpx
        special = httpx.HTTPTransport()
        client = httpx.Client(mounts={"all://special.example": special})
        print(type(client._transport).__name__, any(t is special for t in client._mounts.values()))
        """
    )
    assert out.split() == ["IndexAuthTransport", "True"]


def test_keyring_backend_making_requests_does_not_wait_on_its_own_lookup(
    server: IndexServer, kr: KeyringStore
) -> None:
    """A backend that probes the index (Azure's does) during our lookup gets straight through.

    The probe's 401 must not wait for the lookup it is part of; before the guard followed
    the keyring worker thread, this hung for the whole keyring timeout.
    """
    server.route("/p/", users={"alice": "pw"})
    index = server.url("/p/simple/")
    kr.set(index, "alice", "pw")
    out = python(
        """
        import os, requests, indexauth
        indexauth.install()
        print(requests.get(os.environ["INDEXAUTH_INDEX_P_URL"] + "x/", timeout=20).status_code)
        """,
        INDEXAUTH_INDEX_P_URL=index,
        INDEXAUTH_TEST_PROBE=index,
        PYTHON_KEYRING_BACKEND="kr_global.ProbingKeyring",
    )
    assert out.split() == ["200"]
    assert Path(str(kr.path) + ".probes").read_text("utf-8").split() == ["401"]
    assert [s.user for s in server.seen] == [None, None, "alice"]


def test_a_bad_pip_index_url_is_skipped_with_a_warning() -> None:
    """An -i URL indexauth cannot accept (a line break in its password) warns; pip goes on."""
    out = python(
        """
        from indexauth._pip import pip_indexes
        indexes = pip_indexes(["https://u:p%0a@bad.example/simple/", "https://good.example/simple/"])
        print([i.url for i in indexes])
        """
    )
    assert out.strip() == "['https://good.example/simple/']"
