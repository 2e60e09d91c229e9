"""A credential a server refused is not sent to that index again by the same process.

Artifactory and Nexus lock an account after a few failed logins; pip fetches
one page per package. So once a server refuses credentials from a source (401,
or 403 to credentials), every later request under that index goes without
them, and the error says they were "refused earlier in this process by ...".
A different credential (corrected, or refreshed by a helper) is sent as usual.
(Issue 9, point 6.) A 403 after the index answered the same credentials with a
2xx refuses that one resource only (Artifactory with Xray blocking a package).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import requests

import indexauth
from conftest import KeyringStore
from drivers import DRIVERS, Call
from index_server import IndexServer
from indexauth._models import Credentials

DRIVER_NAMES = sorted(DRIVERS)
ENV = {"INDEXAUTH_INDEX_INTERNAL_USERNAME": "alice", "INDEXAUTH_INDEX_INTERNAL_PASSWORD": "wrong-Zq81"}


def _calls(server: IndexServer, *paths: str) -> list[Call]:
    return [Call(server.url(path)) for path in paths]


@pytest.mark.parametrize("driver_name", DRIVER_NAMES)
def test_env_credentials_refused_once_then_never_sent(
    server: IndexServer, monkeypatch: pytest.MonkeyPatch, driver_name: str
) -> None:
    """Three package pages, a wrong password from the environment: it goes out once."""
    server.route("/p/", users={"alice": "wonder-land"})
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    index = indexauth.Index(server.url("/p/simple/"), name="internal")
    outcomes = DRIVERS[driver_name]().run(
        _calls(server, "/p/simple/a/", "/p/simple/b/", "/p/simple/c/"), indexes=[index], options={}
    )
    assert all(isinstance(o, indexauth.CredentialsRejectedError) for o in outcomes), outcomes
    assert [s.user for s in server.seen] == ["alice", None, None]
    first, *later = outcomes
    assert "refused earlier" not in str(first)
    for error in later:
        assert isinstance(error, indexauth.IndexAuthError)
        assert "refused earlier in this process by " + server.url("/p/simple/a/") in str(error)
        assert "environment INDEXAUTH_INDEX_INTERNAL_USERNAME/_PASSWORD" in str(error)
        assert "INDEXAUTH_INDEX_INTERNAL_PASSWORD" in error.hint
        assert "wrong-Zq81" not in str(error) and b"wrong-Zq81" not in pickle.dumps(error)


@pytest.mark.parametrize("driver_name", DRIVER_NAMES)
def test_keyring_credentials_lazy_refused_once(
    server: IndexServer, kr: KeyringStore, driver_name: str
) -> None:
    """Found on a challenge and refused: later challenges do not send it again (two lookups at most)."""
    server.route("/p/", users={"alice": "wonder-land"})
    url = server.url("/p/simple/")
    kr.set(url, "alice", "wrong-Zq81")
    outcomes = DRIVERS[driver_name]().run(
        _calls(server, "/p/simple/a/", "/p/simple/b/", "/p/simple/c/"),
        indexes=[indexauth.Index(url)],
        options={},
    )
    assert all(isinstance(o, indexauth.CredentialsRejectedError) for o in outcomes), outcomes
    assert [s.user for s in server.seen] == [None, "alice", None, None]
    assert "refused earlier in this process" in str(outcomes[2])
    # The first refusal forgets the lookup; the second finds the same entry and keeps it.
    assert kr.lookups() == [(url, None), (url, None)]


@pytest.mark.parametrize("driver_name", DRIVER_NAMES)
def test_forbidden_after_send_counts_and_always_sends_nothing(
    server: IndexServer, kr: KeyringStore, driver_name: str
) -> None:
    """403 to credentials is a refusal too; under `always` the next request is not sent at all."""
    server.route("/p/", users={"alice": "wonder-land"}, wrong=403)
    url = server.url("/p/simple/")
    kr.set(url, "alice", "wrong-Zq81")
    outcomes = DRIVERS[driver_name]().run(
        _calls(server, "/p/simple/a/", "/p/simple/b/"),
        indexes=[indexauth.Index(url, authenticate="always")],
        options={},
    )
    assert all(isinstance(o, indexauth.ForbiddenError) for o in outcomes), outcomes
    assert [s.user for s in server.seen] == ["alice"]
    second = outcomes[1]
    assert isinstance(second, indexauth.IndexAuthError)
    assert "refused earlier in this process" in str(second) and "403 Forbidden" in str(second)
    assert "nothing was sent" in str(second)


@pytest.mark.parametrize("driver_name", DRIVER_NAMES)
def test_url_token_refused_once(server: IndexServer, driver_name: str) -> None:
    """pip's `TOKEN@` form, refused: tried once; later pages go anonymous and say why."""
    server.route("/p/", users={"alice": "wonder-land"})
    token = "glpat-Zq81refused"
    url = server.url("/p/simple/").replace("http://", f"http://{token}@")
    outcomes = DRIVERS[driver_name]().run(
        _calls(server, "/p/simple/a/", "/p/simple/b/"), indexes=[indexauth.Index(url)], options={}
    )
    assert all(isinstance(o, indexauth.IncompleteCredentialsError) for o in outcomes), outcomes
    assert [s.user for s in server.seen] == [token, None]
    assert "refused earlier in this process" in str(outcomes[1])
    assert token not in str(outcomes[1])


