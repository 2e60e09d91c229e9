"""Keep-alive GETs to the local benchmark server, counted in one process.

    python benchmarks/bench_keepalive.py DRIVER SIDE REQUESTS BASE

DRIVER is `requests`, `httpx` or `httpx-async`; SIDE is `plain` (the client
sends the same `Authorization` header itself) or `ours` (indexauth's adapter or
transport, credentials from the environment, sent up front). BASE is the URL of
`bench_server.py`, which runs in its own process, so only the client's work is
counted. Fifty package pages are fetched once before counting starts: the
connection is open and every one-time cost is paid.

`run.py` runs this under callgrind with REQUESTS and with 0 and divides the
difference by REQUESTS: the instructions one real keep-alive request costs the
client, free of the machine's load, which figure 3's wall-time ratios are not.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import sys
from collections.abc import Callable

USER, PASSWORD = "alice", "bench-password"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
PAGES = 50


def client(driver: str, side: str, base: str) -> Callable[[str], None]:
    """A function that GETs a URL through *driver* built for *side*, and checks the status."""
    os.environ["INDEXAUTH_INDEX_BENCH_USERNAME"] = USER
    os.environ["INDEXAUTH_INDEX_BENCH_PASSWORD"] = PASSWORD
    import indexauth

    index = indexauth.Index(base + "/simple/", name="bench")
    if driver == "requests":
        import requests

        session = requests.Session()
        if side == "plain":
            session.headers["Authorization"] = BASIC
        else:
            session.mount("http://", indexauth.IndexAuthAdapter([index], keyring_provider="disabled"))

        def get_requests(url: str) -> None:
            session.get(url).raise_for_status()

        return get_requests

    import httpx

    if driver == "httpx":
        if side == "plain":
            sync = httpx.Client(headers={"Authorization": BASIC})
        else:
            sync = httpx.Client(transport=indexauth.IndexAuthTransport([index], keyring_provider="disabled"))

        def get_httpx(url: str) -> None:
            sync.get(url).raise_for_status()

        return get_httpx

    if side == "plain":
        aclient = httpx.AsyncClient(headers={"Authorization": BASIC})
    else:
        transport = indexauth.AsyncIndexAuthTransport([index], keyring_provider="disabled")
        aclient = httpx.AsyncClient(transport=transport)
    loop = asyncio.new_event_loop()

    async def get(url: str) -> None:
        (await aclient.get(url)).raise_for_status()

    return lambda url: loop.run_until_complete(get(url))


def main(argv: list[str]) -> int:
    """Send REQUESTS GETs after one to each page."""
    driver, side, n, base = argv[0], argv[1], int(argv[2]), argv[3]
    get = client(driver, side, base)
    urls = [f"{base}/simple/p{i}/" for i in range(PAGES)]
    for url in urls:
        get(url)
    gc.collect()
    gc.freeze()  # what set-up left behind is not traced again by the collector
    for i in range(n):
        get(urls[i % PAGES])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
