# indexauth's carrier: global mode (INDEXAUTH=1) in a Python that has no indexauth of its own.
#
# A process whose indexauth hook ran puts this directory first on PYTHONPATH and
# names its interpreter and import path in _INDEXAUTH_CARRIER, so every Python it
# starts imports this file as `sitecustomize`. Here, in the child:
#
# - INDEXAUTH off: this directory and the two variables are taken back out, the
#   child's own sitecustomize runs, and the child sees what it would have without us.
# - The child has its own indexauth (its .pth already ran the hook): nothing more.
# - Otherwise `indexauth`, `_indexauth_startup` and their runtime dependencies
#   (and nothing else) are imported from the parent's path, through a finder that
#   only knows those names and comes after the child's own, and the same hook is
#   installed as in the parent.
# - A Python indexauth does not support (< 3.10, Python 2) or a failed import: the
#   child runs as without indexauth, with at most one line on stderr.
#
# The same file also runs from a one-line `indexauth_carrier.pth` that indexauth's tox
# plugin writes into tox environments, whose pip runs with -I (PYTHONPATH ignored).
#
# Then the child's own sitecustomize (the next one on sys.path: Debian ships one)
# runs, as Python would have run it. This file is read by every Python version,
# so it is written in the syntax Python 2.7 can still parse.
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importlib.machinery import ModuleSpec, PathFinder

_VAR = "_INDEXAUTH_CARRIER"
_TRUE = ("1", "true", "yes", "on")
# Served from the parent's path: indexauth and its runtime dependencies, nothing else.
_NAMES = ("indexauth", "_indexauth_startup", "wrapt", "tomli")
_HERE = os.path.normcase(os.path.dirname(os.path.abspath(__file__)))


def _is_here(path):
    # type: (str) -> bool
    try:
        return os.path.normcase(os.path.abspath(path)) == _HERE
    except Exception:
        return False


def _warn(message):
    # type: (str) -> None
    try:
        sys.stderr.write("indexauth: %s (%s); it runs without indexauth\n" % (message, sys.executable))
    except Exception:
        pass


def _leave_environment():
    # type: () -> None
    # INDEXAUTH is off here: the children of this process get no carrier either.
    entries = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and not _is_here(p)]
    if entries:
        os.environ["PYTHONPATH"] = os.pathsep.join(entries)
    else:
        os.environ.pop("PYTHONPATH", None)
    os.environ.pop(_VAR, None)


class _ParentFinder(object):
    """Finds the names above, and only those, on the parent's path (after the child's own)."""

    def __init__(self, paths):
        # type: (list[str]) -> None
        self.paths = paths

    def find_spec(self, fullname, path=None, target=None):
        # type: (str, object, object) -> ModuleSpec | None
        if fullname not in _NAMES:
            return None  # submodules are found through their package's own __path__
        return _path_finder().find_spec(fullname, self.paths)


class _Unsupported(object):
    """On a Python indexauth cannot run on: one line, only if this process is a pip."""

    def find_module(self, fullname, path=None):
        # type: (str, object) -> None
        if fullname == "pip._internal.network.session":
            try:
                sys.meta_path.remove(self)  # type: ignore[arg-type]
            except ValueError:
                pass
            _warn("global mode (INDEXAUTH=1) is not carried into Python %d.%d: indexauth needs 3.10 or later"
                  % sys.version_info[:2])


def _carry(value):
    # type: (str) -> None
    if "_indexauth_startup" in sys.modules:
        return  # the child's own indexauth.pth already installed the hook
    if sys.version_info < (3, 10):
        sys.meta_path.insert(0, _Unsupported())  # type: ignore[arg-type]
        return
    parts = value.split(os.pathsep)
    finder = _ParentFinder([p for p in parts[1:] if p])
    if finder.find_spec("indexauth") is None or finder.find_spec("_indexauth_startup") is None:
        _warn("global mode (INDEXAUTH=1) could not be carried: indexauth is no longer in the "
              "environment that started this process")
        return
    sys.meta_path.append(finder)
    try:
        import _indexauth_startup

        _indexauth_startup.carried = parts[0] or None
        _indexauth_startup.install()
    except Exception as exc:
        sys.meta_path.remove(finder)
        _warn("global mode (INDEXAUTH=1) could not be carried: %s: %s" % (type(exc).__name__, exc))


def _path_finder():
    # type: () -> type[PathFinder]
    # importlib's own, already loaded at start-up: importing importlib.machinery (and
    # warnings) here would add half a millisecond to every child's start.
    external = sys.modules.get("_frozen_importlib_external")
    if external is not None:
        finder = external.PathFinder  # type: type[PathFinder]
        return finder  # noqa: RET504 - the type comment needs the name
    from importlib.machinery import PathFinder

    return PathFinder


def _chain():
    # type: () -> bool
    """Run the child's own sitecustomize, the next one on sys.path; False if it has none."""
    paths = [p for p in sys.path if not _is_here(p)]
    if sys.version_info[0] < 3:
        import imp

        try:
            found = imp.find_module("sitecustomize", paths)
        except ImportError:
            return False
        del sys.modules["sitecustomize"]
        try:
            imp.load_module("sitecustomize", found[0], found[1], found[2])  # type: ignore[arg-type]
        finally:
            if found[0] is not None:
                found[0].close()
        return True
    spec = _path_finder().find_spec("sitecustomize", paths)
    if spec is None or spec.loader is None:
        return False
    import importlib.util

    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)
    return True


def _main(as_sitecustomize):
    # type: (bool) -> None
    sys.path[:] = [p for p in sys.path if not _is_here(p)]
    value = os.environ.get(_VAR)
    if value is not None and os.environ.get("INDEXAUTH", "").strip().lower() in _TRUE:
        try:
            _carry(value)
        except Exception as exc:
            _warn("global mode (INDEXAUTH=1) could not be carried: %s: %s" % (type(exc).__name__, exc))
    else:
        _leave_environment()
    if not as_sitecustomize:
        return  # run from a .pth line (indexauth_carrier.pth): Python imports sitecustomize itself
    if not _chain():
        # No sitecustomize of the child's own: end as a missing one would, so site
        # carries on silently and `sitecustomize` stays out of sys.modules.
        if sys.version_info[0] < 3:
            del sys.modules["sitecustomize"]
        else:
            raise ImportError("No module named 'sitecustomize'", name="sitecustomize")


_main(__name__ == "sitecustomize")