def test_a_different_credential_is_sent(server: IndexServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused memory is per credential, not per index: a corrected (or refreshed) one goes out."""
    server.route("/p/", users={"alice": "wonder-land"})
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    index = indexauth.Index(server.url("/p/simple/"), name="internal")
    with requests.Session() as session:
        session.trust_env = False
        session.mount("http://", indexauth.IndexAuthAdapter([index]))
        with pytest.raises(indexauth.CredentialsRejectedError):
            session.get(server.url("/p/simple/a/"), timeout=10)
        monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_PASSWORD", "wonder-land")
        assert session.get(server.url("/p/simple/b/"), timeout=10).status_code == 200
    assert [s.user for s in server.seen] == ["alice", "alice"]


def test_fingerprint_is_per_credential_and_hides_the_secret() -> None:
    """Same credential, same hash; another password or a token, another hash; no secret in it."""
    from indexauth._resolver import fingerprint

    secret = "Zq81-secret"
    a = fingerprint(Credentials("alice", secret))
    assert a == fingerprint(Credentials("alice", secret))
    assert a != fingerprint(Credentials("alice", secret + "x"))
    assert a != fingerprint(Credentials.bearer(secret))
    assert secret not in a


def test_global_mode_403_for_one_package_after_a_2xx(
    server: IndexServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`INDEXAUTH=1` in process, pip's own session: a blocked package does not turn the run anonymous."""
    from pip._internal.network.session import PipSession

    server.route("/p/", users={"alice": "wonder-land"})
    server.route("/p/simple/blocked/", users={"alice": "wonder-land"}, status=403)
    monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_URL", server.url("/p/simple/"))
    monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_USERNAME", "alice")
    monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_PASSWORD", "wonder-land")
    indexauth.install()
    try:
        session = PipSession(cache=str(tmp_path / "cache"), index_urls=[server.url("/p/simple/")])
        paths = ("/p/simple/a/", "/p/simple/blocked/", "/p/simple/b/")
        statuses = [session.get(server.url(path)).status_code for path in paths]
        session.close()
    finally:
        indexauth.uninstall()
    assert [s.user for s in server.seen] == ["alice", "alice", "alice"]
    assert statuses == [200, 403, 200]  # pip gets the 403 itself, as it would without indexauth
    said = caplog.text
    assert "the server refused this one resource, not the credentials" in said
    assert "refused earlier" not in said and "wonder-land" not in said
