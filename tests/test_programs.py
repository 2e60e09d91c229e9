"""Password commands and credential helpers: how they run, fail, expire and refresh.

Every program here is the stand-in of tests/standin.py installed on PATH under
a real CLI's name; nothing reaches a cloud.
"""

from __future__ import annotations

import json
import os
import pickle
import threading
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import pytest
import requests

import indexauth
from conftest import StandIn
from index_server import IndexServer
from indexauth._config import build_authenticator
from indexauth._programs import (
    format_helper_answer,
    parse_helper_answer,
    parse_rfc3339,
    redact_output,
    run_credential_helper,
    run_password_command,
)
from indexauth._sources import Target

T0 = 1893456000.0  # 2030-01-01T00:00:00Z


def _lookup(index: indexauth.Index, url: str = "", **options: object) -> indexauth.Credentials | None:
    auth = build_authenticator([index], keyring_provider="disabled", netrc=False, store=False, **options)  # type: ignore[arg-type]
    result = auth.resolver.lookup(Target(index, index.realm, url or index.url))
    return result.credentials


class TestPasswordCommand:
    """The trimmed stdout is the password; failures are ProviderErrors naming the first word."""

    def test_trimmed_stdout_no_shell_no_stdin(self, standin: Callable[[str], StandIn]) -> None:
        """The program gets its arguments verbatim (no shell), empty stdin, and INDEXAUTH=0."""
        aws = standin("aws").tokens("tok-1")
        password, took = run_password_command(["aws", "x", "$HOME", "a b;c"], timeout=10)
        assert password == "tok-1"
        assert took >= 0
        assert aws.calls() == [{"argv": ["x", "$HOME", "a b;c"], "stdin": ""}]

    def test_child_runs_with_indexauth_off(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A Python password command does not re-enter global mode (no recursion through the hook)."""
        script = tmp_path / "show-env"
        script.write_text("#!/bin/sh\necho \"$INDEXAUTH\"\n")
        script.chmod(0o755)
        monkeypatch.setenv("INDEXAUTH", "1")
        assert run_password_command([str(script)], timeout=10)[0] == "0"

    @pytest.mark.parametrize(
        ("setup", "summary", "outcome"),
        [
            (lambda s: s.fail("Error: token=sk-PLANTED-SECRET-12345 expired\n", 3), "failed with exit status 3", "failed: exit status 3"),
            (lambda s: s.flag("empty"), "printed nothing", "failed: empty output"),
            (lambda s: s.flag("hang"), "did not finish within 0.5 s", "failed: no answer in 0.5 s"),
        ],
        ids=["exit-status", "empty", "timeout"],
    )
    def test_failures_are_provider_errors(
        self,
        standin: Callable[[str], StandIn],
        server: IndexServer,
        setup: Callable[[StandIn], object],
        summary: str,
        outcome: str,
    ) -> None:
        """Exit status, empty output and a hang each raise ProviderError naming `aws` only."""
        setup(standin("aws"))
        server.route("/private/", users={"aws": "x"})
        index = indexauth.Index(
            server.url("/private/simple/"),
            username="aws",
            authenticate="always",
            password_command=["aws", "codeartifact", "--domain", "d0main-secret"],
        )
        adapter = indexauth.IndexAuthAdapter([index], keyring_provider="disabled", keyring_timeout=0.5)
        with requests.Session() as session:
            session.mount("http://", adapter)
            with pytest.raises(indexauth.ProviderError) as info:
                session.get(server.url("/private/simple/pkg/"))
        text = f"{info.value}{info.value!r}{pickle.loads(pickle.dumps(info.value))}"
        assert f"password command `aws` {summary}" in text
        assert "d0main-secret" not in text and "PLANTED" not in text
        assert any(a.source == "password command" and a.outcome.startswith(outcome) for a in info.value.attempts)
        assert server.seen == []  # always: nothing was sent

    def test_stderr_is_redacted_and_cut(self) -> None:
        """What a program prints on stderr is masked where it looks like a secret, and cut short."""
        shown = redact_output(
            "oops https://u:pw@h.example/x Authorization: Bearer eyJhbGciOiJIUzI1NiJ9abcdefgh "
            "password=hunter2 glpat-abcdefghijklmnopqrstuvwx " + "x " * 500,
            ["hunter2"],
        )
        assert "pw@" not in shown and "eyJ" not in shown and "hunter2" not in shown
        assert "glpat-abcdefghijklmnopqrstuvwx" not in shown
        assert len(shown) <= 303

    def test_missing_program_is_named(self, tmp_path: Path) -> None:
        """A program that is not on PATH is a ProviderError naming it, with a hint."""
        index = indexauth.Index("https://h.example/simple/", password_command=["no-such-cli-xyz", "--secret"])
        auth = build_authenticator([index], keyring_provider="disabled", netrc=False, store=False)
        result = auth.resolver.lookup(Target(index, index.realm, index.url))
        assert result.credentials is None
        assert result.failures[0].message == "the password command `no-such-cli-xyz` was not found"

    def test_output_is_bounded(self, tmp_path: Path) -> None:
        """A program that prints without end is stopped, not read into memory."""
        script = tmp_path / "yes-forever"
        script.write_text("#!/bin/sh\nexec yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n")
        script.chmod(0o755)
        index = indexauth.Index("https://h.example/simple/", password_command=[str(script)])
        auth = build_authenticator([index], keyring_provider="disabled", netrc=False, store=False, keyring_timeout=20)
        result = auth.resolver.lookup(Target(index, index.realm, index.url))
        assert "printed more than 1024 KiB" in result.failures[0].message

    def test_username_from_the_index(self, standin: Callable[[str], StandIn]) -> None:
        """The password goes with the index's username (`aws`, `oauth2accesstoken`)."""
        standin("gcloud").tokens("ya29.token")
        index = indexauth.Index("https://h.example/simple/", username="oauth2accesstoken", password_command="gcloud auth print-access-token")
        assert _lookup(index) == indexauth.Credentials("oauth2accesstoken", "ya29.token")


class TestHelper:
    """Bazel's protocol: `<helper> get`, {"uri"} in, headers and expires out."""

    def test_protocol(self, standin: Callable[[str], StandIn]) -> None:
        """The helper gets `get` and the request URL without userinfo; headers come back as given."""
        helper = standin("my-helper").tokens("k1").helper("X-JFrog-Art-Api", "{token}", "2030-01-01T01:00:00+01:00")
        answer, _took = run_credential_helper(["my-helper", "--flag"], "https://u:p@h.example/simple/x/", timeout=10)
        assert answer.headers == {"X-JFrog-Art-Api": "k1"}
        assert answer.expires == T0
        (call,) = helper.calls()
        assert call["argv"] == ["--flag", "get"]
        assert json.loads(str(call["stdin"])) == {"uri": "https://h.example/simple/x/"}

    @pytest.mark.parametrize(
        ("output", "problem"),
        [
            (b"not json", "not a JSON object"),
            (b"[]", "not a JSON object"),
            (b'{"headers": []}', '"headers" is not an object'),
            (b'{"headers": {"A": [1]}}', "not a list of strings"),
            (b'{"headers": {}, "expires": "tomorrow"}', "not an RFC 3339 time"),
            (b'{"headers": {}, "expires": "2030-01-01T00:00:00"}', "not an RFC 3339 time"),
        ],
    )
    def test_bad_answers(self, output: bytes, problem: str) -> None:
        """An answer that breaks the protocol says what is wrong without quoting it."""
        with pytest.raises(ValueError, match=problem):
            parse_helper_answer(output)

    def test_round_trip_and_times(self) -> None:
        """What indexauth would print as a helper, it reads back; RFC 3339 with fractions and offsets."""
        text = format_helper_answer({"Authorization": ["Bearer x"], "X-A": ["1", "2"]}, T0)
        answer = parse_helper_answer(text.encode())
        assert answer.headers == {"Authorization": "Bearer x", "X-A": "1, 2"}
        assert answer.expires == T0
        assert parse_rfc3339("2030-01-01T00:00:00.123456789Z") == pytest.approx(T0 + 0.123456)

    def test_header_line_break_refused(self, tmp_path: Path) -> None:
        """A header value with a line break never reaches the wire: a ProviderError instead."""
        script = tmp_path / "bad-helper"
        script.write_text("#!/bin/sh\necho '{\"headers\": {\"X-A\": [\"a\\\\r\\\\nX-Evil: 1\"]}}'\n")
        script.chmod(0o755)
        index = indexauth.Index("https://h.example/simple/", credential_helper=[str(script)])
        auth = build_authenticator([index], keyring_provider="disabled", netrc=False, store=False)
        result = auth.resolver.lookup(Target(index, index.realm, index.url))
        assert result.credentials is None
        assert "gave unusable output" in result.failures[0].message
        assert "Evil" not in result.failures[0].message

    def test_no_headers_means_not_found(self, tmp_path: Path) -> None:
        """`{}` is a helper's "nothing for this URL": the chain goes on."""
        script = tmp_path / "empty-helper"
        script.write_text("#!/bin/sh\necho '{}'\n")
        script.chmod(0o755)
        index = indexauth.Index("https://h.example/simple/", credential_helper=[str(script)])
        assert _lookup(index) is None

    def test_custom_header_never_printed(self, standin: Callable[[str], StandIn], server: IndexServer) -> None:
        """A refused helper header is named in the error, its value never."""
        standin("art").tokens("AKCp-planted-key").helper("X-JFrog-Art-Api", "{token}")
        server.route("/private/", tokens={"X-JFrog-Art-Api": ["other"]})
        index = indexauth.Index(server.url("/private/simple/"), credential_helper="art", authenticate="always")
        with (
            httpx.Client(transport=indexauth.IndexAuthTransport([index], keyring_provider="disabled")) as client,
            pytest.raises(indexauth.CredentialsRejectedError) as info,
        ):
            client.get(server.url("/private/simple/x/"))
        text = f"{info.value}{info.value!r}{info.value.attempts}"
        assert "credential helper `art`" in text
        assert "AKCp" not in text
        # The helper gave the same key again on refresh: it is not sent a second time.
        assert [s.headers.get("x-jfrog-art-api") for s in server.seen] == ["AKCp-planted-key"]


class TestExpiryAndSingleFlight:
    """Cached until `expires` less 60 s; one run however many ask at once."""

    def _setup(self, standin: Callable[[str], StandIn], server: IndexServer) -> tuple[indexauth.Index, StandIn]:
        helper = standin("gar").tokens("t1", "t2", "t3").helper(
            "Authorization", "Bearer {token}", "2030-01-01T01:00:00Z\n2030-01-01T02:00:00Z"
        )
        server.route("/private/", tokens={"Authorization": ["Bearer t1", "Bearer t2", "Bearer t3"]})
        return indexauth.Index(server.url("/private/simple/"), credential_helper=["gar"], authenticate="always"), helper

    def test_fifty_threads_at_expiry_run_it_once(self, standin: Callable[[str], StandIn], server: IndexServer) -> None:
        """50 threads crossing the expiry together run the helper once more, not 50 times."""
        index, helper = self._setup(standin, server)
        now = [T0]
        auth = build_authenticator([index], keyring_provider="disabled", clock=lambda: now[0])
        adapter = indexauth.IndexAuthAdapter(authenticator=auth)
        with requests.Session() as session:
            session.mount("http://", adapter)
            assert session.get(server.url("/private/simple/a/")).status_code == 200
            now[0] = T0 + 3600 - 59  # inside the margin
            barrier = threading.Barrier(50)
            statuses: list[int] = []

            def get() -> None:
                barrier.wait()
                statuses.append(session.get(server.url("/private/simple/b/")).status_code)

            threads = [threading.Thread(target=get) for _ in range(50)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert statuses == [200] * 50
        assert len(helper.calls()) == 2
        assert {s.headers["authorization"] for s in server.seen[1:]} == {"Bearer t2"}

    def test_two_hundred_tasks_at_expiry_run_it_once(self, standin: Callable[[str], StandIn], server: IndexServer) -> None:
        """200 asyncio tasks crossing the expiry together run the helper once more."""
        index, helper = self._setup(standin, server)
        now = [T0]
        auth = build_authenticator([index], keyring_provider="disabled", clock=lambda: now[0])

        async def main() -> list[int]:
            transport = indexauth.AsyncIndexAuthTransport(authenticator=auth)
            async with httpx.AsyncClient(transport=transport, timeout=30) as client:
                first = await client.get(server.url("/private/simple/a/"))
                now[0] = T0 + 3600
                codes = [first.status_code]

                async def get() -> None:
                    codes.append((await client.get(server.url("/private/simple/b/"))).status_code)

                async with anyio.create_task_group() as group:
                    for _ in range(200):
                        group.start_soon(get)
                return codes

        assert anyio.run(main) == [200] * 201
        assert len(helper.calls()) == 2

    def test_no_expiry_is_cached_for_the_process(self, standin: Callable[[str], StandIn], server: IndexServer) -> None:
        """A password command gives no expiry: one run serves every later request, whatever the clock."""
        cmd = standin("get-token").tokens("t1", "t2")
        server.route("/private/", tokens={"Authorization": ["Bearer t1"]})
        index = indexauth.Index(server.url("/private/simple/"), password_command="get-token", auth="bearer", authenticate="always")
        now = [T0]
        auth = build_authenticator([index], keyring_provider="disabled", clock=lambda: now[0])
        with httpx.Client(transport=indexauth.IndexAuthTransport(authenticator=auth)) as client:
            for step in range(3):
                now[0] = T0 + step * 10**6
                assert client.get(server.url(f"/private/simple/{step}/")).status_code == 200
        assert len(cmd.calls()) == 1

    def test_short_lived_token_renewed_half_way(self, standin: Callable[[str], StandIn]) -> None:
        """A token that lives 40 s is renewed after 20 s, not on every request."""
        from indexauth._resolver import renew_at

        creds = indexauth.Credentials("u", "p").made_by(
            indexauth._models.ProgramRun("credential helper", "h", 0.1, T0, T0 + 40)
        )
        assert renew_at(creds) == T0 + 20
        long = indexauth.Credentials("u", "p").made_by(
            indexauth._models.ProgramRun("credential helper", "h", 0.1, T0, T0 + 3600)
        )
        assert renew_at(long) == T0 + 3540


class TestRefresh:
    """Refused program credentials are refreshed once; other sources never are."""

    def test_keyring_and_env_are_not_refreshed(self, server: IndexServer, monkeypatch: pytest.MonkeyPatch) -> None:
        """Credentials from the environment are refused once: no second lookup, no second send."""
        server.route("/private/", users={"alice": "right"})
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_USERNAME", "alice")
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_PASSWORD", "wrong")
        index = indexauth.Index(server.url("/private/simple/"), name="corp", authenticate="always")
        with (
            httpx.Client(transport=indexauth.IndexAuthTransport([index], keyring_provider="disabled")) as client,
            pytest.raises(indexauth.CredentialsRejectedError) as info,
        ):
            client.get(server.url("/private/simple/x/"))
        assert len(server.seen) == 1
        assert "run again" not in str(info.value)

    def test_same_token_again_is_not_resent(self, standin: Callable[[str], StandIn], server: IndexServer) -> None:
        """A command that prints the refused token again: it ran twice, the token went out once."""
        cmd = standin("get-token").tokens("same")
        server.route("/private/", tokens={"Authorization": ["Bearer other"]})
        index = indexauth.Index(server.url("/private/simple/"), password_command="get-token", auth="bearer", authenticate="always")
        with (
            httpx.Client(transport=indexauth.IndexAuthTransport([index], keyring_provider="disabled")) as client,
            pytest.raises(indexauth.CredentialsRejectedError, match="run again for fresh credentials"),
        ):
            client.get(server.url("/private/simple/x/"))
        assert len(cmd.calls()) == 2
        assert len(server.seen) == 1

    def test_refresh_that_fails_is_a_provider_error(self, standin: Callable[[str], StandIn], server: IndexServer) -> None:
        """When the refresh run fails, the error is the program's failure, with the status."""
        cmd = standin("get-token").tokens("t1").fail("error: login expired\n", from_call=2)
        server.route("/private/", tokens={"Authorization": ["Bearer t2"]})
        index = indexauth.Index(server.url("/private/simple/"), password_command="get-token", auth="bearer", authenticate="always")
        with (
            httpx.Client(transport=indexauth.IndexAuthTransport([index], keyring_provider="disabled")) as client,
            pytest.raises(indexauth.ProviderError, match="password command `get-token` failed") as info,
        ):
            client.get(server.url("/private/simple/x/"))
        assert info.value.status == 401
        assert len(cmd.calls()) == 2


def test_untrusted_index_never_runs_a_program(standin: Callable[[str], StandIn]) -> None:
    """Defence in depth: an index marked as from a working-directory file never runs its program."""
    from indexauth._models import mark_untrusted

    cmd = standin("get-token")
    index = mark_untrusted(indexauth.Index("https://h.example/simple/", password_command="get-token"), "/repo/uv.toml")
    assert _lookup(index) is None
    assert cmd.calls() == []


def test_environment_is_passed(standin: Callable[[str], StandIn], monkeypatch: pytest.MonkeyPatch) -> None:
    """The program sees the caller's environment (AWS_PROFILE, CI_JOB_TOKEN...)."""
    monkeypatch.setenv("AWS_PROFILE", "ci")
    assert os.environ["AWS_PROFILE"] == "ci"
    script_env = run_password_command(["sh", "-c", "echo $AWS_PROFILE"], timeout=10)[0]
    assert script_env == "ci"
