"""A token in the user part of a URL is never printed, and means what it means to pip.

`https://TOKEN@host/simple/` (pip's documented form) and `https://TOKEN:@host/`
(the README's) may carry a token in the user part, so it is masked in every
output channel: `redact`, `Index.username` and repr, pickles of indexes and
errors, the `tried:` lines, hints, logs at every level, warnings and CLI output
(with and without `--json`). The lone user part is looked up as a user name; if
no source has a password for it, it is sent as a token with an empty password.
A conventional name such as `__token__` is never sent alone. (Issue 9, point 1.)
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pickle
import string
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import indexauth
from conftest import KeyringStore
from drivers import DRIVERS, Call, Result
from index_server import IndexServer
from indexauth._cli import main
from indexauth._flow import Authenticator
from indexauth._resolver import Resolver
from indexauth._urls import redact

# Tokens as services issue them: letters, digits and a few URL-safe marks.
tokens = st.text(string.ascii_letters + string.digits + "-_.~", min_size=12, max_size=40).map(
    lambda s: "Zq8" + s
)


def _forms(token: str) -> set[str]:
    return {token, quote(token, safe=""), repr(token)[1:-1]}


@contextlib.contextmanager
def _captured() -> Iterator[io.StringIO]:
    """Everything indexauth logs (every level), warns or prints, in one buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setLevel(logging.DEBUG)
    logger = logging.getLogger("indexauth")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stdout(buffer),
            contextlib.redirect_stderr(buffer),
        ):
            warnings.simplefilter("always")
            yield buffer
        for warning in caught:
            buffer.write(f"{warning.category.__name__}: {warning.message}\n")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _assert_hidden(token: str, *texts: str | bytes) -> None:
    for text in texts:
        for form in _forms(token):
            if isinstance(text, bytes):
                assert form.encode() not in text, f"token shown in {text!r}"
            else:
                assert form not in text, f"token shown in {text!r}"


@pytest.fixture(scope="module", name="shared_server")
def fixture_shared_server() -> Iterator[IndexServer]:
    """One server for every generated example: /private/ wants alice, /tok/ wants the token."""
    server = IndexServer().start()
    server.route("/private/", users={"alice": "wonder-land"})
    yield server
    server.stop()


class TestRedact:
    """`redact` masks a user part that may be a token, and only that."""

    @given(tokens, st.sampled_from(["{t}@", "{t}:@"]))
    def test_lone_or_empty_password_user_part_masked(self, token: str, form: str) -> None:
        """`TOKEN@` and `TOKEN:@` become `****@`."""
        url = "https://" + form.format(t=quote(token, safe="")) + "h.example/simple/"
        assert redact(url) == "https://****@h.example/simple/"

    @pytest.mark.parametrize(
        "name", ["__token__", "oauth2accesstoken", "aws", "VssSessionToken", "gitlab-ci-token"]
    )
    def test_conventional_names_stay_visible(self, name: str) -> None:
        """`__token__@` and the other conventional names are not secrets."""
        assert redact(f"https://{name}@h.example/simple/") == f"https://{name}@h.example/simple/"
        assert redact(f"https://{name}:s3@h.example/") == f"https://{name}:****@h.example/"

    def test_user_with_password_stays_visible(self) -> None:
        """A user name that came with a non-empty password is a user name."""
        assert redact("https://alice:s3@h.example/") == "https://alice:****@h.example/"


