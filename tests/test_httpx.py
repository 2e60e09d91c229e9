"""The httpx and httpx2 transports: bodies, concurrency, redirects, proxies, closing, errors.

The scenario table (test_scenarios.py) already runs every authentication rule
through these transports; this file covers what only an httpx transport has.
"""

from __future__ import annotations

import http.client
import importlib
import io
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import httpx
import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import indexauth
from conftest import KeyringStore
from index_server import IndexServer
from indexauth._flow import Authenticator, Send
from indexauth._httpx_send import _prepared, _read, _split_authorization, url_of
from indexauth._models import Credentials
from indexauth._resolver import Resolver
from indexauth._sources import Recorder, Target
from indexauth._store import Store
from indexauth._urls import realm_of, wire_host

ALICE = {"alice": "wonder-land"}
LIBRARIES = ["httpx", "httpx2"]
BACKENDS = ["asyncio", "trio"]
EXAMPLES = Path(__file__).parent.parent / "examples"


def lib(name: str) -> Any:
    """The client library module *name* (typed loosely: httpx and httpx2 share an API)."""
    return importlib.import_module(name)


def private(server: IndexServer, **route: Any) -> indexauth.Index:
    """A protected index on *server*, with alice's password in the keyring under its URL."""
    server.route("/private/", users=ALICE, **route)
    return indexauth.Index(server.url("/private/simple/"), name="internal")


@pytest.fixture(name="alice")
def fixture_alice(kr: KeyringStore, server: IndexServer) -> KeyringStore:
    """alice's password in the real keyring backend, under the index URL."""
    kr.set(server.url("/private/simple/"), "alice", "wonder-land")
    return kr


class GatedSource:
    """A credential source that answers only once *expected* anonymous requests reached the server.

    So every one of them is waiting for credentials at the same moment: a second
    lookup, or a lookup that blocked the event loop, cannot go unnoticed.
    """

    name = "gated test source"
    eager = False

    def __init__(self, server: IndexServer, expected: int) -> None:
        self.server = server
        self.expected = expected
        self.calls = 0
        self.threads: set[int] = set()

    def find(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        """alice's credentials, once the server has seen every anonymous request."""
        self.calls += 1
        self.threads.add(threading.get_ident())
        deadline = time.monotonic() + 30
        while sum(s.authorization is None for s in self.server.seen) < self.expected:
            if time.monotonic() > deadline:
                seen = sum(s.authorization is None for s in self.server.seen)
                raise AssertionError(f"only {seen} of {self.expected} requests reached the server")
            time.sleep(0.005)
        record(self.name, "", "alice", "found")
        return Credentials("alice", "wonder-land")


def gated(server: IndexServer, expected: int) -> tuple[Authenticator, GatedSource]:
    """An authenticator for the private index whose only source is a `GatedSource`."""
    source = GatedSource(server, expected)
    index = private(server)
    return Authenticator([index], Resolver([source])), source


# --- bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(lambda: b"payload", id="bytes"),
        pytest.param(lambda: io.BytesIO(b"payload"), id="seekable-file"),
    ],
)
def test_replayable_body_sent_again_on_retry(
    library: str, body: Any, server: IndexServer, alice: KeyringStore
) -> None:
    """A bytes or seekable-file body is sent whole again with the credentials after a 401."""
    index = private(server)
    with lib(library).Client(transport=indexauth.IndexAuthTransport([index])) as client:
        response = client.post(server.url("/private/simple/upload"), content=body())
    assert response.status_code == 200
    assert [(s.user, s.body) for s in server.seen] == [(None, b"payload"), ("alice", b"payload")]
    assert response.text == "ok payload"


@pytest.mark.parametrize("library", LIBRARIES)
def test_callers_request_is_never_changed(library: str, server: IndexServer, alice: KeyringStore) -> None:
    """The request the inner transport gets is its own copy, body and all: setting our header,
    or the inner transport changing its request, leaves the caller's request as built."""
    module = lib(library)

    class Meddling(module.HTTPTransport):  # type: ignore[misc,name-defined]
        def handle_request(self, request: Any) -> Any:
            request.headers["X-Inner"] = "1"
            request.extensions = {**request.extensions, "inner": True}
            return super().handle_request(request)

    index = private(server)
    transport = indexauth.IndexAuthTransport([index], inner=Meddling())
    with module.Client(transport=transport) as client:
        assert client.get(server.url("/private/simple/x/")).status_code == 200  # credentials now known
        request = client.build_request("POST", server.url("/private/simple/upload"), content=b"payload")
        before = (list(request.headers.raw), request.extensions, request.headers)
        response = transport.handle_request(request)
        response.read()
    assert response.status_code == 200 and response.text == "ok payload"
    assert server.seen[-1].user == "alice"
    assert (list(request.headers.raw), request.extensions, request.headers) == before


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("policy", ["auto", "never"])
def test_a_request_class_that_sets_its_own_headers(
    library: str, policy: str, server: IndexServer, alice: KeyringStore
) -> None:
    """A `Request` subclass that keeps its headers behind a property still gets its header set or
    stripped: the copy's headers go through the class's own setter."""
    module = lib(library)

    class Guarded(module.Request):  # type: ignore[misc,name-defined]
        @property
        def headers(self) -> Any:
            return self._guarded

        @headers.setter
        def headers(self, value: Any) -> None:
            self._guarded = value

    if policy == "never":
        server.route("/pub/")
        index, built, path = indexauth.Index(server.url("/pub/simple/"), authenticate="never"), {
            "Authorization": "Basic c3RyYXk6b25l"
        }, "/pub/simple/y/"
    else:
        index, built, path = private(server), {}, "/private/simple/y/"
    transport = indexauth.IndexAuthTransport([index])
    with module.Client(transport=transport) as client:
        assert client.get(server.url(path)).status_code == 200  # credentials now known (auto)
        request = Guarded("GET", server.url(path), headers=built)
        before = list(request.headers.raw)
        seen = len(server.seen)
        response = transport.handle_request(request)
        response.read()
    assert response.status_code == 200
    assert list(request.headers.raw) == before
    assert [s.user for s in server.seen[seen:]] == ["alice" if policy == "auto" else None]


