"""The requests driver: bodies, connections, history, wrapping, threads, logging, bad input."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

import indexauth
from conftest import KeyringStore, use_backend
from index_server import IndexServer

ALICE = {"alice": "wonder-land"}


def _session(*indexes: indexauth.Index, **options: Any) -> tuple[requests.Session, Any]:
    session = requests.Session()
    session.trust_env = False
    adapter = indexauth.IndexAuthAdapter(list(indexes), **options)
    session.mount("http://", adapter)
    return session, adapter


@pytest.fixture(name="private")
def fixture_private(server: IndexServer, kr: KeyringStore) -> indexauth.Index:
    """A private index at /p/simple/ whose password is in keyring."""
    server.route("/p/", users=ALICE)
    kr.set(server.url("/p/simple/"), "alice", "wonder-land")
    return indexauth.Index(server.url("/p/simple/"))


class TestRetry:
    """The authenticated retry keeps the request and cleans up after the challenge."""

    def test_bytes_body_resent(self, server: IndexServer, private: indexauth.Index) -> None:
        """A POST with a bytes body is retried with the same method, body and headers."""
        session, _ = _session(private)
        r = session.post(server.url("/p/simple/up"), data=b"payload", headers={"X-Trace": "1"})
        assert r.status_code == 200 and r.text == "ok payload"
        assert [(s.method, s.body, s.user) for s in server.seen] == [
            ("POST", b"payload", None),
            ("POST", b"payload", "alice"),
        ]

    def test_file_body_rewound(self, server: IndexServer, private: indexauth.Index, tmp_path: Path) -> None:
        """A seekable file body is rewound to where it started, not resent empty."""
        path = tmp_path / "f.bin"
        path.write_bytes(b"HEADERfile-content")
        session, _ = _session(private)
        with path.open("rb") as f:
            f.read(6)  # the caller already consumed a header: we rewind to here, not to 0
            r = session.put(server.url("/p/simple/up"), data=f)
        assert r.status_code == 200
        assert [s.body for s in server.seen] == [b"file-content", b"file-content"]

    def test_generator_body_refused(self, server: IndexServer, private: indexauth.Index) -> None:
        """A generator cannot be replayed: UnreplayableRequestError, one request only."""
        session, _ = _session(private)
        with pytest.raises(indexauth.UnreplayableRequestError) as info:
            session.post(server.url("/p/simple/up"), data=(c for c in [b"a", b"b"]))
        assert len(server.seen) == 1
        assert isinstance(info.value, requests.RequestException)

    def test_generator_body_fine_under_always(self, server: IndexServer, private: indexauth.Index) -> None:
        """With authenticate='always' a stream is sent once, with credentials."""
        index = indexauth.Index(private.url, authenticate="always")
        session, _ = _session(index)
        r = session.post(server.url("/p/simple/up"), data=(c for c in [b"a", b"b"]))
        assert r.status_code == 200 and [s.body for s in server.seen] == [b"ab"]

    def test_challenge_drained_and_connection_reused(
        self, server: IndexServer, private: indexauth.Index
    ) -> None:
        """The 401 is read and released, so the retry goes out on the same pooled connection."""
        server.route("/p/big/", users=ALICE, anonymous=401)
        session, _ = _session(private)
        r = session.get(server.url("/p/simple/x/"), stream=True)
        assert r.status_code == 200
        assert server.seen[0].client_port == server.seen[1].client_port

    def test_history_holds_the_challenge(self, server: IndexServer, private: indexauth.Index) -> None:
        """The drained 401 is in response.history, as requests' digest auth does it."""
        session, _ = _session(private)
        r = session.get(server.url("/p/simple/x/"))
        assert [h.status_code for h in r.history] == [401]

    def test_our_header_never_on_the_callers_request(
        self, server: IndexServer, private: indexauth.Index
    ) -> None:
        """response.request is the request as built by the caller: no Authorization we added."""
        session, _ = _session(private)
        r = session.get(server.url("/p/simple/x/"))
        assert "Authorization" not in r.request.headers


