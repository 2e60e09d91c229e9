"""indexauth answers only the challenge that was asked, and steps aside for the caller's own auth.

With a netrc entry for the host, a server that asks for Digest must never see
indexauth's Basic retry (the netrc password in Basic form, over plain http),
and the caller's `HTTPDigestAuth` or `httpx.DigestAuth`, which run above the
adapter or transport, must then succeed. Over every driver. (Issue 9, point 7.)
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import anyio
import pytest
import requests
from requests.auth import HTTPDigestAuth

import indexauth
from index_server import DIGEST_CHALLENGE, IndexServer

PASSWORD = "wonder-land-Zq81"


@pytest.fixture(name="digest_server")
def fixture_digest_server(server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> IndexServer:
    """/p/ wants alice by Digest only; netrc holds alice's password for the host."""
    server.route("/p/", users={"alice": PASSWORD}, www_authenticate=DIGEST_CHALLENGE, accept=("Digest",))
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login alice password {PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    return server


def _assert_digest_only(server: IndexServer) -> None:
    schemes = [seen.scheme for seen in server.seen]
    assert "Basic" not in schemes, schemes
    assert schemes == [None, "Digest"], schemes


def test_requests_digest_auth_succeeds(digest_server: IndexServer) -> None:
    """requests' HTTPDigestAuth answers the Digest challenge; indexauth sends no Basic."""
    with requests.Session() as session:
        session.trust_env = False
        session.mount("http://", indexauth.IndexAuthAdapter([digest_server.url("/p/simple/")]))
        response = session.get(
            digest_server.url("/p/simple/x/"), auth=HTTPDigestAuth("alice", PASSWORD), timeout=10
        )
    assert response.status_code == 200
    _assert_digest_only(digest_server)


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_httpx_digest_auth_succeeds(digest_server: IndexServer, library: str) -> None:
    """httpx.DigestAuth (and httpx2's) answers; the transport steps aside."""
    module: Any = importlib.import_module(library)
    transport = indexauth.IndexAuthTransport([digest_server.url("/p/simple/")])
    with module.Client(transport=transport, timeout=10) as client:
        response = client.get(
            digest_server.url("/p/simple/x/"), auth=module.DigestAuth("alice", PASSWORD)
        )
    assert response.status_code == 200
    _assert_digest_only(digest_server)


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_async_httpx_digest_auth_succeeds(digest_server: IndexServer, library: str, backend: str) -> None:
    """The async transport steps aside too, under asyncio and trio."""
    module: Any = importlib.import_module(library)

    async def main() -> int:
        transport = indexauth.AsyncIndexAuthTransport([digest_server.url("/p/simple/")])
        async with module.AsyncClient(transport=transport, timeout=10) as client:
            response = await client.get(
                digest_server.url("/p/simple/x/"), auth=module.DigestAuth("alice", PASSWORD)
            )
        return int(response.status_code)

    assert anyio.run(main, backend=backend) == 200
    _assert_digest_only(digest_server)


class TestOffered:
    """Reading the schemes of a `WWW-Authenticate` header."""

    @pytest.mark.parametrize(
        ("header", "schemes"),
        [
            ('Basic realm="x"', {"basic"}),
            (DIGEST_CHALLENGE, {"digest"}),
            ('Digest realm="a, Basic b", nonce="n"', {"digest"}),
            ("Negotiate", {"negotiate"}),
            ("Negotiate YIIGaB==, NTLM", {"negotiate", "ntlm"}),
            ('Bearer realm="x", error="invalid_token", Basic realm = "y"', {"bearer", "basic"}),
            ("", None),
            (None, None),
            ("=, ,", None),
        ],
    )
    def test_schemes(self, header: str | None, schemes: set[str] | None) -> None:
        """Params (also with spaces around `=`) and quoted commas are not schemes."""
        from indexauth._challenge import offered

        assert offered(header) == (None if schemes is None else frozenset(schemes))


def test_cli_check_sends_no_basic_to_a_digest_server(digest_server: IndexServer) -> None:
    """`indexauth check` drives the same flow: netrc's password never goes out in Basic form."""
    from indexauth._cli import main

    code = main(["check", digest_server.url("/p/simple/"), "--json", "--keyring-provider", "disabled"])
    assert code != 0
    assert [seen.scheme for seen in digest_server.seen] == [None]
