"""Per-request cost without a network: clients whose innermost transport answers from memory.

    python benchmarks/bench_cost.py DRIVER SIDE REQUESTS [INDEXES LAYOUT]

DRIVER is `requests`, `httpx` or `httpx-async`; SIDE is `plain` (the client
sends the same `Authorization` header itself), `ours` (indexauth's adapter or
transport around the same in-memory inner one, credentials known from the
environment) or `observer` (`plain` under global mode: the in-memory adapter or
transport is not instrumented, so only the watch over `Session.send` /
`Client.send` runs, on its success path). INDEXES (default 1) indexes are configured, on one host
(`LAYOUT=one-host`) or each on its own host (`many-hosts`); requests go to
every configured index in turn. One request is sent before counting starts, so
one-time work (imports, first lookups) is not counted as per-request work.

`run.py` runs this under callgrind twice, with REQUESTS and with 0, and
divides the difference by REQUESTS: instructions per request, exact and
free of machine noise. It also imports `make_client` to time the same work.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import sys
from collections.abc import Callable
from typing import Any

USER, PASSWORD = "alice", "bench-password"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
LAYOUTS = ("one-host", "many-hosts")


def index_urls(count: int, layout: str) -> list[str]:
    """*count* index URLs: GitLab-style projects on one host, or one host each."""
    if layout == "one-host":
        return [f"http://gitlab.example/api/v4/projects/{i}/packages/pypi/simple/" for i in range(count)]
    return [f"http://h{i}.example/simple/" for i in range(count)]


def request_urls(count: int, layout: str, n: int = 64) -> list[str]:
    """URLs under the configured indexes, spread over all of them (at most *n* distinct)."""
    urls = index_urls(count, layout)
    step = max(1, count // n)
    return [urls[i] + f"pkg{i % 7}/" for i in range(count - 1, -1, -step)][:n]


def _indexes(count: int, layout: str) -> list[Any]:
    import indexauth

    # Every index has credentials in the environment: they are sent up front.
    os.environ.update(
        {f"INDEXAUTH_INDEX_I{i}_USERNAME": USER for i in range(count)}
        | {f"INDEXAUTH_INDEX_I{i}_PASSWORD": PASSWORD for i in range(count)}
    )
    return [indexauth.Index(url, name=f"i{i}") for i, url in enumerate(index_urls(count, layout))]


def make_client(driver: str, side: str, count: int = 1, layout: str = "one-host") -> Callable[[str], Any]:
    """A function that sends one GET to a URL through *driver*, built for *side*."""
    if side == "observer":
        import indexauth

        _indexes(count, layout)  # the credentials' variables, as on the other sides
        indexauth.install()
        side = "plain"
    if driver == "requests":
        import requests

        class Memory(requests.adapters.BaseAdapter):
            def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
                response = requests.Response()
                response.status_code = 200
                response._content = b"ok"  # noqa: SLF001 - a response with no socket behind it
                response.url = request.url
                response.request = request
                return response

            def close(self) -> None:
                pass

        session = requests.Session()
        session.trust_env = False  # no proxy or netrc look-ups from the environment on either side
        if side == "plain":
            session.headers["Authorization"] = BASIC
            session.mount("http://", Memory())
        else:
            import indexauth

            adapter = indexauth.IndexAuthAdapter(
                _indexes(count, layout), inner=Memory(), keyring_provider="disabled", store=False, netrc=False
            )
            session.mount("http://", adapter)
        return session.get

    if driver.endswith("-global"):
        return _global_client(driver.removesuffix("-global"), side, count, layout)

    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"ok")

    is_async = driver == "httpx-async"
    transport: Any = httpx.MockTransport(handler)
    headers = {"Authorization": BASIC} if side == "plain" else {}
    if side == "ours":
        import indexauth

        cls = indexauth.AsyncIndexAuthTransport if is_async else indexauth.IndexAuthTransport
        transport = cls(
            _indexes(count, layout), inner=transport, keyring_provider="disabled", store=False, netrc=False
        )
    if not is_async:
        return httpx.Client(transport=transport, headers=headers, trust_env=False).get
    client = httpx.AsyncClient(transport=transport, headers=headers, trust_env=False)
    loop = asyncio.new_event_loop()
    return lambda url: loop.run_until_complete(client.get(url))


_SEEN: list[Any] = []  # the memory pool class, so a check can read what it was sent


def _global_client(driver: str, side: str, count: int, layout: str) -> Callable[[str], Any]:
    """An httpx client on httpx's own default transport, whose pool answers from memory."""
    if side == "ours":
        # What the .pth line does at start-up with INDEXAUTH=1: httpx is instrumented on import.
        urls = index_urls(count, layout)
        os.environ.update({f"INDEXAUTH_INDEX_I{i}_URL": url for i, url in enumerate(urls)})
        os.environ["INDEXAUTH"] = "1"
        # No user configuration file: only these indexes.
        os.environ["XDG_CONFIG_HOME"] = os.environ["HOME"] = "/nonexistent"
        import _indexauth_startup

        _indexauth_startup.pth()
        _indexes(count, layout)  # their credentials
    import httpcore
    import httpx

    class MemoryPool:
        seen: Any = None

        def handle_request(self, request: Any) -> httpcore.Response:
            MemoryPool.seen = request
            return httpcore.Response(200, headers=[(b"Content-Length", b"2")], content=b"ok")

        async def handle_async_request(self, request: Any) -> httpcore.Response:
            return self.handle_request(request)

        def close(self) -> None:
            pass

        async def aclose(self) -> None:
            pass

    headers = {"Authorization": BASIC} if side == "plain" else {}
    _SEEN.append(MemoryPool)
    if driver == "httpx":
        transport = httpx.HTTPTransport()
        transport._pool = MemoryPool()  # type: ignore[assignment]  # noqa: SLF001 - no sockets
        return httpx.Client(transport=transport, headers=headers, trust_env=False).get
    atransport = httpx.AsyncHTTPTransport()
    atransport._pool = MemoryPool()  # type: ignore[assignment]  # noqa: SLF001
    client = httpx.AsyncClient(transport=atransport, headers=headers, trust_env=False)
    loop = asyncio.new_event_loop()
    return lambda url: loop.run_until_complete(client.get(url))


def main(argv: list[str]) -> int:
    """Send REQUESTS requests after one warm-up request."""
    driver, side, n = argv[0], argv[1], int(argv[2])
    count = int(argv[3]) if len(argv) > 3 else 1
    layout = argv[4] if len(argv) > 4 else "one-host"
    get = make_client(driver, side, count, layout)
    urls = request_urls(count, layout)
    for url in urls:
        get(url).raise_for_status()  # warm: every index's first use is one-time work
    # What set-up left behind is not traced again: a full collection over 10,000
    # indexes landing in one run and not the other would swamp the difference.
    gc.collect()
    gc.freeze()
    for i in range(n):
        get(urls[i % len(urls)])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
