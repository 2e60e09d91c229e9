"""Programs you configure for credentials: password commands and Bazel credential helpers.

A password command prints the password: its trimmed stdout is the secret. A
credential helper speaks Bazel's protocol: indexauth runs `<helper> get`,
writes `{"uri": "<request URL>"}` to its stdin and reads
`{"headers": {"Name": ["value", ...]}, "expires": "<RFC 3339>"}` (`expires`
optional). Both run without a shell, with the environment of this process (and
`INDEXAUTH=0`, so a Python program does not re-enter indexauth), under a
timeout, with bounded output. A failure names the program by its first word
only and quotes its stderr redacted and cut short: the rest of a command line,
and anything the program printed on stdout, may be a secret.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from ._exceptions import ConfigurationError
from ._models import Credentials, ProgramRun, format_rfc3339
from ._sources import Recorder, SourceFailure, Target
from ._urls import redact, strip_userinfo

if TYPE_CHECKING:
    import subprocess

__all__ = [
    "HelperAnswer",
    "ProgramFailure",
    "ProgramSource",
    "format_helper_answer",
    "parse_helper_answer",
    "parse_rfc3339",
    "run_credential_helper",
    "run_password_command",
]

MAX_OUTPUT = 1 << 20  # a token is a few KiB at most; more is a wrong program, not a secret
STDERR_SHOWN = 300  # characters of stderr an error quotes

# What a token looks like: a long run of base64, hex or URL-safe characters.
_TOKENISH = re.compile(r"[A-Za-z0-9_\-+/=.~]{24,}")
_ASSIGNED = re.compile(
    r"(?i)(\b(?:[a-z_-]*token|password|passwd|secret|[a-z_-]*key|authorization)[\"']?\s*[:=]\s*"
    r"[\"']?|\b(?:bearer|basic)\s+)([^\s\"',;]+)"
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S+")


class ProgramFailure(Exception):  # noqa: N818 - a signal turned into a SourceFailure
    """The program could not give credentials: *message* and *hint* say why and what to do."""

    def __init__(self, message: str, hint: str, outcome: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.outcome = outcome  # the short form for the `tried:` line


@dataclass(frozen=True)
class HelperAnswer:
    """What a credential helper said: headers (values joined) and when they expire."""

    headers: dict[str, str]
    expires: float | None


def parse_rfc3339(text: str) -> float:
    """*text* (`2026-11-30T12:00:00Z`, with any offset and fraction) as seconds since the epoch.

    >>> parse_rfc3339("1970-01-01T01:00:00+01:00")
    0.0
    """
    value = text.strip()
    if value[-1:] in ("z", "Z"):
        value = value[:-1] + "+00:00"
    value = value.replace("t", "T", 1) if "T" not in value else value
    # Python 3.10's fromisoformat takes 3 or 6 fraction digits only.
    value = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "000000")[:6], value, count=1)
    moment = datetime.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment.timestamp()


def parse_helper_answer(data: bytes) -> HelperAnswer:
    """A helper's stdout, checked; raises `ValueError` saying what is wrong (never quoting it)."""
    try:
        answer = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("its output is not a JSON object") from None
    if not isinstance(answer, dict):
        raise ValueError("its output is not a JSON object")  # noqa: TRY004 - one error type
    raw = answer.get("headers", {})
    if not isinstance(raw, dict):
        raise ValueError('"headers" is not an object of header names to lists of values')  # noqa: TRY004
    headers: dict[str, str] = {}
    for name, given in raw.items():
        values = [given] if isinstance(given, str) else given
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise ValueError(f'"headers" has {name!r} with a value that is not a list of strings')
        if values:
            # One header line per name: repeated values join as HTTP lists do.
            headers[name] = ", ".join(values)
    expires = answer.get("expires")
    stamp: float | None = None
    if expires is not None:
        if not isinstance(expires, str):
            raise ValueError('"expires" is not an RFC 3339 time string')
        try:
            stamp = parse_rfc3339(expires)
        except (ValueError, IndexError):
            raise ValueError(f'"expires" is not an RFC 3339 time: {expires[:40]!r}') from None
    return HelperAnswer(headers, stamp)


def format_helper_answer(headers: Mapping[str, Sequence[str]], expires: float | None = None) -> str:
    """The JSON a credential helper prints for *headers*, as Bazel and uv read it."""
    answer: dict[str, object] = {"headers": {k: list(v) for k, v in headers.items()}}
    if expires is not None:
        answer["expires"] = format_rfc3339(expires)
    return json.dumps(answer)


