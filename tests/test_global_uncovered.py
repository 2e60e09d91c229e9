"""When global mode cannot help, it says so once (issue 11.6).

A request to a configured index that goes through an adapter or transport
class global mode does not instrument gets no credentials. Under
`indexauth.install()` (what `INDEXAUTH=1` does), with a real server on
127.0.0.1: such a failure is one warning for the process, naming the index
(redacted), the class and the fix; a success, an unconfigured URL, or a class
that hands the request to an instrumented one says nothing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import string
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import indexauth
from index_server import IndexServer
from test_url_tokens import _assert_hidden, _captured

SAID = "that global mode does not instrument"
DRIVERS = ("requests", "httpx", "httpx-async", "httpx2", "httpx2-async")


def fetch(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """GET *url* with urllib, which global mode does not instrument: status, headers, body."""
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http://127.0.0.1 only
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class UrllibAdapter(requests.adapters.BaseAdapter):
    """A requests adapter on `BaseAdapter` alone: it sends with urllib."""

    def send(self, request: Any, *args: Any, **kwargs: Any) -> requests.Response:
        status, headers, body = fetch(request.url, dict(request.headers))
        response = requests.Response()
        response.status_code, response.url, response.request = status, request.url, request
        response.headers.update(headers)
        response._content = body  # a response built without urllib3
        return response

    def close(self) -> None:
        pass


class RefusingAdapter(requests.adapters.BaseAdapter):
    """A requests adapter whose every send raises, as a broken connection does."""

    def send(self, request: Any, *args: Any, **kwargs: Any) -> requests.Response:
        raise requests.ConnectionError("no route")

    def close(self) -> None:
        pass


class DelegatingAdapter(requests.adapters.BaseAdapter):
    """A requests adapter on `BaseAdapter` that hands every request to an `HTTPAdapter`."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = requests.adapters.HTTPAdapter()

    def send(self, request: Any, *args: Any, **kwargs: Any) -> requests.Response:
        return self.inner.send(request, *args, **kwargs)

    def close(self) -> None:
        self.inner.close()


def uncovered(library: str, kind: str, is_async: bool) -> Any:
    """An httpx/httpx2 transport global mode does not instrument, sending with urllib.

    *kind* is `custom` (a `BaseTransport`/`AsyncBaseTransport` subclass) or
    `mock` (the library's own `MockTransport`).
    """
    httpx: Any = pytest.importorskip(library)

    def answer(request: Any) -> Any:
        status, headers, body = fetch(str(request.url), dict(request.headers))
        headers.pop("Transfer-Encoding", None)
        headers.pop("Content-Length", None)
        return httpx.Response(status, headers=headers, content=body, request=request)

    async def aanswer(request: Any) -> Any:
        return answer(request)

    if kind == "mock":
        return httpx.MockTransport(aanswer if is_async else answer)

    class UrllibTransport(httpx.BaseTransport):  # type: ignore[misc]
        def handle_request(self, request: Any) -> Any:
            return answer(request)

    class AsyncUrllibTransport(httpx.AsyncBaseTransport):  # type: ignore[misc]
        async def handle_async_request(self, request: Any) -> Any:
            return answer(request)

    return AsyncUrllibTransport() if is_async else UrllibTransport()


def delegating(library: str, is_async: bool) -> Any:
    """An httpx/httpx2 transport subclassing the base class that hands requests to `HTTPTransport`."""
    httpx: Any = pytest.importorskip(library)

    class Delegating(httpx.BaseTransport):  # type: ignore[misc]
        def __init__(self) -> None:
            self.inner = httpx.HTTPTransport()

        def handle_request(self, request: Any) -> Any:
            return self.inner.handle_request(request)

        def close(self) -> None:
            self.inner.close()

    class AsyncDelegating(httpx.AsyncBaseTransport):  # type: ignore[misc]
        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: Any) -> Any:
            return await self.inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self.inner.aclose()

    return AsyncDelegating() if is_async else Delegating()


# One pool for every pooled carrier: its threads start with an empty context, as any
# `ThreadPoolExecutor`'s do (only `asyncio.to_thread` and anyio copy the caller's).
POOL = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="rev2-pooled")


