"""Every client indexauth drives, behind one small interface, so one table runs over all.

A driver runs a list of calls through one client (one adapter or transport, so
one cache) and returns, for each call, a `Result` or the exception it raised.
A new driver joins every scenario by adding a class here and its name to DRIVERS.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import requests

import indexauth


@dataclass
class Call:
    """One request to make."""

    url: str
    method: str = "GET"
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    """What the client returned."""

    status: int
    text: str
    history: int
    diagnosis: indexauth.IndexAuthError | None


Outcome = Result | BaseException


class Driver(Protocol):
    """Runs calls through one client built from *indexes* and *options*."""

    name: str
    client_error: type[BaseException]

    def run(
        self,
        calls: Sequence[Call],
        *,
        indexes: Iterable[indexauth.Index],
        options: Mapping[str, Any],
    ) -> list[Outcome]: ...


class RequestsDriver:
    """requests.Session with IndexAuthAdapter mounted for http:// and https://."""

    name = "requests"
    client_error: type[BaseException] = requests.RequestException

    def run(
        self,
        calls: Sequence[Call],
        *,
        indexes: Iterable[indexauth.Index],
        options: Mapping[str, Any],
    ) -> list[Outcome]:
        out: list[Outcome] = []
        with requests.Session() as session:
            session.trust_env = False  # no netrc or proxies from requests itself
            adapter = indexauth.IndexAuthAdapter(list(indexes), **options)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            for call in calls:
                try:
                    response = session.request(
                        call.method, call.url, data=call.body, headers=call.headers, timeout=10
                    )
                except Exception as exc:
                    out.append(exc)
                    continue
                out.append(
                    Result(
                        response.status_code,
                        response.text,
                        len(response.history),
                        indexauth.diagnosis(response),
                    )
                )
        return out


class HttpxDriver:
    """httpx.Client (or httpx2's) with IndexAuthTransport, following redirects as pdm does."""

    def __init__(self, library: str) -> None:
        self.name = library
        self.module: Any = importlib.import_module(library)
        self.client_error: type[BaseException] = self.module.HTTPError

    def run(
        self,
        calls: Sequence[Call],
        *,
        indexes: Iterable[indexauth.Index],
        options: Mapping[str, Any],
    ) -> list[Outcome]:
        out: list[Outcome] = []
        transport = indexauth.IndexAuthTransport(list(indexes), **options)
        with self.module.Client(transport=transport, follow_redirects=True, timeout=10) as client:
            for call in calls:
                try:
                    response = client.request(
                        call.method, call.url, content=call.body, headers=call.headers
                    )
                except Exception as exc:  # the test inspects it
                    out.append(exc)
                    continue
                out.append(_result(response))
        return out


class HttpxAsyncDriver:
    """httpx.AsyncClient (or httpx2's) with AsyncIndexAuthTransport, under asyncio or trio."""

    def __init__(self, library: str, backend: str) -> None:
        self.name = f"{library}-{backend}"
        self.backend = backend
        self.module: Any = importlib.import_module(library)
        self.client_error: type[BaseException] = self.module.HTTPError

    def run(
        self,
        calls: Sequence[Call],
        *,
        indexes: Iterable[indexauth.Index],
        options: Mapping[str, Any],
    ) -> list[Outcome]:
        transport = indexauth.AsyncIndexAuthTransport(list(indexes), **options)

        async def main() -> list[Outcome]:
            out: list[Outcome] = []
            async with self.module.AsyncClient(
                transport=transport, follow_redirects=True, timeout=10
            ) as client:
                for call in calls:
                    try:
                        response = await client.request(
                            call.method, call.url, content=call.body, headers=call.headers
                        )
                    except Exception as exc:  # the test inspects it
                        out.append(exc)
                        continue
                    out.append(_result(response))
            return out

        return anyio.run(main, backend=self.backend)


def _result(response: Any) -> Result:
    return Result(
        response.status_code, response.text, len(response.history), indexauth.diagnosis(response)
    )


DRIVERS: dict[str, Callable[[], Driver]] = {
    "requests": RequestsDriver,
    "httpx": lambda: HttpxDriver("httpx"),
    "httpx-asyncio": lambda: HttpxAsyncDriver("httpx", "asyncio"),
    "httpx-trio": lambda: HttpxAsyncDriver("httpx", "trio"),
    "httpx2": lambda: HttpxDriver("httpx2"),
    "httpx2-asyncio": lambda: HttpxAsyncDriver("httpx2", "asyncio"),
    "httpx2-trio": lambda: HttpxAsyncDriver("httpx2", "trio"),
}