class TestWrapping:
    """The adapter wraps another adapter instead of replacing it."""

    def test_inner_adapter_does_the_sending(self, server: IndexServer, private: indexauth.Index) -> None:
        """A caller's adapter (caching, retrying, pip's) still sends every request."""
        sent: list[str | None] = []

        class Recording(HTTPAdapter):
            def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
                sent.append(request.headers.get("Authorization"))
                return super().send(request, *args, **kwargs)

        session, adapter = _session(private, inner=Recording())
        assert session.get(server.url("/p/simple/x/")).status_code == 200
        assert len(sent) == 2 and sent[0] is None and sent[1] is not None
        assert isinstance(adapter, HTTPAdapter)

    @pytest.mark.parametrize("policy", ["auto", "never"])
    def test_callers_request_is_never_changed(
        self, server: IndexServer, private: indexauth.Index, policy: str
    ) -> None:
        """The copy the inner adapter gets is its own: setting or stripping a header, or the
        inner adapter changing it, leaves the caller's prepared request exactly as built."""

        class Meddling(HTTPAdapter):
            def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
                request.headers["X-Inner"] = "1"
                request.url = (request.url or "") + "?inner"
                return super().send(request, *args, **kwargs)

        if policy == "never":
            server.route("/pub/")
            index, built, path = indexauth.Index(server.url("/pub/simple/"), authenticate="never"), {
                "Accept": "*/*",
                "Authorization": "Basic c3RyYXk6b25l",
            }, "/pub/simple/y/"
        else:
            index, built, path = private, {}, "/p/simple/y/"
        session, adapter = _session(index, inner=Meddling())
        assert session.get(server.url(path)).status_code == 200  # credentials now known
        request = requests.Request("GET", server.url(path), headers=built).prepare()
        before = (dict(request.headers), request.url, request.headers)
        response = adapter.send(request)
        assert response.status_code == 200 and response.request is request
        assert (dict(request.headers), request.url, request.headers) == before
        assert server.seen[-1].user == ("alice" if policy == "auto" else None)

    @pytest.mark.parametrize("kind", ["property", "__setattr__"])
    @pytest.mark.parametrize("policy", ["auto", "never"])
    def test_a_request_class_that_sets_its_own_headers(
        self, server: IndexServer, private: indexauth.Index, policy: str, kind: str
    ) -> None:
        """A `PreparedRequest` subclass that keeps its headers behind a property (or its own
        `__setattr__`) still gets its header set or stripped: the copy's headers go through the
        class's own setter."""

        class Guarded(requests.PreparedRequest):
            @property
            def headers(self) -> Any:
                return self._guarded

            @headers.setter
            def headers(self, value: Any) -> None:
                self._guarded = value

        class Stamped(requests.structures.CaseInsensitiveDict):  # type: ignore[type-arg]
            pass

        class Routed(requests.PreparedRequest):
            def __setattr__(self, name: str, value: Any) -> None:
                if name == "headers" and value is not None:
                    value = Stamped(value)  # the class's own say on every header set
                super().__setattr__(name, value)

        built_as: type[requests.PreparedRequest] = Routed if kind == "__setattr__" else Guarded
        sent: list[str] = []

        class Recording(HTTPAdapter):
            def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
                sent.append(type(request.headers).__name__)
                return super().send(request, *args, **kwargs)

        if policy == "never":
            server.route("/pub/")
            index, built, path = indexauth.Index(server.url("/pub/simple/"), authenticate="never"), {
                "Authorization": "Basic c3RyYXk6b25l",
            }, "/pub/simple/y/"
        else:
            index, built, path = private, {}, "/p/simple/y/"
        session, adapter = _session(index, inner=Recording())
        assert session.get(server.url(path)).status_code == 200  # credentials now known (auto)
        request = built_as()
        request.prepare(method="GET", url=server.url(path), headers=built)
        before, shown = dict(request.headers), type(request.headers).__name__
        seen, sent[:] = len(server.seen), []
        response = adapter.send(request)
        assert response.status_code == 200
        assert dict(request.headers) == before
        assert sent == [shown]
        assert [s.user for s in server.seen[seen:]] == ["alice" if policy == "auto" else None]

    def test_close_closes_inner(self) -> None:
        """Closing the session closes the inner adapter."""
        closed: list[bool] = []

        class Closing(HTTPAdapter):
            def close(self) -> None:
                closed.append(True)
                super().close()

        session, _ = _session(inner=Closing())
        session.close()
        assert closed == [True]