def redact_output(text: str, secrets: Sequence[str] = ()) -> str:
    """*text* from a program's stderr, one line, with anything secret-shaped masked, cut short.

    >>> redact_output("error: token=abc123 rejected by https://u:p@h/x")
    'error: token=**** rejected by https://u:****@h/x'
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    text = _URL.sub(lambda m: redact(m.group(0)), text)
    text = _ASSIGNED.sub(lambda m: m.group(1) + "****", text)
    text = _TOKENISH.sub("****", text)
    text = " ".join(text.split())
    return text[:STDERR_SHOWN] + ("..." if len(text) > STDERR_SHOWN else "")


def _resolve(first: str) -> str | None:
    if os.sep in first or (os.altsep and os.altsep in first):
        return first if os.path.exists(first) else None
    return shutil.which(first)


def _read(stream: IO[bytes], into: bytearray, over: threading.Event) -> None:
    while True:
        chunk = stream.read(65536)
        if not chunk:
            return
        if len(into) + len(chunk) > MAX_OUTPUT:
            over.set()
            return
        into += chunk


def _kill(process: subprocess.Popen[bytes]) -> None:
    try:
        if os.name == "posix":
            # The program's own children (gcloud starts a Python) go too.
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _run(
    kind: str, argv: Sequence[str], stdin: bytes | None, timeout: float
) -> tuple[bytes, bytes, int, float]:
    """Run *argv* without a shell; returns stdout, stderr, exit status and seconds taken."""
    import subprocess  # noqa: PLC0415 - only when a program runs: a request that needs none pays nothing

    first = argv[0]
    exe = _resolve(first)
    if exe is None:
        raise ProgramFailure(
            f"the {kind} `{first}` was not found",
            hint=f"install `{first}` or put it on PATH; run it yourself to check that it works",
            outcome="failed: not found",
        )
    env = dict(os.environ, INDEXAUTH="0")
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            [exe, *argv[1:]],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=os.name == "posix",
        )
    except OSError as exc:
        raise ProgramFailure(
            f"the {kind} `{first}` cannot be run: {exc.strerror or type(exc).__name__}",
            hint=f"check that {exe} is an executable program",
            outcome=f"failed: cannot run ({type(exc).__name__})",
        ) from None
    out, err = bytearray(), bytearray()
    over = threading.Event()
    assert process.stdout is not None  # noqa: S101 - PIPE above
    assert process.stderr is not None  # noqa: S101
    readers = [
        threading.Thread(target=_read, args=(process.stdout, out, over), daemon=True),
        threading.Thread(target=_read, args=(process.stderr, err, over), daemon=True),
    ]
    for reader in readers:
        reader.start()
    if process.stdin is not None:
        try:
            process.stdin.write(stdin or b"")
            process.stdin.close()
        except OSError:
            pass  # it exited or closed stdin: its exit status says the rest
    deadline = started + timeout
    try:
        for reader in readers:
            reader.join(max(deadline - time.monotonic(), 0))
            if over.is_set():
                break
        status = None if over.is_set() else process.wait(max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        status = None
    took = time.monotonic() - started
    if status is None or any(r.is_alive() for r in readers):
        _kill(process)
        process.wait()
        for stream in (process.stdout, process.stderr):
            stream.close()
        if over.is_set():
            raise ProgramFailure(
                f"the {kind} `{first}` printed more than {MAX_OUTPUT // 1024} KiB; it was stopped",
                hint=f"check that `{first}` is the right program: it should print one token",
                outcome="failed: too much output",
            )
        raise ProgramFailure(
            f"the {kind} `{first}` did not finish within {timeout:g} s and was stopped",
            hint=f"run `{first}` yourself to see what it waits for (a login prompt, a browser); "
            "keyring_timeout sets the limit",
            outcome=f"failed: no answer in {timeout:g} s, stopped",
        )
    process.stdout.close()
    process.stderr.close()
    return bytes(out), bytes(err), status, took


def _stderr_note(err: bytes, secrets: Sequence[str]) -> str:
    text = redact_output(err.decode("utf-8", "replace"), secrets)
    return f": {text}" if text else " (no error output)"


def run_password_command(argv: Sequence[str], timeout: float) -> tuple[str, float]:
    """The password *argv* prints (trimmed) and the seconds it took; raises `ProgramFailure`."""
    kind, first = "password command", argv[0]
    out, err, status, took = _run(kind, argv, None, timeout)
    text = out.decode("utf-8", "replace").strip()
    if status != 0:
        raise ProgramFailure(
            f"the {kind} `{first}` failed with exit status {status}{_stderr_note(err, [text])}",
            hint=f"run the {kind} of this index yourself to see the whole error "
            "(often: log in again, or the profile or account is wrong)",
            outcome=f"failed: exit status {status} after {took:.2f} s",
        )
    if not text:
        raise ProgramFailure(
            f"the {kind} `{first}` printed nothing{_stderr_note(err, [])}",
            hint=f"the {kind} must print the password or token on stdout; run it yourself "
            "to see what it prints",
            outcome=f"failed: empty output after {took:.2f} s",
        )
    return text, took


def run_credential_helper(
    argv: Sequence[str], uri: str, timeout: float
) -> tuple[HelperAnswer, float]:
    """`<argv> get` for *uri*: the headers and expiry it gives; raises `ProgramFailure`."""
    kind, first = "credential helper", argv[0]
    request = json.dumps({"uri": strip_userinfo(uri)}).encode()
    out, err, status, took = _run(kind, [*argv, "get"], request, timeout)
    if status != 0:
        raise ProgramFailure(
            f"the {kind} `{first}` failed with exit status {status}"
            f"{_stderr_note(err, [out.decode('utf-8', 'replace').strip()])}",
            hint=f"run `echo '{{\"uri\": \"{redact(uri)}\"}}' | {first} ... get` yourself to see "
            "the whole error",
            outcome=f"failed: exit status {status} after {took:.2f} s",
        )
    try:
        answer = parse_helper_answer(out)
    except ValueError as exc:
        raise ProgramFailure(
            f"the {kind} `{first}` gave an answer indexauth cannot use: {exc}",
            hint='a helper prints {"headers": {"Authorization": ["Bearer ..."]}, "expires": '
            '"2026-01-01T00:00:00Z"} (Bazel\'s credential-helper protocol)',
            outcome=f"failed: unusable answer after {took:.2f} s",
        ) from None
    return answer, took


class ProgramSource:
    """The index's password command (*kind* `"password command"`) or credential helper.

    One instance per kind sits in the chain after the environment and before
    the store. It acts only for indexes configured with its kind of program;
    the resolver caches what it returns until it expires.
    """

    eager = False

    def __init__(
        self, kind: str, *, timeout: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.name = kind
        self.timeout = timeout
        self.clock = clock
        self._lock = threading.Lock()
        self._runs: dict[str, int] = {}

    def __reduce__(self) -> tuple[object, ...]:
        # A copy (a pickled adapter) starts afresh: no lock, no run counts, the real clock.
        return (_program_source, (self.name, self.timeout))

    def find(self, target: Target, username: str | None, record: Recorder) -> Credentials | None:
        index = target.index
        program = index.program if index is not None else None
        if index is None or program is None or program[0] != self.name:
            return None
        argv = program[1]
        where = f"`{argv[0]}`"
        if index.untrusted_origin is not None:
            # Settings never give one to such an index; this holds for code paths too.
            record(self.name, where, username, "skipped: the index comes from a working-directory file")
            return None
        with self._lock:
            run = self._runs[index.url] = self._runs.get(index.url, 0) + 1
        issued = self.clock()
        try:
            if self.name == "password command":
                password, took = run_password_command(argv, self.timeout)
                expires = None
                creds = Credentials(username or "", password)
            else:
                answer, took = run_credential_helper(argv, target.url or index.url, self.timeout)
                expires = answer.expires
                if not answer.headers:
                    record(self.name, where, username, f"no headers for this URL (ran in {took:.2f} s)")
                    return None
                creds = Credentials.from_headers(answer.headers)
        except ProgramFailure as failure:
            record(self.name, where, username, failure.outcome)
            raise SourceFailure(failure.message, hint=failure.hint) from None
        except ConfigurationError as exc:
            # A line break in the password, or a header name that is no header name.
            record(self.name, where, username, "failed: unusable output")
            raise SourceFailure(
                f"the {self.name} `{argv[0]}` gave unusable output: {exc.summary}",
                hint=exc.hint or f"run the {self.name} of this index yourself to check its output",
            ) from None
        made = ProgramRun(self.name, argv[0], took, issued, expires, run)
        creds = creds.made_by(made)
        record(self.name, where, creds.username or username, "found: " + made.describe())
        return creds


def _program_source(kind: str, timeout: float) -> ProgramSource:
    return ProgramSource(kind, timeout=timeout)


def describe_expiry(expires: float | None) -> str:
    """`2026-11-30T12:00:00Z`, or `for this process` when the program gave no expiry."""
    return format_rfc3339(expires) if expires is not None else "for this process"