_NAMES = ["Authorization", "authorization", "AUTHORIZATION", "X-JFrog-Art-Api", "x-jfrog-art-api", "Accept"]
_VALUES = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8),
    st.binary(max_size=4).map(lambda b: b"v" + b),  # bytes a server may send back: any encoding
)


@pytest.mark.parametrize("library", LIBRARIES)
@settings(max_examples=300, deadline=None)
@given(
    given_headers=st.lists(st.tuples(st.sampled_from(_NAMES), _VALUES), max_size=6),
    action=st.sampled_from(["set", "strip"]),
    extra=st.lists(
        st.tuples(st.sampled_from(_NAMES), st.text(st.characters(min_codepoint=32, max_codepoint=0xFF), max_size=6)),
        max_size=3,
    ),
    encoding=st.sampled_from([None, "latin-1", "iso-8859-1"]),  # ones every byte decodes in
)
def test_prepared_headers_as_httpx_would_edit_them(
    library: str,
    given_headers: list[tuple[str, Any]],
    action: str,
    extra: list[tuple[str, str]],
    encoding: str | None,
) -> None:
    """The per-request shortcut over httpx's header items gives exactly the headers (names, order,
    values, encoding) that copying them and editing the copy through httpx's own API gives, and
    leaves the caller's request as built."""
    module = lib(library)
    request = module.Request("GET", "https://pkgs.example/simple/", headers=given_headers)
    if encoding is not None:  # one the caller set (None: the one httpx works out)
        request.headers.encoding = encoding
    before = list(request.headers.raw)
    effect = Send(action, tuple(extra) if action == "set" else ())  # type: ignore[arg-type]
    has_authorization, others = _split_authorization(request.headers)
    assert others is not None  # httpx's own Headers: the shortcut is taken
    assert has_authorization == ("Authorization" in request.headers)
    assert _read(request, _ANY_INDEX)[2:4] == (has_authorization, others)  # the same, read in one call

    def outcome(items: Any) -> Any:
        try:
            prepared = _prepared(request, effect, items)
        except UnicodeEncodeError as exc:
            return type(exc)
        assert prepared is not request and prepared.headers is not request.headers
        return list(prepared.headers.raw), prepared.headers.encoding, type(prepared.headers)

    assert outcome(others) == outcome(None)  # None: httpx's public copy, pop and setitem
    assert list(request.headers.raw) == before


_SEGMENTS = st.sampled_from(
    ["simple", "pkg", "", ".", "..", "%2e", "%2E%2e", "..%2f..", "%2F", "%252e", "a..b", "~u", "%7Eu",
     "b\u00fccher", "x y", "a;b", "%00", "pkg-1.0.tar.gz", ":", "@", "a%40b"]
)
_HOSTS = st.sampled_from(
    ["pkgs.example", "PKGS.Example", "b\u00fccher.example", "xn--bcher-kva.example", "\u30c9\u30e1\u30a4\u30f3.jp",
     "127.0.0.1", "[::1]", "[2001:db8::1]", "h", "a-b.example.", "localhost"]
)


@st.composite
def _url_texts(draw: st.DrawFn) -> str:
    def some(*choices: str) -> str:  # each part is left out half the time: the usual URL has none
        return draw(st.sampled_from(choices)) if draw(st.booleans()) else ""

    scheme = draw(st.sampled_from(["http", "https", "HTTP", "ftp", "git+https"]))
    user = some("alice@", "alice:pw@", "__token__:%2Fx@", "a%40b:@", ":@", "@")
    port = some(":80", ":443", ":8443", ":0", ":65535", ":")
    path = "/".join(draw(st.lists(_SEGMENTS, max_size=5)))
    path = draw(st.sampled_from(["/", "", "//"])) + path + draw(st.sampled_from(["", "/"]))
    query = some("?", "?a=1", "?a=/b/../c", "?%2e%2e")
    fragment = some("#", "#top", "#/../x")
    return f"{scheme}://{user}{draw(_HOSTS)}{port}{path}{query}{fragment}"


