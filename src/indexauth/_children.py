"""Global mode in child interpreters: the carrier that tools which filter the environment drop.

The start-up hook puts the carrier directory first on `PYTHONPATH` (see
`_indexauth_startup.carry` and `_indexauth_carrier/sitecustomize.py`), so every
Python started below a process with `INDEXAUTH=1` loads indexauth too. Some
tools build their children's environment themselves:

- pipx removes `PYTHONPATH` (`pipx.util._fix_subprocess_env`): the carrier
  directory, and only it, is put back.
- tox passes only `pass_env` and installs with `python -I`: see `indexauth._tox`,
  which writes `carrier_files()` (`PTH_NAME`, and for Python 3.15+ its `.start`
  twin and the module that names) into each tox environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "PTH_NAME",
    "START_MODULE",
    "START_NAME",
    "carrier_directory",
    "carrier_files",
    "patch_pipx",
    "pth_line",
    "start_module",
]

# Sorts after indexauth.pth: an environment with its own indexauth keeps it.
PTH_NAME = "indexauth_carrier.pth"
# Its PEP 829 twin: Python 3.15+ calls the entry this file names, and skips the `.pth` line.
START_NAME = "indexauth_carrier.start"
# The module that entry imports, beside them: a `.start` entry cannot test a variable first.
START_MODULE = "_indexauth_carrier_start"


def carrier_directory() -> str | None:
    """The carrier directory this process hands to the Pythons it starts, or `None`."""
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if os.path.basename(entry) == "_indexauth_carrier" and os.path.isfile(
            os.path.join(entry, "sitecustomize.py")
        ):
            return entry
    return None


def pth_line(directory: str) -> str:
    """A `.pth` line that runs the carrier in *directory*, gated on `INDEXAUTH` as indexauth.pth is.

    For environments whose installer runs with `-I` (tox), where `PYTHONPATH` is
    ignored; the carrier then leaves `sitecustomize` to Python.
    """
    path = str(Path(directory) / "sitecustomize.py")
    return (
        "import os; os.environ.get('INDEXAUTH', '').strip().lower() in ('1', 'true', 'yes', 'on') "
        f"and os.path.isfile({path!r}) and "
        f"exec(compile(open({path!r}, 'rb').read(), {path!r}, 'exec'), "
        f"{{'__name__': 'indexauth_carrier', '__file__': {path!r}}})\n"
    )


def start_module(directory: str) -> str:
    """The module `START_NAME` names: the `.pth` line's test and run, for Python 3.15+."""
    path = str(Path(directory) / "sitecustomize.py")
    return (
        "# Written by indexauth's tox plugin: the PEP 829 twin of indexauth_carrier.pth. Python 3.15+\n"
        "# imports this in every process of the environment: nothing but os unless INDEXAUTH is on.\n"
        "import os\n\n"
        f"PATH = {path!r}\n\n\n"
        "def start():\n"
        "    on = os.environ.get('INDEXAUTH', '').strip().lower() in ('1', 'true', 'yes', 'on')\n"
        "    if on and os.path.isfile(PATH):\n"
        "        with open(PATH, 'rb') as file:\n"
        "            code = compile(file.read(), PATH, 'exec')\n"
        "        exec(code, {'__name__': 'indexauth_carrier', '__file__': PATH})\n"
    )


def carrier_files(directory: str) -> dict[str, str]:
    """What an environment's site-packages gets to run the carrier in *directory*: file name, text."""
    return {
        PTH_NAME: pth_line(directory),
        START_NAME: f"{START_MODULE}:start\n",
        f"{START_MODULE}.py": start_module(directory),
    }


def patch_pipx(module: ModuleType) -> None:
    """Keep the carrier on `PYTHONPATH` in the environment pipx gives its children."""
    # Imported here: the tox plugin imports this module in every tox run, INDEXAUTH off too.
    from . import _patch  # noqa: PLC0415

    # pipx.util._fix_subprocess_env is the one place pipx builds that environment.
    _patch.instrument(module, "_fix_subprocess_env", _keep_carrier)


def _keep_carrier(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    fixed = wrapped(*args, **kwargs)
    directory = carrier_directory()
    if directory is not None and isinstance(fixed, dict):
        entries = [p for p in fixed.get("PYTHONPATH", "").split(os.pathsep) if p]
        if directory not in entries:
            fixed["PYTHONPATH"] = os.pathsep.join([directory, *entries])
    return fixed
