"""Global mode from code: what `INDEXAUTH=1` does at start-up, for this process only.

Between `install()` and `uninstall()`, every requests adapter and httpx
transport sends through indexauth, for the indexes of the global
configuration (see docs/global.md). Nothing the program built is replaced:
the session keeps its own `HTTPAdapter`; its `send` is what is instrumented.

It needs the requests extra (`pip install '.[requests]'` in the clone); without it,
it says so in one line instead of a traceback.
"""

from __future__ import annotations

import sys

try:
    import requests
except ImportError:
    sys.exit("examples/global_install.py needs requests: pip install '.[requests]' in the indexauth clone")

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
