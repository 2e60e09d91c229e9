"""Global configuration: sources, precedence, and one clear error per bad file or variable."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from indexauth import ConfigurationError, Index
from indexauth._settings import config_path, for_url, load

USER = "[[index]]\nname = {name!r}\nurl = {url!r}\nauthenticate = {auth!r}\n"


def write(path: Path, text: str) -> Path:
    """Write *text* to *path*, making its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def test_environment_index_with_policy_and_username(tmp_path: Path) -> None:
    """INDEXAUTH_INDEX_<NAME>_URL with _AUTHENTICATE and _USERNAME is one named index."""
    env = {
        "INDEXAUTH_INDEX_TEAM_X_URL": "https://pkgs.example.com/simple/",
        "INDEXAUTH_INDEX_TEAM_X_AUTHENTICATE": "Always",
        "INDEXAUTH_INDEX_TEAM_X_USERNAME": "__token__",
        "INDEXAUTH_INDEX_TEAM_X_PASSWORD": "not read here",
    }
    assert load(env, tmp_path) == (
        Index("https://pkgs.example.com/simple/", name="team_x", authenticate="always",
              username="__token__"),
    )


def test_precedence_environment_uv_project_user(tmp_path: Path) -> None:
    """Same name everywhere: env > UV_INDEX > user file > uv.toml/pyproject; others are kept."""
    home = tmp_path / "config"
    write(home / "indexauth" / "config.toml",
          USER.format(name="corp", url="https://user.example/simple/", auth="never")
          + USER.format(name="only-user", url="https://only.example/simple/", auth="always"))
    write(tmp_path / "pyproject.toml",
          '[[tool.uv.index]]\nname = "corp"\nurl = "https://project.example/simple/"\n'
          'default = true\n')
    env = {"XDG_CONFIG_HOME": str(home), "UV_INDEX": "corp=https://uv.example/simple/ "
           "https://anon.example/simple/"}
    urls = {index.name: index.url for index in load(env, tmp_path)}
    assert urls == {
        "corp": "https://uv.example/simple/",
        None: "https://anon.example/simple/",
        "only-user": "https://only.example/simple/",
    }
    env["INDEXAUTH_INDEX_CORP_URL"] = "https://env.example/simple/"
    assert [i.url for i in load(env, tmp_path) if i.name == "corp"] == ["https://env.example/simple/"]
    del env["INDEXAUTH_INDEX_CORP_URL"], env["UV_INDEX"]
    assert [i.url for i in load(env, tmp_path)] == [
        "https://user.example/simple/",
        "https://only.example/simple/",
    ]
    (tmp_path / "config" / "indexauth" / "config.toml").unlink()
    assert [i.url for i in load(env, tmp_path)] == ["https://project.example/simple/"]


def test_uv_toml_wins_over_pyproject(tmp_path: Path) -> None:
    """With both in the working directory, uv.toml is read (as uv does) and pyproject is not."""
    write(tmp_path / "uv.toml", '[[index]]\nname = "u"\nurl = "https://uvtoml.example/simple/"\n')
    write(tmp_path / "pyproject.toml",
          '[[tool.uv.index]]\nname = "p"\nurl = "https://pyproject.example/simple/"\n')
    assert [i.name for i in load({"INDEXAUTH_CONFIG": ""}, tmp_path)] == ["u"]


def test_variables_adjust_an_index_defined_elsewhere(tmp_path: Path) -> None:
    """_AUTHENTICATE and _USERNAME without _URL adjust the index of that name from a file."""
    path = write(tmp_path / "c.toml", USER.format(name="corp", url="https://c.example/simple/",
                                                  auth="auto"))
    env = {"INDEXAUTH_CONFIG": str(path), "INDEXAUTH_INDEX_CORP_AUTHENTICATE": "always",
           "INDEXAUTH_INDEX_CORP_USERNAME": "aws"}
    (index,) = load(env, tmp_path)
    assert (index.authenticate, index.username) == ("always", "aws")


def test_url_only_index_takes_its_policy_from_a_same_url_entry() -> None:
    """pip knows an index by URL only: the entry with the same URL (slash, userinfo aside) is it."""
    entry = Index("https://h.example/simple", name="team", authenticate="always")
    assert for_url("https://user:pw@H.example/simple/", [entry]) is entry
    assert for_url("https://h.example/other/", [entry]) is None


