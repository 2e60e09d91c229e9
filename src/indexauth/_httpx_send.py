"""Sending one httpx (or httpx2) request through the flow: `handle` and `ahandle`.

Shared by `IndexAuthTransport`/`AsyncIndexAuthTransport` and global mode's
instrumented `HTTPTransport`/`AsyncHTTPTransport`. It imports neither client
library: global mode's first request in an httpx program loads this, not the
transport classes (whose bases come from every installed library, httpx2 too).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._driver import _PLAIN, ThreadedLookup, begin, end, replaced, reply, short_body
from ._exceptions import ConfigurationError, IndexAuthError, for_driver
from ._flow import Authenticator, Lookup, Outcome, Reply, Send
from ._resolver import LookupResult
from ._sources import Target

if TYPE_CHECKING:
    import httpx
    import httpx2

    _Request = httpx.Request | httpx2.Request
    _Response = httpx.Response | httpx2.Response

__all__ = ["ahandle", "handle", "url_of"]

_NAMESPACES = ("httpx", "httpx2")


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
    The loop is `_driver.drive`'s, with the sending written into it: a call
    less per effect, on every request.
    """
    url, target, has_authorization, others, rewind = _read(request, authenticator)
    response = None  # the last one sent
    token = begin(request)
    flow = authenticator.flow(
        url, has_authorization=has_authorization, replayable=rewind is not None, target=target
    )
    try:
        try:
            effect = next(flow)
            while True:
                answer: int | Reply | LookupResult
                if isinstance(effect, Lookup):
                    answer = authenticator.resolver.lookup(effect.target)
                else:
                    if effect.retry:
                        _release(response)
                        if rewind is not None:
                            rewind()
                    response = send_one(
                        request if effect.action == "keep" else _prepared(request, effect, others)
                    )
                    status = int(response.status_code)
                    answer = reply(status, response.headers) if status in _CHALLENGED else status
                effect = flow.send(answer)
        except StopIteration as stop:
            outcome: Outcome = stop.value
        finally:
            flow.close()
    except BaseException:
        if response is not None:
            response.close()
        raise
    finally:
        end(token)
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
    """The async twin of `handle`; *lookup* runs lookups off the event loop.

    The loop is `_driver.drive`'s, awaited, with the sending written into it:
    each coroutine less is an object made and awaited less, on every request.
    """
    url, target, has_authorization, others, rewind = _read(request, authenticator)
    response = None  # the last one sent
    token = begin(request)
    flow = authenticator.flow(
        url, has_authorization=has_authorization, replayable=rewind is not None, target=target
    )
    try:
        try:
            effect = next(flow)
            while True:
                answer: int | Reply | LookupResult
                if isinstance(effect, Lookup):
                    answer = await lookup(effect.target)
                else:
                    if effect.retry:
                        await _arelease(response)
                        if rewind is not None:
                            rewind()
                    response = await send_one(
                        request if effect.action == "keep" else _prepared(request, effect, others)
                    )
                    status = int(response.status_code)
                    answer = reply(status, response.headers) if status in _CHALLENGED else status
                effect = flow.send(answer)
        except StopIteration as stop:
            outcome: Outcome = stop.value
        finally:
            flow.close()
    except BaseException:
        if response is not None:
            await _aclose_shielded(response)
        raise
    finally:
        end(token)
    if outcome.error is None:
        return response
    error = _settle(authenticator, raise_on_failure, outcome, _namespace(request), request, response)
    if error is not None:
        if response is not None:
            await _aclose_shielded(response)  # not read: a challenge body may be endless
        raise error from None
    return response


# One header item of httpx's `Headers`: (name as given, name lower-cased, value), in bytes.
_Item = tuple[bytes, bytes, bytes]
_CHALLENGED = frozenset({401, 403, 404})  # the statuses `reply` reads the challenge header for


def _read(
    request: Any, authenticator: Authenticator
) -> tuple[str, Target | None, bool, list[_Item] | None, Callable[[], None] | None]:
    """What one request needs read from *request*, in one call.

    Its URL as `url_of` writes it, and its target (*authenticator*'s `match`
    of that URL), whether it carries `Authorization` and its other header
    items as `_split_authorization` says, and its `_rewinder`. The usual
    request (a bytes body, httpx's own headers and URL, seen before) is read
    here without calling those, and matched on the URL's parts, which httpx
    keeps split; anything else goes to them.
    """
    stream = request.stream
    rewind = _noop if _STREAM_KIND.get(type(stream)) == "ByteStream" else _rewinder(stream)
    headers = request.headers
    others = headers.__dict__.get("_list") if _READABLE.get(type(headers)) else None
    if type(others) is list:
        has_authorization = False
        for item in others:
            if item[1] == b"authorization":
                has_authorization = True
                others = [item for item in others if item[1] != b"authorization"]
                break
    else:
        has_authorization, others = _split_authorization(headers)
    url = request.url
    parts_class = _PARTS_CLASS.get(type(url))
    if parts_class is not None:
        parts = url.__dict__.get("_uri_reference")
        if type(parts) is parts_class:
            scheme, userinfo, host, port, path, query, fragment = parts
            if scheme and host and not userinfo and query is None and fragment is None and ":" not in host:
                # httpx has checked the parts: no user part, query or fragment, and
                # no control or space character, which is where `match_parts` applies.
                authority = host if port is None else f"{host}:{port}"
                target = authenticator.match_parts(scheme, authority, path)
                return f"{scheme}://{authority}{path}", target, has_authorization, others, rewind
    written = url_of(url)
    return written, authenticator.match(written), has_authorization, others, rewind


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
    # Made as `object.__new__` makes them (see `_with_items`): no `__new__` of their own.
    return (
        cls.__name__ == "Headers"
        and cls.__module__.partition(".")[0] in _NAMESPACES
        and cls.__new__ is _new
    )


