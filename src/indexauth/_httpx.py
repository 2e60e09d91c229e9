"""`IndexAuthTransport`, `AsyncIndexAuthTransport`, `wrap_client`: the flow driven through httpx.

One pair of classes serves both **httpx** and **httpx2**. The two libraries
have separate namespaces (an `httpx.Request` is not an `httpx2.Request`), so
each request tells the transport which library sent it, and the transport
answers through an inner transport of that same library and raises that
library's `HTTPError`. With ``inner=None`` it makes one default inner
transport per library, on first use; an `inner` you pass serves every request.
"""

from __future__ import annotations

import importlib
import io
import threading
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._config import build_authenticator
from ._driver import (
    ThreadedLookup,
    active,
    adrive,
    drive,
    reply,
    running,
    shallow_copy,
    short_body,
)
from ._exceptions import ConfigurationError, IndexAuthError, for_driver
from ._flow import Authenticator, Outcome, Reply, Send
from ._keyring import DEFAULT_TIMEOUT
from ._models import Index

__all__ = ["AsyncIndexAuthTransport", "IndexAuthTransport", "ahandle", "handle", "wrap_client"]

_NAMESPACES = ("httpx", "httpx2")
_T = TypeVar("_T")


def _installed_bases(name: str) -> tuple[type, ...]:
    """*name* (a base transport class) from each installed client library."""
    found: list[type] = []
    for namespace in _NAMESPACES:
        try:
            base = getattr(importlib.import_module(namespace), name)
        except ImportError:
            continue
        if base not in found:  # httpx2.alias_httpx() makes `httpx` import httpx2
            found.append(base)
    if not found:
        raise ImportError("indexauth's transports need httpx or httpx2", name="httpx")
    return tuple(found)


if TYPE_CHECKING:
    import httpx
    import httpx2

    _Request = httpx.Request | httpx2.Request
    _Response = httpx.Response | httpx2.Response

    # For type checkers the transports are both libraries' transports, so
    # `httpx.Client(transport=...)` and `httpx2.Client(transport=...)` both check.
    # The two bases disagree on `handle_request` types; the overloads below satisfy both.
    class _SyncBase(httpx.BaseTransport, httpx2.BaseTransport): ...  # type: ignore[misc]

    class _AsyncBase(httpx.AsyncBaseTransport, httpx2.AsyncBaseTransport): ...  # type: ignore[misc]

else:
    # At run time they subclass whichever of the two is installed, so
    # `isinstance(transport, httpx.BaseTransport)` holds too.
    _SyncBase = type("_SyncBase", _installed_bases("BaseTransport"), {})
    _AsyncBase = type("_AsyncBase", _installed_bases("AsyncBaseTransport"), {})


def _namespace_of(obj: object) -> str | None:
    """Which client library *obj* (a request, transport or client) belongs to, if either."""
    # Asked for every request (and its inner transport): each class answers once.
    cls = type(obj)
    namespace = _NAMESPACE_OF_CLASS.get(cls, "")
    if namespace != "":
        return namespace
    for base in cls.__mro__:
        root = base.__module__.partition(".")[0]
        if root in _NAMESPACES:
            namespace = root
            break
    else:
        namespace = None
    if len(_NAMESPACE_OF_CLASS) < 256:  # classes made on the fly must not grow it for ever
        _NAMESPACE_OF_CLASS[cls] = namespace
    return namespace


_NAMESPACE_OF_CLASS: dict[type, str | None] = {}


def _namespace(obj: object) -> str:
    """Which client library *obj* belongs to; a `ConfigurationError` if neither."""
    namespace = _namespace_of(obj)
    if namespace is not None:
        return namespace
    raise ConfigurationError(
        f"expected an httpx or httpx2 object, got {type(obj).__module__}.{type(obj).__name__}",
        hint="use indexauth's transports with httpx or httpx2 clients (Client, AsyncClient)",
    )


