"""indexauth's entry points that run in every process: `_indexauth_gate:start`, the start entry
for Python 3.15+ (`indexauth.start`, PEP 829), and `_indexauth_gate:keyring_backends`, keyring's.

Python 3.15 imports this module in every process, because a `.start` entry
cannot test a variable before its import, as the `.pth` line does on older
Pythons (3.15 then skips that line). So this module holds nothing but the test:
with `INDEXAUTH` unset or off, nothing else of indexauth is imported. Any other
value goes to `_indexauth_startup.pth()`, which turns global mode on or says
once that it does not understand the value.

keyring, likewise, loads every `keyring.backends` entry point in every process
that uses it (pip, twine, poetry...): `keyring_backends()` goes on to indexauth's
backend only while `INDEXAUTH` is on.
"""

import os

# The off values of `_indexauth_startup._FALSE`, and unset; a test keeps the two equal.
OFF = ("", "0", "false", "no", "off")
# The on values of `_indexauth_startup._TRUE`; the same test keeps them equal.
ON = ("1", "true", "yes", "on")


def start() -> None:
    """The `.start` entry point: import the start-up hook only when `INDEXAUTH` is not off."""
    if os.environ.get("INDEXAUTH", "").strip().lower() in OFF:
        return
    import _indexauth_startup  # noqa: PLC0415 - the point of this module is not to import it

    _indexauth_startup.pth()


def keyring_backends() -> None:
    """keyring's `keyring.backends` entry point: indexauth's backend only while `INDEXAUTH` is on."""
    if os.environ.get("INDEXAUTH", "").strip().lower() not in ON:
        return
    import _indexauth_startup  # noqa: PLC0415 - only while on

    _indexauth_startup.keyring_backends()