_READABLE: dict[type, bool] = {}  # at most two classes: httpx's and httpx2's Headers


def _prepared(request: Any, effect: Send, others: list[_Item] | None) -> Any:
    """*request* with `Authorization` as *effect* says; a copy, so the caller's stays as built.

    *others* are the request's header items without `Authorization`, from
    `_split_authorization` (`None`: edit a public copy of the headers instead).
    """
    if effect.action == "keep":
        return request
    headers = request.headers
    cls: Any = type(request)
    extra = effect.headers
    if others is not None and len(extra) == 1 and _PLAIN.get(cls):
        # The usual request, in one frame: what `_with_items` and `replaced` do for it.
        name, value = extra[0]
        encoding = headers.__dict__.get("_encoding") or headers.encoding
        if name == "Authorization" and encoding in _ASCII_BASED:  # *others* has none: appended
            copied = _new(type(headers))
            copied.__dict__ = {
                "_list": [*others, (b"Authorization", b"authorization", value.encode(encoding))],
                "_encoding": encoding,
            }
            state = request.__dict__.copy()
            state["headers"] = copied
            prepared = cls.__new__(cls)
            prepared.__dict__ = state
            return prepared
    if others is None:
        headers = headers.copy()
        headers.pop("Authorization", None)
        for name, value in effect.headers:
            headers[name] = value  # replaces any the caller set
    else:
        headers = _with_items(headers, others, effect.headers)
    # The same method, URL, stream and extensions, with its own headers: building a
    # new Request would parse the URL and the headers again on every request.
    if _PLAIN.get(cls):  # `replaced(request, "headers", headers)`, without the call
        state = request.__dict__.copy()
        state["headers"] = headers
        prepared = cls.__new__(cls)
        prepared.__dict__ = state
        return prepared
    return replaced(request, "headers", headers)


def _with_items(headers: Any, others: list[_Item], extra: tuple[tuple[str, str], ...]) -> Any:
    """A new `Headers` of *headers*' class: *others*, then *extra* set as `headers[name] = value` sets."""
    # What `headers.copy()` would carry over; the attribute first, as the property reads it.
    encoding = headers.__dict__.get("_encoding") or headers.encoding
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
    clone = _new(type(headers))
    # The attributes `Headers.__init__` sets, in its order (see _items_readable).
    clone.__dict__ = {"_list": items, "_encoding": encoding}
    return clone


_new: Any = object.__new__  # what `Headers.__new__` is: httpx's Headers define none
# Encodings httpx picks for headers itself, in which "Authorization" is those bytes.
_ASCII_BASED = frozenset({"ascii", "utf-8", "iso-8859-1"})


def url_of(url: Any) -> str:
    """`str(url)` for an httpx or httpx2 `URL`, built from its parsed parts in the usual case.

    httpx rebuilds the string from those parts with two joins and a property on
    every call. A URL with no user part, query or fragment and a host without
    `:` (no IPv6 literal) is the one f-string below, exactly as httpx writes it;
    any other URL, and any other class, is `str(url)` itself.
    """
    cls = type(url)
    parts_class = _PARTS_CLASS.get(cls, _UNSEEN)
    if parts_class is _UNSEEN:
        parts_class = _parts_class(cls)
        if len(_PARTS_CLASS) < 64:  # classes made on the fly must not grow it for ever
            _PARTS_CLASS[cls] = parts_class
    if parts_class is not None:
        parts = url.__dict__.get("_uri_reference")
        if type(parts) is parts_class:
            scheme, userinfo, host, port, path, query, fragment = parts
            if scheme and host and not userinfo and query is None and fragment is None and ":" not in host:
                if port is None:
                    return f"{scheme}://{host}{path}"
                return f"{scheme}://{host}:{port}{path}"
    return str(url)


_UNSEEN: Any = object()
_PARTS_CLASS: dict[type, Any] = {}  # a URL class: the class of its parsed parts, or None
_PARTS_FIELDS = ("scheme", "userinfo", "host", "port", "path", "query", "fragment")


def _parts_class(cls: type) -> type | None:
    """The class of *cls*'s parsed parts if *cls* is httpx's or httpx2's own `URL`, else `None`.

    Checked once per class: the parts have the fields `url_of` reads, and
    sample URLs come out of `url_of`'s f-string exactly as `str()` writes them.
    """
    if cls.__name__ != "URL" or cls.__module__.partition(".")[0] not in _NAMESPACES:
        return None  # a subclass may write itself differently
    try:
        samples = [cls(u) for u in ("https://h.example:8443/a/simple/", "http://h.example/%7Ea/b/", "http://h")]
        parts_class = type(samples[0].__dict__["_uri_reference"])
    except Exception:  # noqa: BLE001 - any surprise: keep str()
        return None
    if getattr(parts_class, "_fields", None) != _PARTS_FIELDS or not issubclass(parts_class, tuple):
        return None
    for sample in samples:
        scheme, _, host, port, path, _, _ = sample.__dict__["_uri_reference"]
        mine = f"{scheme}://{host}{path}" if port is None else f"{scheme}://{host}:{port}{path}"
        if type(sample.__dict__["_uri_reference"]) is not parts_class or mine != str(sample):
            return None
    return parts_class


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