class TestIndex:
    """`Index` never shows a user part that may be a token."""

    @given(tokens, st.sampled_from(["{t}@", "{t}:@"]))
    def test_username_repr_pickle(self, token: str, form: str) -> None:
        """username is None; repr, str of its ref and its pickle hold no token."""
        index = indexauth.Index("https://" + form.format(t=token) + "h.example/simple/", name="n")
        assert index.username is None
        _assert_hidden(token, repr(index), str(index.ref), pickle.dumps(index))
        creds = index._url_credentials
        assert creds is not None
        _assert_hidden(token, repr(creds))

    def test_conventional_name_is_the_username(self) -> None:
        """`__token__@` is a user name: shown, and looked up."""
        index = indexauth.Index("https://__token__@h.example/simple/")
        assert index.username == "__token__"
        assert index.lone_user
        assert "__token__" in repr(index)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    token=tokens,
    form=st.sampled_from(["{t}@", "{t}:@"]),
    driver_name=st.sampled_from(sorted(DRIVERS)),
)
def test_property_token_never_printed(
    shared_server: IndexServer, token: str, form: str, driver_name: str
) -> None:
    """For any token, form and driver: the refused request's error and every channel hide it."""
    server = shared_server
    server.seen.clear()
    url = server.url("/private/simple/").replace("http://", "http://" + form.format(t=token))
    index = indexauth.Index(url, name="tok")
    with _captured() as out:
        [outcome] = DRIVERS[driver_name]().run(
            [Call(server.url("/private/simple/pkg/"))], indexes=[index], options={}
        )
        assert isinstance(outcome, indexauth.IndexAuthError), outcome
        assert isinstance(outcome, indexauth.IncompleteCredentialsError if form == "{t}@"
                          else indexauth.CredentialsRejectedError)
        Authenticator([index], Resolver([])).diagnose(outcome)
    ours = {k: v for k, v in outcome.__dict__.items() if k not in ("request", "_request", "response")}
    _assert_hidden(
        token,
        str(outcome),
        repr(outcome),
        outcome.render(),
        outcome.hint,
        repr(ours),
        "\n".join(str(a) for a in outcome.attempts),
        pickle.dumps(outcome),
        out.getvalue(),
    )
    # The token went to the server once, as the user part with an empty password.
    assert [s.user for s in server.seen] == [token]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=tokens)
def test_property_cli_never_prints_token(shared_server: IndexServer, token: str) -> None:
    """`indexauth check` (text and --json) and `status --json` never print the token."""
    server = shared_server
    url = server.url("/private/simple/").replace("http://", f"http://{token}@")
    with contextlib.ExitStack() as stack:
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        mp.setenv("INDEXAUTH_INDEX_TOK_URL", url)
        elsewhere = server.url("/else/simple/").replace("http://", f"http://{token}@")
        for argv in (
            ["check", url],
            ["check", url, "--json"],
            ["check", elsewhere, "--json"],
            ["status"],
            ["status", "--json"],
        ):
            stdout = io.StringIO()
            with _captured() as out, contextlib.redirect_stdout(stdout):
                code = main([*argv, "--keyring-provider", "disabled"])
            _assert_hidden(token, out.getvalue(), stdout.getvalue())
            if argv[:2] == ["check", url] and "--json" in argv:
                report = json.loads(stdout.getvalue())
                assert report["outcome"] == "incomplete", report
                assert code != 0


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=tokens)
def test_property_login_logout_token_never_print_the_user_part(shared_server: IndexServer, token: str) -> None:
    """`login URL` with a lone user part takes it as the user name (uv's reading) and never
    shows it, nor do `logout URL`, `token URL` and `check URL` around it; what login stored is
    what the URL's lookup then finds."""
    private = shared_server.url("/private/simple/")
    url = private.replace("http://", f"http://{token}@")
    data = tempfile.mkdtemp(dir=os.environ["HOME"])  # a store of its own for each example
    steps: list[tuple[list[str], str, int]] = [
        # `TOKEN:@` has a password part, however empty: refused before it reaches a shell history.
        (["login", private.replace("http://", f"http://{token}:@"), "--password-stdin"], "pw\n", 2),
        (["logout", url], "", 3),  # nothing stored yet: says so, without the name
        (["token", url], "", 0),  # nothing found: the user part itself is the token
        (["login", url, "--password-stdin", "--store", "file"], "pw-of-the-user\n", 0),
        (["login", url, "--password-stdin", "--store", "file"], "pw-of-the-user\n", 0),  # replaced
        (["token", url], "", 0),  # now the stored password
        (["check", url, "--json"], "", 5),  # the server wants alice: refused, not shown
        (["logout", url], "", 0),
        (["logout", private, "--username", "someone"], "", 3),
    ]
    printed = []
    for argv, stdin, code in steps:
        stdout = io.StringIO()
        with (
            _captured() as out,
            contextlib.redirect_stdout(stdout),
            pytest.MonkeyPatch.context() as mp,
        ):
            mp.setenv("INDEXAUTH_DATA_DIR", data)
            mp.setattr("sys.stdin", io.StringIO(stdin))
            got = main([*argv, "--keyring-provider", "disabled"] if argv[0] in ("token", "check")
                       else argv)
        printed.append(stdout.getvalue())
        if argv[0] != "token":
            _assert_hidden(token, out.getvalue(), stdout.getvalue())
        else:
            _assert_hidden(token, out.getvalue())
        assert got == code, (argv, out.getvalue(), stdout.getvalue())
    assert printed[2].strip() == token  # `token` prints the secret: here the URL's token
    assert printed[5].strip() == "pw-of-the-user"
    assert "Stored credentials for ****@" in printed[3] and "Replaced credentials for ****@" in printed[4]
    assert "Removed ****@" in printed[7]


