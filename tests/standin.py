"""A stand-in for the CLIs that hand out tokens (aws, gcloud, az, glab, a Bazel helper).

Tests install it on PATH under the real program's name (`StandIn.install`);
it never reaches the network. What it does is read from its state directory,
`$STANDIN_HOME/<name>/`, so a test can change it between calls:

- `tokens`: one token per line; call N prints line N (the last one once they run out),
  so a test can make the token rotate.
- `fail`: when present, print its text to stderr and exit with status 1
  (`status` sets another one); `fail-from` holds the first call number that fails.
- `hang`: when present, wait far longer than any test timeout.
- `helper`: when present, speak Bazel's credential-helper protocol: read
  `{"uri": ...}` from stdin and print `{"headers": {NAME: [VALUE]}, "expires": ...}`,
  the header name and a value template (`Bearer {token}`) from this file's two
  lines, `expires` from the file `expires`, one line per call like `tokens`
  (left out when absent).
- `empty`: when present, print nothing and exit 0.

Every call appends one JSON line to `calls`: its arguments and its stdin.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> int:
    """Behave as the state directory says; see the module docstring."""
    state = Path(os.environ["STANDIN_HOME"]) / Path(sys.argv[0]).name
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    with (state / "calls").open("a") as calls:
        # One short write per call with O_APPEND: concurrent calls never interleave.
        calls.write(json.dumps({"argv": sys.argv[1:], "stdin": stdin}) + "\n")
    number = len((state / "calls").read_text().splitlines())
    if (state / "hang").exists():
        time.sleep(600)
    fail_from = state / "fail-from"
    if (state / "fail").exists() and number >= (int(fail_from.read_text()) if fail_from.exists() else 1):
        sys.stderr.write((state / "fail").read_text())
        status = state / "status"
        return int(status.read_text()) if status.exists() else 1
    if (state / "empty").exists():
        return 0
    tokens = (state / "tokens").read_text().split()
    token = tokens[min(number, len(tokens)) - 1]
    helper = state / "helper"
    if not helper.exists():
        print(token)
        return 0
    if sys.argv[-1] != "get":
        sys.stderr.write(f"unknown command {sys.argv[1:]!r}\n")
        return 2
    json.loads(stdin)["uri"]  # a helper that is not given a URI fails as a real one would
    name, template = helper.read_text().splitlines()[:2]
    answer: dict[str, object] = {"headers": {name: [template.format(token=token)]}}
    if (state / "expires").exists():
        times = (state / "expires").read_text().split()
        answer["expires"] = times[min(number, len(times)) - 1]
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
