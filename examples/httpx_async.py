"""httpx.AsyncClient with indexauth: 20 concurrent requests to a protected index, one lookup.

Run it as is: ``python examples/httpx_async.py``. It starts its own small
index on 127.0.0.1 and keeps the password in a throw-away netrc file. The
lookup runs in a worker thread, so the event loop never waits on it, and all
20 requests share it.

It needs the httpx extra (`pip install '.[httpx]'` in the clone); without it,
it says so in one line instead of a traceback.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from _demo_server import PASSWORD, USERNAME, start

import indexauth

NAME = "examples/httpx_async.py"
try:
    import httpx
except ImportError:  # httpx2 has the same API
    try:
        import httpx2 as httpx  # type: ignore[no-redef]
    except ImportError:
        sys.exit(f"{NAME} needs httpx: pip install '.[httpx]' in the indexauth clone")


async def fetch_all(base: str) -> tuple[list[int], int]:
    """Fetch 20 project pages at once; return their statuses and how many lookups ran."""
    index = indexauth.Index(f"{base}/simple/", name="demo")
    transport = indexauth.AsyncIndexAuthTransport([index], keyring_provider="disabled")
    async with httpx.AsyncClient(transport=transport) as client:
        responses = await asyncio.gather(
            *(client.get(f"{base}/simple/project-{i}/") for i in range(20))
        )
    return [r.status_code for r in responses], transport.authenticator.resolver.lookups


def main() -> int:
    """Run the demo; 0 when all requests succeeded with a single lookup."""
    base, httpd = start()
    with tempfile.TemporaryDirectory() as tmp:
        netrc = Path(tmp) / "netrc"
        netrc.write_text(f"machine 127.0.0.1 login {USERNAME} password {PASSWORD}\n")
        netrc.chmod(0o600)
        os.environ["NETRC"] = str(netrc)
        statuses, lookups = asyncio.run(fetch_all(base))
    httpd.shutdown()
    print(f"statuses: {sorted(set(statuses))} x {len(statuses)}; credential lookups: {lookups}")
    return 0 if statuses == [200] * 20 and lookups == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