@pytest.mark.parametrize(
    ("env", "files", "message"),
    [
        ({"INDEXAUTH_INDEX_X_URL": "https://x/simple",
          "INDEXAUTH_INDEX_X_AUTHENTICATE": "sometimes"}, {},
         "INDEXAUTH_INDEX_X_AUTHENTICATE has an invalid value 'sometimes'"),
        ({"INDEXAUTH_INDEX_X_URL": "ftp://x/simple"}, {}, "INDEXAUTH_INDEX_X_URL is not a usable"),
        ({"UV_INDEX": "a=notaurl"}, {}, "UV_INDEX has an entry that is not a usable index URL"),
        ({}, {"c.toml": "[[index]\nurl = 1"}, "c.toml is not valid TOML"),
        ({}, {"c.toml": '[[index]]\nurl = "https://x/simple"\nauthenticate = "yes"\n'},
         "c.toml: [[index]] number 1: invalid authenticate value 'yes'"),
        ({}, {"c.toml": '[[index]]\nurl = "https://x/simple"\npassword = "s3cret"\n'},
         "c.toml: [[index]] number 1: unknown key 'password'"),
        ({}, {"c.toml": '[[index]]\nname = "bad name"\nurl = "https://x/simple"\n'},
         "c.toml: [[index]] number 1: invalid index name 'bad name'"),
    ],
)
def test_invalid_configuration_names_the_culprit(
    tmp_path: Path, env: dict[str, str], files: dict[str, str], message: str
) -> None:
    """A bad variable or file: one ConfigurationError naming it and the bad value, no secret."""
    for name, text in files.items():
        write(tmp_path / name, text)
    env = {"INDEXAUTH_CONFIG": str(tmp_path / "c.toml"), **env}
    if "c.toml" not in files:
        write(tmp_path / "c.toml", "")
    with pytest.raises(ConfigurationError) as caught:
        load(env, tmp_path)
    assert message in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    """INDEXAUTH_CONFIG naming a file that does not exist is an error, not silence."""
    with pytest.raises(ConfigurationError, match=r"INDEXAUTH_CONFIG names .*nope\.toml"):
        load({"INDEXAUTH_CONFIG": str(tmp_path / "nope.toml")}, tmp_path)


def test_user_config_path_follows_xdg(tmp_path: Path) -> None:
    """Without INDEXAUTH_CONFIG the file is indexauth/config.toml in the user config directory."""
    assert config_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "indexauth" / "config.toml"


@pytest.mark.parametrize("where", ["uv.toml", "pyproject.toml"])
def test_flat_and_local_uv_indexes_are_skipped_not_fatal(
    tmp_path: Path, where: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A local path, file: URL or format = "flat" uv index is skipped; the other indexes stay."""
    table = "[[index]]" if where == "uv.toml" else "[[tool.uv.index]]"
    write(tmp_path / where,
          f'{table}\nname = "wheels"\nurl = "./wheelhouse"\nformat = "flat"\n'
          f'{table}\nname = "local"\nurl = "file:///srv/simple"\n'
          f'{table}\nname = "relative"\nurl = "vendor/simple"\n'
          f'{table}\nname = "links"\nurl = "https://links.example/wheels/"\nformat = "flat"\n'
          f'{table}\nname = "tokened"\nurl = "https://ci:fl4t-s3cret@links.example/w/"\nformat = "flat"\n'
          f'{table}\nname = "corp"\nurl = "https://corp.example/simple/"\n')
    with caplog.at_level(logging.DEBUG, logger="indexauth"):
        indexes = load({"INDEXAUTH_CONFIG": ""}, tmp_path)
    assert [(i.name, i.url) for i in indexes] == [("corp", "https://corp.example/simple/")]
    assert "./wheelhouse" in caplog.text
    assert "skipped" in caplog.text
    # The debug line reaches `pip -vv` output and CI logs: never the password of a skipped index.
    assert "https://ci:****@links.example/w/" in caplog.text
    assert "fl4t-s3cret" not in caplog.text


def test_other_bad_uv_urls_are_one_warning(tmp_path: Path) -> None:
    """A uv index with a URL of another scheme: one warning naming the file and value."""
    write(tmp_path / "uv.toml", '[[index]]\nname = "f"\nurl = "ftp://files.example/simple/"\n')
    said: list[str] = []
    assert load({"INDEXAUTH_CONFIG": ""}, tmp_path, warn=said.append) == ()
    assert len(said) == 1
    assert re.search(r"uv\.toml: \[\[index\]\] number 1: .*ftp", said[0])


@pytest.mark.parametrize("name", ["c.toml", "uv.toml", "pyproject.toml"])
def test_non_utf8_file_names_the_file(tmp_path: Path, name: str) -> None:
    """A config file that is not UTF-8 is named (an error for yours, a warning for a project's)."""
    path = tmp_path / name
    path.write_bytes(b'[[index]]\nname = "caf\xe9"\nurl = "https://x.example/simple/"\n')
    env = {"INDEXAUTH_CONFIG": str(tmp_path / "c.toml")}
    if name != "c.toml":
        write(tmp_path / "c.toml", "")
        said: list[str] = []
        assert load(env, tmp_path, warn=said.append) == ()
        assert len(said) == 1
        assert f"{path} is not UTF-8 text" in said[0]
        return
    with pytest.raises(ConfigurationError) as caught:
        load(env, tmp_path)
    assert f"{path} is not UTF-8 text" in str(caught.value)
