"""The standard-library driver: one GET through `urllib`, every header decided by the shared flow.

The `indexauth` command makes its live requests here (`check`, `login --check`),
so it needs neither requests nor httpx and cannot disagree with the library
about what is sent where. Redirects are reported, never followed; no body is
read, only the status and headers. Each answer's status line and headers must
arrive whole within the timeout: a server that drips one byte at a time cannot
hold the command.
"""

from __future__ import annotations

import http.client
import io
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.client import HTTPMessage
from typing import IO, Any

from ._driver import drive, reply
from ._flow import Authenticator, Outcome, Reply, Send
from ._version import __version__

__all__ = ["Exchange", "UnreachableError", "get"]


class UnreachableError(OSError):
    """No HTTP answer: refused, timed out, not HTTP, or a URL the standard library refuses."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Exchange:
    """What one GET sent and got: the Authorization scheme, each status, a redirect's target."""

    sent: list[tuple[str, int]] = field(default_factory=list)  # (scheme or "none", status)
    location: str | None = None
    # Per send, the names (never the values) of headers other than Authorization: a helper's.
    extra: list[list[str]] = field(default_factory=list)


def get(authenticator: Authenticator, url: str, *, timeout: float) -> tuple[Outcome, Exchange]:
    """GET *url* as every driver does: the flow chooses the header of each send.

    Raises `UnreachableError` when nothing answers in HTTP.
    """
    exchange = Exchange()

    def send(effect: Send) -> int | Reply:
        headers = effect.headers if effect.action == "set" else ()
        answer, exchange.location = _send_one(url, headers, timeout)
        authorization = effect.authorization if effect.action == "set" else None
        scheme = authorization.split(" ", 1)[0].lower() if authorization else "none"
        extra = [name for name, _value in headers if name.lower() != "authorization"]
        if extra and authorization is None:
            scheme = "headers"
        exchange.sent.append((scheme, answer if isinstance(answer, int) else answer.status))
        exchange.extra.append(extra)
        return answer

    flow = authenticator.flow(url, has_authorization=False, replayable=True)
    return drive(flow, send, authenticator.resolver.lookup), exchange


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect is reported, never followed: urllib would carry Authorization to any host.
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> None:
        return None


class _Deadline(io.RawIOBase):
    """A socket's reads, each given what is left of the time for the whole answer."""

    def __init__(self, sock: socket.socket, deadline: float, budget: float) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # counted by the socket, as http.client's
        self._deadline = deadline
        self._budget = budget
        self._each = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(self._late())
        self._sock.settimeout(left if self._each is None else min(left, self._each))
        try:
            return self._raw.readinto(buffer)
        except TimeoutError:
            if time.monotonic() >= self._deadline:
                raise TimeoutError(self._late()) from None
            raise

    def close(self) -> None:
        self._raw.close()
        super().close()

    def _late(self) -> str:
        return (
            f"the answer did not arrive whole within {self._budget:g} s (--timeout): "
            "the server sends it too slowly"
        )


def _opener(timeout: float) -> urllib.request.OpenerDirector:
    """urllib's opener, redirects not followed, each answer read within *timeout* in all."""
    deadline = time.monotonic() + timeout

    class Sock:
        # http.client reads an answer only through `sock.makefile("rb")`.
        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock

        def makefile(self, mode: str) -> io.BufferedReader:
            del mode
            return io.BufferedReader(_Deadline(self.sock, deadline, timeout))

    class Response(http.client.HTTPResponse):
        def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
            super().__init__(Sock(sock), *args, **kwargs)  # type: ignore[arg-type]

    class HTTP(http.client.HTTPConnection):
        response_class = Response

    class HTTPS(http.client.HTTPSConnection):
        response_class = Response

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(HTTP, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(HTTPS, req, context=getattr(self, "_context", None))

    return urllib.request.build_opener(_NoRedirect, HTTPHandler, HTTPSHandler)


def _send_one(
    url: str, headers: Sequence[tuple[str, str]], timeout: float
) -> tuple[int | Reply, str | None]:
    """One GET with *headers* (secrets, never sent on to a redirect); its status (with the
    challenge header for 401, 403, 404) and a redirect's Location.

    The status line and headers must arrive whole within *timeout* seconds of the
    send (connecting included). A 2xx body is not read: its status is all `check`
    needs, and a big index page on a slow link must not fail an honest check.
    """
    request = urllib.request.Request(url, headers={"User-Agent": f"indexauth/{__version__}"})  # noqa: S310 - http(s) only: the flow matched it
    for name, value in headers:
        request.add_unredirected_header(name, value)
    opener = _opener(timeout)
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status), None  # closed unread: only the status matters
    except urllib.error.HTTPError as exc:
        with exc:  # closed unread: a challenge body may be endless
            return reply(int(exc.code), exc.headers), exc.headers.get("Location")
    except urllib.error.URLError as exc:
        raise UnreachableError(str(exc.reason)) from None
    except http.client.HTTPException as exc:
        # BadStatusLine and friends: something answered, but not HTTP (an SSH or SMTP port).
        line = " ".join(str(exc).split())[:80]
        reason = f"not an HTTP reply ({type(exc).__name__}{': ' + line if line else ''})"
        if isinstance(exc, http.client.InvalidURL):
            reason = f"http.client refuses the URL ({line})"
        raise UnreachableError(reason) from None
    except ValueError as exc:  # urllib's own URL checks
        raise UnreachableError(f"the URL cannot be requested ({exc})") from None
    except OSError as exc:
        raise UnreachableError(str(exc)) from None
