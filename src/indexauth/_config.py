"""Turning the options every driver accepts into one `Authenticator`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from ._exceptions import ConfigurationError
from ._flow import Authenticator
from ._keyring import DEFAULT_TIMEOUT, keyring_source
from ._models import Index
from ._programs import ProgramSource
from ._resolver import Resolver
from ._sources import EnvSource, IndexUrlSource, NetrcSource, Source
from ._store import StoreSource
from ._uvstore import UvStoreSource

__all__ = ["build_authenticator", "coerce_indexes"]


def coerce_indexes(indexes: Iterable[Index | str]) -> tuple[Index, ...]:
    """*indexes* as `Index` objects; a plain string is `Index(url)`."""
    if isinstance(indexes, (str, Index)):
        indexes = (indexes,)
    out = []
    for item in indexes:
        if isinstance(item, str):
            out.append(Index(item))
        elif isinstance(item, Index):
            out.append(item)
        else:
            raise ConfigurationError(
                f"expected an indexauth.Index or a URL string, got {type(item).__name__}",
                hint='pass indexes=[indexauth.Index("https://pkgs.example.com/simple/")]',
            )
    return tuple(out)


def build_authenticator(
    indexes: Iterable[Index | str] = (),
    *,
    keyring_provider: str = "auto",
    keyring_timeout: float = DEFAULT_TIMEOUT,
    netrc: bool = True,
    store: bool = True,
    authenticator: Authenticator | None = None,
    clock: Callable[[], float] = time.time,
) -> Authenticator:
    """The `Authenticator` for a driver's options, or *authenticator* itself when given.

    The chain: index URL, environment, password command, credential helper,
    store, netrc, keyring. Programs run under *keyring_timeout*; *clock* (seconds
    since the epoch) decides when their results expire.
    """
    if authenticator is not None:
        if not isinstance(authenticator, Authenticator):
            raise ConfigurationError(
                f"authenticator= expects an indexauth Authenticator, got {type(authenticator).__name__}"
            )
        return authenticator
    sources: list[Source] = [
        IndexUrlSource(),
        EnvSource(),
        ProgramSource("password command", timeout=keyring_timeout, clock=clock),
        ProgramSource("credential helper", timeout=keyring_timeout, clock=clock),
    ]
    if store:
        # uv's store is read right after indexauth's own: one `store=` switch for both.
        sources += [StoreSource(), UvStoreSource()]
    if netrc:
        sources.append(NetrcSource())
    keyring = keyring_source(keyring_provider, timeout=keyring_timeout)
    if keyring is not None:
        sources.append(keyring)
    return Authenticator(coerce_indexes(indexes), Resolver(sources, clock=clock))
