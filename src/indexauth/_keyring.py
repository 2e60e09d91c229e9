"""Keyring as a credential source: in process (`import`) or through the `keyring` command.

Service names are tried in the order `Target.service_names` gives; the first hit
wins. A backend error stops the walk over names (the next name would hit the
same broken backend) and is reported as a `SourceFailure`.
"""

from __future__ import annotations

import contextvars
import functools
import importlib.util
import json
import os
import shutil
import sys
import threading
from typing import TYPE_CHECKING, Any, Literal, get_args

from ._exceptions import ConfigurationError
from ._models import Credentials
from ._sources import Recorder, SourceFailure, Target

if TYPE_CHECKING:
    import subprocess

__all__ = [
    "NEEDS_USERNAME",
    "KeyringCommandSource",
    "KeyringImportSource",
    "KeyringProvider",
    "keyring_source",
]

KeyringProvider = Literal["auto", "import", "subprocess", "disabled"]

# Set while this context asks keyring in process: indexauth's own keyring backend
# (`_keyring_backend`) then answers nothing, since this lookup's chain already
# asked every source it would ask. A context variable, so the worker thread sees it.
_in_source: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "indexauth_in_keyring_source", default=False
)


def in_keyring_source() -> bool:
    """Whether this context is inside indexauth's in-process keyring lookup."""
    return _in_source.get()
PROVIDERS: tuple[str, ...] = get_args(KeyringProvider)
DEFAULT_TIMEOUT = 30.0
MIN_VERSION = "25.2.1"


