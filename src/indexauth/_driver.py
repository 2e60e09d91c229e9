"""What every driver shares around the flow: `drive`, the loop (httpx's `handle` and
`ahandle` write it out with their sending), and the marks of a running flow.

`begin(request)` marks the flow as running in this context until `end(token)`,
and `active()` asks: one driver around another (an `IndexAuthAdapter` around an instrumented
`HTTPAdapter`, a subclass whose `send` calls `super().send`) then runs the
flow once, in the outermost one.
"""

from __future__ import annotations

import contextvars
import copy
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ._challenge import header_of
from ._flow import Flow, Lookup, Outcome, Reply, Send
from ._resolver import LookupResult, Resolver
from ._sources import Target

__all__ = [
    "DRAIN_LIMIT",
    "ThreadedLookup",
    "active",
    "begin",
    "carried",
    "drive",
    "end",
    "replaced",
    "reply",
    "short_body",
]

_T = TypeVar("_T")

# The most of a challenged response's body a driver reads before a retry, so the
# connection can be reused. A longer body, or one of unknown length (chunked, or
# up to the connection's close), is not read: that connection is dropped instead.
DRAIN_LIMIT = 64 * 1024

# A context variable, not a thread-local: async tasks each have their own, and
# a lookup's worker thread runs in a copy of its caller's context.
_running: contextvars.ContextVar[bool] = contextvars.ContextVar("indexauth_flow", default=False)


# Whether a flow is already running for the request being sent in this context.
# The variable's own method, not a function around it: every request asks.
active: Callable[[], bool] = _running.get


# Set by global mode's observer around `Session.send` / httpx's `Client.send`
# (`_uncovered`) to a one-item list, `[False]`; every flow sets its item to True.
# A mutable box, not a flag set later: a transport that hands the request to a
# worker thread with `asyncio.to_thread` (or anyio) runs the flow in a copy of
# this context, and the box is the same object there. A list literal, not a
# class: it is made for every request.
carried: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar(
    "indexauth_carried", default=None
)
# The same boxes by the id of the request each observed send carries, while it
# runs: a transport that hands the request to a `ThreadPoolExecutor` or
# `loop.run_in_executor` runs the flow in a thread with an empty context, and
# finds its box here instead (`running`). Empty unless an observed send is in flight.
in_flight: dict[int, list[bool]] = {}


def begin(request: object) -> contextvars.Token[bool]:
    """Mark the flow for *request* as running in this context; pass the token to `end`.

    A function and a `try`/`finally`, not a context manager: it runs on every
    request, and a class with `__enter__`/`__exit__` costs twice as much.
    """
    token = _running.set(True)
    box = carried.get()
    if box is None and in_flight:  # a worker thread the caller's context did not reach
        box = in_flight.get(id(request))
    if box is not None:
        box[0] = True
    return token


# The flow for the request is over in this context (the token from `begin`).
end: Callable[[contextvars.Token[bool]], None] = _running.reset


def replaced(obj: _T, name: str, value: object) -> _T:
    """A shallow copy of *obj* with attribute *name* set to *value*; *obj* is not changed.

    Requests are copied this way when one header changes: the caller's request
    stays as built. A plain object (no copy hook, no slots) is copied without
    the pickle protocol's detour, so no `__getstate__` (httpx's drops the body
    stream) runs. *name* is set as `setattr` sets it when the class has its own
    say (a property, or its own `__setattr__`): a subclass that keeps its
    headers behind a property must get the new ones, or the header would not
    be sent (or not stripped).
    """
    cls: Any = type(obj)
    plain = _PLAIN.get(cls)
    if plain is None:
        plain = _plain_class(cls)
        if len(_PLAIN) < 64:  # classes made on the fly must not grow it for ever
            _PLAIN[cls] = plain
    if plain and name == "headers":
        # Every request: one dict copy, set as the new instance's attributes.
        state = obj.__dict__.copy()
        state[name] = value
        clone: _T = cls.__new__(cls)
        clone.__dict__ = state
        return clone
    if _copied_by_dict(cls):
        clone = cls.__new__(cls)
        clone.__dict__ = obj.__dict__.copy()
    else:
        clone = copy.copy(obj)
    setattr(clone, name, value)
    return clone


