"""install()/uninstall() and the start-up hook, each in a fresh interpreter (a subprocess)."""

from __future__ import annotations

import json
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
        import sys, httpx, httpx2, requests, requests.sessions, pip._internal.network.session as ps
        import pip._internal.network.auth as pa, pip._vendor.requests.adapters as pra

        def snapshot():
            classes = (
                requests.Session, requests.adapters.HTTPAdapter, ps.PipSession, pra.HTTPAdapter,
                pa.MultiDomainBasicAuth, ps.CacheControlAdapter, httpx.HTTPTransport,
                httpx.AsyncHTTPTransport, httpx2.HTTPTransport, httpx2.AsyncHTTPTransport,
                httpx.Client, httpx.AsyncClient, httpx2.Client, httpx2.AsyncClient,
            )
            attrs = {(c.__module__, c.__name__, k): v for c in classes for k, v in vars(c).items()}
            return attrs, list(sys.meta_path)
"""


def test_install_uninstall_restore_exactly() -> None:
    """A second install is a no-op, and uninstall restores every attribute and the import system."""
    out = python(
        SNAPSHOT
        + """
        import indexauth
        from indexauth import _patch
        before = snapshot()
        indexauth.install()
        once = snapshot()
        assert once != before
        indexauth.install()
        assert snapshot() == once, "second install changed something"
        print(_patch.patched())
        assert hasattr(requests.adapters.HTTPAdapter.send, "__wrapped__")
        s = requests.Session()
        assert type(s.adapters["https://"]) is requests.adapters.HTTPAdapter
        indexauth.uninstall()
        assert snapshot() == before, "uninstall did not restore everything"
        assert _patch.patched() == []
        assert not hasattr(requests.adapters.HTTPAdapter.send, "__wrapped__")
        assert "send" not in vars(ps.PipSession)
        print("ok")
        """
    )
    assert out.split("\n")[:2] == [
        "['pip._vendor.requests.adapters.HTTPAdapter.send', "
        "'pip._internal.network.session.PipSession.send', "
        "'pip._internal.network.session.PipSession.update_index_urls', "
        "'pip._internal.network.auth.MultiDomainBasicAuth.__call__', "
        "'requests.adapters.HTTPAdapter.send', 'requests.sessions.Session.send', "
        "'httpx.HTTPTransport.handle_request', 'httpx.AsyncHTTPTransport.handle_async_request', "
        "'httpx.Client.send', 'httpx.AsyncClient.send', "
        "'httpx2.HTTPTransport.handle_request', 'httpx2.AsyncHTTPTransport.handle_async_request', "
        "'httpx2.Client.send', 'httpx2.AsyncClient.send']",
        "ok",
    ]


def test_uninstall_keeps_a_wrapper_applied_on_top_of_ours() -> None:
    """Another instrumentation (OpenTelemetry style) wrapped after us stays; ours alone goes."""
    out = python(
        """
        import requests, wrapt, indexauth
        HTTPAdapter = requests.adapters.HTTPAdapter
        original = vars(HTTPAdapter)["send"]
        indexauth.install()
        calls = []
        def theirs(wrapped, instance, args, kwargs):
            calls.append(1)
            return wrapped(*args, **kwargs)
        wrapt.wrap_function_wrapper(HTTPAdapter, "send", theirs)
        indexauth.uninstall()
        top = vars(HTTPAdapter)["send"]
        print(type(top).__name__, top.__wrapped__ is original)
        """
    )
    assert out.split() == ["FunctionWrapper", "True"]


def test_install_patches_modules_imported_later() -> None:
    """Modules imported after install() are patched on import; after uninstall() they are not."""
    out = python(
        """
        import sys, indexauth
        from indexauth import _patch
        indexauth.install()
        assert "requests" not in sys.modules
        import requests
        print(_patch.patched(), "wrapt" in sys.modules)
        print(hasattr(requests.adapters.HTTPAdapter.send, "__wrapped__"),
              requests.sessions.__loader__.__class__.__name__,
              requests.sessions.__spec__.loader.__class__.__name__)
        indexauth.uninstall()
        import pip._internal.network.session
        print(_patch.patched())
        """
    )
    assert out.splitlines() == [
        "['requests.adapters.HTTPAdapter.send', 'requests.sessions.Session.send'] True",
        "True SourceFileLoader SourceFileLoader",
        "[]",
    ]


def test_start_up_hook_gate() -> None:
    """`install()` of the start-up module does nothing unless INDEXAUTH is 1/true/yes/on."""
    program = """
        import sys, _indexauth_startup
        _indexauth_startup.install()
        _indexauth_startup.install()
        assert "wrapt" not in sys.modules
        import requests
        print(sum(type(f).__name__ == "_Finder" for f in sys.meta_path),
              hasattr(requests.adapters.HTTPAdapter.send, "__wrapped__"))
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
        print(hasattr(requests.adapters.HTTPAdapter.send, "__wrapped__"))
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
        from indexauth._pip import authenticator_for
        s = ps.PipSession(index_urls=["https://pypi.org/simple", "https://a.example/simple/"])
        auth = authenticator_for(s)
        print([i.url for i in auth.indexes])
        s.auth.keyring_provider = "disabled"
        s.update_index_urls(["https://b.example/simple/"])
        auth = authenticator_for(s)
        print([i.url for i in auth.indexes], [x.name for x in auth.resolver.sources])
        assert authenticator_for(s) is auth
        """
    )
    assert out.splitlines() == [
        "['https://a.example/simple/']",
        "['https://b.example/simple/'] ['index URL', 'environment', 'password command', 'credential helper', 'indexauth store', 'uv store', 'netrc']",
    ]


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
            print(hasattr(ps.PipSession.send, "__wrapped__"))
            """
        )],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert done.stderr.count("indexauth: pip 22.0 is not supported (needs pip >= 23.1)") == 1