def _uv_login(service: str, username: str, password: str) -> None:
    """The real `uv auth login`, into this process's `UV_CREDENTIALS_DIR`."""
    uv = pytest.importorskip("uv", reason="pip install -e '.[test]' brings uv")
    subprocess.run(
        [uv.find_uv_bin(), "auth", "login", service, "--username", username, "--password", "-"],
        input=password, capture_output=True, text=True, timeout=120, check=True,
        env={**os.environ, "UV_NO_CONFIG": "1"},
    )  # fmt: skip


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=tokens)
def test_property_listing_commands_never_print_a_stored_token_name(
    shared_server: IndexServer, kr: KeyringStore, token: str
) -> None:
    """A name stored as a user name may be a pasted token (`login https://TOKEN@host/` stores
    it so): no command that lists stored entries shows it, in text or `--json`. `logout URL`
    without a user part, `login`'s warning about store entries that shadow the keyring,
    `check` (found, and every attempt row), `token`'s errors, and `status`'s uv store entry."""
    private = shared_server.url("/private/simple/")
    url = private.replace("http://", f"http://{token}@")
    home = Path(tempfile.mkdtemp(dir=os.environ["HOME"]))  # stores of its own for each example
    steps: list[tuple[list[str], str, int]] = [
        (["login", url, "--password-stdin", "--store", "file"], "pw-of-the-user\n", 0),
        (["check", private], "", 5),  # found, sent, refused (the server wants alice)
        (["check", private, "--json"], "", 5),
        (["check", private, "--username", "alice"], "", 4),  # the store holds another name
        (["check", private, "--username", "alice", "--json"], "", 4),
        (["token", private, "--username", "alice"], "", 4),
        (["status"], "", 0),
        (["status", "--json"], "", 0),
        # Into the keyring: the store's entry for the token name shadows it, and is named.
        (["login", private, "-u", "alice", "--password-stdin", "--store", "keyring"], "wonder-land\n", 0),
        (["logout", private, "--username", "alice"], "", 0),  # a name given is shown back
        (["logout", private], "", 0),  # the store's entry for the token name
        (["login", url, "--password-stdin", "--store", "keyring"], "pw-of-the-user\n", 0),
        (["check", private, "--json"], "", 5),
        (["logout", private], "", 0),  # the keyring's entry for the token name
        (["logout", private], "", 3),
    ]
    printed = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INDEXAUTH_DATA_DIR", str(home / "data"))
        mp.setenv("INDEXAUTH_TEST_KEYRING", str(home / "keyring.json"))
        mp.setenv("UV_CREDENTIALS_DIR", str(home / "uv"))
        mp.setenv("INDEXAUTH_INDEX_TEAM_URL", private)  # status lists its uv store entry
        _uv_login(private, token, "pw-in-uv")
        for argv, stdin, code in steps:
            stdout = io.StringIO()
            mp.setattr("sys.stdin", io.StringIO(stdin))
            with _captured() as out, contextlib.redirect_stdout(stdout):
                got = main(argv)
            _assert_hidden(token, out.getvalue(), stdout.getvalue())
            printed.append((stdout.getvalue(), out.getvalue()))
            assert got == code, (argv, out.getvalue(), stdout.getvalue())
    # Each listing says there is an entry, and where: only the name is masked.
    assert "(username '****')" in printed[1][0]
    assert json.loads(printed[2][0])["found"]["username"] == "****"
    assert "stored only for username '****'" in printed[3][0]
    assert "still holds ****@" in printed[8][1]
    assert printed[9][0].startswith(f"Removed alice@{private} from the keyring")
    assert printed[10][0].startswith(f"Removed ****@{private} from ")
    assert "uv store: ****@" in printed[6][0]
    assert json.loads(printed[12][0])["found"]["username"] == "****"
    assert printed[13][0].startswith(f"Removed ****@{private} from the keyring")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    token=tokens,
    driver_name=st.sampled_from(sorted(DRIVERS)),
    with_password=st.booleans(),
    keyring=st.sampled_from(["disabled", "subprocess"]),
)
@example(token="Zq8FURYTOKEN123secret", driver_name="httpx", with_password=False, keyring="subprocess")
def test_property_a_netrc_login_is_never_printed(
    shared_server: IndexServer, token: str, driver_name: str, with_password: bool, keyring: str
) -> None:
    """A netrc `login` is a stored name too, and may be a token: Gemfury's netrc is
    `machine pypi.fury.io login TOKEN`, no password. Neither the driver's error (message,
    hint, `tried:`, logs) nor `indexauth token`/`check` (text, `--json`) shows it: found
    without a password, or an entry for another login than the index's username. The
    `keyring` command is then asked with that name: when it fails, its command line in the
    error and hint does not show the name either."""
    private = shared_server.url("/private/simple/")
    home = Path(tempfile.mkdtemp(dir=os.environ["HOME"]))
    netrc = home / "netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login {token}\n" + ("  password pw-x\n" if with_password else ""))
    netrc.chmod(0o600)
    (home / "bin").mkdir()
    failing = home / "bin" / "keyring"  # a broken `keyring` command: not Python, exit 3
    failing.write_text("#!/bin/sh\necho 'backend exploded' >&2\nexit 3\n")
    failing.chmod(0o755)
    # With a password, the entry is for another login than the index's: it is not used.
    index = indexauth.Index(private, name="team", username="alice" if with_password else None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NETRC", str(netrc))
        mp.setenv("INDEXAUTH_DATA_DIR", str(home / "data"))
        mp.setenv("UV_CREDENTIALS_DIR", str(home / "uv"))
        mp.setenv("PATH", f"{home / 'bin'}{os.pathsep}{os.environ['PATH']}")
        with _captured() as out:
            [outcome] = DRIVERS[driver_name]().run(
                [Call(shared_server.url("/private/simple/pkg/"))],
                indexes=[index],
                options={"keyring_provider": keyring},
            )
            assert isinstance(outcome, indexauth.IndexAuthError), outcome
            Authenticator([index], Resolver([])).diagnose(outcome)
        _assert_hidden(
            token, str(outcome), repr(outcome), outcome.render(), outcome.hint, pickle.dumps(outcome),
            "\n".join(str(a) for a in outcome.attempts), out.getvalue(),
        )  # fmt: skip
        user = ["--username", "alice"] if with_password else []
        mp.setenv("INDEXAUTH_INDEX_TEAM_URL", private)
        for argv in (["token", private, *user], ["check", private, *user], ["check", private, *user, "--json"]):
            stdout = io.StringIO()
            with _captured() as out, contextlib.redirect_stdout(stdout):
                code = main([*argv, "--keyring-provider", keyring])
            assert code != 0, argv
            _assert_hidden(token, out.getvalue(), stdout.getvalue())
            if keyring == "subprocess":  # the control: the broken command was run and reported
                assert "backend exploded" in out.getvalue() + stdout.getvalue(), argv


class TestLoneUserMeansWhatItMeansToPip:
    """A lone user part: a password looked up for it, else sent as a token; never a bare name."""

    @pytest.mark.parametrize("driver_name", sorted(DRIVERS))
    def test_password_found_for_lone_user(
        self, server: IndexServer, kr: KeyringStore, driver_name: str
    ) -> None:
        """keyring has a password for the user part: user and password, up front."""
        server.route("/p/", users={"alice": "wonder-land"})
        kr.set(server.url("/p/simple/"), "alice", "wonder-land")
        index = indexauth.Index(server.url("/p/simple/").replace("http://", "http://alice@"))
        [result] = DRIVERS[driver_name]().run([Call(server.url("/p/simple/x/"))], indexes=[index], options={})
        assert isinstance(result, Result) and result.status == 200
        assert [s.user for s in server.seen] == ["alice"]

    @pytest.mark.parametrize("driver_name", sorted(DRIVERS))
    def test_forgotten_keyring_entry_for_token_username(
        self, server: IndexServer, kr: KeyringStore, driver_name: str
    ) -> None:
        """`__token__@` with its keyring entry gone: says exactly that, and sends nothing."""
        server.route("/p/", users={"__token__": "pypi-x"})
        url = server.url("/p/simple/").replace("http://", "http://__token__@")
        [error] = DRIVERS[driver_name]().run(
            [Call(server.url("/p/simple/x/"))], indexes=[indexauth.Index(url)], options={}
        )
        assert isinstance(error, indexauth.IncompleteCredentialsError), error
        assert server.seen == []
        assert "gives username '__token__' without a password" in str(error)
        assert "keyring entry" in str(error)
        assert "keyring set" in error.hint and "__token__" in error.hint
        assert error.status is None

    @pytest.mark.parametrize("driver_name", sorted(DRIVERS))
    def test_token_refused_says_tried_as_token(self, server: IndexServer, driver_name: str) -> None:
        """Tried as a token and refused: IncompleteCredentialsError saying so, token hidden."""
        server.route("/p/", users={"alice": "wonder-land"})
        token = "glpat-Zq81secretvalue"
        url = server.url("/p/simple/").replace("http://", f"http://{token}@")
        [error] = DRIVERS[driver_name]().run(
            [Call(server.url("/p/simple/x/"))], indexes=[indexauth.Index(url)], options={}
        )
        assert isinstance(error, indexauth.IncompleteCredentialsError), error
        assert "tried as a token" in str(error) and "refused" in str(error)
        assert error.status == 401
        _assert_hidden(token, str(error), repr(error), pickle.dumps(error))


def test_token_command_prints_the_url_token(
    server: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`indexauth token https://TOKEN@host/simple/`: the token is what would be sent, so it prints."""
    token = "glpat-Zq81printme"
    url = server.url("/p/simple/").replace("http://", f"http://{token}@")
    assert main(["token", url, "--keyring-provider", "disabled"]) == 0
    assert capsys.readouterr().out == token + "\n"


# Tokens with a raw "/" (base64 secrets have one in most keys): `https://ab/cd@host/` is host
# `ab` and path `/cd@host/` to every URL parser, so without care the token is printed as a path.
slashed_tokens = st.builds(
    lambda parts, lead, trail: "/" * lead + "/".join(parts) + "/" * trail,
    st.lists(
        st.text(string.ascii_letters + string.digits + "+=_~-", min_size=5, max_size=12).map(
            lambda s: "Zq8" + s
        ),
        min_size=2,
        max_size=4,
    ),
    st.integers(0, 1),
    st.integers(0, 1),
)


def _assert_no_piece(token: str, *texts: str | bytes) -> None:
    """No piece of *token* between its slashes, in any form, appears in *texts*."""
    for piece in filter(None, token.split("/")):
        _assert_hidden(piece, *texts)


class TestTokenWithARawSlash:
    """`https://ab/cd@host/simple/`: refused with a typed error naming %2F, and never printed."""

    @settings(max_examples=200, deadline=None)
    @given(token=slashed_tokens, empty_password=st.booleans())
    def test_property_refused_and_masked(self, token: str, empty_password: bool) -> None:
        """redact, Index's error (str, repr, render, hint, pickle) and pip's -i warning hide it."""
        from indexauth import _patch, _pip

        user = token + (":" if empty_password else "")
        url = f"https://{user}@h.example/simple/"
        assert redact(url) == "https://****@h.example/simple/"
        assert redact(url + "pkg/?x=1") == "https://****@h.example/simple/pkg/?x=1"
        with pytest.raises(indexauth.ConfigurationError) as caught:
            indexauth.Index(url)
        error = caught.value
        assert "%2F" in str(error)
        _assert_no_piece(token, str(error), repr(error), error.render(), pickle.dumps(error))
        _pip._said.clear()  # each example's warning is said once per process
        try:
            with _captured() as out:
                assert [i.url for i in _pip.pip_indexes([url])] == []
        finally:
            _patch.settings.cache_clear()  # read without install(): leave no global settings behind
        assert "%2F" in out.getvalue()
        _assert_no_piece(token, out.getvalue())

    @settings(max_examples=10, deadline=None)
    @given(token=slashed_tokens)
    def test_property_cli_never_prints_it(self, token: str) -> None:
        """`check` (text and --json) ends in a usage error saying %2F; `status` warns; no piece shown."""
        url = f"https://{token}@h.example/simple/"
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("INDEXAUTH_INDEX_TOK_URL", url)
            for argv in (["check", url], ["check", url, "--json"], ["status"], ["status", "--json"]):
                stdout = io.StringIO()
                with _captured() as out, contextlib.redirect_stdout(stdout):
                    code = main([*argv, "--keyring-provider", "disabled"])
                _assert_no_piece(token, out.getvalue(), stdout.getvalue())
                if argv[0] == "check":
                    assert code == 2
                    assert "%2F" in out.getvalue() + stdout.getvalue()

    def test_urls_with_an_at_in_the_path_still_work(self) -> None:
        """The control: a dotted host, localhost or a port keeps an `@` in the path a path."""
        for url in (
            "https://h.example/team@corp/simple/",
            "http://localhost/team@corp/simple/",
            "http://127.0.0.1:8080/team@corp/simple/",
            "https://h.example/simple/@scope/",
        ):
            assert indexauth.Index(url).url == url
            assert redact(url) == url