class KeyringImportSource:
    """`keyring.get_credential(service, username_or_None)` in this process.

    The walk runs in a worker thread and is abandoned after *timeout* seconds: a
    backend waiting on an unlock prompt (D-Bus, a GUI) must not hang the caller.
    """

    name = "keyring"
    eager = False
    provider = "import"

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._keyring: Any = None
        self.timeout = timeout

    def __reduce__(self) -> tuple[object, ...]:
        return (functools.partial(type(self), timeout=self.timeout), ())

    def _module(self) -> Any:
        if self._keyring is None:
            try:
                import keyring  # noqa: PLC0415 - loaded on the first lookup, never at import
            except ImportError as exc:
                raise SourceFailure(
                    f"keyring_provider='import' but the keyring module cannot be imported ({exc})",
                    hint="install it: pip install 'indexauth[keyring]'; or use "
                    "keyring_provider='subprocess' or 'disabled'",
                ) from None
            self._keyring = keyring
        return self._keyring

    def describe(self) -> str:
        """`(import, backend X)`, for messages."""
        try:
            backend = self._module().get_keyring()
        except Exception as exc:  # noqa: BLE001 - only a label; the lookup reports the error
            return f"(import, backend unavailable: {type(exc).__name__})"
        return f"(import, backend {type(backend).__module__}.{type(backend).__name__})"

    def find(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        self._module()  # an import failure is reported here, in the caller's thread
        # A user part that may be a token, and stored names, stay masked.
        local = Recorder(hidden=record.hidden, asked=record.asked)
        outcome: list[Credentials | BaseException | None] = []

        def walk() -> None:
            _in_source.set(True)  # this worker's own context copy
            try:
                outcome.append(self._walk(target, username, local))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                outcome.append(exc)

        # The caller's context goes along, so the global hook still knows a backend's
        # own HTTP requests are made from inside this lookup.
        context = contextvars.copy_context()
        worker = threading.Thread(
            target=context.run, args=(walk,), name="indexauth-keyring", daemon=True
        )
        worker.start()
        worker.join(self.timeout)
        record.attempts.extend(list(local.attempts))  # a snapshot: an abandoned walk may go on
        if not outcome:
            record(self.name, "(import)", username, f"failed: no answer in {self.timeout:g} s")
            raise SourceFailure(
                f"the keyring backend did not answer within {self.timeout:g} s "
                "(a keyring waiting for an unlock prompt does this)",
                hint="unlock the keyring, or run `keyring diagnose` to see which backend is "
                f"used; keyring_timeout sets the limit; {_OFF}",
            )
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def _walk(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        keyring = self._module()
        errors = importlib.import_module("keyring.errors")
        label = self.describe()
        backend = _backend_class(keyring)
        if backend in _NO_BACKEND:
            record(self.name, label, username, _NO_BACKEND[backend])
            return None
        if backend == _OWN_BACKEND:
            record(self.name, label, username, "only indexauth's own backend: nothing more to ask")
            return None
        if username is None and _needs_username(keyring):
            record(self.name, label, username, NEEDS_USERNAME)
            return None
        for service in target.service_names:
            where = f"{label} service {service!r}"
            try:
                cred = keyring.get_credential(service, username)
            except errors.NoKeyringError:
                record(self.name, where, username, "no keyring backend is configured")
                return None
            except errors.KeyringLocked as exc:
                record(self.name, where, username, "failed: the keyring is locked")
                raise SourceFailure(
                    f"the keyring is locked ({_one_line(exc)})",
                    hint="unlock your keyring (log in to the desktop session, or run "
                    "`keyring --list-backends` to see which one is used), or use another "
                    f"source and {_OFF}",
                ) from None
            except Exception as exc:  # noqa: BLE001 - any backend may raise anything
                record(self.name, where, username, f"failed: {type(exc).__name__}")
                raise SourceFailure(
                    f"the keyring backend failed for service {service!r}: "
                    f"{type(exc).__name__}: {_one_line(exc)}",
                    hint="run `keyring diagnose` to see the backend in use; set "
                    "PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring to turn it off",
                ) from None
            if cred is None:
                record(self.name, where, username, "not found")
                continue
            creds = _credentials(cred.username, cred.password, username, where)
            record(self.name, where, creds.username, "found" if creds.complete else "no password")
            if creds.complete:
                return creds
        return None


class KeyringCommandSource:
    """The `keyring` command: `keyring --mode creds --output json get SERVICE [USERNAME]`.

    When the command is the usual console script of a Python installation, all
    service names are asked in one run of that interpreter, through the same
    `keyring.get_credential` the command calls: a full miss then costs one
    process start instead of one per name. Anything else is run as a command,
    once per name.
    """

    name = "keyring"
    eager = False
    provider = "subprocess"

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        executable: str | None = None,
        interpreter: str | None = None,
    ) -> None:
        self.timeout = timeout
        self._executable = executable
        # A parent's Python (global mode carried into a child): its keyring, in one run.
        self._interpreter = interpreter

    def executable(self) -> str | None:
        """The `keyring` command that is run, or `None` when it is not on PATH."""
        if self._interpreter is not None:
            return self._interpreter
        return self._executable or shutil.which("keyring")

    def describe(self) -> str:
        """`(subprocess, /path/to/keyring)`, for messages."""
        if self._interpreter is not None:
            return f"(subprocess, keyring of the parent Python {self._interpreter})"
        return f"(subprocess, {self.executable() or 'not on PATH'})"

    def find(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        if self._interpreter is not None:
            label = f"parent Python {self._interpreter}"
            return self._find_in_one_run(self._interpreter, label, target, username, record)
        exe = self.executable()
        if exe is None:
            record(self.name, "(subprocess)", username, "failed: no `keyring` command on PATH")
            raise SourceFailure(
                "the `keyring` command is not on PATH",
                hint="install it with `pipx install keyring` (or `pip install keyring`), or "
                + _OFF,
            )
        _refuse_options(target, username, record)
        interpreter = _script_interpreter(exe)
        if interpreter is not None:
            return self._find_in_one_run(interpreter, exe, target, username, record)
        for service in target.service_names:
            # `--`: no operand is ever read as an option, whatever refuse_options misses.
            argv = [exe, "--mode", "creds", "--output", "json", "get", "--", service]
            if username is not None:
                argv.append(username)
            where = f"(subprocess) service {service!r}"
            shown = " ".join(["keyring", *argv[1:]])
            done = self._run(argv, shown, where, username, record)
            stderr = done.stderr.decode("utf-8", "replace")
            if done.returncode == 0:
                creds = self._parse(done.stdout, username, where, shown)
                record(self.name, where, creds.username, "found" if creds.complete else "no password")
                if creds.complete:
                    return creds
                continue
            if done.returncode == 2 and "unrecognized arguments" in stderr:
                record(self.name, where, username, "failed: keyring is too old for --mode creds")
                raise SourceFailure(
                    f"the `keyring` command at {exe} is older than {MIN_VERSION} and does not "
                    "support `--mode creds --output json`",
                    hint=f"upgrade it: `pipx upgrade keyring` or `pip install 'keyring>={MIN_VERSION}'`",
                )
            if done.returncode == 1 and not stderr.strip():
                record(self.name, where, username, "not found")
                continue
            last = _one_line(stderr.strip().splitlines()[-1] if stderr.strip() else "no output")
            record(self.name, where, username, f"failed: exit {done.returncode}")
            raise SourceFailure(
                f"`{shown}` failed with exit code {done.returncode}: {last}",
                hint=f"run `{shown}` yourself to see the whole error",
            )
        return None

    def _run(
        self, argv: list[str], shown: str, where: str, username: str | None, record: Recorder
    ) -> subprocess.CompletedProcess[bytes]:
        # Imported here: a program that never runs the keyring command (and global mode
        # before its first lookup) does not pay for subprocess, signal and fcntl.
        import subprocess  # noqa: PLC0415

        env = dict(os.environ, PYTHONIOENCODING="utf-8", INDEXAUTH="0")
        try:
            return subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self.timeout,
                env=env,
                check=False,
            )
        except subprocess.TimeoutExpired:
            record(self.name, where, username, f"failed: no answer in {self.timeout:g} s, killed")
            raise SourceFailure(
                f"`{shown}` did not answer within {self.timeout:g} s and was killed "
                "(a keyring waiting for an unlock prompt does this)",
                hint="unlock the keyring, or run the command above yourself to see what it "
                "waits for; keyring_timeout sets the limit",
            ) from None
        except OSError as exc:
            record(self.name, where, username, f"failed: {type(exc).__name__}")
            raise SourceFailure(
                f"cannot run {argv[0]}: {exc.strerror or exc}",
                hint="check that the `keyring` command on PATH is executable",
            ) from None

    def _find_in_one_run(
        self, interpreter: str, exe: str, target: Target, username: str | None, record: Recorder
    ) -> Credentials | None:
        services = list(target.service_names)
        request = json.dumps({"services": services, "username": username})
        shown = f"keyring --mode creds get {services[0]}" + (f" {username}" if username else "")
        where = f"(subprocess, {exe})"
        done = self._run([interpreter, "-c", _ONE_RUN, request], shown, where, username, record)
        try:
            answer = json.loads(done.stdout.decode("utf-8"))
            tried = int(answer["tried"])
        except (ValueError, KeyError, TypeError):
            stderr = done.stderr.decode("utf-8", "replace").strip()
            last = _one_line(stderr.splitlines()[-1] if stderr else "no output")
            record(self.name, where, username, f"failed: exit {done.returncode}")
            raise SourceFailure(
                f"the Python behind {exe} could not run keyring: {last}",
                hint=f"run `{shown}` yourself to see the whole error",
            ) from None
        if answer.get("nomodule") and self._interpreter is not None:
            record(self.name, where, username, "keyring is not installed there")
            return None
        for service in services[: max(tried - 1, 0)]:
            record(self.name, f"(subprocess) service {service!r}", username, "not found")
        last_where = f"(subprocess) service {services[tried - 1]!r}" if tried else where
        if answer.get("error"):
            record(self.name, last_where, username, f"failed: {answer.get('kind', 'error')}")
            raise SourceFailure(
                f"the keyring backend behind {exe} failed: {_one_line(answer['error'])}",
                hint=f"run `{shown}` yourself to see the whole error; `keyring diagnose` shows "
                "the backend in use",
            )
        if answer.get("needs_username"):
            record(self.name, where, username, NEEDS_USERNAME)
            return None
        if answer.get("nobackend"):
            record(self.name, where, username, "no keyring backend is configured")
            return None
        hit = answer.get("hit")
        if not isinstance(hit, dict):
            if tried:
                record(self.name, last_where, username, "not found")
            return None
        creds = _credentials(hit.get("username"), hit.get("password"), username, last_where)
        record(self.name, last_where, creds.username, "found" if creds.complete else "no password")
        return creds if creds.complete else None

    def _parse(self, stdout: bytes, username: str | None, where: str, shown: str) -> Credentials:
        try:
            data = json.loads(stdout.decode("utf-8"))
            user, password = data.get("username"), data.get("password")
        except (ValueError, AttributeError):
            raise SourceFailure(
                f"`{shown}` printed something that is not the expected JSON object",
                hint=f"check that the `keyring` command is keyring>={MIN_VERSION}",
            ) from None
        return _credentials(user, password, username, where)


# Run by the interpreter of the `keyring` console script: the same lookups the
# command makes (keyring.cli calls get_credential), for every name, in one start.
_ONE_RUN = """
import json, sys
request = json.loads(sys.argv[1])
try:
    import keyring, keyring.errors
    from keyring.backend import KeyringBackend
except ImportError as exc:
    sys.stdout.write(json.dumps({"tried": 0, "nomodule": str(exc)}))
    sys.exit(0)
tried = 0
out = {}
def blind(backend):
    # keyring's base get_credential answers only when given a username (keyrings.alt, macOS);
    # the fail and null backends are "no keyring", said below.
    if type(backend).__module__ in ("keyring.backends.fail", "keyring.backends.null"):
        return False
    chained = getattr(backend, "backends", None)
    if chained is not None:
        real = [b for b in chained if f"{type(b).__module__}.{type(b).__name__}" != _OWN_BACKEND]
        return all(type(b).get_credential is KeyringBackend.get_credential for b in real)
    return type(backend).get_credential is KeyringBackend.get_credential
try:
    if request["username"] is None and blind(keyring.get_keyring()):
        out = {"needs_username": True}
        request["services"] = []
except Exception:
    pass  # the lookup below reports a broken backend
for service in request["services"]:
    tried += 1
    try:
        cred = keyring.get_credential(service, request["username"])
    except keyring.errors.NoKeyringError:
        out = {"nobackend": True}
        break
    except Exception as exc:
        out = {"error": f"{type(exc).__name__}: {exc}", "kind": type(exc).__name__}
        break
    if cred is not None and cred.password is not None:
        out = {"hit": {"username": cred.username, "password": cred.password}}
        break
out["tried"] = tried
sys.stdout.write(json.dumps(out))
"""


def _refuse_options(target: Target, username: str | None, record: Recorder) -> None:
    """Refuse a name the `keyring` command would read as an option (`--disable` turns it off)."""
    for what, value in [("username", username), *(("service name", s) for s in target.service_names)]:
        if value is not None and value.startswith("-"):
            record("keyring", "(subprocess)", username, f"refused: {what} begins with '-'")
            raise SourceFailure(
                f"the {what} {value!r} begins with '-', which the `keyring` command would "
                "read as an option; it is not passed to it",
                hint="give the real username (in the index, its URL, or the variables)",
                error_class=ConfigurationError,
            )


def _script_interpreter(exe: str) -> str | None:
    """The Python behind *exe* when it is a plain `keyring` console script, else `None`.

    pip writes the script as a `#!/bin/sh` wrapper when the interpreter's path
    has a space or is longer than a kernel reads of a `#!` line (127 bytes):
    the real interpreter is then named on the wrapper's `exec` line.
    """
    try:
        with open(exe, "rb") as f:
            head = f.read(4096).decode("utf-8", "replace")
    except OSError:
        return None
    first, _, body = head.partition("\n")
    if not first.startswith("#!") or "from keyring.cli import main" not in body:
        return None
    interpreter = first[2:].strip()
    if interpreter in ("/bin/sh", "/usr/bin/sh"):
        interpreter = _wrapped_interpreter(body) or ""
    elif " " in interpreter:
        return None  # `/usr/bin/env python3` and launcher tricks: run the command itself
    if not os.path.isabs(interpreter) or not os.access(interpreter, os.X_OK):
        return None
    return interpreter


def _wrapped_interpreter(body: str) -> str | None:
    """The interpreter on the `'''exec' "/path/python" "$0" "$@"` line of pip's shell wrapper."""
    line = body.partition("\n")[0].strip()
    if not line.startswith("'''exec'"):
        return None
    import shlex  # noqa: PLC0415 - only when a pip wrapper script is read

    try:
        words = shlex.split(line)
    except ValueError:
        return None
    # ["exec", "/path/python", "$0", "$@"]; uv's relocatable form computes the path
    # with $(dirname ...), which only a shell can run: that one is run as a command.
    if len(words) < 2 or words[0] != "exec" or "$" in words[1] or "`" in words[1]:
        return None
    return words[1]


# Turning keyring off, in a form for each reader: pip and the CLI take a flag, code an argument.
_OFF = (
    "turn keyring off: `--keyring-provider disabled` (pip, indexauth), "
    "keyring_provider='disabled' (code)"
)

# A backend that keeps keyring's base get_credential cannot look up without a
# username; `_hints` reads this outcome to give the index one instead.
NEEDS_USERNAME = (
    "skipped: like keyrings.alt and the macOS Keychain, this backend cannot look up "
    "without a username"
)

# Backends that mean "no keyring here": asking them name by name only adds noise.
_NO_BACKEND = {
    "keyring.backends.fail.Keyring": "no keyring backend is configured (keyring's fail backend)",
    "keyring.backends.null.Keyring": "keyring is turned off (keyring's null backend)",
}


# indexauth's read-only backend (INDEXAUTH=1): it answers from the chain this lookup is part of.
_OWN_BACKEND = "indexauth._keyring_backend.IndexAuthKeyring"


def _backend_class(keyring: Any) -> str:
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - the lookup itself reports a broken backend
        return ""
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _needs_username(keyring: Any) -> bool:
    # Backends that keep keyring's base get_credential only answer when given a
    # username (keyrings.alt, macOS); asking them five times without one is noise.
    from keyring.backend import KeyringBackend  # noqa: PLC0415

    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001
        return False
    chained = getattr(backend, "backends", None)
    if chained is not None:
        real = [b for b in chained if f"{type(b).__module__}.{type(b).__name__}" != _OWN_BACKEND]
        return all(type(b).get_credential is KeyringBackend.get_credential for b in real)
    return type(backend).get_credential is KeyringBackend.get_credential


def _credentials(user: object, password: object, username: str | None, where: str) -> Credentials:
    if not isinstance(user, str):
        user = username or ""
    try:
        return Credentials(user, password if isinstance(password, str) else None)
    except ConfigurationError as exc:
        raise SourceFailure(f"{where}: {exc.summary}", hint=exc.hint) from None


def _one_line(value: object) -> str:
    text = " ".join(str(value).split())
    return text[:200] + ("..." if len(text) > 200 else "")


def keyring_source(
    provider: str, *, timeout: float = DEFAULT_TIMEOUT
) -> KeyringImportSource | KeyringCommandSource | None:
    """The keyring source for *provider*; `auto` is import, then the command, then none."""
    if provider not in PROVIDERS:
        raise ConfigurationError(
            f"invalid keyring provider {provider!r}",
            hint="use one of 'auto', 'import', 'subprocess' or 'disabled'",
        )
    if not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ConfigurationError(
            f"invalid keyring timeout {timeout!r}", hint="give a number of seconds above 0"
        )
    if provider == "disabled":
        return None
    parent = _parent_python()
    if provider == "import":
        if parent is not None and importlib.util.find_spec("keyring") is None:
            return KeyringCommandSource(timeout=timeout, interpreter=parent)
        return KeyringImportSource(timeout=timeout)
    if provider == "subprocess":
        command = KeyringCommandSource(timeout=timeout)
        if command.executable() is None and parent is not None:
            return KeyringCommandSource(timeout=timeout, interpreter=parent)
        return command
    if importlib.util.find_spec("keyring") is not None:
        return KeyringImportSource(timeout=timeout)
    if parent is not None:
        return KeyringCommandSource(timeout=timeout, interpreter=parent)
    command = KeyringCommandSource(timeout=timeout)
    return command if command.executable() else None


def _parent_python() -> str | None:
    """In a child that global mode was carried into, the parent's Python, whose keyring it uses."""
    startup = sys.modules.get("_indexauth_startup")  # loaded whenever global mode is on
    return getattr(startup, "carried", None)
