"""When global mode cannot help, it says so once: a request it never saw, an httpx it does not support.

Global mode instruments the classes that send one hop (`_patch`). A request to
a configured index that goes through another class gets no credentials: a
requests adapter built on `BaseAdapter` alone, an httpx `MockTransport` or a
custom transport that does not hand the request to an instrumented one, or
any transport of an httpx version whose hop methods global mode does not
wrap (`problem`).

To notice, `requests.Session.send` and httpx's `Client.send` /
`AsyncClient.send` are wrapped one level up. Each call puts a fresh
box (`[False]`) in the context variable `_driver.carried` (and in
`_driver.in_flight` by the request's id, for a flow in a worker thread
without the caller's context), and every flow marks it (`_driver.running`).
Only when the response is a failure (401, 403, 404) or the send raised, the
box is unmarked and the URL is inside a configured index, one warning is
logged for the whole process, naming the index (redacted), the class that
carried the request and the fix. A success costs the box, two
context-variable and two dictionary operations, nothing more.

An httpx with no `Client.send` to watch (httpx 1.0's rewrite) is said once
when it is imported, if an index is configured: there is no later moment.
"""

from __future__ import annotations

import logging
import re
import threading
from types import ModuleType
from typing import Any

from . import _patch
from ._driver import carried, in_flight
from ._urls import redact

__all__ = [
    "SUPPORTED",
    "async_client_send",
    "client_send",
    "forget",
    "problem",
    "session_send",
    "unwatchable",
]

logger = logging.getLogger("indexauth")

# The httpx versions global mode supports: tested in tests/test_global_uncovered.py
# (the installed ones) and tests/test_global_httpx_versions.py (the bounds, slow).
SUPPORTED: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "httpx": ((0, 20), (1,)),
    "httpx2": ((2, 0), (3,)),
}
# The methods global mode wraps, each taking the request as its one argument.
_METHODS = (
    ("HTTPTransport", "handle_request"),
    ("AsyncHTTPTransport", "handle_async_request"),
    ("Client", "send"),
    ("AsyncClient", "send"),
)
_FAILED = frozenset((401, 403, 404))
SEE = "docs/global.md#when-global-mode-cannot-help"

_lock = threading.Lock()
_said = False
# Library name -> why global mode does not support the version imported here.
_problems: dict[str, str] = {}


def forget() -> None:
    """Forget what was said and found (`uninstall()`): a later install starts afresh."""
    global _said  # noqa: PLW0603 - once per install
    with _lock:
        _said = False
        _problems.clear()


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text.partition("+")[0])[:2]) or (0,)