# A class: whether a copy of one with new `headers` is a copy of its `__dict__` with
# that key set (what `replaced` does for it, and what the httpx driver does inline).
_PLAIN: dict[type, bool] = {}
_OBJECT_SETATTR: object = object.__setattr__


def _copied_by_dict(cls: type) -> bool:
    # No copy hook and no slots: a new instance sharing the attributes is the copy.
    return getattr(cls, "__copy__", None) is None and getattr(cls, "__slots__", None) is None


def _plain_class(cls: type) -> bool:
    # Copied by its dict, and `headers` set with `setattr` lands in that dict as given: no
    # `__setattr__` of its own and no property (or other data descriptor) of that name.
    if not _copied_by_dict(cls) or getattr(cls, "__setattr__", None) is not _OBJECT_SETATTR:
        return False
    member = next((vars(klass)["headers"] for klass in cls.__mro__ if "headers" in vars(klass)), None)
    return not (hasattr(type(member), "__set__") or hasattr(type(member), "__delete__"))


def reply(status: int, headers: Any) -> int | Reply:
    """A driver's answer to a `Send`: the status, with the challenge header for 401, 403, 404.

    The header is read only where the flow needs it, not on every 200.
    """
    if status in (401, 403, 404):
        return Reply(status, header_of(headers))
    return status


def drive(
    flow: Flow,
    send: Callable[[Send], int | Reply],
    lookup: Callable[[Target], LookupResult],
) -> Outcome:
    """Run *flow* to its end, sending with *send* and looking up with *lookup*."""
    try:
        effect = next(flow)
        while True:
            answer: int | Reply | LookupResult
            answer = lookup(effect.target) if isinstance(effect, Lookup) else send(effect)
            effect = flow.send(answer)
    except StopIteration as stop:
        outcome: Outcome = stop.value
        return outcome
    finally:
        flow.close()


def short_body(headers: Any) -> bool:
    """Whether a response with *headers* declares a body of at most `DRAIN_LIMIT` bytes.

    Only such a body is read before a retry; an endless or huge one would hold
    the caller or its memory.
    """
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        return False
    length = headers.get("Content-Length")
    try:
        return length is not None and 0 <= int(length) <= DRAIN_LIMIT
    except ValueError:
        return False


class ThreadedLookup:
    """`Resolver.lookup` for async drivers: off the event loop, one worker thread per key.

    A remembered result is answered at once, without a thread. Otherwise the
    first task of an event loop to ask runs the lookup in a worker thread
    (`anyio.to_thread`), and the other tasks of that loop wait on an event
    instead of each holding a thread; the resolver itself makes threads and
    other event loops share that same lookup.
    """

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self._lock = threading.Lock()
        self._inflight: dict[tuple[object, tuple[str, str]], Any] = {}

    async def __call__(self, target: Target) -> LookupResult:
        """The lookup result for *target*, never blocking the event loop."""
        import anyio  # noqa: PLC0415 - only async drivers need it
        import anyio.lowlevel  # noqa: PLC0415
        import anyio.to_thread  # noqa: PLC0415

        result = self.resolver.peek(target)
        if result is not None:
            return result
        # Events belong to one event loop, so tasks share a lookup per loop.
        key = (anyio.lowlevel.current_token(), target.key)
        with self._lock:
            event = self._inflight.get(key)
            leader = event is None
            if event is None:
                event = self._inflight[key] = anyio.Event()
        if not leader:
            await event.wait()
            result = self.resolver.peek(target)
            if result is not None:
                return result
            # Forgotten meanwhile (rejected, or the lookup failed): ask on our own.
        try:
            # abandon_on_cancel: a cancelled task stops waiting at once (trio as asyncio);
            # the lookup itself finishes in its thread and is remembered for the others.
            return await anyio.to_thread.run_sync(
                self.resolver.lookup, target, abandon_on_cancel=True
            )
        finally:
            if leader:
                with self._lock:
                    del self._inflight[key]
                event.set()
