"""`IndexAuthAdapter`: the flow driven through a requests transport adapter.

The implementation is `_adapter.AdapterDriver`, shared with the adapter made
for pip's vendored requests; this module binds it to top-level `requests`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from ._adapter import AdapterDriver, adapter_class

__all__ = ["IndexAuthAdapter"]

if TYPE_CHECKING:
    from requests.adapters import HTTPAdapter

    class IndexAuthAdapter(AdapterDriver, HTTPAdapter):
        """A requests adapter that authenticates to package indexes the uv way."""

else:
    IndexAuthAdapter = adapter_class(requests)