def _shown(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


def problem(module: ModuleType) -> str | None:
    """Why global mode does not support this httpx or httpx2 *module*, or `None` if it does.

    Supported: a version in `SUPPORTED`'s range whose `HTTPTransport.handle_request`,
    `AsyncHTTPTransport.handle_async_request`, `Client.send` and `AsyncClient.send`
    each take the request as their first argument.
    """
    name = module.__name__.partition(".")[0]
    low, high = SUPPORTED[name]
    text = str(getattr(module, "__version__", "0"))
    range_ = f"global mode supports {name} >= {_shown(low)}, < {_shown(high)}"
    found = next((f"{c}.{m}" for c, m in _METHODS if not _takes_request(module, c, m)), "")
    if not found and low <= _version(text) < high:
        return None
    why = f"; its {found}(request) is missing or different" if found else ""
    said = f"{name} {text} is not supported ({range_}{why})"
    with _lock:
        _problems[name] = said
    return said


def _takes_request(module: ModuleType, cls: str, method: str) -> bool:
    function = getattr(getattr(module, cls, None), method, None)
    # A tracing tool may have put a `functools.wraps` wrapper there first: judge what it wraps.
    for _ in range(8):
        inner = getattr(function, "__wrapped__", None)
        if inner is None:
            break
        function = inner
    code = getattr(function, "__code__", None)
    if code is None:
        return False
    if code.co_flags & _VARARGS:
        return True  # `(*args, **kwargs)` hands the request on as it came
    if code.co_argcount < 2:  # self and the request
        return False
    names: tuple[str, ...] = code.co_varnames
    return names[1] == "request"


_VARARGS = 0x04  # inspect.CO_VARARGS, without importing inspect


def unwatchable(module: ModuleType, why: str) -> None:
    """*module* has no `Client.send` to watch: say *why* now, once, if any index is configured."""
    indexes = _patch.settings()
    if not indexes:
        logger.debug("indexauth: %s", why)
        return
    _say_once(
        f"indexauth: {why}: its requests to your indexes ({redact(indexes[0].url)}"
        f"{', …' if len(indexes) > 1 else ''}) go without indexauth",
        _library_hint(module.__name__.partition(".")[0]),
    )


def _library_hint(name: str) -> str:
    low, high = SUPPORTED[name]
    return (
        f"install a supported {name} in this environment (pip install '{name}>={_shown(low)},"
        f"<{_shown(high)}'), if the program allows it; otherwise give the program the "
        "credentials its own way"
    )


# -- the observers ---------------------------------------------------------------------


def session_send(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """`Session.send` of requests, `Client.send` of httpx and httpx2: notice a failure to a
    configured index that no flow saw."""
    box = [False]
    token = carried.set(box)
    key = id(args[0] if args else kwargs.get("request"))
    in_flight[key] = box  # for a flow in a worker thread without this context
    try:
        response = wrapped(*args, **kwargs)
    except Exception as exc:
        if not box[0]:
            _failed(instance, args, kwargs, None, exc)
        raise
    finally:
        carried.reset(token)
        in_flight.pop(key, None)
    if not box[0] and response.status_code in _FAILED:
        _failed(instance, args, kwargs, response, None)
    return response


# httpx's and httpx2's `Client.send` take the request first and return a response, as
# requests' `Session.send` does: one observer serves all three.
client_send = session_send


async def async_client_send(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """httpx's `AsyncClient.send`: the same, awaited."""
    box = [False]
    token = carried.set(box)
    key = id(args[0] if args else kwargs.get("request"))
    in_flight[key] = box  # for a flow in a worker thread without this context
    try:
        response = await wrapped(*args, **kwargs)
    except Exception as exc:
        if not box[0]:
            _failed(instance, args, kwargs, None, exc)
        raise
    finally:
        carried.reset(token)
        in_flight.pop(key, None)
    if not box[0] and response.status_code in _FAILED:
        _failed(instance, args, kwargs, response, None)
    return response


def _failed(
    client: Any, args: tuple[Any, ...], kwargs: dict[str, Any], response: Any, exc: Exception | None
) -> None:
    """A failure no flow saw: warn once if its URL is inside a configured index."""
    if _said or _patch.passing_through():
        return  # said already, or a request made by a flow or lookup of ours
    try:
        request = args[0] if args else kwargs["request"]
        url = str(_final_url(request, response))
        target = _patch.global_authenticator().match(url)
        if target is None or target.index is None:
            return
        what = (
            f"answered {response.status_code}" if response is not None else f"failed ({type(exc).__name__})"
        )
        library = type(client).__module__.partition(".")[0]
        why = _problems.get(library)
        if why is not None:
            _say_once(
                f"indexauth: {redact(target.index.url)} {what}, and indexauth did not take part: {why}",
                _library_hint(library),
            )
            return
        carrier = _carrier(client, request)
        name = f"{type(carrier).__module__}.{type(carrier).__qualname__}"
        if library in ("httpx", "httpx2"):
            kind, fix = (
                f"an {library} transport",
                f"{library}.Client(transport=indexauth.IndexAuthTransport(inner=<that transport>)) "
                "(AsyncIndexAuthTransport for an AsyncClient)",
            )
        else:
            kind, fix = (
                "a requests adapter",
                'session.mount("<index URL prefix>", indexauth.IndexAuthAdapter(inner=<that adapter>))',
            )
        _say_once(
            f"indexauth: {redact(target.index.url)} {what} to a request sent through {name}, "
            f"{kind} that global mode does not instrument: indexauth did not authenticate it",
            f"in Python, wrap it: {fix}; in a tool (pip, poetry, pdm, …), give the tool the "
            "credentials its own way for this index (its keyring support reaches indexauth's "
            "store through indexauth's keyring backend)",
        )
    except Exception as error:  # noqa: BLE001 - a diagnosis must never break the program
        logger.debug("indexauth: could not check an uninstrumented request: %r", error)


def _final_url(request: Any, response: Any) -> Any:
    # After redirects, the failing response's own request is the one that matters.
    try:
        return response.request.url
    except Exception:  # noqa: BLE001 - no response, or an httpx response without a request
        return request.url


def _carrier(client: Any, request: Any) -> object:
    """The adapter or transport *client* picks for *request*."""
    get_adapter = getattr(client, "get_adapter", None)
    if get_adapter is not None:
        return get_adapter(request.url)
    return client._transport_for_url(request.url)  # noqa: SLF001 - httpx's own choice, no public one


def _say_once(message: str, hint: str) -> None:
    global _said  # noqa: PLW0603 - once per process
    with _lock:
        if _said:
            return
        _said = True
    logger.warning("%s\n  hint: %s\n  see: %s", message, hint, SEE)