def test_httpx_and_httpx2_both_instrumented_whichever_comes_first() -> None:
    """Both libraries' transports are instrumented, whichever is imported first."""
    pytest.importorskip("httpx2")
    for first, second in (("httpx", "httpx2"), ("httpx2", "httpx")):
        out = python(
            f"""
            import indexauth
            indexauth.install()
            import {first}, {second}
            for m in ({first}, {second}):
                print(hasattr(m.HTTPTransport.handle_request, "__wrapped__"),
                      hasattr(m.AsyncHTTPTransport.handle_async_request, "__wrapped__"),
                      type(m.Client()._transport) is m.HTTPTransport)
            """
        )
        assert out.split() == ["True"] * 6, (first, out)


def test_global_httpx_request_loads_neither_httpx2_nor_the_transport_classes(tmp_path: Path) -> None:
    """Global mode's first request in an httpx program authenticates without importing httpx2
    (or indexauth's transport classes, whose bases come from every installed library): issue 15,
    first use loads what the request needs."""
    out = python(
        """
        import sys, httpx, httpcore
        class Memory:
            def handle_request(self, request):
                Memory.seen = dict(request.headers)
                return httpcore.Response(200, content=b"ok")
            def close(self):
                pass
        transport = httpx.HTTPTransport()
        transport._pool = Memory()
        print(httpx.Client(transport=transport).get("https://pkgs.example/simple/a/").status_code)
        print(Memory.seen.get(b"Authorization", b"none").decode())
        print(sorted(m for m in ("httpx2", "indexauth._httpx") if m in sys.modules))
        """,
        cwd=tmp_path,
        INDEXAUTH="1",
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path),
        INDEXAUTH_INDEX_X_URL="https://pkgs.example/simple/",
        INDEXAUTH_INDEX_X_USERNAME="u",
        INDEXAUTH_INDEX_X_PASSWORD="p",
    )
    assert out.split("\n")[:3] == ["200", "Basic dTpw", "[]"], out


