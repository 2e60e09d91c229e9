"""Working-directory files are untrusted: they add indexes, never take over yours (issue 9.2)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from drivers import DRIVERS, Call
from index_server import IndexServer
from indexauth import ConfigurationError, Index
from indexauth._cli import main
from indexauth._keyring import KeyringCommandSource
from indexauth._settings import entries, load
from indexauth._sources import Recorder, SourceFailure, Target

SECRET = "planted-S3CRET-9b2"
ALICE = {"alice": SECRET}


def write(path: Path, text: str) -> Path:
    """Write *text* to *path*, making its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def user_config(tmp_path: Path, text: str) -> dict[str, str]:
    """The environment that selects a user config.toml holding *text*."""
    return {"INDEXAUTH_CONFIG": str(write(tmp_path / "user" / "config.toml", text))}


def project(tmp_path: Path, text: str, name: str = "pyproject.toml") -> Path:
    """A working directory whose *name* holds *text*."""
    write(tmp_path / "repo" / name, text)
    return tmp_path / "repo"


def loaded(env: dict[str, str], cwd: Path) -> tuple[tuple[Index, ...], list[str]]:
    """The indexes global mode reads, and the warnings it gave."""
    said: list[str] = []
    return tuple(e.index for e in entries(env, cwd, warn=said.append)), said


def test_project_cannot_redefine_a_user_index(tmp_path: Path) -> None:
    """A project table named like your index (or at its URL) is ignored, warned once naming both."""
    env = user_config(tmp_path, '[[index]]\nname = "internal"\nurl = "https://corp.example/simple/"\n'
                      'authenticate = "always"\n')
    repo = project(tmp_path, '[[tool.uv.index]]\nname = "internal"\nurl = "https://evil.example/simple/"\n'
                   '[[tool.uv.index]]\nname = "other"\nurl = "https://corp.example/simple"\n'
                   'authenticate = "never"\n'
                   '[[tool.uv.index]]\nname = "extra"\nurl = "https://extra.example/simple/"\n')
    indexes, said = loaded(env, repo)
    assert [(i.name, i.url, i.authenticate) for i in indexes] == [
        ("internal", "https://corp.example/simple/", "always"),
        ("extra", "https://extra.example/simple/", "auto"),
    ]
    assert len(said) == 2
    assert all(str(repo / "pyproject.toml") in line and env["INDEXAUTH_CONFIG"] in line
               for line in said)
    assert indexes[0].untrusted_origin is None
    assert indexes[1].untrusted_origin == str(repo / "pyproject.toml")


def test_repeating_a_user_index_is_not_a_conflict(tmp_path: Path) -> None:
    """A project that states the same index as your file (uv's usual layout) gives no warning."""
    env = user_config(tmp_path, '[[index]]\nname = "corp"\nurl = "https://corp.example/simple/"\n')
    repo = project(tmp_path, '[[tool.uv.index]]\nname = "corp"\nurl = "https://corp.example/simple"\n')
    indexes, said = loaded(env, repo)
    assert [i.name for i in indexes] == ["corp"]
    assert said == []


def test_project_cannot_weaken_a_covering_policy(tmp_path: Path) -> None:
    """A project index inside your `always` index stays `always`; inside `never` stays `never`."""
    env = user_config(tmp_path, '[[index]]\nurl = "https://corp.example/simple/"\nauthenticate = "always"\n'
                      '[[index]]\nurl = "https://mirror.example/"\nauthenticate = "never"\n'
                      '[[index]]\nurl = "https://auto.example/"\n')
    repo = project(tmp_path, '[[tool.uv.index]]\nurl = "https://corp.example/simple/team/"\n'
                   'authenticate = "never"\n'
                   '[[tool.uv.index]]\nurl = "https://mirror.example/sub/"\nauthenticate = "always"\n'
                   '[[tool.uv.index]]\nurl = "https://auto.example/a/"\nauthenticate = "never"\n'
                   '[[tool.uv.index]]\nurl = "https://auto.example/b/"\nauthenticate = "always"\n'
                   '[[tool.uv.index]]\nurl = "https://own.example/"\nauthenticate = "never"\n')
    indexes, said = loaded(env, repo)
    policies = {i.url: i.authenticate for i in indexes}
    assert policies == {
        "https://corp.example/simple/": "always",
        "https://mirror.example/": "never",
        "https://auto.example/": "auto",
        "https://corp.example/simple/team/": "always",
        "https://mirror.example/sub/": "never",
        "https://auto.example/a/": "auto",
        "https://auto.example/b/": "always",  # stricter is allowed
        "https://own.example/": "never",  # its own index: its own policy
    }
    assert len(said) == 3
    assert all("cannot weaken" in line for line in said)


