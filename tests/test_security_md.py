"""SECURITY.md names real tests: every test, class, file and scenario row it cites exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import TESTS
from test_scenarios import SCENARIOS

SECURITY = TESTS.parent / "SECURITY.md"


def _cited() -> list[str]:
    return re.findall(r"`([^`]+)`", SECURITY.read_text("utf-8"))


def _names(path: Path) -> set[str]:
    """Every class and function name in *path*, dotted by nesting (`TestX.test_y`) and bare."""
    found: set[str] = set()

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                found.add(prefix + child.name)
                found.add(child.name)
                visit(child, prefix + child.name + ".")

    visit(ast.parse(path.read_text("utf-8")), "")
    return found


def test_cited_test_files_and_names_exist() -> None:
    """`tests/x.py`, `tests/x.py::Class::test` and bare `test_...` names all exist."""
    every: set[str] = set()
    for path in TESTS.glob("test_*.py"):
        every |= _names(path)
    checked = 0
    for cited in _cited():
        file, _, rest = cited.partition("::")
        if file.startswith("tests/") and file.endswith(".py"):
            path = TESTS.parent / file
            assert path.is_file(), cited
            if rest:
                assert rest.replace("::", ".") in _names(path), cited
            checked += 1
        elif re.fullmatch(r"test_\w+", cited):
            assert cited in every, cited
            checked += 1
    assert checked > 20


def test_cited_scenario_rows_exist() -> None:
    """Scenario row ids (kebab-case, four words or more) are rows of the table."""
    ids = {scenario.id for scenario in SCENARIOS}
    rows = [c for c in _cited() if re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+){3,}", c)]
    assert len(rows) > 10
    assert [row for row in rows if row not in ids] == []