@pytest.mark.parametrize("library", LIBRARIES)
@settings(max_examples=500, deadline=None)
@given(text=_url_texts(), path=st.one_of(st.none(), st.lists(_SEGMENTS, max_size=4).map("/".join)))
def test_url_of_is_the_url_as_httpx_writes_it(library: str, text: str, path: str | None) -> None:
    """The URL string the flow matches is exactly `str(request.url)`, and its target is `match`'s
    of that string, over user parts, IDNA and IPv6 hosts, ports, %-escapes, dot segments, queries
    and fragments (the fast way is taken only where it writes the same string; everything else is
    `str()` itself)."""
    module = lib(library)
    try:
        url = module.URL(text)
        if path is not None:
            url = url.copy_with(path="/" + path)
        request = module.Request("GET", url)
    except Exception:  # httpx refused it (InvalidURL, idna's errors): no URL to send
        return
    assert url_of(url) == str(url)
    written, target = _read(request, _ANY_INDEX)[:2]
    assert url_of(request.url) == written == str(request.url)
    # The target the transports work out from the URL's parsed parts (no string written,
    # none split again) is `match(str(request.url))`: the same index and realm, and `None`
    # where that gives `None` (not http(s), a dot segment in disguise).
    assert target == _ANY_INDEX.match(str(request.url))


# Indexes on the hosts `_url_texts` draws, at roots its paths reach: many URLs match one.
_ANY_INDEX = Authenticator(
    [
        indexauth.Index(f"{scheme}://{host}{port}{root}", name=f"i{n}")
        for n, (scheme, host, port, root) in enumerate(
            (scheme, host, port, root)
            for scheme in ("http", "https")
            for host in ("pkgs.example", "xn--bcher-kva.example", "127.0.0.1", "[::1]", "h", "localhost")
            for port in ("", ":8443")
            for root in ("/", "/simple/", "/pkg/simple/", "/~u/")
        )
    ],
    Resolver(()),
)


# Indexes as people write them: a user part, upper case, a default port written out, a
# Unicode host, a root with escapes; each at a root `_url_texts` paths reach.
_WRITTEN_INDEXES = Authenticator(
    [
        indexauth.Index(url, name=f"w{n}")
        for n, url in enumerate(
            [
                "https://alice@pkgs.example/simple/",
                "https://__token__:pw@PKGS.Example:443/pkg/simple/",
                "HTTP://pkgs.example:80/~u/",
                "http://H:8443/simple/",
                "https://B\u00fccher.example/%7Eu/",
                "https://b\u00fccher.example:8443/b%C3%BCcher/simple/",
                "https://127.0.0.1/pkg/",
                "http://localhost:0/",
            ]
        )
    ],
    Resolver(()),
)


@pytest.mark.parametrize("library", LIBRARIES)
@settings(max_examples=300, deadline=None)
@given(
    # Half the URLs on an index's own realm and root, written as the index was or not.
    text=st.one_of(
        _url_texts(),
        st.builds(
            lambda url, tail: url.replace("alice@", "").replace("__token__:pw@", "") + tail,
            st.sampled_from([index.url for index in _WRITTEN_INDEXES.indexes]),
            st.lists(_SEGMENTS, max_size=3).map("/".join),
        ),
    ),
    segments=st.lists(_SEGMENTS, max_size=4),
    how=st.sampled_from(["as written", "raw_path", "join", "base_url", "redirect", "kwargs"]),
    cold=st.booleans(),
)
def test_matching_on_httpx_parts_however_the_url_was_built(
    library: str, text: str, segments: list[str], how: str, cold: bool
) -> None:
    """The same equality for URLs httpx built other ways (`copy_with(raw_path=)`, `join`, a
    client's `base_url`, a redirect's `Location` merged in, keyword parts), for indexes written
    with a user part, upper case, a default port, a Unicode host or escapes in the root, with
    the realm cache full or empty. And whatever matched is on the request's own realm."""
    import indexauth._flow as flow_module

    module = lib(library)
    relative = "/".join(segments)
    try:
        url = module.URL(text)
        if how == "raw_path":
            url = url.copy_with(raw_path=("/" + relative).encode())
        elif how == "join":
            url = url.join(relative)
        elif how == "base_url":
            url = module.Client(base_url=text)._merge_url(relative)
        elif how == "redirect":
            location = module.URL("/" + relative)
            url = url.copy_with(path=location.path) if relative else url
        elif how == "kwargs":
            url = module.URL(scheme=url.scheme, host=url.host, port=url.port, path="/" + relative)
        request = module.Request("GET", url)
    except Exception:  # httpx refused it (InvalidURL, idna's errors): no URL to send
        return
    if cold:
        flow_module._realm.cache_clear()
    url_of(request.url)  # the parts' class is known from here on, as after the first request
    written, target = _read(request, _WRITTEN_INDEXES)[:2]
    assert written == str(request.url)
    assert target == _WRITTEN_INDEXES.match(str(request.url))
    # The realm the request goes to, from httpx's own parts: `realm_of` of the whole string
    # refuses a one-word host with an `@` in the path (`http://h/@`) as a token cut by `/`.
    origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}/"
    realm = realm_of(origin) if target is not None else None
    if target is not None and target.index is None:
        assert target.realm == realm
    elif target is not None and target.index is not None:  # its own origin, its host perhaps in IDNA
        own = target.index.realm
        assert realm in (own, own._replace(host=wire_host(own.host) or own.host))


