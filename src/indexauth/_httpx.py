"""`IndexAuthTransport`, `AsyncIndexAuthTransport`, `wrap_client`: the flow driven through httpx.

One pair of classes serves both **httpx** and **httpx2**. The two libraries
have separate namespaces (an `httpx.Request` is not an `httpx2.Request`), so
each request tells the transport which library sent it, and the transport
answers through an inner transport of that same library and raises that
library's `HTTPError`. With ``inner=None`` it makes one default inner
transport per library, on first use; an `inner` you pass serves every request.
Sending one request through the flow is `_httpx_send`'s job, shared with
global mode, which does not need these classes (nor httpx2 loaded for them).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._config import build_authenticator
from ._driver import ThreadedLookup, active
from ._exceptions import ConfigurationError
from ._flow import Authenticator
from ._httpx_send import _NAMESPACE_OF_CLASS, _NAMESPACES, _namespace, _namespace_of, ahandle, handle
from ._keyring import DEFAULT_TIMEOUT
from ._models import Index

__all__ = ["AsyncIndexAuthTransport", "IndexAuthTransport", "ahandle", "handle", "wrap_client"]

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
        # (request class, `inner` then, inner transport to use): `_inner_of`'s last answer.
        self._last: tuple[type, Any, Any] = (type(None), None, None)

    def _inner_of(self, request: object) -> Any:
        """The inner transport for *request*; a `ConfigurationError` if it cannot be one."""
        # Asked for every request: the usual case (an inner of the request's own
        # library, both classes seen before) is two dictionary lookups.
        namespace = _NAMESPACE_OF_CLASS.get(type(request)) or _namespace(request)
        inner = self.inner
        if inner is not None and _NAMESPACE_OF_CLASS.get(type(inner)) == namespace:
            # What the transports' methods look up first: the same request class
            # and the same `inner` give this answer again.
            self._last = (type(request), inner, inner)
            return inner
        chosen = self._inner_for(namespace)
        if inner is None:
            # The default transport of the request's library, made once: the same
            # request class gets it again, without the lock.
            self._last = (type(request), None, chosen)
        return chosen

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
        last = self._last
        inner = last[2] if type(request) is last[0] and self.inner is last[1] else self._inner_of(request)
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
        last = self._last
        inner = last[2] if type(request) is last[0] and self.inner is last[1] else self._inner_of(request)
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