DEEP = "x = " + "[" * 3000 + "]" * 3000 + "\n"


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("pyproject.toml", "[tool.uv\n", "is not valid TOML"),
        ("pyproject.toml", DEEP, "nests tables or arrays too deeply"),
        ("uv.toml", DEEP, "nests tables or arrays too deeply"),
        ("pyproject.toml", '[[tool.uv.index]]\nurl = "https://p.example/"\nauthenticate = 3\n',
         "invalid authenticate value 3"),
        ("uv.toml", '[[index]]\nurl = "https://p.example/"\nusername = "--disable"\n',
         "begins with '-'"),
        ("uv.toml", "index = 5\n", "must be an array of tables"),
        ("pyproject.toml", '[tool.uv]\nindex = [{url = "https://p.example/", bogus = 1}]\n',
         "unknown key 'bogus'"),
    ],
)
def test_broken_project_file_never_drops_your_configuration(
    tmp_path: Path, name: str, text: str, reason: str
) -> None:
    """A broken project file is skipped alone, one warning naming it; your `always` stays."""
    env = user_config(tmp_path, '[[index]]\nname = "corp"\nurl = "https://corp.example/simple/"\n'
                      'authenticate = "always"\n')
    env["INDEXAUTH_INDEX_CI_URL"] = "https://ci.example/simple/"
    repo = project(tmp_path, text, name)
    indexes, said = loaded(env, repo)
    assert [(i.name, i.authenticate) for i in indexes] == [("ci", "auto"), ("corp", "always")]
    assert len(said) == 1
    assert str(repo / name) in said[0]
    assert reason in said[0]


def test_a_bad_trusted_file_still_raises(tmp_path: Path) -> None:
    """Your own file nested too deeply is one ConfigurationError naming it, not a RecursionError."""
    env = user_config(tmp_path, DEEP)
    with pytest.raises(ConfigurationError, match="nests tables or arrays too deeply"):
        load(env, tmp_path)


def test_user_name_beginning_with_dash_is_refused_in_your_file(tmp_path: Path) -> None:
    """`username = "--disable"` in your own file is a ConfigurationError naming it."""
    env = user_config(tmp_path, '[[index]]\nurl = "https://c.example/"\nusername = "--disable"\n')
    with pytest.raises(ConfigurationError, match=r"config\.toml.*'--disable' begins with '-'"):
        load(env, tmp_path)


@pytest.mark.parametrize("driver_name", list(DRIVERS))
def test_your_variables_never_follow_a_project_name(
    server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, driver_name: str
) -> None:
    """INDEXAUTH_INDEX_<NAME>_* never reach a URL a project file gave that name; UV_INDEX_* do."""
    server.route("/simple/", users=ALICE)
    repo = project(tmp_path, f'[[tool.uv.index]]\nname = "internal"\nurl = "{server.url("/simple/")}"\n')
    monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_USERNAME", "alice")
    monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_PASSWORD", SECRET)
    env = {"INDEXAUTH_CONFIG": str(write(tmp_path / "empty.toml", ""))}
    indexes, _ = loaded(env, repo)
    driver = DRIVERS[driver_name]()
    options = {"keyring_provider": "disabled"}
    (first,) = driver.run([Call(server.url("/simple/pkg/"))], indexes=indexes, options=options)
    assert server.seen and all(s.authorization is None for s in server.seen)
    assert SECRET not in repr(first)
    # uv's model: the project names the URL, CI sets UV_INDEX_<NAME>_*.
    monkeypatch.setenv("UV_INDEX_INTERNAL_USERNAME", "alice")
    monkeypatch.setenv("UV_INDEX_INTERNAL_PASSWORD", SECRET)
    (second,) = driver.run([Call(server.url("/simple/pkg/"))], indexes=indexes, options=options)
    assert getattr(second, "status", None) == 200
    assert server.seen[-1].user == "alice"


