"""docs/tools.md: every console block runs, as written, against a real pypiserver.

`https://pkgs.example.com` becomes the pypiserver index mounted at
`http://127.0.0.1:PORT/a`; each `##` section runs in a fresh HOME after the
"Set up once" block (except the section about uv's own logins, which is about
having no indexauth login). Each `$ ` line runs in bash from the section's
working directory and must succeed; the lines after it are its expected output,
where `...` stands for anything (a whole line: any number of lines).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, TESTS
from pypi_front import Front, write_wheel

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),  # see test_tools_keyring
]

DOC = TESTS.parent / "docs" / "tools.md"
NO_SETUP = {"Credentials uv stored"}


def sections() -> dict[str, list[tuple[str, list[str]]]]:
    """`##` heading -> its console blocks' commands, each with its expected output lines."""
    out: dict[str, list[tuple[str, list[str]]]] = {}
    heading = ""
    for block in re.split(r"^(## .*)$", DOC.read_text("utf-8"), flags=re.M):
        if block.startswith("## "):
            heading = block[3:].strip()
            continue
        for console in re.findall(r"```console\n(.*?)```", block, flags=re.S):
            for chunk in re.split(r"^\$ ", console, flags=re.M)[1:]:
                command, *expected = chunk.rstrip("\n").split("\n")
                out.setdefault(heading, []).append((command, expected))
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether *actual* lines fit *expected*, `...` standing for anything."""
    pattern = ""
    for line in expected:
        if line.strip() == "...":
            pattern += r"(?:.*\n)*"
        else:
            pattern += ".*".join(re.escape(part) for part in line.split("...")) + r"\n"
    return re.fullmatch(pattern, "".join(f"{line}\n" for line in actual)) is not None


def run_section(name: str, base: Path, env: dict[str, str], port: int) -> None:
    """Run the setup block (unless excluded) and *name*'s blocks in a fresh HOME under *base*."""
    home = base / name.replace(" ", "_")
    (home / "dist").mkdir(parents=True)
    write_wheel(home / "dist", "fromdocs")  # test_tools_keyring uploads "uploaded" to the same server
    env = dict(
        env,
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        UV_CACHE_DIR=str(home / ".uvcache"),
    )
    steps = [] if name in NO_SETUP else sections()["Set up once"]
    for command, expected in [*steps, *sections()[name]]:
        here = _local(command, port)
        if here.startswith("export "):
            key, _, value = here[len("export "):].partition("=")
            env[key] = shlex.split(value)[0]
            continue
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", here], cwd=home, env=env, capture_output=True, text=True,
            timeout=300, check=False,
        )
        text = done.stdout + done.stderr
        assert done.returncode == 0, f"{name}: `{command}` failed:\n{text}"
        wanted = [_local(line, port) for line in expected]
        assert matches(wanted, text.splitlines()), f"{name}: `{command}` printed:\n{text}\nexpected:\n" + "\n".join(wanted)


def _local(text: str, port: int) -> str:
    text = text.replace("https://alice@pkgs.example.com", f"http://alice@127.0.0.1:{port}/a")
    return text.replace("https://pkgs.example.com", f"http://127.0.0.1:{port}/a")


@pytest.mark.parametrize("name", [s for s in sections() if s != "Set up once"])
def test_section(
    name: str, tools_venv: Path, tools_front: Front, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The section's commands succeed and print what the page says."""
    uv = Path(str(pytest.importorskip("uv").find_uv_bin()))
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
    path = os.pathsep.join([str(tools_venv.parent), str(BIN), str(uv.parent), os.environ["PATH"]])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INDEXAUTH", "UV_"))}
    env.update(PATH=path, PASSWORD="pw-a", PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1")
    run_section(name, tmp_path, env, tools_front.port)


def test_bazelrc_names_the_helper_on_path(tools_venv: Path) -> None:
    """The `.bazelrc` line names an executable Bazel finds on PATH: the one the example runs."""
    text = DOC.read_text("utf-8")
    (host, name) = re.findall(r"--credential_helper=([^=\s]+)=(\S+)", text)[0]
    assert host == "pkgs.example.com"
    assert shutil.which(name, path=str(tools_venv.parent)) is not None
    assert f"| {name} get" in text


def test_every_tool_in_the_title_has_a_section() -> None:
    """uv, pip, twine, poetry, pdm and Bazel each have a section with a console example."""
    found = sections()
    title = DOC.read_text("utf-8").splitlines()[0]
    assert title == "# Using one setup with uv, pip, twine, poetry, pdm and Bazel"
    for tool in ("pip", "twine", "uv", "poetry and pdm", "Bazel", "Credentials uv stored"):
        assert found.get(tool), tool
