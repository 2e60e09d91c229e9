"""Global mode is invisible: a program that inspects what it built sees what it saw without indexauth.

Each test runs twice under `indexauth.install()` (what `INDEXAUTH=1` does at
start-up): with no index configured, and with a configured index whose
credentials are in the environment. Sessions, clients, adapters and
transports must stay the objects the program made, with their own pools,
settings and pickling, while every one of them still authenticates.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from urllib3.util.retry import Retry

import indexauth
from conftest import KeyringStore
from index_server import IndexServer
from indexauth import _patch

LIBRARIES = ("httpx", "httpx2")


@pytest.fixture(name="configured", params=[False, True], ids=["no-index", "index"])
def fixture_configured(
    request: pytest.FixtureRequest, server: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[bool]:
    """Global mode installed in this process; with the param, /p/simple/ is a configured index."""
    server.route("/p/", users={"alice": "pw"})
    server.route("/pub/")
    server.route("/busy/", status=503)
    if request.param:
        monkeypatch.setenv("INDEXAUTH_INDEX_P_URL", server.url("/p/simple/"))
        monkeypatch.setenv("INDEXAUTH_INDEX_P_USERNAME", "alice")
        monkeypatch.setenv("INDEXAUTH_INDEX_P_PASSWORD", "pw")
    indexauth.install()
    try:
        yield request.param
    finally:
        indexauth.uninstall()


def private_status(configured: bool) -> int:
    """What a GET under the private index answers: 200 with credentials configured, else 401."""
    return 200 if configured else 401


def client_module(name: str) -> Any:
    """httpx or httpx2, skipping when it is not installed."""
    return pytest.importorskip(name)


class TestRequests:
    def test_sessions_keep_their_own_adapters(self, configured: bool, server: IndexServer) -> None:
        """`Session()` mounts plain HTTPAdapters; the one that sends uses its own pool."""
        with requests.Session() as session:
            adapter = session.adapters["http://"]
            assert type(adapter) is requests.adapters.HTTPAdapter
            assert session.get(server.url("/p/simple/x/")).status_code == private_status(configured)
            assert len(adapter.poolmanager.pools) == 1

    def test_max_retries_on_a_mounted_adapter_is_obeyed(
        self, configured: bool, server: IndexServer
    ) -> None:
        """A Retry set on the session's adapter carries the traffic: 3 requests, then RetryError."""
        with requests.Session() as session:
            adapter = session.adapters["http://"]
            assert isinstance(adapter, requests.adapters.HTTPAdapter)
            adapter.max_retries = Retry(
                total=2, status_forcelist=[503], backoff_factor=0
            )
            with pytest.raises(requests.exceptions.RetryError):
                session.get(server.url("/busy/"))
        assert len(server.seen) == 3

    def test_pickled_and_deep_copied_sessions_still_send(
        self, configured: bool, server: IndexServer
    ) -> None:
        """A session comes back from pickle and deepcopy with working adapters."""
        with requests.Session() as session:
            for twin in (pickle.loads(pickle.dumps(session)), copy.deepcopy(session)):
                assert type(twin.adapters["http://"]) is requests.adapters.HTTPAdapter
                assert twin.get(server.url("/pub/")).status_code == 200
                status = twin.get(server.url("/p/simple/x/")).status_code
                assert status == private_status(configured)
                twin.close()

    def test_adapter_mounted_after_init_authenticates(
        self, configured: bool, server: IndexServer
    ) -> None:
        """poetry mounts its own adapter subclass after `Session.__init__`: it is covered, once."""

        class Caching(requests.adapters.HTTPAdapter):
            calls = 0

            def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
                self.calls += 1
                return super().send(request, *args, **kwargs)

        with requests.Session() as session:
            mine = Caching()
            session.mount("http://", mine)
            assert session.adapters["http://"] is mine
            assert session.get(server.url("/p/simple/x/")).status_code == private_status(configured)
        assert mine.calls == 1
        # Credentials from the environment go up front: one request either way.
        assert [s.user for s in server.seen] == (["alice"] if configured else [None])

    def test_callers_own_credentials_are_kept(self, configured: bool, server: IndexServer) -> None:
        """Credentials the program put on the request are sent as they are, never replaced."""
        with requests.Session() as session:
            response = session.get(server.url("/p/simple/x/"), auth=("bob", "nope"))
        assert response.status_code == 401
        assert [s.user for s in server.seen] == ["bob"]

    def test_explicit_adapter_around_an_instrumented_one_runs_the_flow_once(
        self,
        configured: bool,
        server: IndexServer,
        kr: KeyringStore,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """An IndexAuthAdapter's inner HTTPAdapter is instrumented too; only the outer flow runs.

        Run twice, the inner (global) flow would answer the anonymous 401 with its
        own lookup and warning before the outer one found the keyring entry.
        """
        server.route("/q/", users={"carol": "pq"})
        index = indexauth.Index(server.url("/q/simple/"))
        kr.set(index.url, "carol", "pq")
        with requests.Session() as session, caplog.at_level(logging.DEBUG, "indexauth"):
            session.mount("http://", indexauth.IndexAuthAdapter([index]))
            assert session.get(server.url("/q/simple/x/")).status_code == 200
        assert [s.user for s in server.seen] == [None, "carol"]
        assert _patch.global_authenticator().resolver.lookups == 0
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


class TestExplicitAdapterPickles:
    def test_unpickled_and_deep_copied_adapter_authenticates(
        self, configured: bool, server: IndexServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An IndexAuthAdapter survives pickle and deepcopy with its indexes, inner and options."""
        server.route("/q/", users={"carol": "pq"})
        monkeypatch.setenv("INDEXAUTH_INDEX_Q_USERNAME", "carol")
        monkeypatch.setenv("INDEXAUTH_INDEX_Q_PASSWORD", "pq")
        index = indexauth.Index(server.url("/q/simple/"), name="q")
        adapter = indexauth.IndexAuthAdapter([index], raise_on_failure=False, store=False)
        with requests.Session() as session:
            session.mount("http://", adapter)
            for twin in (
                pickle.loads(pickle.dumps(session)),
                copy.deepcopy(session),
            ):
                mounted = twin.adapters["http://"]
                assert isinstance(mounted, indexauth.IndexAuthAdapter)
                assert mounted.raise_on_failure is False
                assert mounted.authenticator.indexes == (index,)
                assert [s.name for s in mounted.authenticator.resolver.sources] == [
                    "index URL", "environment", "password command", "credential helper", "netrc", "keyring",
                ]
                assert twin.get(server.url("/q/simple/x/")).status_code == 200
                twin.close()
        assert [s.user for s in server.seen] == ["carol", "carol"]

    def test_pickle_never_holds_a_secret(
        self, configured: bool, server: IndexServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Credentials already used, and a password in the index URL, are not in the pickle."""
        server.route("/q/", users={"carol": "p-SECRET-q"})
        index = indexauth.Index(server.url("/q/simple/").replace("://", "://carol:p-SECRET-q@"))
        adapter = indexauth.IndexAuthAdapter([index])
        with requests.Session() as session:
            session.mount("http://", adapter)
            assert session.get(server.url("/q/simple/x/")).status_code == 200
            data = pickle.dumps(adapter)
        assert b"SECRET" not in data
        assert pickle.loads(data).authenticator.indexes[0].username == "carol"


class TestPip:
    def test_pip_sees_the_adapters_it_mounted(self, configured: bool, tmp_path: Path) -> None:
        """pip's identity and isinstance checks on its adapters hold (its resume cache needs them)."""
        from pip._internal.network.session import (
            CacheControlAdapter,
            InsecureCacheControlAdapter,
            PipSession,
        )

        session = PipSession(cache=str(tmp_path / "cache"), trusted_hosts=["trusted.example"])
        assert session.adapters["https://trusted.example/"] is session._trusted_host_adapter
        assert type(session._trusted_host_adapter) is InsecureCacheControlAdapter
        assert isinstance(session.get_adapter("https://pkgs.example/simple/"), CacheControlAdapter)
        session.close()

    def test_pip_session_authenticates_through_its_own_adapters(
        self, configured: bool, server: IndexServer, tmp_path: Path
    ) -> None:
        """A PipSession with the index as its index URL gets credentials; its adapter sent them."""
        from pip._internal.network.session import PipSession

        session = PipSession(cache=str(tmp_path / "cache"), index_urls=[server.url("/p/simple/")])
        adapter = session.get_adapter(server.url("/p/"))
        response = session.get(server.url("/p/simple/x/"))
        assert response.status_code == private_status(configured)
        assert response.connection is adapter
        session.close()


@pytest.mark.parametrize("library", LIBRARIES)
class TestHttpx:
    def test_clients_keep_their_transports_and_pools(
        self, library: str, configured: bool, server: IndexServer
    ) -> None:
        """A client's transport is the HTTPTransport it built, with the pool that sends."""
        httpx = client_module(library)
        with httpx.Client() as client:
            transport = client._transport
            assert type(transport) is httpx.HTTPTransport
            response = client.get(server.url("/p/simple/x/"))
            assert response.status_code == private_status(configured)
            assert transport._pool.connections

    def test_socks_proxy_transport_is_still_recognised(
        self, library: str, configured: bool
    ) -> None:
        """A SOCKS proxy mount is the library's HTTPTransport around httpcore's SOCKSProxy."""
        httpx = client_module(library)
        pytest.importorskip("socksio")
        with httpx.Client(proxy="socks5://127.0.0.1:9") as client:
            transport = client._transport_for_url(httpx.URL("https://pkgs.example/simple/"))
            assert type(transport) is httpx.HTTPTransport
            assert type(transport._pool).__name__ == "SOCKSProxy"

    def test_mounts_and_transport_given_are_covered(
        self, library: str, configured: bool, server: IndexServer
    ) -> None:
        """pdm passes a transport per source in mounts= and transport=: both authenticate."""
        httpx = client_module(library)
        mounted, default = httpx.HTTPTransport(), httpx.HTTPTransport()
        url = server.url("/p/simple/x/")
        with httpx.Client(mounts={"http://127.0.0.1": mounted}, transport=default) as client:
            assert client._transport is default
            assert client.get(url).status_code == private_status(configured)
        with httpx.Client(transport=default) as client:
            assert client.get(url).status_code == private_status(configured)
        assert [s.user for s in server.seen] == (["alice"] * 2 if configured else [None] * 2)

    def test_async_clients_are_covered(
        self, library: str, configured: bool, server: IndexServer
    ) -> None:
        """An AsyncClient with its own mounted AsyncHTTPTransport authenticates too."""
        httpx = client_module(library)
        url = server.url("/p/simple/x/")

        async def main() -> int:
            transport = httpx.AsyncHTTPTransport()
            async with httpx.AsyncClient(mounts={"all://": transport}) as client:
                assert client._transport_for_url(httpx.URL(url)) is transport
                return int((await client.get(url)).status_code)

        assert asyncio.run(main()) == private_status(configured)

    def test_explicit_transport_around_an_instrumented_one_runs_the_flow_once(
        self,
        library: str,
        configured: bool,
        server: IndexServer,
        kr: KeyringStore,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """IndexAuthTransport's inner HTTPTransport is instrumented too; only the outer flow runs."""
        httpx = client_module(library)
        server.route("/q/", users={"carol": "pq"})
        index = indexauth.Index(server.url("/q/simple/"))
        kr.set(index.url, "carol", "pq")
        transport = indexauth.IndexAuthTransport([index], inner=httpx.HTTPTransport())
        with httpx.Client(transport=transport) as client, caplog.at_level(logging.DEBUG, "indexauth"):
            assert client.get(server.url("/q/simple/x/")).status_code == 200
            # Attribute reads reach the inner transport, as for any wrapping transport.
            assert transport._pool is transport.inner._pool
        assert [s.user for s in server.seen] == [None, "carol"]
        assert _patch.global_authenticator().resolver.lookups == 0
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    def test_callers_own_credentials_are_kept(
        self, library: str, configured: bool, server: IndexServer
    ) -> None:
        """An `auth=` the program passes is what the server sees."""
        httpx = client_module(library)
        with httpx.Client() as client:
            assert client.get(server.url("/p/simple/x/"), auth=("bob", "nope")).status_code == 401
        assert [s.user for s in server.seen] == ["bob"]


class TestQuiet:
    def test_401_from_a_url_of_no_configured_index_is_debug_only(
        self, configured: bool, server: IndexServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Some API answering 401, nothing found: a debug line, never a warning on stderr."""
        server.route("/api/", users={"x": "y"})
        httpx = client_module("httpx")
        with caplog.at_level(logging.DEBUG, "indexauth"):
            with requests.Session() as session:
                assert session.get(server.url("/api/user")).status_code == 401
            with httpx.Client() as client:
                assert client.get(server.url("/api/user")).status_code == 401
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        found = [r for r in caplog.records if "no credentials found" in r.getMessage()]
        assert len(found) == 2
        assert all(r.levelno == logging.DEBUG for r in found)

    def test_401_from_a_configured_index_with_nothing_found_warns_once(
        self,
        configured: bool,
        server: IndexServer,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """A configured index refusing us with nothing found is the user's business: one warning."""
        server.route("/r/", users={"x": "y"})
        monkeypatch.setenv("INDEXAUTH_INDEX_R_URL", server.url("/r/simple/"))
        indexauth.uninstall()
        indexauth.install()
        with caplog.at_level(logging.DEBUG, "indexauth"), requests.Session() as session:
            for name in ("a", "b"):
                assert session.get(server.url(f"/r/simple/{name}/")).status_code == 401
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1
        assert "no credentials found" in warnings[0].getMessage()
