"""What `indexauth status` says about the other tools: which integrations serve each index.

- The keyring backend (twine, uv's and pip's keyring providers, anything that
  asks keyring): active when indexauth's entry point is installed, keyring is
  importable, `INDEXAUTH` is on, and no `PYTHON_KEYRING_BACKEND` picks another
  backend outright.
- uv's store: the entry `uv auth login` made that uv's rule picks for the index.
- The credential helper (Bazel): `indexauth-credential-helper`, always there.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sysconfig
from importlib import metadata
from pathlib import Path
from typing import Any

from _indexauth_startup import enabled

from ._models import Index
from ._urls import shown_username
from ._uvstore import UvEntry, best_match

__all__ = ["backend_state", "for_index"]

OWN_BACKEND = "indexauth._keyring_backend.IndexAuthKeyring"


def backend_state() -> dict[str, Any]:
    """Whether keyring, started from this environment now, would ask indexauth, and why not."""
    installed = any(
        ep.name == "indexauth" for ep in metadata.entry_points(group="keyring.backends")
    )
    chosen = os.environ.get("PYTHON_KEYRING_BACKEND", "").strip()
    if not installed:
        why = "the keyring entry point is not installed (reinstall indexauth)"
    elif importlib.util.find_spec("keyring") is None:
        why = "keyring is not installed here (pip install 'indexauth[keyring]')"
    elif not enabled():
        why = "INDEXAUTH is not set to 1: keyring sees only its own backends"
    elif chosen and chosen != OWN_BACKEND:
        why = f"PYTHON_KEYRING_BACKEND={chosen} picks that backend alone"
    else:
        why = ""
    return {
        "installed": installed,
        "active": not why,
        "why": why,
        "helper": _helper_path(),
    }


def _helper_path() -> str | None:
    """`indexauth-credential-helper` of this environment, else the one on PATH."""
    here = Path(sysconfig.get_path("scripts")) / "indexauth-credential-helper"
    return str(here) if here.exists() else shutil.which("indexauth-credential-helper")


def for_index(
    index: Index, uv_entries: list[UvEntry] | None, backend: dict[str, Any]
) -> dict[str, Any]:
    """The integrations that would serve *index*: the keyring backend, and uv's entry if any."""
    uv_entry: str | None = None
    if uv_entries:
        found = best_match(uv_entries, index.url, index.username)
        if not isinstance(found, str):
            if found.username is None:
                who = "token for "
            elif found.username == index.username:  # the index's own user name, as you gave it
                who = f"{found.username}@"
            else:  # uv's store does not say where a name came from: it may be a pasted token
                who = f"{shown_username(found.username, None)}@"
            uv_entry = f"{who}{found.service}"
    return {"keyring_backend": bool(backend["active"]), "uv_store": uv_entry}


def describe(item: dict[str, Any]) -> str:
    """One status line's worth for an index's integrations."""
    backend = "keyring backend: " + ("active" if item["keyring_backend"] else "inactive")
    uv = f"uv store: {item['uv_store']}" if item["uv_store"] else "uv store: no entry"
    return f"{backend}; {uv}"
