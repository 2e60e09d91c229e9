"""Turning the options every driver accepts into one `Authenticator`."""

from __future__ import annotations

import functools
import importlib
import time
from collections.abc import Callable, Iterable
from typing import Any

from ._exceptions import ConfigurationError
from ._flow import Authenticator
from ._keyring import DEFAULT_TIMEOUT, keyring_source
from ._models import Credentials, Index
from ._resolver import Resolver
from ._sources import EnvSource, IndexUrlSource, NetrcSource, Recorder, Source, Target

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
        _program_source("password command", keyring_timeout, clock),
        _program_source("credential helper", keyring_timeout, clock),
    ]
    if store:
        # uv's store is read right after indexauth's own: one `store=` switch for both.
        sources += [Deferred("indexauth store", True, _store), Deferred("uv store", True, _uv_store)]
    if netrc:
        sources.append(NetrcSource())
    keyring = keyring_source(keyring_provider, timeout=keyring_timeout)
    if keyring is not None:
        sources.append(keyring)
    return Authenticator(coerce_indexes(indexes), Resolver(sources, clock=clock))


class Deferred:
    """A source whose module is imported the first time it has work to do.

    A program that never configures a password command or credential helper,
    or whose credentials an earlier source gives, never loads their code (nor
    the stores' code: reading and writing TOML, locks).
    *wanted* says, without importing anything, whether a target concerns the
    source at all; *make* builds the real source.
    """

    def __init__(
        self,
        name: str,
        eager: bool,
        make: Callable[[], Source],
        wanted: Callable[[Target], bool] | None = None,
    ) -> None:
        self.name = name
        self.eager = eager
        self._make = make
        self._wanted = wanted
        self._real: Source | None = None

    def source(self) -> Source:
        """The real source, made (and its module imported) on first use."""
        real = self._real
        if real is None:
            real = self._real = self._make()  # two threads may both make one: either serves
        return real

    def find(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        if self._wanted is not None and not self._wanted(target):
            return None
        return self.source().find(target, username, record)

    def __reduce__(self) -> str | tuple[Any, ...]:
        # A copy is the real source: a pickled adapter loads the module when unpickled.
        return self.source().__reduce__()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_make", "_wanted", "_real"):
            raise AttributeError(name)
        return getattr(self.source(), name)


def _program_source(kind: str, timeout: float, clock: Callable[[], float]) -> Source:
    def wanted(target: Target) -> bool:
        # What ProgramSource.find checks first: it acts only for an index configured
        # with its kind of program.
        program = target.index.program if target.index is not None else None
        return program is not None and program[0] == kind

    make = functools.partial(_make, "_programs", "ProgramSource", kind, timeout=timeout, clock=clock)
    return Deferred(kind, False, make, wanted)


def _store() -> Source:
    return _make("_store", "StoreSource")


def _uv_store() -> Source:
    return _make("_uvstore", "UvStoreSource")


def _make(module: str, name: str, *args: Any, **kwargs: Any) -> Source:
    cls = getattr(importlib.import_module(f"indexauth.{module}"), name)
    source: Source = cls(*args, **kwargs)
    return source
