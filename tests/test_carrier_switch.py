"""The tox carrier's two routes (`indexauth_carrier.pth`, its PEP 829 `.start` twin) and the
carrier itself turn on for exactly the `INDEXAUTH` values the start-up hook calls on.

The carrier's files are generated text (`_children.carrier_files`) and the carrier
is a file Python 2.7 can parse, so each spells the on-values itself; this property
runs the generated line and module in this process over generated values.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import _indexauth_startup
from indexauth._children import START_MODULE, carrier_files

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["1", "true", "yes", "on", "0", "false", "no", "off", "", "enabled", "2", "y", "onn"]
SPACES = st.text(st.sampled_from(" \t\n\r\x0b\x0c\xa0\u2003\x85\u3000\x1c"), max_size=2)
VALUES = st.one_of(
    st.builds(
        lambda word, upper, before, after: before + (word.upper() if upper else word) + after,
        st.sampled_from(WORDS),
        st.booleans(),
        SPACES,
        SPACES,
    ),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=6),
)
COUNTER = "_indexauth_test_carrier_runs"


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    """The `.pth` line and the `.start` module's `start`, for a carrier that counts its runs on `sys`."""
    directory = tmp_path_factory.mktemp("carrier")
    (directory / "sitecustomize.py").write_text(
        f"import sys\nsys.{COUNTER} = getattr(sys, {COUNTER!r}, 0) + 1\n", "utf-8"
    )
    site = tmp_path_factory.mktemp("site")
    files = carrier_files(str(directory))
    for name, text in files.items():
        (site / name).write_text(text, "utf-8")
    spec = importlib.util.spec_from_file_location(START_MODULE, site / f"{START_MODULE}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield files["indexauth_carrier.pth"], module.start
    if hasattr(sys, COUNTER):
        delattr(sys, COUNTER)


def _runs() -> int:
    return int(getattr(sys, COUNTER, 0))


@settings(max_examples=300, deadline=None)
@given(value=VALUES)
@example(value=" On ")
@example(value="\u3000yes\x85")
@example(value="FALSE")
@example(value="enabled")
def test_property_carrier_routes_agree_with_the_start_up_hook(routes: tuple[str, object], value: str) -> None:
    """For any value, the `.pth` line and the `.start` entry each run the carrier exactly when
    `_indexauth_startup.enabled()` is true, and never otherwise."""
    line, start = routes
    saved = os.environ.get("INDEXAUTH")
    os.environ["INDEXAUTH"] = value
    try:
        on = _indexauth_startup.enabled()
        before = _runs()
        with warnings.catch_warnings():  # the line reads the carrier with open().read(), as always
            warnings.simplefilter("ignore", ResourceWarning)
            exec(line, {})  # noqa: S102 - the generated .pth line, as site.addpackage runs it
        by_pth = _runs() - before
        start()  # type: ignore[operator]
        by_start = _runs() - before - by_pth
    finally:
        if saved is None:
            del os.environ["INDEXAUTH"]
        else:
            os.environ["INDEXAUTH"] = saved
    assert (by_pth, by_start) == ((1, 1) if on else (0, 0)), (value, on)


def test_carrier_spells_the_same_on_values() -> None:
    """The carrier (parsed, not run: importing it acts) names the start-up hook's on-values."""
    tree = ast.parse((ROOT / "src" / "_indexauth_carrier" / "sitecustomize.py").read_text("utf-8"))
    values = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_TRUE" for t in node.targets)
    )
    assert frozenset(values) == _indexauth_startup._TRUE
