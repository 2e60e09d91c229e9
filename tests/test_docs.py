"""docs/errors.md has a section for every error and every `check` exit code, and each error
links to its own; docs/global.md's credential chain is the chain the code runs."""

from __future__ import annotations

import re

import pytest

import indexauth
from conftest import ROOT
from index_server import IndexServer
from indexauth._cli import EXIT_CODES, main
from indexauth._exceptions import ERRORS_DOC

ERRORS = (ROOT / ERRORS_DOC).read_text("utf-8")
HOSTS = ("GitLab", "Artifactory", "Nexus", "Azure", "Google", "AWS", "devpi")
CLASSES = [
    indexauth.MissingCredentialsError,
    indexauth.IncompleteCredentialsError,
    indexauth.CredentialsRejectedError,
    indexauth.ForbiddenError,
    indexauth.UnreplayableRequestError,
    indexauth.ProviderError,
    indexauth.ConfigurationError,
]


def section(anchor: str) -> str:
    """The text from `<a id="anchor">` to the next anchor."""
    start = ERRORS.index(f'<a id="{anchor}"></a>')
    end = ERRORS.find("<a id=", start + 1)
    return ERRORS[start : end if end > 0 else None]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_error_class_has_its_section(cls: type[indexauth.IndexAuthError]) -> None:
    """Meaning, usual causes on each host, and the fix, under the class's reference."""
    text = section(cls.reference)
    assert f"`{cls.__name__}`" in text.splitlines()[1]
    for part in ("**Means:**", "**Usual causes", "**Fix:**"):
        assert part in text, (cls.__name__, part)
    for host in HOSTS:
        assert host in text, (cls.__name__, host)


@pytest.mark.parametrize("code", sorted(set(EXIT_CODES.values())))
def test_every_check_exit_code_has_its_section(code: int) -> None:
    """`check`'s exit codes: meaning, causes and fix, each under `check-exit-N`."""
    name = next(n for n, c in EXIT_CODES.items() if c == code)
    text = section(f"check-exit-{code}")
    assert f"## check exit {code}: {name}" in text
    for part in ("**Means:**", "**Usual causes", "**Fix:**"):
        assert part in text, (code, part)


def test_error_links_point_at_existing_sections() -> None:
    """Every class's `see:` line names an anchor that exists."""
    for cls in CLASSES:
        error = cls("x", hint="do y")
        assert error.render().splitlines()[-1] == f"  see: {ERRORS_DOC}#{cls.reference}"
        assert f'<a id="{cls.reference}"></a>' in ERRORS


def test_check_output_links_its_exit_code(
    server: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`indexauth check` ends a failure with the section of its exit code."""
    server.route("/p/", users={"alice": "pw"})
    code = main(["check", server.url("/p/simple/"), "--keyring-provider", "disabled"])
    out = capsys.readouterr().out
    assert code == 3
    assert out.rstrip().splitlines()[-1] == f"  see: {ERRORS_DOC}#check-exit-3"


def test_global_md_chain_names_every_source_in_order() -> None:
    """docs/global.md's chain sentence lists the sources in the order they are asked, store included."""
    text = (ROOT / "docs" / "global.md").read_text("utf-8")
    chain = re.search(r"Credentials come from the usual chain, in this order: (.*?)\.\n\n", text, re.S)
    assert chain is not None
    words = " ".join(chain.group(1).split())
    order = ["URL given to pip", "index URL", "INDEXAUTH_INDEX_", "UV_INDEX_", "store", "netrc", "keyring"]
    positions = [words.find(word) for word in order]
    assert -1 not in positions and positions == sorted(positions), words


def test_global_md_shows_the_pth_line_as_shipped() -> None:
    """docs/global.md quotes indexauth.pth's line word for word (its cost is explained there)."""
    text = (ROOT / "docs" / "global.md").read_text("utf-8")
    line = (ROOT / "src" / "indexauth.pth").read_text("utf-8").strip()
    assert f"```\n{line}\n```" in text
