"""examples/pip_global.md, run: its recipes against a real pypiserver that stands in for GitLab,
and its sample output compared with what real pip prints with `INDEXAUTH=1`.

The server answers anonymous requests with 404, as GitLab does, and knows the
users `__token__` and `gitlab-ci-token`. pip runs in the session venv that has
the indexauth wheel (keyring and keyrings.alt come from this environment). The
sample output in the document is a real run with two things made readable: the
server's port is `PORT` and the throw-away home directory is `/home/you`.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import ROOT
from pypi_front import Front, not_found_when_anonymous, pypi_app, write_wheel

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

DOC = ROOT / "examples" / "pip_global.md"
TOKEN = "glpat-example-token"  # the stand-in server's password
JOB_TOKEN = "ci-job-token"
QUIET = ("--disable-pip-version-check", "--no-cache-dir", "--timeout", "30", "--no-input")


@pytest.fixture(scope="module")
def gitlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    """pypiserver at /gitlab/ with `private-pkg`: 404 to anonymous requests, as GitLab answers."""
    root = tmp_path_factory.mktemp("gitlab") / "gitlab"
    root.mkdir()
    write_wheel(root, "private_pkg")
    app = pypi_app(root, {"__token__": TOKEN, "gitlab-ci-token": JOB_TOKEN})
    server = Front(mounts={"gitlab": not_found_when_anonymous(app)}).start()
    yield server
    server.stop()


def pip_install(
    python: Path, target: Path, url: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`pip install --index-url URL private-pkg`, as the document runs it (into *target*)."""
    return subprocess.run(
        [str(python), "-m", "pip", "install", *QUIET, "--target", str(target), "--index-url", url,
         "private-pkg"],
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )


def global_env(**extra: str) -> dict[str, str]:
    """This test's environment with INDEXAUTH=1, keyrings.alt's file backend, no pip config."""
    return {
        **os.environ,
        "INDEXAUTH": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        **extra,
    }


def readable(text: str, gitlab: Front) -> str:
    """*text* as the document shows it: the port as PORT, the home directory as /home/you."""
    text = text.replace(f"127.0.0.1:{gitlab.port}", "127.0.0.1:PORT")
    return text.replace(os.environ["HOME"], "/home/you").rstrip("\n")


def sample(heading: str) -> str:
    """The first ```text block after the line *heading* in the document."""
    doc = DOC.read_text("utf-8")
    after = doc[doc.index(heading) :]
    found = re.search(r"```text\n(.*?)\n```", after, re.DOTALL)
    assert found is not None, heading
    return found.group(1)


def test_keyring_recipe(tools_venv: Path, gitlab: Front, tmp_path: Path) -> None:
    """`keyring set URL __token__`, then the user name in pip's URL: installed, one 404 at most."""
    url = gitlab.url("gitlab")
    env = global_env()
    subprocess.run(  # the `keyring` command of the environment pip runs in
        [str(tools_venv), "-m", "keyring", "set", url, "__token__"],
        input=TOKEN + "\n", text=True, capture_output=True, timeout=120, env=env, check=True,
    )
    done = pip_install(tools_venv, tmp_path / "t", url.replace("http://", "http://__token__@"), env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "t" / "private_pkg" / "__init__.py").is_file()
    assert "indexauth" not in done.stderr, done.stderr
    assert {h.user for h in gitlab.under("gitlab")} <= {"__token__", None}


def test_environment_recipe(tools_venv: Path, gitlab: Front, tmp_path: Path) -> None:
    """The CI recipe: `INDEXAUTH_INDEX_GITLAB_*` with `always`: installed, nothing anonymous."""
    url = gitlab.url("gitlab")
    gitlab.hits.clear()
    env = global_env(
        INDEXAUTH_INDEX_GITLAB_URL=url,
        INDEXAUTH_INDEX_GITLAB_USERNAME="gitlab-ci-token",
        INDEXAUTH_INDEX_GITLAB_PASSWORD=JOB_TOKEN,
        INDEXAUTH_INDEX_GITLAB_AUTHENTICATE="always",
    )
    done = pip_install(tools_venv, tmp_path / "t", url, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert gitlab.under("gitlab")
    assert all(h.user == "gitlab-ci-token" for h in gitlab.under("gitlab"))


def test_failure_under_auto_is_shown_as_pip_prints_it(tools_venv: Path, gitlab: Front, tmp_path: Path) -> None:
    """Nothing found under `auto`: the document's sample is what pip prints on stderr."""
    done = pip_install(tools_venv, tmp_path / "t", gitlab.url("gitlab"), global_env())
    assert done.returncode == 1
    assert readable(done.stderr, gitlab) == sample("Nothing found under `auto`")


def test_failure_under_always_is_shown_as_pip_prints_it(
    tools_venv: Path, gitlab: Front, tmp_path: Path
) -> None:
    """Nothing found under `always`: the document's sample is what pip prints; nothing was sent."""
    gitlab.hits.clear()
    env = global_env(
        INDEXAUTH_INDEX_GITLAB_URL=gitlab.url("gitlab"), INDEXAUTH_INDEX_GITLAB_AUTHENTICATE="always"
    )
    done = pip_install(tools_venv, tmp_path / "t", gitlab.url("gitlab"), env)
    assert done.returncode == 1
    assert gitlab.under("gitlab") == []
    assert readable(done.stderr, gitlab) == sample("Nothing found under `always`")