def test_your_variables_follow_your_own_definition(
    server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same name defined in your config.toml gets INDEXAUTH_INDEX_<NAME>_* as before."""
    server.route("/simple/", users=ALICE)
    env = user_config(tmp_path, f'[[index]]\nname = "internal"\nurl = "{server.url("/simple/")}"\n')
    monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_USERNAME", "alice")
    monkeypatch.setenv("INDEXAUTH_INDEX_INTERNAL_PASSWORD", SECRET)
    indexes, _ = loaded(env, tmp_path)
    (result,) = DRIVERS["requests"]().run(
        [Call(server.url("/simple/pkg/"))], indexes=indexes, options={"keyring_provider": "disabled"}
    )
    assert getattr(result, "status", None) == 200


def test_keyring_command_never_gets_a_dash_name(tmp_path: Path) -> None:
    """A username `--disable` is refused before the real `keyring` runs: no keyringrc.cfg appears."""
    keyring = Path(sys.executable).parent / "keyring"
    wrapper = write(tmp_path / "bin" / "keyring", f'#!/bin/sh\nexec "{keyring}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    source = KeyringCommandSource(executable=str(wrapper))
    index = Index("https://corp.example/simple/")
    with pytest.raises(SourceFailure) as caught:
        source.find(Target(index, index.realm), "--disable", Recorder())
    assert caught.value.error_class is ConfigurationError
    config_home = Path(os.environ["XDG_CONFIG_HOME"])
    assert not list(config_home.rglob("keyringrc.cfg"))


@pytest.mark.parametrize(
    "text", [DEEP, "[[credential]]\nservice = 1\n", "\xff not toml", "[[credential]\n"]
)
def test_status_and_check_survive_any_store_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """A store file of any content (ours or uv's) is reported, never a traceback, in `status`
    and `check`."""
    data = tmp_path / "data"
    write(data / "credentials.toml", text).chmod(0o600)
    uv = Path(os.environ["XDG_DATA_HOME"]) / "uv" / "credentials" / "credentials.toml"
    write(uv, text).chmod(0o600)
    monkeypatch.setenv("INDEXAUTH_DATA_DIR", str(data))
    monkeypatch.chdir(project(tmp_path, DEEP))
    assert main(["status"]) == 0
    main(["check", "https://127.0.0.1:9/simple/"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "pyproject.toml is skipped" in err


def test_netrc_default_never_goes_to_a_project_index(
    server: IndexServer, tmp_path: Path
) -> None:
    """netrc's `default` entry is for your indexes: a URL a project file names gets none of it."""
    server.route("/simple/", users={"bob": SECRET})
    netrc = Path(os.environ["HOME"]) / ".netrc"
    netrc.write_text(f"default login bob password {SECRET}\n", "utf-8")
    netrc.chmod(0o600)
    repo = project(tmp_path, f'[[tool.uv.index]]\nname = "p"\nurl = "{server.url("/simple/")}"\n')
    env = {"INDEXAUTH_CONFIG": str(write(tmp_path / "empty.toml", ""))}
    indexes, _ = loaded(env, repo)
    DRIVERS["requests"]().run(
        [Call(server.url("/simple/pkg/"))], indexes=indexes, options={"keyring_provider": "disabled"}
    )
    assert [s.authorization for s in server.seen] == [None]


def test_netrc_default_never_goes_to_an_index_only_a_requirements_file_names(
    server: IndexServer, tmp_path: Path
) -> None:
    """Real pip, global mode: `-i` on the command line gets netrc's `default`; a requirements file's doesn't.

    The same URL typed on the command line as well is yours again.
    """
    server.route("/given/", users={"bob": SECRET})
    server.route("/file/", users={"bob": SECRET})
    netrc = Path(os.environ["HOME"]) / ".netrc"
    netrc.write_text(f"default login bob password {SECRET}\n", "utf-8")
    netrc.chmod(0o600)
    requirements = write(
        tmp_path / "requirements.txt", f"--extra-index-url {server.url('/file/simple/')}\nnopkg\n"
    )
    env = {
        **os.environ,
        "INDEXAUTH": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
        "PIP_KEYRING_PROVIDER": "disabled",
        "INDEXAUTH_CONFIG": str(write(tmp_path / "empty.toml", "")),
    }

    def pip(*extra: str) -> list[tuple[str, str | None]]:
        server.seen.clear()
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp_path / "d"),
             "--index-url", server.url("/given/simple/"), *extra, "-r", str(requirements)],
            env=env, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
        )
        return [(s.path.split("/")[1], s.user) for s in server.seen]

    seen = pip()
    assert ("given", "bob") in seen  # the control: your own -i gets the default entry
    assert ("file", None) in seen
    assert ("file", "bob") not in seen, seen
    seen = pip("--extra-index-url", server.url("/file/simple/"))
    assert ("file", "bob") in seen, seen  # named on the command line too: yours
