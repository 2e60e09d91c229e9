"""The loop every synchronous driver runs around the flow."""

from __future__ import annotations

from collections.abc import Callable

from ._flow import Flow, Lookup, Outcome, Send
from ._resolver import LookupResult
from ._sources import Target

__all__ = ["drive"]


def drive(
    flow: Flow, send: Callable[[Send], int], lookup: Callable[[Target], LookupResult]
) -> Outcome:
    """Run *flow* to its end, sending with *send* and looking up with *lookup*."""
    try:
        effect = next(flow)
        while True:
            reply: int | LookupResult
            reply = lookup(effect.target) if isinstance(effect, Lookup) else send(effect)
            effect = flow.send(reply)
    except StopIteration as stop:
        outcome: Outcome = stop.value
        return outcome
    finally:
        flow.close()
