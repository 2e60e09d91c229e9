"""Global mode from code: what `INDEXAUTH=1` does at start-up, for this process only.

Between `install()` and `uninstall()`, every requests adapter and httpx
transport sends through indexauth, for the indexes of the global
configuration (see docs/global.md). Nothing the program built is replaced:
the session keeps its own `HTTPAdapter`; its `send` is what is instrumented.
"""

from __future__ import annotations

import requests

import indexauth

indexauth.install()
try:
    session = requests.Session()
    adapter = session.adapters["https://"]
    print(type(adapter).__name__, hasattr(type(adapter).send, "__wrapped__"))  # HTTPAdapter True
finally:
    indexauth.uninstall()  # removes exactly the wrappers install() applied
adapter = requests.Session().adapters["https://"]
print(type(adapter).__name__, hasattr(type(adapter).send, "__wrapped__"))  # HTTPAdapter False