class PooledAdapter(requests.adapters.BaseAdapter):
    """A requests adapter on `BaseAdapter` that sends through an `HTTPAdapter` in a thread pool."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = requests.adapters.HTTPAdapter()

    def send(self, request: Any, *args: Any, **kwargs: Any) -> requests.Response:
        return POOL.submit(self.inner.send, request, *args, **kwargs).result(timeout=60)

    def close(self) -> None:
        self.inner.close()


def pooled(library: str, is_async: bool) -> Any:
    """An httpx/httpx2 transport that hands each request to `HTTPTransport` in a worker thread.

    Sync: a `ThreadPoolExecutor` (a hard deadline, say); async: `loop.run_in_executor`
    around the sync transport, the body read there.
    """
    httpx: Any = pytest.importorskip(library)

    class Pooled(httpx.BaseTransport):  # type: ignore[misc]
        def __init__(self) -> None:
            self.inner = httpx.HTTPTransport()

        def handle_request(self, request: Any) -> Any:
            return POOL.submit(self.inner.handle_request, request).result(timeout=60)

        def close(self) -> None:
            self.inner.close()

    class AsyncPooled(httpx.AsyncBaseTransport):  # type: ignore[misc]
        def __init__(self) -> None:
            self.inner = httpx.HTTPTransport()

        def _send(self, request: Any) -> Any:
            response = self.inner.handle_request(request)
            try:
                body = b"".join(response.stream)
            finally:
                response.stream.close()
            headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
            return httpx.Response(response.status_code, headers=headers, content=body, request=request)

        async def handle_async_request(self, request: Any) -> Any:
            return await asyncio.get_running_loop().run_in_executor(POOL, self._send, request)

        async def aclose(self) -> None:
            self.inner.close()

    return AsyncPooled() if is_async else Pooled()


def refusing(library: str, is_async: bool) -> Any:
    """An httpx/httpx2 transport whose every request raises `ConnectError`."""
    httpx: Any = pytest.importorskip(library)

    def refuse(request: Any) -> Any:
        raise httpx.ConnectError("no route", request=request)

    async def arefuse(request: Any) -> Any:
        refuse(request)

    return httpx.MockTransport(arefuse if is_async else refuse)


def sender(driver: str, kind: str) -> Callable[[str], int]:
    """A function that GETs a URL through a new client of *driver* with a new carrier of *kind*.

    New each time: an async transport's pool belongs to the event loop it ran in.
    """
    if driver == "requests":

        def get(url: str) -> int:
            with requests.Session() as session:
                session.mount("http://", carrier_for(driver, kind))
                return session.get(url).status_code

        return get
    library = driver.removesuffix("-async")
    httpx: Any = pytest.importorskip(library)
    if driver.endswith("-async"):

        async def aget(url: str) -> int:
            async with httpx.AsyncClient(transport=carrier_for(driver, kind)) as client:
                return int((await client.get(url)).status_code)

        return lambda url: asyncio.run(aget(url))

    def sget(url: str) -> int:
        with httpx.Client(transport=carrier_for(driver, kind)) as client:
            return int(client.get(url).status_code)

    return sget


def carrier_for(driver: str, kind: str) -> Any:
    """The adapter or transport of *kind* (`custom`, `mock`, `delegating`, `pooled`, `refusing`) for *driver*."""
    if driver == "requests":
        return {
            "custom": UrllibAdapter,
            "delegating": DelegatingAdapter,
            "pooled": PooledAdapter,
            "refusing": RefusingAdapter,
        }[kind]()
    library, is_async = driver.removesuffix("-async"), driver.endswith("-async")
    if kind == "delegating":
        return delegating(library, is_async)
    if kind == "pooled":
        return pooled(library, is_async)
    if kind == "refusing":
        return refusing(library, is_async)
    return uncovered(library, kind, is_async)


@pytest.fixture(scope="module", name="shared_server")
def fixture_shared_server() -> Iterator[IndexServer]:
    """One server for every generated example: /p/ wants alice."""
    server = IndexServer().start()
    server.route("/p/", users={"alice": "pw"})
    yield server
    server.stop()


@pytest.fixture(name="installed")
def fixture_installed(
    server: IndexServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[IndexServer]:
    """Global mode installed; /p/simple/ (with its password in the URL) and /open/simple/ configured."""
    server.route("/p/", users={"alice": "pw-SECRET"})
    server.route("/open/")
    server.route("/api/", users={"x": "y"})
    monkeypatch.setenv("INDEXAUTH_INDEX_P_URL", server.url("/p/simple/").replace("://", "://alice:pw-SECRET@"))
    monkeypatch.setenv("INDEXAUTH_INDEX_O_URL", server.url("/open/simple/"))
    indexauth.install()
    caplog.set_level(logging.DEBUG, "indexauth")
    try:
        yield server
    finally:
        indexauth.uninstall()


def said(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records that say global mode did not take part."""
    return [r for r in caplog.records if SAID in r.getMessage() or "did not take part" in r.getMessage()]