@pytest.mark.parametrize("library", LIBRARIES)
def test_url_of_leaves_a_url_subclass_to_its_own_str(library: str) -> None:
    """A `URL` subclass may write itself differently: its own `__str__` answers."""
    module = lib(library)

    class Shown(module.URL):  # type: ignore[name-defined,misc]
        def __str__(self) -> str:
            return "https://other.example/simple/"

    assert url_of(module.URL("https://pkgs.example/simple/")) == "https://pkgs.example/simple/"
    assert url_of(Shown("https://pkgs.example/simple/")) == "https://other.example/simple/"
    request = module.Request("GET", "https://pkgs.example/simple/")
    usual = "https://pkgs.example/simple/"
    assert _read(request, _ANY_INDEX)[:2] == (usual, _ANY_INDEX.match(usual))
    request.url = Shown("https://pkgs.example/simple/")
    other = "https://other.example/simple/"
    assert _read(request, _ANY_INDEX)[:2] == (other, _ANY_INDEX.match(other))


@pytest.mark.parametrize("library", LIBRARIES)
def test_multipart_with_seekable_file_replayed(
    library: str, server: IndexServer, alice: KeyringStore
) -> None:
    """A multipart upload of a real file is sent complete on the authenticated retry."""
    index = private(server)
    with lib(library).Client(transport=indexauth.IndexAuthTransport([index])) as client:
        response = client.post(
            server.url("/private/simple/upload"),
            files={"content": ("pkg-1.0.tar.gz", io.BytesIO(b"FILEDATA"))},
            data={"name": "pkg"},
        )
    assert response.status_code == 200
    first, second = server.seen
    assert (first.user, second.user) == (None, "alice")
    assert b"FILEDATA" in second.body
    assert second.body == first.body


