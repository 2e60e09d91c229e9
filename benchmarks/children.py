"""Global mode in child interpreters: `pip --python` and `python -m build`, against credentials in the URL.

    python benchmarks/children.py [--rounds N] [--json PATH]

One parent venv has the built indexauth wheel; the children have none. A real
pypiserver with htpasswd on 127.0.0.1 serves the private index. Each round
runs both sides, interleaved and in alternating order:

- indexauth: `INDEXAUTH=1`, `PIP_INDEX_URL` without credentials, the password
  in the parent's keyring (a JSON-file backend that logs every lookup and the
  process that made it);
- baseline: `INDEXAUTH` unset, `PIP_INDEX_URL=http://alice:PASSWORD@…`: what
  users do today, with the secret in the environment.

Counts (requests, 401s, keyring lookups, processes that looked up) are exact;
wall times are medians over the rounds, with the ratio's min .. max.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TESTS = ROOT / "tests"
sys.path.insert(0, str(TESTS))

from pypi_front import BACKEND, Front, pypi_app, write_wheel  # noqa: E402

QUIET = ["--no-cache-dir", "--disable-pip-version-check", "-q"]


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=900, **kwargs)


def _setup(base: Path) -> tuple[Path, Path, Path]:
    """The parent venv (indexauth wheel), a bare child venv, and a project with a private backend."""
    _run([sys.executable, "-m", "build", "--wheel", "--outdir", str(base / "wheel"), str(ROOT)])
    wheel = next((base / "wheel").glob("indexauth-*.whl"))
    parent = base / "parent"
    _run([sys.executable, "-m", "venv", str(parent)])
    python = parent / "bin" / "python"
    env = dict(os.environ, PIP_CONFIG_FILE=os.devnull)
    _run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip>=23.1", *QUIET[:2]], env=env)
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", *QUIET, str(wheel)], env=env)
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout
    # build, keyring and wrapt from this environment; the tests' keyring backend.
    Path(purelib.strip(), "aa_tools.pth").write_text(f"{sysconfig.get_path('purelib')}\n{TESTS}\n", "utf-8")
    other = base / "other"
    _run([sys.executable, "-m", "venv", "--without-pip", str(other)])
    project = base / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["privbackend"]\nbuild-backend = "privbackend"\n', "utf-8"
    )
    (project / "NAME").write_text("built", "utf-8")
    return python, other / "bin" / "python", project


def main() -> int:
    """Run the rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=HERE / "results" / "children.json")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="indexauth-bench-children-"))
    try:
        return _bench(base, args.rounds, args.json)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _bench(base: Path, rounds: int, out: Path) -> int:
    index = base / "index"
    index.mkdir()
    write_wheel(index, "demo")
    write_wheel(index, "privbackend", {"privbackend.py": BACKEND})
    front = Front(mounts={"a": pypi_app(index, {"alice": "pw-a"})}).start()
    parent, other, project = _setup(base)
    home = base / "home"
    keyring = base / "keyring.json"
    url = front.url("a")
    keyring.write_text(json.dumps({url: {"alice": "pw-a"}}), "utf-8")
    common = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "PIP_CONFIG_FILE": os.devnull,
        "PATH": os.pathsep.join([str(parent.parent), "/usr/bin", "/bin"]),
        "PYTHON_KEYRING_BACKEND": "kr_backends.JsonFileKeyring",
        "INDEXAUTH_TEST_KEYRING": str(keyring),
    }
    common.pop("INDEXAUTH", None)
    sides = {
        "indexauth": {**common, "INDEXAUTH": "1", "PIP_INDEX_URL": url},
        # For the breakdown: the same without a keyring lookup (no parent Python started).
        "indexauth, INDEXAUTH_INDEX_* credentials": {
            **common, "INDEXAUTH": "1", "PIP_INDEX_URL": url, "INDEXAUTH_INDEX_TEAM_URL": url,
            "INDEXAUTH_INDEX_TEAM_USERNAME": "alice", "INDEXAUTH_INDEX_TEAM_PASSWORD": "pw-a",
        },
        "credentials in URL": {**common, "PIP_INDEX_URL": url.replace("http://", "http://alice:pw-a@")},
    }
    commands = {
        "pip --python OTHER install": lambda n: [
            str(parent), "-m", "pip", "--python", str(other), "install", *QUIET,
            "--target", str(base / f"t{n}"), "demo",
        ],
        "python -m build (private backend)": lambda n: [
            str(parent), "-m", "build", "--wheel", "--outdir", str(base / f"d{n}"), str(project),
        ],
    }
    results: dict[str, dict[str, dict[str, Any]]] = {}
    counter = 0
    for figure, command in commands.items():
        stats: dict[str, dict[str, Any]] = {side: {"wall": []} for side in sides}
        for round_ in range(rounds):
            order = list(sides) if round_ % 2 == 0 else list(reversed(sides))  # alternate who goes first
            for side in order:
                counter += 1
                front.hits.clear()
                log = Path(f"{keyring}.log")
                log.unlink(missing_ok=True)
                start = time.perf_counter()
                _run(command(counter), env=sides[side])
                stats[side]["wall"].append(time.perf_counter() - start)
                lines = log.read_text("utf-8").splitlines() if log.exists() else []
                stats[side].update(
                    requests=len(front.hits),
                    challenges=sum(1 for h in front.hits if h.status == 401),
                    lookups=len(lines),
                    processes=len({json.loads(line)[2] for line in lines}),
                )
        results[figure] = stats
    front.stop()
    _report(results, rounds, out)
    return 0


def _report(results: dict[str, dict[str, dict[str, Any]]], rounds: int, out: Path) -> None:
    header = ["figure", "side", "wall s (median)", "ratio (min .. max)", "requests", "401s", "lookups",
              "processes that looked up"]
    rows = [header]
    for figure, stats in results.items():
        theirs = stats["credentials in URL"]["wall"]
        for side, s in stats.items():
            ratios = [a / b for a, b in zip(s["wall"], theirs)]
            ratio = f"{statistics.median(ratios):.3f} ({min(ratios):.3f} .. {max(ratios):.3f})"
            rows.append([figure, side, f"{statistics.median(s['wall']):.2f}", ratio, str(s["requests"]),
                         str(s["challenges"]), str(s["lookups"]), str(s["processes"])])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print(f"\n{rounds} interleaved rounds; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rounds": rounds, "results": results}, indent=2), "utf-8")


if __name__ == "__main__":
    sys.exit(main())