def kinds(driver: str) -> list[str]:
    return ["custom"] if driver == "requests" else ["custom", "mock"]


@pytest.mark.parametrize(
    ("driver", "kind"), [(d, k) for d in DRIVERS for k in kinds(d)]
)
def test_a_failure_through_an_uninstrumented_class_is_said_once(
    driver: str, kind: str, installed: IndexServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Two 401s from a configured index through a class global mode does not know: one warning."""
    send = sender(driver, kind)
    assert send(installed.url("/p/simple/a/")) == 401
    assert send(installed.url("/p/simple/b/")) == 401
    assert [s.user for s in installed.seen] == [None, None]
    records = said(caplog)
    assert len(records) == 1
    message = records[0].getMessage()
    assert records[0].levelno == logging.WARNING
    cls = type(carrier_for(driver, kind))
    assert f"{cls.__module__}.{cls.__qualname__}" in message
    assert f"indexauth: {installed.url('/p/simple/')} answered 401 to a request" in message
    assert "SECRET" not in message
    fix = "IndexAuthAdapter(inner=" if driver == "requests" else "IndexAuthTransport(inner="
    assert fix in message
    assert "see: docs/global.md#when-global-mode-cannot-help" in message


@pytest.mark.parametrize("driver", DRIVERS)
def test_nothing_is_said_on_success_or_for_a_url_of_no_index(
    driver: str, installed: IndexServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A 200 from a configured index and a 401 from some API, through the same class: silence."""
    send = sender(driver, "custom")
    assert send(installed.url("/open/simple/a/")) == 200
    assert send(installed.url("/api/user")) == 401
    assert send(installed.url("/elsewhere/")) == 404
    assert said(caplog) == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_class_that_delegates_to_an_instrumented_one_is_covered(
    driver: str, installed: IndexServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrapper around HTTPAdapter/HTTPTransport authenticates, and its failures are the flow's to say."""
    send = sender(driver, "delegating")
    assert send(installed.url("/p/simple/a/")) == 200
    assert [s.user for s in installed.seen] == ["alice"]
    installed.route("/q/", users={"carol": "pq"})
    monkeypatch.setenv("INDEXAUTH_INDEX_Q_URL", installed.url("/q/simple/"))
    indexauth.uninstall()
    indexauth.install()
    assert send(installed.url("/q/simple/a/")) == 401
    assert said(caplog) == []
    # The flow ran and said what it found (nothing), as for any instrumented class.
    assert [r for r in caplog.records if "no credentials found" in r.getMessage()]


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_class_that_delegates_in_a_worker_thread_is_covered(
    driver: str, installed: IndexServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrapper that runs HTTPAdapter/HTTPTransport in a thread pool (no context copied) is covered.

    The flow authenticates in the worker thread; a 404 for a package the index
    lacks, with those credentials, is an ordinary miss, not "did not authenticate it".
    """
    installed.route("/p/simple/nosuch/", users={"alice": "pw-SECRET"}, status=404)
    send = sender(driver, "pooled")
    assert send(installed.url("/p/simple/a/")) == 200
    assert send(installed.url("/p/simple/nosuch/")) == 404
    assert [s.user for s in installed.seen] == ["alice", "alice"]
    assert said(caplog) == []


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_send_that_raises_is_said_once(
    driver: str, installed: IndexServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A send to a configured index raising inside a class global mode does not know: one warning."""
    send = sender(driver, "refusing")
    for _ in range(2):
        with pytest.raises(Exception, match="no route"):
            send(installed.url("/p/simple/a/"))
    with pytest.raises(Exception, match="no route"):
        send(installed.url("/api/user"))
    records = said(caplog)
    assert len(records) == 1
    assert "failed (" in records[0].getMessage()


def test_said_once_per_process_across_libraries(
    installed: IndexServer, caplog: pytest.LogCaptureFixture
) -> None:
    """After requests said it, httpx's failure through an unknown transport says nothing more."""
    assert sender("requests", "custom")(installed.url("/p/simple/a/")) == 401
    assert sender("httpx", "mock")(installed.url("/p/simple/a/")) == 401
    assert len(said(caplog)) == 1


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
@pytest.mark.parametrize("method", ["Client.send", "HTTPTransport.handle_request"])
def test_a_method_another_tool_wrapped_first_is_still_supported(
    library: str, method: str, server: IndexServer, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A tracing tool replaced a wrapped method with a generic `functools.wraps` wrapper before
    `install()`: the library is still supported, and the request still authenticates."""
    import functools

    httpx: Any = pytest.importorskip(library)
    cls_name, name = method.split(".")
    cls = getattr(httpx, cls_name)
    original = getattr(cls, name)

    @functools.wraps(original)
    def traced(*args: Any, **kwargs: Any) -> Any:
        return original(*args, **kwargs)

    monkeypatch.setattr(cls, name, traced)
    server.route("/p/", users={"alice": "pw-SECRET"})
    monkeypatch.setenv("INDEXAUTH_INDEX_P_URL", server.url("/p/simple/").replace("://", "://alice:pw-SECRET@"))
    caplog.set_level(logging.DEBUG, "indexauth")
    indexauth.install()
    try:
        with httpx.Client() as client:
            assert client.get(server.url("/p/simple/a/")).status_code == 200
    finally:
        indexauth.uninstall()
    assert [s.user for s in server.seen] == ["alice"]
    assert not [r for r in caplog.records if "not supported" in r.getMessage()]


def test_an_installed_httpx_is_supported() -> None:
    """The httpx and httpx2 installed here are in the supported range and have every method wrapped."""
    from indexauth import _uncovered

    for name in ("httpx", "httpx2"):
        module = pytest.importorskip(name)
        assert _uncovered.problem(module) is None, name


PROGRAM = """
    import sys, requests, httpx
    sys.path.insert(0, {tests!r})
    from test_global_uncovered import UrllibAdapter, uncovered
    session = requests.Session()
    session.mount("http://", UrllibAdapter())
    statuses = [session.get({open!r}).status_code]
    if {fail}:
        statuses += [session.get({url!r}).status_code, session.get({url!r}).status_code]
        with httpx.Client(transport=uncovered("httpx", "mock", False)) as client:
            statuses.append(client.get({url!r}).status_code)
    print(statuses)
"""


@pytest.mark.parametrize("fail", [True, False], ids=["failing", "succeeding"])
def test_a_program_under_indexauth_1_says_it_once_on_stderr(
    fail: bool, server: IndexServer, tmp_path: Path
) -> None:
    """A real `INDEXAUTH=1` process: one warning line on stderr for three failures, none on success."""
    server.route("/p/", users={"alice": "pw"})
    server.route("/open/")
    program = PROGRAM.format(
        tests=os.path.dirname(__file__),
        open=server.url("/open/simple/x/"),
        url=server.url("/p/simple/x/"),
        fail=fail,
    )
    env = {
        **os.environ,
        "INDEXAUTH": "1",
        "INDEXAUTH_INDEX_P_URL": server.url("/p/simple/"),
        "INDEXAUTH_INDEX_O_URL": server.url("/open/simple/"),
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(program)],
        capture_output=True, text=True, timeout=120, env=env, check=False, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("[200, 401, 401, 401]" if fail else "[200]")
    lines = [line for line in done.stderr.splitlines() if SAID in line]
    assert len(lines) == (1 if fail else 0), done.stderr
    if not fail:
        assert done.stderr == ""
    else:
        assert lines[0].startswith(f"indexauth: {server.url('/p/simple/')} answered 401 to a request")
        assert "test_global_uncovered.UrllibAdapter" in lines[0]


def test_the_see_line_names_a_section_of_docs_global_md() -> None:
    """The warning's `see:` line leads to the section that explains it."""
    from indexauth import _uncovered

    page, _, anchor = _uncovered.SEE.partition("#")
    text = (Path(__file__).parent.parent / page).read_text("utf-8")
    headings = [line.lstrip("#").strip().lower().replace(" ", "-") for line in text.splitlines() if line.startswith("#")]
    assert anchor in headings


secrets = st.text(string.ascii_letters + string.digits + "-_.~/@:#?%+!$&'()*,;=", min_size=8, max_size=30).map(
    lambda s: "Zq8" + s
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(secret=secrets, form=st.sampled_from(["alice:{s}@", "{s}@", "{s}:@"]))
def test_property_the_warning_never_shows_the_index_urls_secret(
    shared_server: IndexServer, secret: str, form: str
) -> None:
    """For any password or token in your index's URL: the warning names the index without it."""
    url = shared_server.url("/p/simple/").replace("://", "://" + form.format(s=quote(secret, safe="")))
    with pytest.MonkeyPatch.context() as mp, _captured() as out:
        mp.setenv("INDEXAUTH_INDEX_P_URL", url)
        indexauth.install()
        try:
            assert sender("requests", "custom")(shared_server.url("/p/simple/x/")) == 401
        finally:
            indexauth.uninstall()
    assert SAID in out.getvalue()
    _assert_hidden(secret, out.getvalue())