class OneShot(io.RawIOBase):
    """A readable file that cannot seek, like a pipe or a socket (without a real descriptor)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def readable(self) -> bool:
        """It can be read."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Hand out what is left, once."""
        n = min(len(buffer), len(self._data))
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("kind", ["generator", "unseekable-file"])
def test_unreplayable_body_refused_not_resent(
    library: str, kind: str, server: IndexServer, alice: KeyringStore
) -> None:
    """A generator or unseekable file body, challenged, is refused and not resent."""
    module = lib(library)
    index = private(server)
    content: Any
    if kind == "generator":
        content = (chunk for chunk in [b"pay", b"load"])
    else:
        content = io.BufferedReader(OneShot(b"payload"))
    with (
        module.Client(transport=indexauth.IndexAuthTransport([index])) as client,
        pytest.raises(indexauth.UnreplayableRequestError) as caught,
    ):
        client.post(server.url("/private/simple/upload"), content=content)
    assert isinstance(caught.value, module.HTTPError)
    assert not isinstance(caught.value, module.StreamConsumed)
    assert caught.value.request.url == server.url("/private/simple/upload")
    assert [(s.user, s.body) for s in server.seen] == [(None, b"payload")]
    assert "stream" in str(caught.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_async_generator_body_refused(
    backend: str, server: IndexServer, alice: KeyringStore
) -> None:
    """An async generator body, challenged, raises UnreplayableRequestError (asyncio and trio)."""
    index = private(server)

    async def body() -> AsyncIterator[bytes]:
        yield b"payload"

    async def main() -> None:
        transport = indexauth.AsyncIndexAuthTransport([index])
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(indexauth.UnreplayableRequestError):
                await client.post(server.url("/private/simple/upload"), content=body())
            response = await client.post(server.url("/private/simple/upload"), content=b"again")
            assert response.status_code == 200

    anyio.run(main, backend=backend)
    assert [s.user for s in server.seen] == [None, None, "alice"]


def test_unreplayable_body_without_challenge_is_fine(server: IndexServer) -> None:
    """A generator body that is never challenged goes through once, untouched."""
    server.route("/public/")
    transport = indexauth.IndexAuthTransport([indexauth.Index(server.url("/public/simple/"))])
    with httpx.Client(transport=transport) as client:
        response = client.post(server.url("/public/simple/x"), content=iter([b"a", b"b"]))
    assert response.text == "ok ab"


# --- concurrency ------------------------------------------------------------------------


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_100_concurrent_tasks_one_lookup_off_the_loop(
    library: str, backend: str, server: IndexServer
) -> None:
    """100 concurrent cold requests run one lookup, in a worker thread, not on the event loop."""
    authenticator, source = gated(server, 100)
    module = lib(library)
    statuses: list[int] = []
    loop_threads: set[int] = set()

    async def one(client: Any, i: int) -> None:
        loop_threads.add(threading.get_ident())
        response = await client.get(server.url(f"/private/simple/pkg{i}/"))
        statuses.append(response.status_code)

    async def main() -> None:
        limits = module.Limits(max_connections=200)
        inner = module.AsyncHTTPTransport(limits=limits)
        transport = indexauth.AsyncIndexAuthTransport(authenticator=authenticator, inner=inner)
        async with (
            module.AsyncClient(transport=transport, timeout=30) as client,
            anyio.create_task_group() as tg,
        ):
            for i in range(100):
                tg.start_soon(one, client, i)

    anyio.run(main, backend=backend)
    assert statuses == [200] * 100
    assert source.calls == 1
    assert authenticator.resolver.lookups == 1
    assert source.threads.isdisjoint(loop_threads)
    assert sorted(s.user or "" for s in server.seen) == [""] * 100 + ["alice"] * 100


def test_threads_and_tasks_share_one_lookup(server: IndexServer) -> None:
    """Threads with the sync transport and tasks with the async one, all cold, share one lookup."""
    threads_n, tasks_n = 10, 30
    authenticator, source = gated(server, threads_n + tasks_n)
    statuses: list[int] = []

    def in_thread(i: int) -> None:
        transport = indexauth.IndexAuthTransport(authenticator=authenticator)
        with httpx.Client(transport=transport, timeout=30) as client:
            statuses.append(client.get(server.url(f"/private/simple/t{i}/")).status_code)

    async def tasks() -> None:
        transport = indexauth.AsyncIndexAuthTransport(authenticator=authenticator)
        async with httpx.AsyncClient(transport=transport, timeout=30) as client:

            async def one(i: int) -> None:
                response = await client.get(server.url(f"/private/simple/a{i}/"))
                statuses.append(response.status_code)

            async with anyio.create_task_group() as tg:
                for i in range(tasks_n):
                    tg.start_soon(one, i)

    threads = [threading.Thread(target=in_thread, args=(i,)) for i in range(threads_n)]
    for thread in threads:
        thread.start()
    anyio.run(tasks)
    for thread in threads:
        thread.join()
    assert statuses == [200] * (threads_n + tasks_n)
    assert source.calls == 1
    assert authenticator.resolver.lookups == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_cache_hit_needs_no_thread(backend: str, server: IndexServer, alice: KeyringStore) -> None:
    """Once a lookup is remembered (found or not), later requests need no worker thread."""
    index = private(server)
    server.route("/elsewhere/", users=ALICE)  # a realm lookup that finds nothing

    async def main() -> None:
        transport = indexauth.AsyncIndexAuthTransport([index])
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get(server.url("/private/simple/a/"))
            with pytest.raises(indexauth.MissingCredentialsError):
                await client.get(server.url("/elsewhere/a"))
            before = len(alice.lookups())
            # Hold every worker thread: anything that needs one now would wait forever.
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = 1
            holder = object()
            await limiter.acquire_on_behalf_of(holder)
            try:
                with anyio.fail_after(20):
                    for name in "bcd":
                        response = await client.get(server.url(f"/private/simple/{name}/"))
                        assert response.status_code == 200
                        with pytest.raises(indexauth.MissingCredentialsError):
                            await client.get(server.url(f"/elsewhere/{name}"))
            finally:
                limiter.release_on_behalf_of(holder)
            assert len(alice.lookups()) == before

    anyio.run(main, backend=backend)
    assert [s.user for s in server.seen if s.path.startswith("/private/")] == [None, *["alice"] * 4]


# --- redirects --------------------------------------------------------------------------


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("mode", ["sync", "asyncio", "trio"])
def test_redirect_across_origins_and_back(
    library: str, mode: str, server: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """127.0.0.1 -> localhost -> 127.0.0.1: credentials go only to the index's own origin."""
    server.route("/private/simple/go/", users=ALICE, redirect=server.url("/hop/", host="localhost"))
    server.route("/hop/", redirect=server.url("/private/simple/back/"))
    server.route("/private/", users=ALICE)
    index = indexauth.Index(server.url("/private/simple/"), name="internal")
    monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_USERNAME", "alice")
    monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_PASSWORD", "wonder-land")
    module = lib(library)
    url = server.url("/private/simple/go/")
    if mode == "sync":
        transport = indexauth.IndexAuthTransport([index])
        with module.Client(transport=transport, follow_redirects=True) as client:
            response = client.get(url)
    else:

        async def main() -> Any:
            transport = indexauth.AsyncIndexAuthTransport([index])
            async with module.AsyncClient(transport=transport, follow_redirects=True) as client:
                return await client.get(url)

        response = anyio.run(main, backend=mode)
    assert response.status_code == 200
    assert len(response.history) == 2
    port = server.port
    assert [(s.host, s.path, s.user) for s in server.seen] == [
        (f"127.0.0.1:{port}", "/private/simple/go/", "alice"),
        (f"localhost:{port}", "/hop/", None),
        (f"127.0.0.1:{port}", "/private/simple/back/", "alice"),
    ]
    # The request the caller sees is the one it built: no header added by us.
    assert "Authorization" not in response.request.headers


# --- proxies ----------------------------------------------------------------------------


class ForwardProxy:
    """A plain HTTP forward proxy on 127.0.0.1 that records each request it forwards."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []  # (absolute URL, Authorization)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.seen.append((self.path, self.headers.get("Authorization")))
                target = urlsplit(self.path)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection",)
                }
                upstream = http.client.HTTPConnection(target.netloc, timeout=10)
                try:
                    path = target.path + (f"?{target.query}" if target.query else "")
                    upstream.request(self.command, path, body=body, headers=headers)
                    reply = upstream.getresponse()
                    data = reply.read()
                finally:
                    upstream.close()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _forward

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture(name="proxy")
def fixture_proxy() -> Iterator[ForwardProxy]:
    """A real forward proxy on 127.0.0.1, stopped after the test."""
    proxy = ForwardProxy()
    yield proxy
    proxy.stop()


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("mode", ["sync", "asyncio"])
def test_wrap_client_keeps_environment_proxy(
    library: str,
    mode: str,
    *,
    server: IndexServer,
    alice: KeyringStore,
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With HTTP_PROXY set, a wrapped client both goes through the proxy and authenticates."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    index = private(server)
    module = lib(library)
    url = server.url("/private/simple/pkg/")
    if mode == "sync":
        with indexauth.wrap_client(module.Client(), [index]) as client:
            response = client.get(url)
    else:

        async def main() -> Any:
            async with indexauth.wrap_client(module.AsyncClient(), [index]) as client:
                return await client.get(url)

        response = anyio.run(main)
    assert response.status_code == 200
    assert [(u, a is not None) for u, a in proxy.seen] == [(url, False), (url, True)]
    assert [s.user for s in server.seen] == [None, "alice"]


def test_transport_argument_drops_environment_proxy(
    server: IndexServer, alice: KeyringStore, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why wrap_client exists: given transport=, httpx ignores HTTP_PROXY and skips the proxy."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    index = private(server)
    with httpx.Client(transport=indexauth.IndexAuthTransport([index])) as client:
        assert client.get(server.url("/private/simple/pkg/")).status_code == 200
    assert proxy.seen == []


@pytest.mark.parametrize("library", LIBRARIES)
def test_wrap_client_explicit_proxy_and_no_proxy_mounts(
    library: str,
    server: IndexServer,
    alice: KeyringStore,
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """proxy= mounts and NO_PROXY's None mounts are both authenticated after wrap_client."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "localhost")
    module = lib(library)
    index = private(server)
    other = indexauth.Index(server.url("/private/simple/", host="localhost"))
    alice.set(server.url("/private/simple/", host="localhost"), "alice", "wonder-land")
    with indexauth.wrap_client(module.Client(), [index, other]) as client:
        assert None in client._mounts.values()  # NO_PROXY made a direct mount
        mounted = client._mounts.values()
        assert all(t is None or isinstance(t, indexauth.IndexAuthTransport) for t in mounted)
        assert client.get(server.url("/private/simple/a/", host="localhost")).status_code == 200
        assert client.get(server.url("/private/simple/b/")).status_code == 200
    assert [u for u, _ in proxy.seen] == [server.url("/private/simple/b/")] * 2
    assert [s.user for s in server.seen] == [None, "alice", None, "alice"]
    with indexauth.wrap_client(module.Client(proxy=proxy.url), [index]) as client:
        assert client.get(server.url("/private/simple/c/")).status_code == 200
    assert [u for u, _ in proxy.seen][2:] == [server.url("/private/simple/c/")] * 2
    assert [s.user for s in server.seen][4:] == [None, "alice"]


def test_wrap_client_twice_wraps_once() -> None:
    """Calling wrap_client again leaves the transports alone (the global hook may call it twice)."""
    client = indexauth.wrap_client(httpx.Client(), [])
    first = client._transport
    assert indexauth.wrap_client(client, []) is client
    assert client._transport is first
    assert isinstance(first, indexauth.IndexAuthTransport)
    client.close()


# --- closing ----------------------------------------------------------------------------


def recording(module: ModuleType, kind: str) -> Any:
    """A real *kind* transport of *module* that records the lifecycle calls it receives."""
    base = getattr(module, kind)

    class Recording(base):  # type: ignore[misc, valid-type]
        calls: list[str]

        def __init__(self) -> None:
            super().__init__()
            self.calls = []

        def __enter__(self) -> Any:
            self.calls.append("enter")
            return super().__enter__()

        def __exit__(self, *args: Any) -> None:
            self.calls.append("exit")
            super().__exit__(*args)

        def close(self) -> None:
            self.calls.append("close")
            super().close()

        async def __aenter__(self) -> Any:
            self.calls.append("aenter")
            return await super().__aenter__()

        async def __aexit__(
            self,
            exc_type: type[BaseException] | None = None,
            exc_value: BaseException | None = None,
            traceback: TracebackType | None = None,
        ) -> None:
            self.calls.append("aexit")
            await super().__aexit__(exc_type, exc_value, traceback)

        async def aclose(self) -> None:
            self.calls.append("aclose")
            await super().aclose()

    return Recording()


@pytest.mark.parametrize("library", LIBRARIES)
def test_close_and_context_forwarded(library: str) -> None:
    """Client context use and close() reach the inner transport."""
    module = lib(library)
    inner = recording(module, "HTTPTransport")
    with module.Client(transport=indexauth.IndexAuthTransport(inner=inner)):
        pass
    assert inner.calls == ["enter", "exit"]
    inner = recording(module, "HTTPTransport")
    indexauth.IndexAuthTransport(inner=inner).close()
    assert inner.calls == ["close"]


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_aclose_and_async_context_forwarded(library: str, backend: str) -> None:
    """Async client context use and aclose() reach the inner transport."""
    module = lib(library)
    inners = [recording(module, "AsyncHTTPTransport") for _ in range(2)]

    async def main() -> None:
        async with module.AsyncClient(transport=indexauth.AsyncIndexAuthTransport(inner=inners[0])):
            pass
        await indexauth.AsyncIndexAuthTransport(inner=inners[1]).aclose()

    anyio.run(main, backend=backend)
    assert inners[0].calls == ["aenter", "aexit"]
    assert inners[1].calls == ["aclose"]


def test_default_inner_per_library_closed(server: IndexServer) -> None:
    """One transport serves httpx and httpx2 clients, each through its own library's transport."""
    server.route("/public/")
    transport = indexauth.IndexAuthTransport()
    for name in LIBRARIES:
        module = lib(name)
        with module.Client(transport=transport) as client:
            response = client.get(server.url("/public/x"))
        assert isinstance(response, module.Response)
        inner = transport._inner_for(name)
        assert isinstance(inner, module.HTTPTransport)
        assert inner._pool.connections == []  # closed with the client
    assert len(server.seen) == 2


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("mode", ["sync", "asyncio", "trio"])
def test_errors_are_client_errors_with_request_and_response(
    library: str, mode: str, server: IndexServer
) -> None:
    """A failure is also the library's HTTPError, with .request and a read, closed .response."""
    module = lib(library)
    index = private(server)
    url = server.url("/private/simple/pkg/")

    async def run_async() -> None:
        async with module.AsyncClient(
            transport=indexauth.AsyncIndexAuthTransport([index])
        ) as client:
            await client.get(url)

    def run() -> None:
        if mode == "sync":
            with module.Client(transport=indexauth.IndexAuthTransport([index])) as client:
                client.get(url)
        else:
            anyio.run(run_async, backend=mode)

    with pytest.raises(module.HTTPError) as caught:
        run()
    assert isinstance(caught.value, indexauth.MissingCredentialsError)
    error: Any = caught.value
    assert error.request.url == url
    assert error.response.status_code == 401
    assert error.response.is_closed
    assert not error.response.is_stream_consumed  # a challenge body is never read to raise
    assert error.response.request is error.request
    assert error.hint


@pytest.mark.parametrize("library", LIBRARIES)
def test_raise_on_failure_off_attaches_error(library: str, server: IndexServer) -> None:
    """With raise_on_failure=False the 401 comes back, and diagnosis() explains it."""
    module = lib(library)
    index = private(server)
    transport = indexauth.IndexAuthTransport([index], raise_on_failure=False)
    with module.Client(transport=transport) as client:
        response = client.get(server.url("/private/simple/pkg/"))
    assert response.status_code == 401
    error = indexauth.diagnosis(response)
    assert isinstance(error, indexauth.MissingCredentialsError)
    assert response.extensions["indexauth.error"] is error


@pytest.mark.parametrize("library", LIBRARIES)
def test_error_pickles_without_secrets(library: str, server: IndexServer, kr: KeyringStore) -> None:
    """A rejected-credentials error pickles to the same class, without password or request."""
    module = lib(library)
    index = private(server)
    kr.set(server.url("/private/simple/"), "alice", "not-the-password")
    with (
        module.Client(transport=indexauth.IndexAuthTransport([index])) as client,
        pytest.raises(indexauth.CredentialsRejectedError) as caught,
    ):
        client.get(server.url("/private/simple/pkg/"))
    data = pickle.dumps(caught.value)
    assert b"not-the-password" not in data
    assert b"bm90LXRoZS1wYXNzd29yZA" not in data  # nor its base64
    copy = pickle.loads(data)
    assert type(copy) is type(caught.value)
    assert isinstance(copy, module.HTTPError)
    assert str(copy) == str(caught.value)
    assert copy.response is None


def test_inner_from_the_other_library_is_a_configuration_error() -> None:
    """An httpx inner transport used by an httpx2 client says so instead of failing deep inside."""
    transport = indexauth.IndexAuthTransport(inner=httpx.HTTPTransport())
    with (
        httpx2.Client(transport=transport) as client,
        pytest.raises(indexauth.ConfigurationError, match="wraps an httpx transport"),
    ):
        client.get("http://127.0.0.1:9/")


def test_httpx2_alias_mode(server: IndexServer, alice: KeyringStore) -> None:
    """Under httpx2.alias_httpx(), `import httpx` is httpx2 and the transport still works."""
    index = private(server)
    code = (
        "import sys, httpx2\n"
        "httpx2.alias_httpx()\n"
        "import httpx, indexauth\n"
        "assert httpx.Client is httpx2.Client\n"
        f"index = indexauth.Index({index.url!r})\n"
        "with httpx.Client(transport=indexauth.IndexAuthTransport([index])) as client:\n"
        f"    response = client.get({server.url('/private/simple/pkg/')!r})\n"
        "assert isinstance(response, httpx2.Response), type(response)\n"
        "print(response.status_code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "200"
    assert [s.user for s in server.seen] == [None, "alice"]


@pytest.mark.parametrize("library", LIBRARIES)
def test_challenged_response_released_before_retry(
    library: str, server: IndexServer, alice: KeyringStore
) -> None:
    """With a one-connection pool the retry can only go out if the 401 gave its connection back."""
    module = lib(library)
    index = private(server)
    inner = module.HTTPTransport(limits=module.Limits(max_connections=1))
    transport = indexauth.IndexAuthTransport([index], inner=inner)
    with module.Client(transport=transport, timeout=10) as client:
        assert client.get(server.url("/private/simple/pkg/")).status_code == 200
    assert [s.user for s in server.seen] == [None, "alice"]


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_async_challenged_response_released_before_retry(
    library: str, backend: str, server: IndexServer, alice: KeyringStore
) -> None:
    """The async twin: a one-connection pool still gets its retry through."""
    module = lib(library)
    index = private(server)

    async def main() -> int:
        inner = module.AsyncHTTPTransport(limits=module.Limits(max_connections=1))
        transport = indexauth.AsyncIndexAuthTransport([index], inner=inner)
        async with module.AsyncClient(transport=transport, timeout=10) as client:
            response = await client.get(server.url("/private/simple/pkg/"))
            return int(response.status_code)

    assert anyio.run(main, backend=backend) == 200
    assert [s.user for s in server.seen] == [None, "alice"]


def test_not_an_httpx_request_is_a_configuration_error() -> None:
    """Handing the transport something that is not an httpx/httpx2 request says so."""
    with pytest.raises(indexauth.ConfigurationError, match="httpx or httpx2"):
        indexauth.IndexAuthTransport().handle_request(object())  # type: ignore[call-overload]


# --- packaging and examples -------------------------------------------------------------


def test_import_indexauth_loads_no_client_library() -> None:
    """`import indexauth` stays stdlib-only; the transports load httpx on first use."""
    code = (
        "import sys, indexauth\n"
        "bad = {'httpx', 'httpx2', 'anyio', 'requests'} & set(sys.modules)\n"
        "assert not bad, bad\n"
        "indexauth.AsyncIndexAuthTransport\n"
        "assert 'httpx' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_missing_library_names_the_extra() -> None:
    """Without httpx and httpx2, the transports say which extra to install."""
    code = (
        "import sys\n"
        "sys.modules['httpx'] = sys.modules['httpx2'] = None  # as if not installed\n"
        "import indexauth\n"
        "try:\n"
        "    indexauth.IndexAuthTransport\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'indexauth[httpx]'" in done.stdout


@pytest.mark.parametrize("example", ["httpx_client.py", "httpx_async.py"])
def test_example_runs(example: str) -> None:
    """Each example starts its own server, authenticates, and exits 0."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / example)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "200" in done.stdout
    assert "wonder-land" not in done.stdout + done.stderr


@pytest.mark.parametrize("how", ["transport", "async-transport", "wrap_client"])
def test_store_option_leaves_the_store_out(how: str, server: IndexServer) -> None:
    """store=False on every httpx entry point skips indexauth's store; the default reads it."""
    index = private(server)
    Store().put(index.url, "alice", "wonder-land")
    url = server.url("/private/simple/pkg/")

    def get(**options: Any) -> int:
        if how == "wrap_client":
            with indexauth.wrap_client(httpx.Client(), [index], **options) as client:
                return int(client.get(url).status_code)
        if how == "transport":
            transport = indexauth.IndexAuthTransport([index], **options)
            with httpx.Client(transport=transport) as client:
                return int(client.get(url).status_code)

        async def main() -> int:
            transport = indexauth.AsyncIndexAuthTransport([index], **options)
            async with httpx.AsyncClient(transport=transport) as client:
                return int((await client.get(url)).status_code)

        return int(anyio.run(main))

    assert get() == 200
    with pytest.raises(indexauth.MissingCredentialsError):
        get(store=False)
    # The store is a local file: for a configured index it is read before the first request.
    assert [s.user for s in server.seen] == ["alice", None]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_cancelling_during_a_lookup_is_prompt(
    backend: str, server: IndexServer, kr: KeyringStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task cancelled while keyring is slow stops waiting at once, under trio as under asyncio."""
    from conftest import use_backend

    server.route("/p/", users={"alice": "pw"})
    use_backend(monkeypatch, "kr_backends.HangingJsonFileKeyring")
    index = indexauth.Index(server.url("/p/simple/"))

    async def main() -> float:
        transport = indexauth.AsyncIndexAuthTransport([index], keyring_timeout=4)
        async with httpx.AsyncClient(transport=transport) as client:
            start = time.monotonic()
            with anyio.move_on_after(0.5):
                await client.get(server.url("/p/simple/x/"))
            return time.monotonic() - start

    elapsed = anyio.run(main, backend=backend)
    assert elapsed < 2.5, f"cancellation waited {elapsed:.1f} s for the 4 s lookup"
