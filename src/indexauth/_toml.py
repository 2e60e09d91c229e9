"""A TOML reader on every Python indexauth runs on, or an error that says where to install one.

Python 3.11 has `tomllib`; on 3.10 indexauth depends on `tomli`. A 3.10 child
that runs its parent's indexauth through the carrier (`pip --python`, build's
environment, a tox or nox environment: see `_indexauth_carrier`) may have
neither: the carrier only serves `tomli` when the parent's environment has it,
and a 3.11+ parent rarely does. Every pip that runs on 3.10 (21.2 and later)
carries its own copy, `pip._vendor.tomli`, and those children are pips, so that
copy is the last resort. Without any, reading a file is a `NoTomlReader` whose
`fix` names the interpreter to install tomli into.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from types import ModuleType

__all__ = ["NoTomlReader", "reader"]

# Tried in this order on Python 3.10; the first that imports reads every file.
_READERS = ("tomli", "pip._vendor.tomli")


class NoTomlReader(Exception):  # noqa: N818 - a state of the interpreter, reported by each reader
    """No TOML reader can be imported here; `reason` says why and `fix` what to run."""

    def __init__(self) -> None:
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        self.reason = (
            f"Python {version} ({sys.executable}) has no TOML reader of its own, "
            "and neither tomli nor pip is importable there"
        )
        startup = sys.modules.get("_indexauth_startup")
        parent = getattr(startup, "carried", None)
        # Carried from a parent: the carrier serves tomli from the parent's environment, the
        # one place a user can install into (build's environment is thrown away).
        self.fix = (
            f"install tomli into the environment this process gets indexauth from: "
            f"{parent} -m pip install tomli"
            if parent
            else f"install tomli: {sys.executable} -m pip install tomli"
        )
        super().__init__(f"{self.reason}; {self.fix}")


def reader() -> ModuleType:
    """`tomllib`, else `tomli`, else pip's copy of tomli; `NoTomlReader` if none imports."""
    if sys.version_info >= (3, 11):
        import tomllib  # noqa: PLC0415 - loaded when a file is read, not at import

        return tomllib
    import importlib  # noqa: PLC0415 - Python 3.10 only

    for name in _READERS:  # pragma: no cover - Python 3.10 only (tests run it in a 3.10 child)
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise NoTomlReader  # pragma: no cover - Python 3.10 only
