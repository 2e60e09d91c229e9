"""indexauth's start-up hook: with `INDEXAUTH=1`, instrument pip, requests and httpx on import.

`indexauth.pth` runs at every interpreter start and, to stay cheap, first asks
only whether `INDEXAUTH` is in the environment at all. When it is, the line
compiles and runs its second half (an `exec` string, so that an unset variable
never pays for compiling it): an off value (`0`, empty, `false`, `no`, `off`, in
any case) stops there, importing nothing (indexauth's own keyring and
password-command children run with `INDEXAUTH=0`); any other value imports this
module and calls `pth()`, which checks the value. On Python 3.15+,
`indexauth.start` (PEP 829) replaces that line: its entry, `_indexauth_gate:start`,
makes the same test and calls `pth()`. Unless `INDEXAUTH` is `1`, `true`, `yes` or
`on`, `pth()` takes this module back out of `sys.modules`, so the process holds
nothing of indexauth, and for a value it does not understand it says so on
stderr. Older wheels' `.pth` line calls `pth()` whenever the variable exists, so
`pth()` keeps handling every value.
Otherwise it puts one small finder at the front of `sys.meta_path` that
notices when a watched module finishes importing and only then imports
`indexauth._patch` (and wrapt) to instrument it. It may run twice in one start
(a site directory seen twice) and never raises: a failure is one warning on
stderr and the program runs as if indexauth were not there.

Standard library only, on purpose: this module is imported by every Python
process of the environment that has the variable set.
"""

from __future__ import annotations

# _thread, not threading: importing threading (and functools, collections) costs more than
# this whole module, and every process with INDEXAUTH set imports it.
import _thread
import os
import sys

# Not `typing.TYPE_CHECKING`: importing typing would double this module's start-up cost.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

__all__ = ["CARRIER", "carried", "carry", "enabled", "install", "pth", "unwatch", "watch"]

# The modules whose classes indexauth instruments; the hook fires when each finishes executing.
# pipx.util: pipx builds its children's environment without PYTHONPATH (see indexauth._children).
WATCHED = ("pip._internal.network.session", "requests.sessions", "httpx", "httpx2", "pipx.util")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})
_SAID = "_indexauth_said_not_understood"
# Names the parent interpreter and its import path for the carrier (`_indexauth_carrier/`).
CARRIER = "_INDEXAUTH_CARRIER"
# Set by the carrier in a process that got indexauth from its parent: that parent's interpreter.
carried: str | None = None

_lock = _thread.RLock()
_watching = False
_warned = False


def enabled() -> bool:
    """Whether `INDEXAUTH` asks for the global hook."""
    return os.environ.get("INDEXAUTH", "").strip().lower() in _TRUE


def pth() -> None:
    """The `.pth` line's entry point, run when `INDEXAUTH` is set to anything; never raises."""
    if enabled():
        install()
        return
    value = os.environ.get("INDEXAUTH", "").strip().lower()
    # A value we do not understand must not look like "on, and silently doing nothing". Said
    # once per process: a venv reads its site directory twice. The mark is on `sys`, since
    # this module leaves `sys.modules` below and a second reading imports it afresh.
    if value not in _FALSE and not getattr(sys, _SAID, False):
        setattr(sys, _SAID, True)
        try:  # noqa: SIM105 - contextlib is not worth importing at start-up
            sys.stderr.write(
                f"indexauth: INDEXAUTH={value[:20]!r} is not understood, so global mode is off; "
                "set INDEXAUTH=1 to turn it on, or INDEXAUTH=0 to turn it off quietly\n"
            )
        except Exception:  # noqa: BLE001, S110 - a start-up hook must never break the interpreter
            pass
    # Off or not understood: leave the process as if the line had not run. Last, as this may
    # drop the module's last reference. This wheel's line and gate stop at the off values
    # themselves; an older wheel's line calls here for every value.
    sys.modules.pop(__name__, None)


def install() -> None:
    """The `.pth`/`.start` entry point: watch the modules if `INDEXAUTH` is on; never raises."""
    try:
        if enabled():
            watch()
            carry()
    except Exception as exc:  # noqa: BLE001 - a start-up hook must never break the interpreter
        warn(exc)


def keyring_backends() -> None:
    """With `INDEXAUTH` on, define indexauth's read-only keyring backend (keyring registers every
    backend class defined); otherwise nothing. Never raises. keyring's entry point is
    `_indexauth_gate:keyring_backends`, which imports this module only while on; this one was
    the entry point before, and editable installs made then still name it until reinstalled."""
    if not enabled():
        return
    try:
        import indexauth._keyring_backend  # noqa: F401, PLC0415 - defining the class registers it
    except Exception as exc:  # noqa: BLE001 - keyring must keep working without it
        warn(exc)


def watch() -> None:
    """Patch watched modules already imported and every one imported from now on; idempotent."""
    global _watching  # noqa: PLW0603 - one switch per process
    with _lock:
        if _watching:
            return
        _watching = True
        if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
            sys.meta_path.insert(0, _Finder())
    for name in WATCHED:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__spec__", None) is not None:
            _apply(name, module)


def carry() -> None:
    """Make every Python started from this process load this indexauth too (see `_indexauth_carrier`).

    The carrier directory goes first on `PYTHONPATH`, and `_INDEXAUTH_CARRIER`
    names this interpreter and its import path so far (indexauth and its
    dependencies are on it: they sit in or before the site directory of our `.pth`).
    A process that got indexauth through the carrier leaves both as inherited.
    """
    if carried is not None:
        return
    directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_indexauth_carrier")
    if not os.path.isdir(directory):
        return
    os.environ[CARRIER] = os.pathsep.join([sys.executable, *(p for p in sys.path if os.path.isabs(p))])
    entries = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if directory not in entries:
        os.environ["PYTHONPATH"] = os.pathsep.join([directory, *entries])


def unwatch() -> None:
    """Stop patching modules imported from now on (what is patched stays until `uninstall`)."""
    global _watching  # noqa: PLW0603
    with _lock:
        _watching = False
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]


def warn(exc: BaseException) -> None:
    """Say once on stderr that the hook failed, and why, without a traceback."""
    global _warned  # noqa: PLW0603
    with _lock:
        if _warned:
            return
        _warned = True
    # contextlib.suppress would cost an import at every start; no stderr (pythonw): stay silent.
    try:  # noqa: SIM105
        sys.stderr.write(
            f"indexauth: global mode (INDEXAUTH=1) failed and is skipped here "
            f"({type(exc).__name__}: {exc}); unset INDEXAUTH to silence this, or reinstall "
            "indexauth\n"
        )
    except Exception:  # noqa: BLE001, S110
        pass


def _apply(name: str, module: ModuleType) -> None:
    if not _watching:
        return
    try:
        from indexauth import _patch  # noqa: PLC0415 - only once a watched module is imported

        _patch.on_import(name, module)
    except Exception as exc:  # noqa: BLE001 - the patched module must still import
        warn(exc)


class _Finder:
    """A meta-path finder that wraps the loader of a watched module, and nothing else."""

    _busy = _thread._local()  # noqa: SLF001 - threading.local is this class

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in WATCHED or not _watching:
            return None
        busy: set[str] = self._busy.__dict__.setdefault("names", set())
        if fullname in busy:
            return None
        busy.add(fullname)
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            busy.discard(fullname)
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _Loader(spec.loader)  # type: ignore[assignment]
        return spec


class _Loader:
    """Runs the real loader, puts it back on the module, then patches the module."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        # No trace of us is left on the module: importlib.resources and
        # friends see the loader they would have seen.
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _apply(module.__name__, module)
