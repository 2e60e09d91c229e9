"""Global mode from code: what `INDEXAUTH=1` does at start-up, for this process only.

Sessions created between `install()` and `uninstall()` authenticate to the
indexes of the global configuration (see docs/global.md).
"""

from __future__ import annotations

import requests

import indexauth

indexauth.install()
try:
    session = requests.Session()  # its own adapters are now wrapped
    print(type(session.adapters["https://"]).__name__)  # IndexAuthAdapter
finally:
    indexauth.uninstall()  # puts back exactly what install() replaced
print(type(requests.Session().adapters["https://"]).__name__)  # HTTPAdapter