class TestCache:
    """One lookup per index per process, however many threads; rejected credentials are dropped."""

    def test_threads_share_one_lookup(
        self, server: IndexServer, kr: KeyringStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """32 threads against a cold cache: the keyring backend is asked once per service name tried."""
        server.route("/p/", users=ALICE)
        use_backend(monkeypatch, "kr_backends.SlowJsonFileKeyring")
        kr.set(server.url("/p/simple/"), "alice", "wonder-land")
        session, adapter = _session(indexauth.Index(server.url("/p/simple/")))
        barrier = threading.Barrier(32)
        statuses: list[int] = []

        def worker(n: int) -> None:
            barrier.wait()
            statuses.append(session.get(server.url(f"/p/simple/pkg{n}/")).status_code)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * 32
        assert kr.lookups() == [(server.url("/p/simple/"), None)]
        assert adapter.authenticator.resolver.lookups == 1

    def test_rejected_credentials_dropped_and_looked_up_again(
        self, server: IndexServer, kr: KeyringStore
    ) -> None:
        """After a rejection the next challenge looks again and finds the fixed password."""
        route = server.route("/p/", users={"alice": "old"})
        kr.set(server.url("/p/simple/"), "alice", "old")
        session, _ = _session(indexauth.Index(server.url("/p/simple/")))
        assert session.get(server.url("/p/simple/a/")).status_code == 200
        route.users = {"alice": "new"}  # the token was rotated on the server
        with pytest.raises(indexauth.CredentialsRejectedError):
            session.get(server.url("/p/simple/b/"))
        kr.set(server.url("/p/simple/"), "alice", "new")
        assert session.get(server.url("/p/simple/c/")).status_code == 200
        assert [s.user for s in server.seen] == [None, "alice", "alice", None, "alice"]


class TestLogging:
    """One debug line per lookup step, redacted."""

    def test_debug_lines(
        self, server: IndexServer, private: indexauth.Index, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Each source and service name gets a line with its outcome; no secret appears."""
        caplog.set_level(logging.DEBUG, logger="indexauth")
        session, _ = _session(private)
        session.get(server.url("/p/simple/x/"))
        lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("lookup:")]
        assert any("netrc" in line and "no such file" in line for line in lines)
        assert any(f"service '{server.url('/p/simple/')}'" in line and "found" in line for line in lines)
        assert "wonder-land" not in caplog.text


class TestBadInput:
    """Bad configuration gets a ConfigurationError that names the value."""

    @pytest.mark.parametrize(
        ("kwargs", "needle"),
        [
            ({"url": "ftp://h.example/simple/"}, "http:// or https://"),
            ({"url": "https:///simple/"}, "has no host"),
            ({"url": "https://h.example:99999/"}, "cannot be parsed"),
            ({"url": "https://h.example/\nsimple/"}, "control character"),
            ({"url": "https://h.example/", "name": "bad name!"}, "'bad name!'"),
            ({"url": "https://h.example/", "name": "internal\n"}, "invalid index name 'internal"),
            ({"url": "https://h.example/", "authenticate": "sometimes"}, "'sometimes'"),
            ({"url": "https://h.example/", "username": "a\r\nb"}, "line break"),
        ],
    )
    def test_index(self, kwargs: dict[str, Any], needle: str) -> None:
        """Index() refuses bad values with a hint."""
        with pytest.raises(indexauth.ConfigurationError, match=needle) as info:
            indexauth.Index(**kwargs)
        assert info.value.hint
        assert isinstance(info.value, ValueError)

    def test_indexes_must_be_indexes(self) -> None:
        """A wrong type in indexes= is named."""
        with pytest.raises(indexauth.ConfigurationError, match="int"):
            indexauth.IndexAuthAdapter([42])  # type: ignore[list-item]

    def test_strings_are_accepted_as_urls(self) -> None:
        """indexes=['https://...'] is shorthand for Index(url)."""
        adapter = indexauth.IndexAuthAdapter(["https://h.example/simple/"])
        assert adapter.authenticator.indexes == (indexauth.Index("https://h.example/simple/"),)

    def test_crlf_in_credentials_refused(self) -> None:
        """A password with CR or LF would split the header: refused."""
        with pytest.raises(indexauth.ConfigurationError, match="line break"):
            indexauth.Credentials("u", "p\r\nX-Injected: 1")


class TestNetrc:
    """netrc problems are warnings naming the file; the source is skipped."""

    @pytest.mark.parametrize(
        ("text", "mode", "needle"),
        [
            ("machine 127.0.0.1 login alice password wonder-land\n", 0o644, "can be read by other users"),
            ("machine 127.0.0.1 login alice password wonder-land\nbogus-token\n", 0o600, "cannot be parsed"),
        ],
    )
    def test_bad_netrc_warns_and_skips(
        self,
        server: IndexServer,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
        text: str,
        mode: int,
        needle: str,
    ) -> None:
        """A loose or broken netrc is named in a warning and in the error, and not used."""
        server.route("/p/", users=ALICE)
        netrc = tmp_path / "mynetrc"
        netrc.write_text(text)
        netrc.chmod(mode)
        monkeypatch.setenv("NETRC", str(netrc))
        session, _ = _session(indexauth.Index(server.url("/p/simple/")))
        with caplog.at_level(logging.WARNING, logger="indexauth"), pytest.raises(indexauth.ProviderError) as info:
            session.get(server.url("/p/simple/x/"))
        assert str(netrc) in caplog.text and needle in caplog.text
        assert str(netrc) in str(info.value)

    def test_port_ignored_and_default_entry(
        self, server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """netrc matches by host (no port); `default` applies when no machine matches."""
        server.route("/p/", users=ALICE)
        netrc = tmp_path / "netrc"
        netrc.write_text("machine other.example login x password y\ndefault login alice password wonder-land\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        session, _ = _session(indexauth.Index(server.url("/p/simple/")))
        assert session.get(server.url("/p/simple/x/")).status_code == 200


def test_import_provider_without_keyring_is_a_provider_error(server: IndexServer) -> None:
    """keyring_provider='import' where keyring cannot be imported: ProviderError, never ImportError."""
    server.route("/p/", users=ALICE)
    code = (
        "import sys; sys.modules['keyring'] = None\n"
        "import requests, indexauth\n"
        "s = requests.Session()\n"
        "s.mount('http://', indexauth.IndexAuthAdapter([indexauth.Index(sys.argv[1])], keyring_provider='import'))\n"
        "try:\n    s.get(sys.argv[1] + 'x/', timeout=10)\n"
        "except indexauth.IndexAuthError as e:\n    print(type(e).__name__, '|', e.hint)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, server.url("/p/simple/")], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ProviderError |") and "indexauth[keyring]" in done.stdout


def test_import_is_light() -> None:
    """`import indexauth` loads none of requests, httpx, httpx2, keyring, wrapt, anyio."""
    code = (
        "import sys, indexauth; heavy = {'requests','httpx','httpx2','keyring','wrapt','anyio'}"
        " & set(sys.modules); assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_first_request_loads_no_subprocess() -> None:
    """An adapter that sends up front from the environment never runs the keyring command,
    so neither it nor global mode's first request pays for importing subprocess."""
    code = (
        "import os, sys, requests, indexauth\n"
        "from requests.adapters import BaseAdapter\n"
        "class Memory(BaseAdapter):\n"
        "    def send(self, request, *args, **kwargs):\n"
        "        r = requests.Response(); r.status_code = 200; r.request = request; return r\n"
        "    def close(self): pass\n"
        "os.environ.update(INDEXAUTH_INDEX_X_USERNAME='u', INDEXAUTH_INDEX_X_PASSWORD='p')\n"
        "s = requests.Session()\n"
        "s.mount('http://', indexauth.IndexAuthAdapter([indexauth.Index('http://h.example/simple/', name='x')],"
        " inner=Memory()))\n"
        "assert s.get('http://h.example/simple/a/').request is not None\n"
        "assert 'subprocess' not in sys.modules, 'subprocess imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_first_request_loads_only_what_it_needs() -> None:
    """Credentials from the environment, sent up front: the first request loads no password
    command or credential helper code, no uv store reader and no error hints (issue 15: first
    use loads what the request needs). A pickled adapter still carries every source."""
    code = (
        "import os, pickle, sys, requests, indexauth\n"
        "from requests.adapters import BaseAdapter\n"
        "class Memory(BaseAdapter):\n"
        "    def send(self, request, *args, **kwargs):\n"
        "        self.seen = request\n"
        "        r = requests.Response(); r.status_code = 200; r.request = request; return r\n"
        "    def close(self): pass\n"
        "os.environ.update(INDEXAUTH_INDEX_X_USERNAME='u', INDEXAUTH_INDEX_X_PASSWORD='p')\n"
        "adapter = indexauth.IndexAuthAdapter([indexauth.Index('http://h.example/simple/', name='x')],"
        " inner=Memory())\n"
        "s = requests.Session(); s.mount('http://', adapter)\n"
        "s.get('http://h.example/simple/a/')\n"
        "assert adapter.inner.seen.headers['Authorization'].startswith('Basic ')\n"
        "loaded = [m for m in ('indexauth._programs', 'indexauth._uvstore', 'indexauth._hints') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "names = [s.name for s in adapter.authenticator.resolver.sources]\n"
        "copy = pickle.loads(pickle.dumps(adapter))\n"
        "assert [s.name for s in copy.authenticator.resolver.sources] == names, names\n"
        "assert 'password command' in names and 'uv store' in names, names\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_missing_extra_names_the_pip_command() -> None:
    """Without requests, using the adapter says which extra to install."""
    code = (
        "import sys; sys.modules['requests'] = None\n"
        "import indexauth\n"
        "try:\n    indexauth.IndexAuthAdapter\nexcept ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "pip install 'indexauth[requests]'" in out.stdout


def test_diagnosis_is_none_for_other_objects() -> None:
    """diagnosis() of a response indexauth did not touch is None."""
    assert indexauth.diagnosis(io.BytesIO()) is None
