"""indexauth's start entry for Python 3.15+ (`indexauth.start`, PEP 829): `_indexauth_gate:start`.

Python 3.15 imports this module in every process, because a `.start` entry
cannot test a variable before its import, as the `.pth` line does on older
Pythons (3.15 then skips that line). So this module holds nothing but the test:
with `INDEXAUTH` unset or off, nothing else of indexauth is imported. Any other
value goes to `_indexauth_startup.pth()`, which turns global mode on or says
once that it does not understand the value.
"""

import os

# The off values of `_indexauth_startup._FALSE`, and unset; a test keeps the two equal.
OFF = ("", "0", "false", "no", "off")


def start() -> None:
    """The `.start` entry point: import the start-up hook only when `INDEXAUTH` is not off."""
    if os.environ.get("INDEXAUTH", "").strip().lower() in OFF:
        return
    import _indexauth_startup  # noqa: PLC0415 - the point of this module is not to import it

    _indexauth_startup.pth()