class _Common:
    """Options and bookkeeping shared by the sync and async transports."""

    inner: Any
    _kind: str  # the default inner transport's class: HTTPTransport or AsyncHTTPTransport

    def _setup(
        self,
        *,
        indexes: Iterable[Index | str],
        inner: Any,
        keyring_provider: str,
        keyring_timeout: float,
        netrc: bool,
        store: bool,
        raise_on_failure: bool,
        authenticator: Authenticator | None,
    ) -> None:
        self.authenticator = build_authenticator(
            indexes,
            keyring_provider=keyring_provider,
            keyring_timeout=keyring_timeout,
            netrc=netrc,
            store=store,
            authenticator=authenticator,
        )
        self.inner = inner
        self.raise_on_failure = raise_on_failure
        self._defaults: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _inner_of(self, request: object) -> Any:
        """The inner transport for *request*; a `ConfigurationError` if it cannot be one."""
        # Asked for every request: the usual case (an inner of the request's own
        # library, both classes seen before) is two dictionary lookups.
        namespace = _NAMESPACE_OF_CLASS.get(type(request)) or _namespace(request)
        inner = self.inner
        if inner is not None and _NAMESPACE_OF_CLASS.get(type(inner)) == namespace:
            return inner
        return self._inner_for(namespace)

    def _inner_for(self, namespace: str) -> Any:
        if self.inner is not None:
            theirs = _namespace_of(self.inner)
            if theirs is not None and theirs != namespace:
                # httpcore would fail on the foreign request far from the cause.
                raise ConfigurationError(
                    f"this transport wraps an {theirs} transport but got an {namespace} request",
                    hint=f"pass an {namespace} transport as inner=, or leave inner=None",
                )
            return self.inner
        with self._lock:
            inner = self._defaults.get(namespace)
            if inner is None:
                module = importlib.import_module(namespace)
                inner = self._defaults[namespace] = getattr(module, self._kind)()
        return inner

    def _inners(self) -> list[Any]:
        if self.inner is not None:
            return [self.inner]
        with self._lock:
            return list(self._defaults.values())

    def __getattr__(self, name: str) -> Any:
        # Attributes the transport does not have are its inner transport's (`_pool`,
        # and whatever code written for a plain transport reads), as with a proxy.
        inner = self.__dict__.get("inner")
        if inner is None and not name.startswith("__"):
            defaults = self.__dict__.get("_defaults") or {}
            if len(defaults) == 1:
                inner = next(iter(defaults.values()))
        if inner is None or name.startswith("__"):
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(inner, name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(indexes={list(self.authenticator.indexes)!r})"


def _settle(
    authenticator: Authenticator,
    raise_on_failure: bool,
    outcome: Outcome,
    namespace: str,
    request: _Request,
    response: _Response | None,
) -> IndexAuthError | None:
    """The error to raise, or `None` to return *response* (with any error attached)."""
    error = outcome.error
    if error is None:
        return None
    if (outcome.raise_error and raise_on_failure) or response is None:
        if response is not None:
            response.request = request
        return for_driver(error, namespace, _request=request, response=response)
    if outcome.raise_error:
        authenticator.diagnose(error)
    response.extensions["indexauth.error"] = error
    return None


def handle(
    authenticator: Authenticator, send_one: Callable[[Any], Any], request: Any, *, raise_on_failure: bool
) -> Any:
    """Send *request* with *send_one* (one hop), authenticating as the flow decides.

    Shared by `IndexAuthTransport` and global mode's instrumented `HTTPTransport`.
    """
    rewind = _rewinder(request.stream)
    has_authorization, others = _split_authorization(request.headers)
    responses: list[Any] = []

    def send(effect: Send) -> int | Reply:
        if effect.retry:
            _release(responses[-1])
            if rewind is not None:
                rewind()
        response = send_one(_prepared(request, effect, others))
        responses.append(response)
        return reply(int(response.status_code), response.headers)

    with running(request):
        try:
            outcome = drive(
                authenticator.flow(
                    str(request.url),
                    has_authorization=has_authorization,
                    replayable=rewind is not None,
                ),
                send,
                authenticator.resolver.lookup,
            )
        except BaseException:
            if responses:
                responses[-1].close()
            raise
    response = responses[-1] if responses else None
    if outcome.error is None:
        return response
    error = _settle(authenticator, raise_on_failure, outcome, _namespace(request), request, response)
    if error is not None:
        if response is not None:
            response.close()  # not read: a challenge body may be endless
        raise error from None
    return response


async def ahandle(
    authenticator: Authenticator,
    send_one: Callable[[Any], Awaitable[Any]],
    request: Any,
    *,
    raise_on_failure: bool,
    lookup: ThreadedLookup,
) -> Any:
    """The async twin of `handle`; *lookup* runs lookups off the event loop."""
    rewind = _rewinder(request.stream)
    has_authorization, others = _split_authorization(request.headers)
    responses: list[Any] = []

    async def send(effect: Send) -> int | Reply:
        if effect.retry:
            await _arelease(responses[-1])
            if rewind is not None:
                rewind()
        response = await send_one(_prepared(request, effect, others))
        responses.append(response)
        return reply(int(response.status_code), response.headers)

    with running(request):
        try:
            outcome = await adrive(
                authenticator.flow(
                    str(request.url),
                    has_authorization=has_authorization,
                    replayable=rewind is not None,
                ),
                send,
                lookup,
            )
        except BaseException:
            if responses:
                await _aclose_shielded(responses[-1])
            raise
    response = responses[-1] if responses else None
    if outcome.error is None:
        return response
    error = _settle(authenticator, raise_on_failure, outcome, _namespace(request), request, response)
    if error is not None:
        if response is not None:
            await _aclose_shielded(response)  # not read: a challenge body may be endless
        raise error from None
    return response


class IndexAuthTransport(_Common, _SyncBase):
    """An httpx (or httpx2) transport that authenticates to package indexes the uv way.

    It wraps *inner* (by default an ``HTTPTransport()`` of whichever library
    sends the request) and only decides which `Authorization` header each
    request carries: ``httpx.Client(transport=IndexAuthTransport([...]))``.
    Passing ``transport=`` turns off httpx's environment proxies; to keep them,
    build the client as usual and call `indexauth.wrap_client(client, [...])`.

    With ``raise_on_failure=False`` a refused request returns its response,
    and `indexauth.diagnosis(response)` says what went wrong.
    """

    _kind = "HTTPTransport"

    def __init__(
        self,
        indexes: Iterable[Index | str] = (),
        *,
        inner: Any = None,
        keyring_provider: str = "auto",
        keyring_timeout: float = DEFAULT_TIMEOUT,
        netrc: bool = True,
        store: bool = True,
        raise_on_failure: bool = True,
        authenticator: Authenticator | None = None,
    ) -> None:
        self._setup(
            indexes=indexes,
            inner=inner,
            keyring_provider=keyring_provider,
            keyring_timeout=keyring_timeout,
            netrc=netrc,
            store=store,
            raise_on_failure=raise_on_failure,
            authenticator=authenticator,
        )

    @overload
    def handle_request(self, request: httpx.Request) -> httpx.Response: ...
    @overload
    def handle_request(self, request: httpx2.Request) -> httpx2.Response: ...
    def handle_request(self, request: Any) -> Any:
        """Send *request* through the inner transport, authenticating as the flow decides."""
        inner = self._inner_of(request)
        if active():  # a transport around this one runs the flow already
            return inner.handle_request(request)
        return handle(
            self.authenticator, inner.handle_request, request, raise_on_failure=self.raise_on_failure
        )

    def close(self) -> None:
        """Close the inner transport(s)."""
        for inner in self._inners():
            inner.close()

    def __enter__(self: _T) -> _T:
        for inner in self._inners():  # type: ignore[attr-defined]
            inner.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        for inner in self._inners():
            inner.__exit__(exc_type, exc_value, traceback)


class AsyncIndexAuthTransport(_Common, _AsyncBase):
    """The async twin of `IndexAuthTransport`, for ``httpx.AsyncClient(transport=...)``.

    Credential lookups (keyring, files) run in a worker thread, so the event
    loop never waits on them; concurrent requests share one lookup per index.
    Works under asyncio and trio.
    """

    _kind = "AsyncHTTPTransport"

    def __init__(
        self,
        indexes: Iterable[Index | str] = (),
        *,
        inner: Any = None,
        keyring_provider: str = "auto",
        keyring_timeout: float = DEFAULT_TIMEOUT,
        netrc: bool = True,
        store: bool = True,
        raise_on_failure: bool = True,
        authenticator: Authenticator | None = None,
    ) -> None:
        self._setup(
            indexes=indexes,
            inner=inner,
            keyring_provider=keyring_provider,
            keyring_timeout=keyring_timeout,
            netrc=netrc,
            store=store,
            raise_on_failure=raise_on_failure,
            authenticator=authenticator,
        )
        self._lookup = ThreadedLookup(self.authenticator.resolver)

    @overload
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response: ...
    @overload
    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response: ...
    async def handle_async_request(self, request: Any) -> Any:
        """Send *request* through the inner transport, authenticating as the flow decides."""
        inner = self._inner_of(request)
        if active():
            return await inner.handle_async_request(request)
        return await ahandle(
            self.authenticator,
            inner.handle_async_request,
            request,
            raise_on_failure=self.raise_on_failure,
            lookup=self._lookup,
        )

    async def aclose(self) -> None:
        """Close the inner transport(s)."""
        for inner in self._inners():
            await inner.aclose()

    async def __aenter__(self: _T) -> _T:
        for inner in self._inners():  # type: ignore[attr-defined]
            await inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        for inner in self._inners():
            await inner.__aexit__(exc_type, exc_value, traceback)


_C = TypeVar("_C")


def wrap_client(
    client: _C,
    indexes: Iterable[Index | str] = (),
    *,
    keyring_provider: str = "auto",
    keyring_timeout: float = DEFAULT_TIMEOUT,
    netrc: bool = True,
    store: bool = True,
    raise_on_failure: bool = True,
    authenticator: Authenticator | None = None,
) -> _C:
    """Make *client* (an httpx or httpx2 `Client` or `AsyncClient`) authenticate, in place.

    Unlike ``transport=``, this keeps everything the client already set up:
    environment proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`),
    ``proxy=`` and ``mounts=``. It wraps the client's default transport and
    every mounted one, all sharing one credential cache. A transport that is
    already an indexauth transport is left as is, so calling it twice is harmless.
    Returns *client*.
    """
    module = importlib.import_module(_namespace(client))
    cls: type[IndexAuthTransport] | type[AsyncIndexAuthTransport] = (
        AsyncIndexAuthTransport if isinstance(client, module.AsyncClient) else IndexAuthTransport
    )
    shared = build_authenticator(
        indexes,
        keyring_provider=keyring_provider,
        keyring_timeout=keyring_timeout,
        netrc=netrc,
        store=store,
        authenticator=authenticator,
    )

    def wrap(transport: Any) -> Any:
        # A None mount means "use the default transport", which is wrapped itself.
        if transport is None or isinstance(transport, _Common):
            return transport
        return cls(inner=transport, authenticator=shared, raise_on_failure=raise_on_failure)

    state: Any = client
    # httpx has no public way to reach the transports a client built for itself
    # (its default and its proxy mounts); wrapping them in place keeps both.
    state._transport = wrap(state._transport)  # noqa: SLF001
    state._mounts = {pattern: wrap(t) for pattern, t in state._mounts.items()}  # noqa: SLF001
    return client


# One header item of httpx's `Headers`: (name as given, name lower-cased, value), in bytes.
_Item = tuple[bytes, bytes, bytes]


def _split_authorization(headers: Any) -> tuple[bool, list[_Item] | None]:
    """Whether *headers* carry `Authorization`, and (for httpx's own `Headers`) every other item.

    httpx answers `"Authorization" in headers` by raising and catching a
    `KeyError`, and copying then editing its `Headers` re-scans and re-encodes
    them: one pass over the items does both jobs, once per request.
    """
    cls = type(headers)
    readable = _READABLE.get(cls)
    if readable is None:
        readable = _READABLE[cls] = _items_readable(cls)
    items = headers.__dict__.get("_list") if readable else None
    if type(items) is not list:
        return "Authorization" in headers, None
    for item in items:
        if item[1] == b"authorization":
            return True, [item for item in items if item[1] != b"authorization"]
    return False, items  # never changed: `_with_items` builds a new list


def _items_readable(cls: type) -> bool:
    # httpx's and httpx2's own `Headers` keep their items in `_list`, as in every
    # release since 0.18; any other class (a subclass too) goes through its public API.
    return cls.__name__ == "Headers" and cls.__module__.partition(".")[0] in _NAMESPACES


_READABLE: dict[type, bool] = {}  # at most two classes: httpx's and httpx2's Headers


def _prepared(request: Any, effect: Send, others: list[_Item] | None) -> Any:
    """*request* with `Authorization` as *effect* says; a copy, so the caller's stays as built.

    *others* are the request's header items without `Authorization`, from
    `_split_authorization` (`None`: edit a public copy of the headers instead).
    """
    if effect.action == "keep":
        return request
    if others is None:
        headers = request.headers.copy()
        headers.pop("Authorization", None)
        for name, value in effect.headers:
            headers[name] = value  # replaces any the caller set
    else:
        headers = _with_items(request.headers, others, effect.headers)
    # The same method, URL, stream and extensions, with its own headers: building a
    # new Request would parse the URL and the headers again on every request.
    prepared = shallow_copy(request)
    prepared.headers = headers
    return prepared


def _with_items(headers: Any, others: list[_Item], extra: tuple[tuple[str, str], ...]) -> Any:
    """A new `Headers` of *headers*' class: *others*, then *extra* set as `headers[name] = value` sets."""
    encoding = headers.encoding  # what `headers.copy()` would carry over
    items = list(others)
    authorization = False  # *others* has none: only one of *extra* can be there to replace
    for name, value in extra:
        raw = name.encode(encoding)
        lower = raw.lower()
        item = (raw, lower, value.encode(encoding))
        if lower == b"authorization" and not authorization:
            authorization = True
            items.append(item)
            continue
        same = [i for i, (_, key, _) in enumerate(items) if key == lower]
        if same:  # as httpx's `__setitem__`: the first one takes the value, later ones go
            items[same[0]] = item
            for i in reversed(same[1:]):
                del items[i]
        else:
            items.append(item)
    cls: Any = type(headers)
    clone = cls.__new__(cls)
    clone._list = items  # noqa: SLF001 - see _items_readable
    clone._encoding = encoding  # noqa: SLF001
    return clone


def _release(response: Any) -> None:
    """Before a retry: read a short challenge body so the connection is reused; else drop it.

    httpx closes a connection whose response was closed before its end.
    """
    try:
        if short_body(response.headers):
            for _ in response.iter_raw():
                pass  # bounded: the server declared at most DRAIN_LIMIT bytes
    finally:
        response.close()


async def _arelease(response: Any) -> None:
    try:
        if short_body(response.headers):
            async for _ in response.aiter_raw():
                pass
    finally:
        await _aclose_shielded(response)


async def _aclose_shielded(response: Any) -> None:
    import anyio  # noqa: PLC0415 - loaded with the async transport's first request

    # A cancelled task must still give the connection back.
    with anyio.CancelScope(shield=True):
        await response.aclose()


def _noop() -> None:
    pass


def _rewinder(stream: object) -> Callable[[], None] | None:
    """A function that readies *stream* for a second send, or `None` if it cannot be replayed.

    Bytes replay as they are; multipart forms replay when every file in them
    can seek (httpx seeks them back itself); a file body replays when it can
    seek back to where it started. Generators, async iterators and pipes
    cannot: the retry is refused rather than sent empty.
    """
    cls: Any = type(stream)
    kind = _STREAM_KIND.get(cls, "")
    if kind == "":
        kind = _stream_kind(cls)
        if len(_STREAM_KIND) < 64:  # classes made on the fly must not grow it for ever
            _STREAM_KIND[cls] = kind
    if kind == "ByteStream":
        return _noop
    if kind == "MultipartStream":
        files = [getattr(field, "file", None) for field in getattr(stream, "fields", ())]
        return _noop if all(_seekable(f) for f in files if f is not None) else None
    if kind == "IteratorByteStream":
        body = getattr(stream, "_stream", None)
        if hasattr(body, "read") and _seekable(body):
            assert body is not None  # noqa: S101 - hasattr above
            position = body.tell()

            def rewind() -> None:
                body.seek(position)

            return rewind
    return None


def _stream_kind(cls: type) -> str | None:
    # By class name, so httpx's and httpx2's streams both count; worked out once per class.
    names = {base.__name__ for base in cls.__mro__}
    return next((k for k in ("ByteStream", "MultipartStream", "IteratorByteStream") if k in names), None)


_STREAM_KIND: dict[type, str | None] = {}


def _seekable(file: Any) -> bool:
    if isinstance(file, (str, bytes)):
        return True
    try:
        return bool(file.seekable()) and file.tell() >= 0
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False
