"""`indexauth credential-helper get`: Bazel's credential helper protocol, answered from the chain."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from conftest import BIN, StandIn
from index_server import IndexServer
from indexauth._cli import main
from indexauth._store import Store

HELPER = BIN / "indexauth-credential-helper"


def bazel(request: bytes | str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run the helper as Bazel does: the executable named by --credential_helper, `get`, JSON on stdin."""
    data = request.encode() if isinstance(request, str) else request
    return subprocess.run(
        [str(HELPER), *(args or ("get",))], input=data, capture_output=True, timeout=60, check=False,
        cwd=cwd or Path(os.environ["HOME"]),
    )


def ask(uri: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    """`indexauth credential-helper get` in this process, for *uri*; the parsed answer."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps({"uri": uri}).encode())))
    code = main(["credential-helper", "get", "--keyring-provider", "disabled"])
    out, err = capsys.readouterr()
    assert code == 0, err
    answer = json.loads(out)
    assert isinstance(answer, dict)
    return answer


def basic(user: str, password: str) -> dict[str, object]:
    """The answer carrying Basic credentials."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"headers": {"Authorization": [f"Basic {token}"]}}


@pytest.fixture(name="data")
def fixture_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """indexauth's store in a fresh directory."""
    path = tmp_path / "data"
    monkeypatch.setenv("INDEXAUTH_DATA_DIR", str(path))
    return path


@pytest.mark.skipif(
    not HELPER.exists(), reason="this environment predates the script: pip install -e '.[test]'"
)
class TestAsBazelCallsIt:
    """The executable, `get`, a JSON request on stdin, the JSON answer on stdout."""

    def test_found_and_usable(self, data: Path, server: IndexServer) -> None:
        """A login made with `indexauth login` comes back as the header, which the server accepts."""
        server.route("/private", users={"alice": "pw-a"})
        index = server.url("/private/simple/")
        Store().put(index, "alice", "pw-a")
        done = bazel(json.dumps({"uri": index + "demo/"}))
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert answer == basic("alice", "pw-a")
        headers = {k: ", ".join(v) for k, v in answer["headers"].items()}
        assert requests.get(index + "demo/", headers=headers, timeout=10).status_code == 200
        assert done.stderr == b""

    def test_nothing_found(self, data: Path) -> None:
        """No credentials: `{"headers": {}}` and exit 0, so the tool goes on without any."""
        done = bazel('{"uri": "https://public.example.com/file.tar.gz"}')
        assert (done.returncode, json.loads(done.stdout)) == (0, {"headers": {}})

    def test_subcommand_form(self, data: Path) -> None:
        """`indexauth credential-helper get` answers the same as the executable."""
        Store().put("https://pkgs.example.com/simple/", "alice", "pw-a")
        done = subprocess.run(
            [str(BIN / "indexauth"), "credential-helper", "get", "--keyring-provider", "disabled"],
            input=b'{"uri": "https://pkgs.example.com/simple/demo/"}', capture_output=True, timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == basic("alice", "pw-a")

    @pytest.mark.parametrize(
        ("stdin", "args", "message"),
        [
            (b"not json", (), "stdin is not a JSON object"),
            (b"[1]", (), "stdin is not a JSON object"),
            (b"\xff\xfe{}", (), "stdin is not a JSON object"),
            (b"{}", (), 'the request has no "uri" string'),
            (b'{"uri": 7}', (), 'the request has no "uri" string'),
            (b'{"uri": "ftp://h.example.com/x"}', (), '"uri" is not usable: URL'),
            (b'{"uri": "https://h.example.com:99999/x"}', (), '"uri" is not usable'),
            (b'{"uri": "' + b"a" * 70000 + b'"}', (), "longer than 64 KiB"),
            (b"{}", ("store",), "unknown command 'store'"),
            (b"{}", (), ""),  # placeholder replaced below: no command at all
        ],
    )
    def test_bad_input(self, data: Path, stdin: bytes, args: tuple[str, ...], message: str) -> None:
        """One clear line on stderr, exit code 2, nothing on stdout, never a traceback."""
        if not message:
            done = subprocess.run([str(HELPER)], input=stdin, capture_output=True, timeout=60, check=False)
            message = "the following arguments are required: get"
        else:
            done = bazel(stdin, *args)
        err = done.stderr.decode()
        assert done.returncode == 2, err
        assert done.stdout == b""
        assert "Traceback" not in err
        assert message in err
        assert err.startswith("indexauth")

    def test_password_in_request_never_echoed(self, data: Path) -> None:
        """A password inside the URI is neither used nor printed, even in an error."""
        done = bazel('{"uri": "https://u:hunter2@h.example.com:99999/x"}')
        assert done.returncode == 2
        assert b"hunter2" not in done.stderr + done.stdout

    def test_a_lone_user_part_is_never_printed(self, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """`https://TOKEN@host/...` may carry a token (pip's and uv's reading): its password is
        looked up under that name, and when the `keyring` command then fails, the warning on
        stderr (which Bazel shows) names the command with `****`, not the token."""
        (tmp_path / "bin").mkdir()
        failing = tmp_path / "bin" / "keyring"  # a broken `keyring` command: not Python, exit 3
        failing.write_text("#!/bin/sh\necho 'backend exploded' >&2\nexit 3\n")
        failing.chmod(0o755)
        monkeypatch.setenv("PATH", f"{failing.parent}{os.pathsep}{os.environ['PATH']}")
        for userinfo in ("Zq8Lone7Token4711@", "Zq8Lone7Token4711:@"):
            request = json.dumps({"uri": f"https://{userinfo}pkgs.example.com/simple/demo/"})
            done = bazel(request, "get", "--keyring-provider", "subprocess")
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout) == {"headers": {}}
            assert b"backend exploded" in done.stderr  # the control: the command ran and failed
            assert b"Zq8Lone7Token4711" not in done.stderr + done.stdout, done.stderr


class TestWhatIsAnswered:
    """The same chain and matching as every other lookup."""

    def test_username_in_uri_is_honoured_password_ignored(
        self, data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`bob@` picks bob's entry; `alice:wrong@` gets alice's stored password, not "wrong"."""
        index = "https://pkgs.example.com/simple/"
        Store().put(index, "alice", "pw-a")
        Store().put(index, "bob", "pw-b")
        assert ask("https://bob@pkgs.example.com/simple/", monkeypatch, capsys) == basic("bob", "pw-b")
        assert ask("https://alice:wrong@pkgs.example.com/simple/", monkeypatch, capsys) == basic("alice", "pw-a")
        assert ask("https://carol@pkgs.example.com/simple/", monkeypatch, capsys) == {"headers": {}}

    def test_file_under_a_configured_index(
        self, data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A file URL under a configured index's root gets that index's credentials (env here)."""
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_URL", "https://pkgs.example.com/api/pypi/simple/")
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_USERNAME", "ci")
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_PASSWORD", "pw-ci")
        uri = "https://pkgs.example.com/api/pypi/packages/demo-1.0-py3-none-any.whl"
        assert ask(uri, monkeypatch, capsys) == basic("ci", "pw-ci")
        # Neither another host, nor http, nor a path outside the root.
        for other in (
            "https://evil.example.com/api/pypi/packages/x.whl",
            "http://pkgs.example.com/api/pypi/packages/x.whl",
            "https://pkgs.example.com/api/other/x.whl",
        ):
            assert ask(other, monkeypatch, capsys) == {"headers": {}}, other

    def test_dots_behind_a_space_as_typed(
        self, data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A URI asked about with spaces written out (` ..`), not escaped (`%20..`), gets nothing:
        the tool sends `%20..`, which a server that drops spaces reads as `..`, out of the root."""
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_URL", "https://pkgs.example.com/api/pypi/simple/")
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_USERNAME", "ci")
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_PASSWORD", "pw-ci")
        base = "https://pkgs.example.com/api/pypi/simple/"
        assert ask(base + "demo/", monkeypatch, capsys) == basic("ci", "pw-ci")  # the control
        for tail in ("%20../%20../%20../other/x.whl", " ../ ../ ../other/x.whl", "\x0b../\x0b../\x0b../x"):
            assert ask(base + tail, monkeypatch, capsys) == {"headers": {}}, tail

    def test_never_policy(
        self, data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An index with authenticate = never gets no header."""
        monkeypatch.setenv("INDEXAUTH_INDEX_PUB_URL", "https://pkgs.example.com/simple/")
        monkeypatch.setenv("INDEXAUTH_INDEX_PUB_AUTHENTICATE", "never")
        Store().put("https://pkgs.example.com/simple/", "alice", "pw-a")
        assert ask("https://pkgs.example.com/simple/demo/", monkeypatch, capsys) == {"headers": {}}

    def test_netrc_default_and_plain_http_only_for_your_indexes(
        self, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Bazel asks for every URL it downloads: netrc's `default` entry is for your indexes, not
        for github.com, and a netrc password never goes out over plain http to an unconfigured URL."""
        netrc = tmp_path / "netrc"
        netrc.write_text(
            "machine net.example.com login n password pw-netrc\ndefault login d password pw-default\n"
        )
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        monkeypatch.setenv("INDEXAUTH_INDEX_CORP_URL", "https://corp.example.com/simple/")
        for other in (
            "https://github.com/bazelbuild/rules_python/archive/x.tar.gz",
            "http://net.example.com/x.tar.gz",
        ):
            assert ask(other, monkeypatch, capsys) == {"headers": {}}, other
        assert ask("https://net.example.com/x.tar.gz", monkeypatch, capsys) == basic("n", "pw-netrc")
        assert ask("https://corp.example.com/simple/demo/", monkeypatch, capsys) == basic("d", "pw-default")

    def test_a_configured_helper_answer_is_passed_on_whole(
        self, data: Path, standin: Callable[[str], StandIn], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """An index whose own credential helper answers with another header (Artifactory's
        X-JFrog-Art-Api) and an expiry: Bazel gets that header and that expiry, not an empty
        Authorization (which it would send, and which the server refuses)."""
        standin("arthelper").tokens("art-key-1").helper(
            "X-JFrog-Art-Api", "{token}", expires="2099-01-01T00:00:00Z"
        )
        monkeypatch.setenv("INDEXAUTH_INDEX_ART_URL", "https://art.example.com/api/pypi/simple/")
        monkeypatch.setenv("INDEXAUTH_INDEX_ART_CREDENTIAL_HELPER", "arthelper")
        answer = ask("https://art.example.com/api/pypi/simple/demo/", monkeypatch, capsys)
        assert answer == {"headers": {"X-JFrog-Art-Api": ["art-key-1"]}, "expires": "2099-01-01T00:00:00Z"}
        standin("bearhelper").tokens("tok-1").helper()
        monkeypatch.setenv("INDEXAUTH_INDEX_ART_CREDENTIAL_HELPER", "bearhelper")
        assert ask("https://art.example.com/api/pypi/simple/demo/", monkeypatch, capsys) == {
            "headers": {"Authorization": ["Bearer tok-1"]}
        }

    def test_nested_run_answers_nothing(
        self, data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Run by indexauth's own helper client from inside this command, it does not ask itself again."""
        Store().put("https://pkgs.example.com/simple/", "alice", "pw-a")
        monkeypatch.setenv("INDEXAUTH_CREDENTIAL_HELPER_RUNNING", "1")
        assert ask("https://pkgs.example.com/simple/", monkeypatch, capsys) == {"headers": {}}


def test_the_script_is_declared() -> None:
    """The wheel installs `indexauth-credential-helper`, the executable Bazel's flag names."""
    text = (Path(__file__).parent.parent / "pyproject.toml").read_text("utf-8")
    scripts = text.split("[project.scripts]", 1)[1].split("\n[", 1)[0]
    assert 'indexauth-credential-helper = "indexauth._credential_helper:main"' in scripts
