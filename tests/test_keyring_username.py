"""The README's keyring recipe on backends that cannot look up without a user name.

keyrings.alt (like the macOS Keychain and Windows Credential Locker) answers
`get_credential(service, None)` with nothing. The recipe therefore gives the
index its user name (in the URL, the environment or config.toml), and when no
user name is known the hint says exactly that, never "run `keyring set`" again.
Entries are written with the real `keyring set` command; lookups run in
process (`import`) and through the `keyring` command (`subprocess`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import indexauth
from conftest import BIN, use_backend
from drivers import DRIVERS, Call
from index_server import IndexServer

PASSWORD = "pw-alice-4711"
PROVIDERS = ("import", "subprocess")


@pytest.fixture(name="alt")
def fixture_alt(monkeypatch: pytest.MonkeyPatch) -> None:
    """keyrings.alt's plaintext file backend, chosen through PYTHON_KEYRING_BACKEND."""
    use_backend(monkeypatch, "keyrings.alt.file.PlaintextKeyring")


def keyring_set(service: str, username: str, password: str) -> None:
    """`keyring set SERVICE USERNAME`, the real command, password on stdin."""
    subprocess.run(
        [str(BIN / "keyring"), "set", service, username],
        input=password + "\n",
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )


def fetch(server: IndexServer, index: indexauth.Index, provider: str) -> object:
    """One GET under *index* through the requests adapter: the error raised, or the status."""
    [outcome] = DRIVERS["requests"]().run(
        [Call(server.url("/p/simple/demo/"))],
        indexes=[index],
        options={"keyring_provider": provider, "netrc": False},
    )
    if isinstance(outcome, BaseException):
        return outcome
    return outcome.status


@pytest.mark.usefixtures("alt")
@pytest.mark.parametrize("provider", PROVIDERS)
class TestRecipe:
    """`keyring set URL alice`, then the index with user name alice: found on every backend."""

    def test_user_name_in_the_url(self, server: IndexServer, provider: str) -> None:
        """`https://alice@host/simple/` (the README's pip recipe): the password comes from keyring."""
        server.route("/p/", users={"alice": PASSWORD})
        url = server.url("/p/simple/")
        keyring_set(url, "alice", PASSWORD)
        index = indexauth.Index(url.replace("http://", "http://alice@"))
        assert fetch(server, index, provider) == 200
        # A user part in the index URL asks for its password before the first request (pip's way).
        assert [seen.user for seen in server.seen] == ["alice"]

    def test_user_name_in_the_environment(
        self, server: IndexServer, provider: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """INDEXAUTH_INDEX_<NAME>_USERNAME alone: keyring is asked for that user's password."""
        server.route("/p/", users={"alice": PASSWORD})
        url = server.url("/p/simple/")
        keyring_set(url, "alice", PASSWORD)
        monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_USERNAME", "alice")
        assert fetch(server, indexauth.Index(url, name="internal"), provider) == 200


@pytest.mark.usefixtures("alt")
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("name", [None, "internal"])
def test_without_a_user_name_the_hint_gives_one_and_does_not_go_in_circles(
    server: IndexServer, provider: str, name: str | None
) -> None:
    """After `keyring set URL alice` and an index with no user name, the error says the backend
    could not look, and the hint gives the forms a pip user can use (URL, config.toml, variable),
    not `keyring set` again."""
    server.route("/p/", users={"alice": PASSWORD})
    url = server.url("/p/simple/")
    keyring_set(url, "alice", PASSWORD)
    error = fetch(server, indexauth.Index(url, name=name), provider)
    assert isinstance(error, indexauth.MissingCredentialsError), error
    keyring_lines = [a for a in error.attempts if a.source == "keyring"]
    assert len(keyring_lines) == 1
    assert "cannot look up without a username" in keyring_lines[0].outcome
    assert "keyring set" not in error.hint
    assert url.replace("http://", "http://USERNAME@") in error.hint
    assert "config.toml" in error.hint
    if name:
        assert "INDEXAUTH_INDEX_INTERNAL_USERNAME=USERNAME" in error.hint
    assert "Index(" not in error.hint.splitlines()[0]


@pytest.mark.usefixtures("alt")
def test_incomplete_from_the_environment_asks_only_for_the_password(
    server: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user name variable is set and no password is found: the hint does not ask to set the
    user name again. A user name without a password may be a token, so it is not shown (the
    `tried:` line masks it too), and the keyring command names a placeholder."""
    server.route("/p/", users={"alice": PASSWORD})
    monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_USERNAME", "alice")
    error = fetch(server, indexauth.Index(server.url("/p/simple/"), name="internal"), "import")
    assert isinstance(error, indexauth.IncompleteCredentialsError), error
    assert "INDEXAUTH_INDEX_INTERNAL_USERNAME" not in error.hint
    assert "INDEXAUTH_INDEX_INTERNAL_PASSWORD" in error.hint
    assert f"keyring set {server.url('/p/simple/')} USERNAME" in error.hint
    assert "username '****' found but no password" in str(error)
    assert "alice" not in error.render()


def test_keyring_set_goes_where_the_command_reads(tmp_path: Path, alt: None) -> None:
    """The fixture's backend is the one the command writes: keyrings.alt's file under XDG_DATA_HOME."""
    keyring_set("svc", "alice", PASSWORD)
    import keyring

    assert keyring.get_password("svc", "alice") == PASSWORD
