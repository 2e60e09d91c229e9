"""indexauth's tox plugin (entry point `tox`): global mode reaches tox environments.

tox hands its environments only the variables that `pass_env` names, and
installs with `python -I -m pip`, which ignores `PYTHONPATH`. So, while
`INDEXAUTH` is on in the tox process, and without editing any `tox.ini`:

- indexauth's variables (`PASS_ENV`) join every environment's `pass_env`;
- before each install, `indexauth_carrier.pth` in the environment's
  site-packages runs the carrier (gated on `INDEXAUTH`, as indexauth.pth is);
  on Python 3.15+, its `.start` twin does (`_children.carrier_files`).

With `INDEXAUTH` off in the tox process, the plugin does nothing at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tox.config.sets import EnvConfigSet
from tox.plugin import impl
from tox.session.state import State
from tox.tox_env.api import ToxEnv

import _indexauth_startup

from ._children import carrier_directory, carrier_files

__all__ = ["PASS_ENV", "tox_add_env_config", "tox_on_install"]

# What global mode reads: its switch and carrier, index and credential variables
# (indexauth's and uv's), where its configuration and store live, and the keyring's choice.
PASS_ENV = (
    "INDEXAUTH",
    "INDEXAUTH_*",
    _indexauth_startup.CARRIER,
    "UV_INDEX",
    "UV_INDEX_*",
    "UV_DEFAULT_INDEX",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "PYTHON_KEYRING_BACKEND",
    "KEYRING_PROPERTY_*",
    "DBUS_SESSION_BUS_ADDRESS",  # the Secret Service and KWallet backends talk over it
    "PIP_KEYRING_PROVIDER",
)


@impl
def tox_add_env_config(env_conf: EnvConfigSet, state: State) -> None:
    """Add `PASS_ENV` to the environment's `pass_env` while global mode is on."""
    if not _indexauth_startup.enabled():
        return
    pass_env: list[str] = env_conf["pass_env"]
    pass_env.extend(name for name in PASS_ENV if name not in pass_env)


@impl
def tox_on_install(tox_env: ToxEnv, arguments: Any, section: str, of_type: str) -> None:
    """Write the carrier's `.pth` (and `.start` twin) into the environment before tox installs into it."""
    directory = carrier_directory()
    site = getattr(tox_env, "env_site_package_dir", None)
    if not _indexauth_startup.enabled() or directory is None or site is None:
        return
    for name, text in carrier_files(directory).items():
        path = Path(site()) / name
        if not path.is_file() or path.read_text("utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