def test_httpx2_alias_instruments_one_class_once() -> None:
    """`httpx2.alias_httpx()` shows httpx2 under the name httpx: its transport is wrapped once."""
    pytest.importorskip("httpx2")
    out = python(
        """
        import httpx2
        if not hasattr(httpx2, "alias_httpx"):
            print("skip")
            raise SystemExit(0)
        httpx2.alias_httpx()
        import indexauth
        from indexauth import _patch
        indexauth.install()
        import httpx
        assert httpx.HTTPTransport is httpx2.HTTPTransport
        send = vars(httpx2.HTTPTransport)["handle_request"]
        print(hasattr(send, "__wrapped__"), hasattr(send.__wrapped__, "__wrapped__"),
              len(_patch.patched()))
        """
    )
    if out.strip() == "skip":
        pytest.skip("this httpx2 has no alias_httpx")
    # The two transports and the two clients' `send`, each once.
    assert out.split() == ["True", "False", "4"]


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


def test_pip_url_with_a_user_part_keeps_the_configured_program(monkeypatch: pytest.MonkeyPatch) -> None:
    """`-i https://aws@host/simple/` still runs the password command configured for that URL."""
    monkeypatch.setenv("INDEXAUTH_INDEX_CA_URL", "https://h.example/simple/")
    monkeypatch.setenv("INDEXAUTH_INDEX_CA_PASSWORD_COMMAND", "aws codeartifact get-authorization-token")
    monkeypatch.setenv("INDEXAUTH_INDEX_CA_AUTH", "bearer")
    out = python(
        """
        from indexauth._pip import pip_indexes
        index = pip_indexes(["https://aws@h.example/simple/"])[0]
        print(index.password_command, index.auth)
        """
    )
    assert out.strip() == "('aws', 'codeartifact', 'get-authorization-token') bearer"



# A program's first request, to a configured index whose credentials are in the environment.
FIRST_REQUEST = {
    "requests": "import requests; print(requests.Session().get(URL).status_code)",
    "httpx": "import httpx; print(httpx.get(URL).status_code)",
}
# What global mode loads for it, beyond what the program and wrapt load themselves: the
# lookup chain and its driver, nothing of the standard library. No dataclasses, netrc, shlex
# or secrets; no store when you never ran `indexauth login`, no password-command, credential
# helper, uv store or hints code, no CLI (issue 15: first use loads what the request needs).
FIRST_USE_MODULES = [
    "_indexauth_startup",
    "indexauth",
    "indexauth._challenge",
    "indexauth._config",
    "indexauth._driver",
    "indexauth._exceptions",
    "indexauth._flow",
    "indexauth._keyring",
    "indexauth._models",
    "indexauth._patch",
    "indexauth._resolver",
    "indexauth._settings",
    "indexauth._sources",
    "indexauth._uncovered",
    "indexauth._urls",
    "indexauth._version",
]
FIRST_USE_DRIVER = {"requests": ["indexauth._adapter"], "httpx": ["indexauth._httpx_send"]}


@pytest.mark.parametrize("program", sorted(FIRST_REQUEST))
def test_global_first_request_loads_only_what_it_needs(
    program: str, server: IndexServer, tmp_path: Path
) -> None:
    """The modules a first request adds in global mode, against the same program with
    INDEXAUTH=0 that then imports wrapt: exactly the lookup chain and the program's driver."""
    server.route("/simple/", users={"u": "p"})
    code = (
        f"import json, sys\nURL = {server.url('/simple/a/')!r}\n{FIRST_REQUEST[program]}\n"
        "{}\nprint(json.dumps(sorted(sys.modules)))\n"
    )
    env = {
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "NETRC": str(tmp_path / "netrc"),
        "INDEXAUTH_INDEX_X_URL": server.url("/simple/"),
        "INDEXAUTH_INDEX_X_USERNAME": "u",
        "INDEXAUTH_INDEX_X_PASSWORD": "p",
    }
    on = python(code.format(""), cwd=tmp_path, INDEXAUTH="1", **env).split("\n")
    off = python(code.format("import wrapt"), cwd=tmp_path, INDEXAUTH="0", **env).split("\n")
    assert (on[0], off[0]) == ("200", "401")
    added = sorted(set(json.loads(on[1])) - set(json.loads(off[1])))
    expected = sorted(FIRST_USE_MODULES + FIRST_USE_DRIVER[program])
    assert added == expected, f"added: {sorted(set(added) - set(expected))}, gone: {sorted(set(expected) - set(added))}"
