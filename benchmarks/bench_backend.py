"""What indexauth's keyring backend (INDEXAUTH=1) adds to a keyring lookup that misses.

    python benchmarks/bench_backend.py [--quick]

Three figures, each a ratio INDEXAUTH=1 / INDEXAUTH unset, both sides interleaved
(the order flipped every round), median and min .. max over the rounds:

1. `keyring --mode creds --output json get SERVICE`, a miss: what uv and pip's
   `subprocess` provider pay per call (process start, keyring's entry points,
   indexauth's chain: environment, its store, uv's store, netrc).
2. In process, `import keyring` and the first `keyring.get_credential(SERVICE, None)`,
   a miss: what twine and pip's `import` provider pay once per process.
3. In process, the same miss asked again (1,000 times): the chain remembers misses.

keyring detects its backends itself (keyrings.alt's plaintext file is the real
backend here), in a throwaway HOME with an empty indexauth store and uv store.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

SERVICE = "https://pkgs.example.com/simple/"

_IN_PROCESS = """
import json, sys, time
service = sys.argv[1]
start = time.perf_counter()
import keyring
assert keyring.get_credential(service, None) is None
first = time.perf_counter() - start
start = time.perf_counter()
for _ in range(1000):
    keyring.get_credential(service, None)
again = (time.perf_counter() - start) / 1000
print(json.dumps({"first": first, "again": again}))
"""


def environment(home: Path, on: bool) -> dict[str, str]:
    """A clean environment: throwaway HOME and data dirs, keyring's own detection."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INDEXAUTH", "UV_", "PYTHON_KEYRING"))}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        NETRC=str(home / "netrc"),
    )
    if on:
        env["INDEXAUTH"] = "1"
    return env


def interleave(a: Callable[[], float], b: Callable[[], float], rounds: int) -> list[float]:
    """Ratios b/a over *rounds*, the order flipped each round."""
    ratios = []
    for i in range(rounds):
        if i % 2:
            tb, ta = b(), a()
        else:
            ta, tb = a(), b()
        ratios.append(tb / ta)
    return ratios


def row(name: str, ratios: list[float], detail: str) -> dict[str, object]:
    """One figure: median ratio, spread, and the absolute times behind it."""
    return {
        "figure": name,
        "ratio": round(statistics.median(ratios), 3),
        "min": round(min(ratios), 3),
        "max": round(max(ratios), 3),
        "rounds": len(ratios),
        "detail": detail,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the three figures and print them (and JSON with --json)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    exe = shutil.which("keyring", path=str(Path(sys.executable).parent))
    if exe is None:
        print("no keyring command next to this interpreter: pip install -e '.[test]'", file=sys.stderr)
        return 1
    rounds = 6 if args.quick else 15
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        off, on = environment(home, on=False), environment(home, on=True)
        listed = subprocess.run([exe, "--list-backends"], env=on, capture_output=True, text=True, check=True)
        assert "IndexAuthKeyring" in listed.stdout, "indexauth's backend is not installed here"

        def command(env: dict[str, str]) -> Callable[[], float]:
            def run() -> float:
                start = time.perf_counter()
                for _ in range(3):
                    done = subprocess.run(
                        [exe, "--mode", "creds", "--output", "json", "get", SERVICE],
                        env=env, capture_output=True, stdin=subprocess.DEVNULL, check=False,
                    )
                    assert done.returncode == 1, done.stderr  # a miss
                return (time.perf_counter() - start) / 3

            return run

        times: dict[str, list[float]] = {"off": [], "on": []}

        def timed(name: str, fn: Callable[[], float]) -> Callable[[], float]:
            def run() -> float:
                value = fn()
                times[name].append(value)
                return value

            return run

        ratios = interleave(timed("off", command(off)), timed("on", command(on)), rounds)
        rows.append(
            row(
                "keyring command, one miss",
                ratios,
                f"{statistics.median(times['off']) * 1000:.0f} ms unset, "
                f"{statistics.median(times['on']) * 1000:.0f} ms with INDEXAUTH=1",
            )
        )

        samples: dict[str, list[dict[str, float]]] = {"off": [], "on": []}

        def in_process(name: str, env: dict[str, str], key: str) -> Callable[[], float]:
            def run() -> float:
                done = subprocess.run(
                    [sys.executable, "-c", _IN_PROCESS, SERVICE], env=env, capture_output=True,
                    text=True, check=True,
                )
                sample = json.loads(done.stdout)
                samples[name].append(sample)
                return float(sample[key])

            return run

        first = interleave(in_process("off", off, "first"), in_process("on", on, "first"), rounds)
        rows.append(
            row(
                "in process, import + first miss",
                first,
                f"{statistics.median(s['first'] for s in samples['off']) * 1000:.0f} ms unset, "
                f"{statistics.median(s['first'] for s in samples['on']) * 1000:.0f} ms with INDEXAUTH=1",
            )
        )
        again_off = [s["again"] for s in samples["off"]]
        again_on = [s["again"] for s in samples["on"]]
        rows.append(
            row(
                "in process, the same miss again",
                [b / a for a, b in zip(again_off, again_on, strict=True)],
                f"{statistics.median(again_off) * 1e6:.1f} µs unset, "
                f"{statistics.median(again_on) * 1e6:.1f} µs with INDEXAUTH=1",
            )
        )
    for item in rows:
        print(
            f"{item['figure']:<34} {item['ratio']:.3f}x  ({item['min']:.3f} .. {item['max']:.3f}, "
            f"{item['rounds']} rounds)  {item['detail']}"
        )
    if args.json:
        args.json.write_text(json.dumps({"python": sys.version, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
