"""The requests transport adapter, written once for any copy of requests.

`adapter_class(requests_module)` makes the adapter class for one requests
namespace: top-level `requests` (the public `IndexAuthAdapter`) or pip's
vendored `pip._vendor.requests`, whose classes are separate objects. The
body lives in `AdapterDriver`, which imports no requests at run time.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from ._config import build_authenticator
from ._driver import DRAIN_LIMIT, active, begin, drive, end, replaced, reply, short_body
from ._exceptions import IndexAuthError, for_driver
from ._flow import Authenticator, Reply, Send
from ._keyring import DEFAULT_TIMEOUT
from ._models import Index

if TYPE_CHECKING:
    from requests import PreparedRequest, Response
    from requests.adapters import BaseAdapter

__all__ = ["ADAPTER_DOC", "AdapterDriver", "adapter_class", "send_authenticated"]

ADAPTER_DOC = """A requests adapter that authenticates to package indexes the uv way.

    It wraps *inner* (a plain `HTTPAdapter` by default; pass pip's, a caching or
    a retrying adapter to keep what it does) and only decides which
    `Authorization` header each request carries. Mount it for every scheme
    your indexes use (requests picks an adapter by URL prefix, so an
    ``http://`` index is otherwise sent without it):
    ``session.mount("https://", adapter)`` and ``session.mount("http://", adapter)``.

    With ``raise_on_failure=False`` a refused request returns its response,
    and `indexauth.diagnosis(response)` says what went wrong.
    """


class AdapterDriver:
    """The flow driven through a requests adapter; mixed with one requests' `HTTPAdapter`."""

    # The `HTTPAdapter` class of the requests namespace this class was made for.
    _http_adapter: ClassVar[type[Any]]

    def __init__(
        self,
        indexes: Iterable[Index | str] = (),
        *,
        inner: BaseAdapter | None = None,
        keyring_provider: str = "auto",
        keyring_timeout: float = DEFAULT_TIMEOUT,
        netrc: bool = True,
        store: bool = True,
        raise_on_failure: bool = True,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.authenticator = build_authenticator(
            indexes,
            keyring_provider=keyring_provider,
            keyring_timeout=keyring_timeout,
            netrc=netrc,
            store=store,
            authenticator=authenticator,
        )
        self.inner = inner if inner is not None else self._http_adapter()
        self.raise_on_failure = raise_on_failure
        super().__init__()

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        """Send *request* through the inner adapter, authenticating as the flow decides."""

        def send_one(prepared: PreparedRequest) -> Response:
            return self.inner.send(
                prepared, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
            )

        if active():  # an adapter around this one runs the flow already
            return send_one(request)
        return send_authenticated(
            self.authenticator,
            send_one,
            request,
            raise_on_failure=self.raise_on_failure,
            failure=self._failure,
        )

    def _failure(
        self, error: IndexAuthError, request: PreparedRequest, response: Response | None
    ) -> BaseException:
        """The exception to raise for *error*; pip's adapter raises pip's own kind."""
        return for_driver(error, "requests", response=response, request=request)

    def close(self) -> None:
        """Close the inner adapter."""
        self.inner.close()
        super().close()  # type: ignore[misc]


@functools.cache
def adapter_class(requests_module: ModuleType) -> type[AdapterDriver]:
    """The adapter class for *requests_module* (`requests` or `pip._vendor.requests`), made once."""
    base = requests_module.adapters.HTTPAdapter
    return type(
        "IndexAuthAdapter",
        (AdapterDriver, base),
        {
            "__doc__": ADAPTER_DOC,
            "__module__": "indexauth",
            "_http_adapter": base,
            # requests pickles (and deep-copies) an adapter as these attributes:
            # ours ride along, so an unpickled adapter still authenticates.
            "__attrs__": [*base.__attrs__, "authenticator", "inner", "raise_on_failure"],
        },
    )


def send_authenticated(
    authenticator: Authenticator,
    send_one: Callable[[PreparedRequest], Response],
    request: PreparedRequest,
    *,
    raise_on_failure: bool,
    failure: Callable[[IndexAuthError, PreparedRequest, Response | None], BaseException],
) -> Response:
    """Send *request* with *send_one* (one hop, no auth of its own), authenticating as the flow decides.

    Shared by `IndexAuthAdapter` and global mode's instrumented `HTTPAdapter.send`.
    """
    rewind = _rewinder(request.body)
    responses: list[Response] = []

    def send(effect: Send) -> int | Reply:
        if effect.retry:
            _release(responses[-1])
            if rewind is not None:
                rewind()
        prepared = request
        if effect.action != "keep":
            # A shallow copy with its own headers: the caller's request is never
            # changed, and its cookie jar is not copied on every request.
            headers = _copy_headers(request.headers)
            if effect.action == "strip":
                headers.pop("Authorization", None)
            for name, value in effect.headers:
                headers[name] = value
            prepared = replaced(request, "headers", headers)
        response = send_one(prepared)
        # Redirects and user code see the request as the caller built it,
        # so a header we added never rides along to another URL.
        response.request = request
        responses.append(response)
        return reply(response.status_code, response.headers)

    token = begin(request)
    try:
        outcome = drive(
            authenticator.flow(
                request.url or "",
                has_authorization="Authorization" in request.headers,
                replayable=rewind is not None,
            ),
            send,
            authenticator.resolver.lookup,
        )
    except BaseException:
        # Whatever went wrong, a challenged response must not pin a pooled connection.
        for challenged in responses:
            challenged.close()
        raise
    finally:
        end(token)
    response = responses[-1] if responses else None
    if response is not None and len(responses) > 1:
        response.history = [*response.history, *responses[:-1]]
    error = outcome.error
    if error is None:
        assert response is not None  # noqa: S101 - the flow sends before it ends well
        return response
    if (outcome.raise_error and raise_on_failure) or response is None:
        if response is not None:
            response.close()  # not read: a challenge body may be endless
        raise failure(error, request, response) from None
    if outcome.raise_error:
        authenticator.diagnose(error)
    response.indexauth_error = error  # type: ignore[attr-defined]
    return response


def _release(response: Response) -> None:
    """Before a retry: read a short challenge body so the connection is reused; else drop it.

    The body is read raw (a compressed one is not inflated), and stays readable
    in `response.history` when it was plain.
    """
    content = b""
    try:
        if short_body(response.headers):
            data = response.raw.read(DRAIN_LIMIT + 1, decode_content=False) or b""
            if response.headers.get("Content-Encoding", "identity").lower() == "identity":
                content = data
    finally:
        # Closing an unread body closes its connection instead of pooling it.
        response.close()
        response._content = content  # noqa: SLF001 - history shows what was read, never re-reads
        response._content_consumed = True  # type: ignore[attr-defined]  # noqa: SLF001


def _copy_headers(headers: Any) -> Any:
    """A copy of requests' `CaseInsensitiveDict` that skips re-inserting every header."""
    store = getattr(headers, "_store", None)
    if type(store) is OrderedDict and type(headers).__name__ == "CaseInsensitiveDict":
        cls: Any = type(headers)
        clone = cls.__new__(cls)
        clone._store = store.copy()  # noqa: SLF001 - the one attribute the class has
        return clone
    return headers.copy()


def _noop() -> None:
    pass


def _rewinder(body: object) -> Callable[[], None] | None:
    """A function that rewinds *body* for a second send, or `None` if it cannot be replayed."""
    if body is None or isinstance(body, (bytes, str)):
        return _noop
    seek, tell = getattr(body, "seek", None), getattr(body, "tell", None)
    if callable(seek) and callable(tell):
        try:
            position = tell()
        except (OSError, ValueError):
            return None

        def rewind() -> None:
            seek(position)

        return rewind
    return None
