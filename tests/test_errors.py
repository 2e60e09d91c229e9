"""Errors: what each class carries, that existing except clauses catch it, and that no secret leaks.

Secrets are planted where a careless implementation would leak them (index URL
userinfo, environment, keyring, the request's own header) and searched for in
str(), repr(), pickles and every log line, for every error class.
"""

from __future__ import annotations

import io
import logging
import pickle
import string
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

import indexauth
from conftest import KeyringStore, use_backend
from drivers import DRIVERS, Call
from index_server import IndexServer
from indexauth._driver import drive
from indexauth._flow import Authenticator, Send
from indexauth._resolver import Resolver
from indexauth._sources import EnvSource, IndexUrlSource

SECRET = "pl4nted-S3CRET-v4lue"


def _assert_clean(error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    assert isinstance(error, indexauth.IndexAuthError)
    # .request and .response are the caller's own objects (httpx's Request repr shows the
    # URL the caller built); everything indexauth itself put on the error is checked.
    ours = {k: v for k, v in error.__dict__.items() if k not in ("request", "_request", "response")}
    for text in (str(error), repr(error), error.render(), repr(ours)):
        assert SECRET not in text
    assert SECRET.encode() not in pickle.dumps(error)
    assert SECRET not in caplog.text
    assert error.hint, "every error says what to do"
    # Rejections name their source instead; every other error lists what was tried.
    assert error.attempts or isinstance(error, indexauth.CredentialsRejectedError)
    assert str(error).endswith(f"\n  see: docs/errors.md#{error.reference}"), "links its section"


@pytest.fixture(name="caplog_debug")
def fixture_caplog_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture indexauth's log at debug level."""
    caplog.set_level(logging.DEBUG, logger="indexauth")
    return caplog


def _run(server: IndexServer, indexes: list[indexauth.Index], path: str, **kw: object) -> BaseException:
    [outcome] = DRIVERS["requests"]().run([Call(server.url(path), **kw)], indexes=indexes, options={})  # type: ignore[arg-type]
    assert isinstance(outcome, BaseException), outcome
    return outcome


class TestEveryClassKeepsSecrets:
    """Each error class, raised for real, never shows a secret."""

    def test_missing(self, server: IndexServer, caplog_debug: pytest.LogCaptureFixture) -> None:
        """MissingCredentialsError after a 401."""
        server.route("/p/", users={"alice": SECRET})
        error = _run(server, [indexauth.Index(server.url("/p/simple/"), name="internal")], "/p/simple/x/")
        assert isinstance(error, indexauth.MissingCredentialsError)
        assert isinstance(error, requests.HTTPError) and error.response is not None
        assert error.response.status_code == 401
        assert error.status == 401 and error.policy == "auto"
        assert error.index == ("internal", server.url("/p/simple/"))
        assert "INDEXAUTH_INDEX_INTERNAL_PASSWORD" in error.hint
        _assert_clean(error, caplog_debug)

    def test_rejected_from_url_userinfo(
        self, server: IndexServer, caplog_debug: pytest.LogCaptureFixture
    ) -> None:
        """CredentialsRejectedError names its source; the planted password stays hidden."""
        server.route("/p/", users={"alice": "right"})
        url = server.url("/p/simple/").replace("http://", f"http://alice:{SECRET}@")
        error = _run(server, [indexauth.Index(url)], "/p/simple/x/")
        assert isinstance(error, indexauth.CredentialsRejectedError)
        assert not isinstance(error, indexauth.ForbiddenError)
        assert error.source is not None and "index URL" in error.source
        assert "alice:****@" in str(error)
        # The server's port may hold the digits too (127.0.0.1:34011): count without it.
        summary = error.summary.replace(f":{server.port}/", ":PORT/")
        assert summary.count("401") == 1 and "401 Unauthorized" in summary
        _assert_clean(error, caplog_debug)

    def test_forbidden_from_env(
        self, server: IndexServer, caplog_debug: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """ForbiddenError for a 403 to credentials from the environment."""
        server.route("/p/", users={"alice": "right"}, wrong=403)
        monkeypatch.setenv("INDEXAUTH_INDEX_X_USERNAME", "alice")
        monkeypatch.setenv("INDEXAUTH_INDEX_X_PASSWORD", SECRET)
        error = _run(server, [indexauth.Index(server.url("/p/simple/"), name="x")], "/p/simple/y/")
        assert isinstance(error, indexauth.ForbiddenError)
        assert error.status == 403 and error.source is not None and "INDEXAUTH_INDEX_X" in error.source
        # The status is said once, with its name: pip users read this line in a warning.
        # The server's port may hold the digits too (127.0.0.1:34031): count without it.
        summary = error.summary.replace(f":{server.port}/", ":PORT/")
        assert summary.count("403") == 1 and "403 Forbidden" in summary
        _assert_clean(error, caplog_debug)

    def test_rejected_from_keyring(
        self, server: IndexServer, kr: KeyringStore, caplog_debug: pytest.LogCaptureFixture
    ) -> None:
        """A wrong keyring password: the error names the keyring service."""
        server.route("/p/", users={"alice": "right"})
        kr.set(server.url("/p/simple/"), "alice", SECRET)
        error = _run(server, [indexauth.Index(server.url("/p/simple/"))], "/p/simple/y/")
        assert isinstance(error, indexauth.CredentialsRejectedError)
        assert error.source is not None and repr(server.url("/p/simple/")) in error.source
        _assert_clean(error, caplog_debug)

    def test_incomplete(self, server: IndexServer, caplog_debug: pytest.LogCaptureFixture) -> None:
        """IncompleteCredentialsError names the username found."""
        server.route("/p/", users={"alice": SECRET})
        index = indexauth.Index(server.url("/p/simple/"), username="alice", authenticate="always")
        error = _run(server, [index], "/p/simple/y/")
        assert isinstance(error, indexauth.IncompleteCredentialsError)
        assert "'alice'" in str(error) and server.seen == []
        _assert_clean(error, caplog_debug)

    def test_unreplayable(
        self, server: IndexServer, kr: KeyringStore, caplog_debug: pytest.LogCaptureFixture
    ) -> None:
        """A generator body cannot be retried: the hint says authenticate='always'."""
        server.route("/p/", users={"alice": SECRET})
        kr.set(server.url("/p/simple/"), "alice", SECRET)
        body = (chunk for chunk in [b"a", b"b"])
        error = _run(server, [indexauth.Index(server.url("/p/simple/"))], "/p/simple/y/", method="POST", body=body)
        assert isinstance(error, indexauth.UnreplayableRequestError)
        assert 'authenticate="always"' in error.hint
        # A form a pip user can write, not only Python code.
        assert 'authenticate = "always"' in error.hint and "config.toml" in error.hint
        _assert_clean(error, caplog_debug)

    def test_provider(
        self, server: IndexServer, caplog_debug: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A locked keyring is a ProviderError when nothing else has credentials."""
        server.route("/p/", users={"alice": SECRET})
        use_backend(monkeypatch, "kr_backends.LockedKeyring")
        error = _run(server, [indexauth.Index(server.url("/p/simple/"))], "/p/simple/y/")
        assert isinstance(error, indexauth.ProviderError)
        assert "locked" in str(error)
        _assert_clean(error, caplog_debug)

    def test_configuration_from_env(
        self, server: IndexServer, caplog_debug: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A password with a line break in a variable is refused, naming the variable."""
        server.route("/p/", users={"alice": SECRET})
        monkeypatch.setenv("INDEXAUTH_INDEX_X_USERNAME", "alice")
        monkeypatch.setenv("INDEXAUTH_INDEX_X_PASSWORD", SECRET + "\n")
        error = _run(server, [indexauth.Index(server.url("/p/simple/"), name="x", authenticate="always")], "/p/simple/y/")
        assert isinstance(error, indexauth.ConfigurationError)
        assert "INDEXAUTH_INDEX_X_USERNAME/_PASSWORD" in str(error) and "line break" in str(error)
        _assert_clean(error, caplog_debug)


class TestShape:
    """The tree and its contracts."""

    def test_tree(self) -> None:
        """Every class derives from IndexAuthError; configuration errors are ValueErrors."""
        for cls in (
            indexauth.ConfigurationError,
            indexauth.MissingCredentialsError,
            indexauth.IncompleteCredentialsError,
            indexauth.CredentialsRejectedError,
            indexauth.ForbiddenError,
            indexauth.UnreplayableRequestError,
            indexauth.ProviderError,
        ):
            assert issubclass(cls, indexauth.IndexAuthError)
            assert cls.__module__ == "indexauth"
        assert issubclass(indexauth.ConfigurationError, ValueError)
        assert issubclass(indexauth.ForbiddenError, indexauth.CredentialsRejectedError)

    def test_pickle_round_trip_keeps_fields_and_client_class(self, server: IndexServer) -> None:
        """A raised error pickles without its response and comes back as the same classes."""
        server.route("/p/", users={"alice": "x"})
        error = _run(server, [indexauth.Index(server.url("/p/simple/"), name="n")], "/p/simple/y/")
        assert isinstance(error, indexauth.MissingCredentialsError)
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error)
        assert isinstance(back, requests.HTTPError)
        assert (back.url, back.index, back.attempts, back.hint, back.status) == (
            error.url, error.index, error.attempts, error.hint, error.status,
        )
        assert str(back) == str(error) and back.response is None

    def test_message_has_what_tried_hint(self, server: IndexServer) -> None:
        """The message reads: what happened, what was tried (one line each), what to do."""
        server.route("/p/", users={"alice": "x"})
        error = _run(server, [indexauth.Index(server.url("/p/simple/"), name="n")], "/p/simple/y/")
        lines = str(error).splitlines()
        assert lines[0].startswith("no credentials found for " + server.url("/p/simple/y/"))
        assert lines[1].startswith("  tried: index URL")
        assert any("environment INDEXAUTH_INDEX_N_USERNAME/_PASSWORD" in line for line in lines)
        assert any("netrc" in line for line in lines)
        assert any(line.startswith("  hint: ") for line in lines)


@settings(max_examples=60, deadline=None)
@given(
    password=st.text(string.printable.strip() + "äß✓", min_size=4, max_size=30).map(lambda s: "Zq" + s),
    status=st.sampled_from([401, 403]),
    source=st.sampled_from(["url", "env"]),
)
def test_property_no_secret_in_any_rejection(password: str, status: int, source: str) -> None:
    """For any password and source, the rejection error and its log never contain the password."""
    environ: dict[str, str] = {}
    url = "https://pkgs.example.com/simple/"
    if source == "url":
        from urllib.parse import quote

        url = f"https://bob:{quote(password, safe='')}@pkgs.example.com/simple/"
    else:
        environ = {"INDEXAUTH_INDEX_N_USERNAME": "bob", "INDEXAUTH_INDEX_N_PASSWORD": password}
    from urllib.parse import quote as _quote

    forms = {password, _quote(password, safe=""), _quote(password)}
    auth = Authenticator([indexauth.Index(url, name="n")], Resolver([IndexUrlSource(), EnvSource(environ)]))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("indexauth")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        outcome = drive(
            auth.flow("https://pkgs.example.com/simple/x/", has_authorization=False, replayable=True),
            lambda effect: status if isinstance(effect, Send) else 0,
            auth.resolver.lookup,
        )
        assert outcome.error is not None
        auth.diagnose(outcome.error)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    error = outcome.error
    assert isinstance(error, indexauth.CredentialsRejectedError)
    for text in (str(error), repr(error), stream.getvalue(), repr(error.__dict__)):
        assert not any(form in text for form in forms)
    assert not any(form.encode() in pickle.dumps(error) for form in forms)


@given(st.text(min_size=6, max_size=30).filter(lambda s: "\r" not in s and "\n" not in s))
def test_property_credentials_repr_hides_password(password: str) -> None:
    """Credentials and Index reprs never show the secret."""
    creds = indexauth.Credentials("user", "Zq" + password)
    assert "Zq" + password not in repr(creds) and "Zq" + password not in str(creds)
    bearer = indexauth.Credentials.bearer("Zq" + password)
    assert "Zq" + password not in repr(bearer)
    with pytest.raises(TypeError):
        pickle.dumps(creds)


def test_index_pickles_without_userinfo_password(tmp_path: Path) -> None:
    """An Index pickles (errors and configs travel) but its userinfo password does not."""
    index = indexauth.Index(f"https://bob:{SECRET}@h.example/simple/", name="n")
    data = pickle.dumps(index)
    assert SECRET.encode() not in data
    assert pickle.loads(data).url == "https://h.example/simple/"


class TestRequestUrlSecrets:
    """Secrets in the request's own URL (userinfo, signed query) never reach messages or logs."""

    @pytest.mark.parametrize("driver_name", sorted(DRIVERS))
    def test_userinfo_and_token_query_in_request_url(
        self, server: IndexServer, driver_name: str, caplog_debug: pytest.LogCaptureFixture
    ) -> None:
        """A refused request to user:SECRET@host/...?token=SECRET hides both, in every driver."""
        server.route("/p/", users={"alice": "right"})
        url = server.url("/p/simple/x/").replace("http://", f"http://alice:{SECRET}@") + f"?token={SECRET}"
        [error] = DRIVERS[driver_name]().run(
            [Call(url)], indexes=[indexauth.Index(server.url("/p/simple/"))], options={}
        )
        assert isinstance(error, indexauth.CredentialsRejectedError), error
        assert "alice:****@" in str(error) and "token=****" in str(error)
        _assert_clean(error, caplog_debug)

    def test_netrc_parse_error_does_not_quote_the_file(
        self, server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog_debug: pytest.LogCaptureFixture,
    ) -> None:
        """A netrc line missing its `password` keyword: the warning names the line, not the secret."""
        server.route("/p/", users={"alice": "x"})
        netrc = tmp_path / "netrc"
        netrc.write_text(f"machine example.org login bob password ok\nmachine 127.0.0.1 login alice {SECRET}\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        error = _run(server, [indexauth.Index(server.url("/p/simple/"))], "/p/simple/y/")
        assert isinstance(error, indexauth.ProviderError)
        assert str(netrc) in str(error) and "line" in str(error)
        assert any(a.source == "netrc" and a.outcome.startswith("failed") for a in error.attempts)
        _assert_clean(error, caplog_debug)

    @pytest.mark.parametrize("bad", [f"https://alice:{SECRET}/x@h.example/simple/", f"https://alice:SEC#{SECRET}@h.example/simple/"])
    def test_bad_index_url_error_hides_password(self, bad: str) -> None:
        """ConfigurationError for an unparsable URL never quotes its password."""
        with pytest.raises(indexauth.ConfigurationError) as info:
            indexauth.Index(bad)
        assert SECRET not in str(info.value) and SECRET not in repr(info.value)
        assert "alice:****@" in str(info.value)


def test_index_replace_keeps_url_credentials_and_checks_values() -> None:
    """Index.replace changes policy or username, keeps URL credentials, refuses bad values."""
    index = indexauth.Index(f"https://bob:{SECRET}@h.example/simple/", name="n")
    copy = index.replace(authenticate="always")
    assert (copy.authenticate, index.authenticate) == ("always", "auto")
    assert copy._url_credentials == index._url_credentials
    assert SECRET not in repr(copy)
    with pytest.raises(indexauth.ConfigurationError, match="'sometimes'"):
        index.replace(authenticate="sometimes")
