"""What indexauth costs, measured beside what users run today, in one run.

    python benchmarks/run.py [--quick] [--json PATH] [--only NAME ...]

Where valgrind is installed, start-up and per-request costs are counted in
instructions (callgrind), which do not move with machine load: a ratio of
instruction counts against the same work without indexauth. Wall-time
comparisons run both sides in the same run, interleaved (and in alternating
order), so machine noise hits both; results are ratios with min/median/max
over the rounds. Counts (requests, challenges, lookups) are exact. See
benchmarks/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
USER, PASSWORD = "alice", "bench-password"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@dataclass
class Row:
    """One figure: a ratio (with its spread) or a count, its target and whether it is met."""

    figure: str
    name: str
    value: float
    unit: str
    low: float | None = None
    high: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def cells(self) -> list[str]:
        """The row as table cells."""
        spread = f"{self.low:.3f} .. {self.high:.3f}" if self.low is not None else ""
        verdict = {True: "met", False: "MISSED", None: ""}[self.met]
        value = f"{self.value:.3f}" if self.unit == "x" else f"{self.value:g}"
        return [
            self.figure,
            self.name,
            f"{value} {self.unit}".strip(),
            spread,
            self.target,
            verdict,
            self.note,
        ]


def ratio_row(figure: str, name: str, ratios: list[float], limit: float | None, note: str = "") -> Row:
    """A row from per-round ratios; the target is checked against the median."""
    med = statistics.median(ratios)
    return Row(
        figure,
        name,
        med,
        "x",
        min(ratios),
        max(ratios),
        f"<= {limit:g}x" if limit else "",
        (med <= limit) if limit else None,
        note,
    )


def interleave(a: Callable[[], float], b: Callable[[], float], rounds: int) -> list[float]:
    """Run *a* and *b* alternately (order flipped every round); the ratios b/a."""
    ratios = []
    for i in range(rounds):
        if i % 2:
            tb, ta = b(), a()
        else:
            ta, tb = a(), b()
        ratios.append(tb / ta)
    return ratios


def callgrind(argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> int | None:
    """Instructions the process *argv* executes, counted by valgrind's callgrind; None without valgrind."""
    if shutil.which("valgrind") is None:
        return None
    child_env = {**(os.environ if env is None else env), "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        capture_output=True,
        text=True,
        env=child_env,
        cwd=cwd,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"callgrind run failed: {argv}\n{done.stderr[-2000:]}")
    return int(found.group(1))


def count_row(figure: str, name: str, ours: int, base: int, limit: float | None, note: str = "") -> Row:
    """A row from two instruction counts: ours / the same work without indexauth."""
    ratio = ours / base
    return Row(
        figure,
        name,
        ratio,
        "x",
        target=f"<= {limit:g}x" if limit else "",
        met=(ratio <= limit) if limit else None,
        note=note,
        extra={"instructions": {"ours": ours, "without": base}},
    )


def timed(fn: Callable[[], object]) -> float:
    """Seconds *fn* takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- the server and the environment ---------------------------------------------------------


@contextmanager
def bench_server() -> Iterator[str]:
    """The keep-alive benchmark server in its own process; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "bench_server.py"), USER, PASSWORD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    port = int(proc.stdout.readline())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stdin.close()
        proc.wait(timeout=10)


def server_stats(base: str, reset: bool = False) -> dict[str, int]:
    """What the server has seen (and optionally forget it)."""
    import urllib.request

    with urllib.request.urlopen(base + ("/_reset" if reset else "/_stats"), timeout=10) as r:
        return dict(json.loads(r.read()))


def set_keyring(entries: dict[str, dict[str, str]], delay: float = 0.0) -> None:
    """Point keyring (in this process and children) at the counting benchmark backend."""
    os.environ["PYTHON_KEYRING_BACKEND"] = "bench_keyring.MemoryKeyring"
    os.environ["BENCH_KEYRING"] = json.dumps(entries)
    os.environ["BENCH_KEYRING_DELAY"] = str(delay)
    os.environ["PYTHONPATH"] = str(HERE)
    import keyring.core

    keyring.core.init_backend()


def keyring_calls() -> int:
    """Lookups the benchmark backend has answered in this process."""
    import bench_keyring

    return bench_keyring.CALLS["n"]


def isolate() -> None:
    """No credentials from the machine: an empty netrc, no index variables."""
    empty = Path(tempfile.mkdtemp()) / "netrc"
    empty.write_text("")
    empty.chmod(0o600)
    os.environ["NETRC"] = str(empty)
    for name in list(os.environ):
        if name.startswith(("INDEXAUTH", "UV_INDEX", "PIP_")):
            del os.environ[name]


# -- 1. start-up when disabled, 2. import ---------------------------------------------------


# What any `.pth` line that runs code costs: site opens and reads the file, then
# compiles and runs the line. The unset start-up is compared against this too.
BASELINE_PTH = "import os\n"


def build_venvs(tmp: Path) -> tuple[Path, Path, Path]:
    """Three venvs of this interpreter: bare, bare with a one-line `import os` .pth, and with indexauth."""
    wheels = tmp / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        check=True,
    )
    wheel = next(wheels.glob("indexauth-*.whl"))
    bare, pth, ours = tmp / "bare", tmp / "pth", tmp / "ours"
    for venv in (bare, pth, ours):
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = subprocess.run(
        [str(pth / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "baseline.pth").write_text(BASELINE_PTH)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(ours / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        check=True,
    )
    return bare / "bin" / "python", pth / "bin" / "python", ours / "bin" / "python"


def figure_startup(quick: bool) -> list[Row]:
    """`python -c pass` with indexauth installed and INDEXAUTH unset, against a bare venv."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bare, pth, ours = build_venvs(Path(tmp))
        env = {k: v for k, v in os.environ.items() if k not in ("INDEXAUTH", "PYTHONPATH")}
        site = subprocess.run(
            [str(ours), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()
        has_hook = (Path(site) / "indexauth.pth").exists()

        # One process start is ~20 ms and jitters by several ms on a shared machine, far
        # more than the effect measured; each round therefore times a block of starts.
        per_block = 10

        def run(python: Path, extra: dict[str, str] | None = None) -> Callable[[], float]:
            argv, child_env = [str(python), "-c", "pass"], {**env, **(extra or {})}
            return lambda: timed(
                lambda: [subprocess.run(argv, env=child_env, check=True) for _ in range(per_block)]
            )

        # Instruction counts first: exact, so they carry the targets.
        counted = {
            label: callgrind([str(python), "-c", "pass"], {**env, **extra})
            for label, python, extra in (
                ("bare", bare, {}),
                ("pth", pth, {}),
                ("unset", ours, {}),
                ("on", ours, {"INDEXAUTH": "1"}),
            )
        }
        if counted["bare"] is not None:
            base, any_pth, unset = counted["bare"], counted["pth"] or 0, counted["unset"] or 0
            rows.append(
                count_row(
                    "1 start-up",
                    "python -c pass, INDEXAUTH unset / bare venv: instructions",
                    unset,
                    base,
                    None,
                    f"{unset - base:+,} instructions, of which a one-line `import os` .pth alone costs "
                    f"{any_pth - base:+,} ({any_pth / base:.4f}x)",
                )
            )
            # No .pth line costs nothing: site reads the file and compiles the line. What is
            # indexauth's is what its line costs beyond the shortest line that runs code.
            rows.append(
                count_row(
                    "1 start-up",
                    "python -c pass, INDEXAUTH unset / venv with a one-line `import os` .pth: instructions",
                    unset,
                    any_pth,
                    1.01,
                    f"{unset - any_pth:+,} instructions for indexauth's line beyond `import os`",
                )
            )
            rows.append(
                count_row(
                    "1 start-up",
                    "python -c pass, INDEXAUTH=1 / bare venv: instructions",
                    counted["on"] or 0,
                    base,
                    1.10,
                    f"{(counted['on'] or 0) - base:+,} instructions; hooks registered, nothing imported "
                    "until pip/requests/httpx are",
                )
            )
        rounds = 10 if quick else 40
        run(bare)(), run(ours)()  # warm the file cache
        rows.append(
            ratio_row(
                "1 start-up",
                f"wall time: INDEXAUTH unset / bare venv ({per_block} starts a round)",
                interleave(run(bare), run(ours), rounds),
                None if counted["bare"] is not None else 1.01,
                "hook file present" if has_hook else "no .pth in this wheel yet",
            )
        )
        if has_hook:
            rows.append(
                ratio_row(
                    "1 start-up",
                    "wall time: INDEXAUTH=1 / bare venv",
                    interleave(run(bare), run(ours, {"INDEXAUTH": "1"}), rounds // 2),
                    None if counted["bare"] is not None else 1.10,
                    "hooks registered, nothing imported until pip/requests/httpx are",
                )
            )
        loaded = subprocess.run(
            [str(ours), "-c", "import sys; print(sorted(m for m in sys.modules if 'indexauth' in m))"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.strip()
        rows.append(
            Row(
                "1 start-up",
                "indexauth modules loaded at start-up, INDEXAUTH unset",
                0 if loaded == "[]" else len(loaded.split(",")),
                "modules",
                target="0",
                met=loaded == "[]",
                note=f"sys.modules has {loaded}",
            )
        )
        code = (
            "import sys, time; before = set(sys.modules); t = time.perf_counter(); import indexauth;"
            " t = time.perf_counter() - t;"
            " heavy = sorted({'requests','httpx','httpx2','keyring','wrapt','anyio'}"
            " & set(sys.modules)); new = len(set(sys.modules) - before);"
            " print(t, new, ','.join(heavy))"
        )
        times, new, heavy = [], 0, ""
        for _ in range(10 if quick else 30):
            out = subprocess.run(
                [str(ours), "-c", code], capture_output=True, text=True, check=True, env=env
            ).stdout.split(" ")
            times.append(float(out[0]) * 1000)
            new, heavy = int(out[1]), out[2].strip()
        rows.append(
            Row(
                "2 import",
                "import indexauth (median ms; modules it adds)",
                round(statistics.median(times), 3),
                "ms",
                round(min(times), 3),
                round(max(times), 3),
                "no requests/httpx/keyring/wrapt",
                heavy == "",
                f"{new} modules added; heavy: {heavy or 'none'}",
            )
        )
    return rows


# -- 8. start-up with INDEXAUTH=1, before and after instrumenting with wrapt ---------------

# The last commit whose global mode swapped adapters and transports (no wrapt).
BEFORE_WRAPT = "c943bf4"


def startup_venv(tmp: Path, name: str, source: Path) -> Path:
    """A venv (with pip) holding indexauth built from *source*; requests and wrapt come from here."""
    wheels = tmp / f"{name}-wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
        check=True,
    )
    venv = tmp / name
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    wheel = next(wheels.glob("indexauth-*.whl"))
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", str(wheel)],
        check=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    # requests, urllib3, wrapt and friends from this environment, after the venv's own packages.
    (Path(site) / "zz_outer.pth").write_text(sysconfig_purelib() + "\n")
    return python


def sysconfig_purelib() -> str:
    """This interpreter's site-packages."""
    import sysconfig

    return sysconfig.get_paths()["purelib"]


def figure_startup_on(quick: bool) -> list[Row]:
    """`import requests` and `pip --version` with INDEXAUTH=1 against unset, before and after."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        before_src = tmp / "before-src"
        before_src.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", BEFORE_WRAPT], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(before_src)], input=archive, check=True)
        pythons = {
            "before": startup_venv(tmp, "before", before_src),
            "after": startup_venv(tmp, "after", ROOT),
        }
        env = {k: v for k, v in os.environ.items() if k not in ("INDEXAUTH", "PYTHONPATH")}
        per_block = 3 if quick else 5
        rounds = 4 if quick else 20
        commands = {
            "python -c 'import requests'": ["-c", "import requests"],
            "pip --version": ["-m", "pip", "--version"],
        }
        for label, args in commands.items():
            for version, python in pythons.items():
                argv = [str(python), *args]

                def block(extra: dict[str, str], argv: list[str] = argv) -> Callable[[], float]:
                    child = {**env, **extra}
                    return lambda: timed(
                        lambda: [
                            subprocess.run(argv, env=child, check=True, capture_output=True)
                            for _ in range(per_block)
                        ]
                    )

                block({})(), block({"INDEXAUTH": "1"})()  # warm the file cache
                counts = {
                    state: callgrind(argv, {**env, **extra})
                    for state, extra in (("unset", {}), ("on", {"INDEXAUTH": "1"}))
                }
                note = ""
                if counts["unset"] and counts["on"]:
                    note = (
                        f"instructions (callgrind): {counts['on'] / counts['unset']:.3f}x, "
                        f"+{(counts['on'] - counts['unset']) / 1e6:.1f}M"
                    )
                row = ratio_row(
                    "8 start-up on",
                    f"{label}, INDEXAUTH=1 / unset, {version} wrapt ({per_block} starts a round)",
                    interleave(block({}), block({"INDEXAUTH": "1"}), rounds),
                    None,
                    note,
                )
                row.extra = {"instructions": counts, "version": version}
                rows.append(row)
    return rows


# -- 1b. first use ----------------------------------------------------------------------------

# The program each context runs; its first request goes to a configured index (URL last).
FIRST_USE = {
    "a requests program": [
        "-c",
        "import sys, requests; print(requests.Session().get(sys.argv[1]).status_code)",
    ],
    "an httpx program": ["-c", "import sys, httpx; print(httpx.get(sys.argv[1]).status_code)"],
    "pip download": [
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-input",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--keyring-provider",
        "disabled",
        "-d",
        "{home}/dl",
        "--index-url",
        "{base}/simple/",
        "p0",
    ],
}


def import_tree(stderr: str) -> dict[str, tuple[int, str | None]]:
    """From `python -X importtime`: each module's self time (us) and the module that imported it.

    A module is printed after the modules it imports, one level deeper; a module
    imported inside a function at run time has no parent.
    """
    entries = []
    for line in stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3:
            self_us = parts[0].split(":")[1].strip()
            if self_us.isdigit():
                raw = parts[2].rstrip()
                name = raw.strip()
                entries.append(((len(raw) - len(raw.lstrip(" ")) - 1) // 2, name, int(self_us)))
    parent: dict[str, str] = {}
    pending: dict[int, list[str]] = {}
    for depth, name, _us in entries:
        for child in pending.pop(depth + 1, []):
            parent[child] = name
        pending.setdefault(depth, []).append(name)
    return {name: (us, parent.get(name)) for _depth, name, us in entries}


def brought_by_wrapt(name: str, tree: dict[str, tuple[int, str | None]]) -> bool:
    """Whether *name* is wrapt's, or was first imported by wrapt (asyncio: wrapt 2's `synchronization`)."""
    seen: str | None = name
    while seen is not None:
        if seen == "wrapt" or seen.startswith("wrapt."):
            return True
        if "indexauth" in seen:
            return False
        seen = tree.get(seen, (0, None))[1]
    return False


def brought_by_asyncio(name: str, tree: dict[str, tuple[int, str | None]]) -> bool:
    """Whether *name* is asyncio's, or was first imported under asyncio (wrapt 2's `synchronization`)."""
    seen: str | None = name
    while seen is not None:
        if seen == "asyncio" or seen.startswith("asyncio."):
            return True
        if seen == "wrapt" or "indexauth" in seen:
            return False
        seen = tree.get(seen, (0, None))[1]
    return False


# What each program has imported when global mode instruments it: the base of the
# instruction split below (`import wrapt` and indexauth's modules are counted on top).
FIRST_USE_IMPORTS = {
    "a requests program": "requests",
    "an httpx program": "httpx",
    "pip download": "pip._internal.network.session",
}
WRAPT_1 = "wrapt==1.17.3"  # the last wrapt without asyncio in its package __init__


def wrapt_1(tmp: Path) -> str | None:
    """A directory holding wrapt 1 (`pip install --target`), or None when it cannot be had."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target",
         str(tmp / "wrapt1"), WRAPT_1],
        capture_output=True, text=True, check=False,
    )
    return str(tmp / "wrapt1") if done.returncode == 0 else None


def import_instructions(
    context: str, ours: list[str], env: dict[str, str], cwd: str, old_wrapt: str | None
) -> dict[str, int] | None:
    """Instructions of the imports a first request adds, on top of what *context* imported:
    wrapt, asyncio alone, indexauth's modules (after wrapt, so a module both import counts
    once, as wrapt's), and wrapt 1 for information. None without valgrind."""
    base = FIRST_USE_IMPORTS[context]
    own = ", ".join(ours)
    off = {**env, "INDEXAUTH": "0"}
    programs = {
        "base": f"import {base}",
        "wrapt": f"import {base}; import wrapt",
        "asyncio": f"import {base}; import asyncio",
        "indexauth": f"import {base}; import wrapt; import {own}",
    }
    counts: dict[str, int] = {}
    for label, code in programs.items():
        counted = callgrind([sys.executable, "-c", code], off, cwd)
        if counted is None:
            return None
        counts[label] = counted
    if old_wrapt is not None:
        counted = callgrind([sys.executable, "-c", programs["wrapt"]], {**off, "PYTHONPATH": old_wrapt}, cwd)
        if counted is not None:
            counts["wrapt 1"] = counted
    return counts


def import_row(
    context: str, ours: list[str], env: dict[str, str], cwd: str, old_wrapt: str | None
) -> Row | None:
    """Figure 1b's imports in instructions, split as the ms are; None without valgrind."""
    counts = import_instructions(context, ours, env, cwd, old_wrapt)
    if counts is None:
        return None
    ia = counts["indexauth"] - counts["wrapt"]
    wr = counts["wrapt"] - counts["base"]
    asy = counts["asyncio"] - counts["base"]
    old = counts.get("wrapt 1")
    return Row(
        "1b first use",
        f"INDEXAUTH=1, {context}: the same imports, instructions (M)",
        round((ia + wr) / 1e6, 1),
        "M instr",
        note=f"indexauth {ia / 1e6:.1f} M ({len(ours)} modules, counted after wrapt's), "
        f"wrapt {wr / 1e6:.1f} M, of which asyncio alone {asy / 1e6:.1f} M; "
        + (
            f"{WRAPT_1} would be {(old - counts['base']) / 1e6:.1f} M (for information)"
            if old is not None
            else f"{WRAPT_1} not measured"
        ),
        extra={"instructions": counts},
    )


def figure_first_use(quick: bool) -> list[Row]:
    """INDEXAUTH=1: what indexauth imports for a program's first request, in ms, split in two.

    The children write bytecode (as a pip-installed indexauth has it): without it every
    run would time compiling indexauth's source, not importing it.
    """
    rows = []
    rounds = 5 if quick else 15
    with bench_server() as base, tempfile.TemporaryDirectory() as home:
        old_wrapt = wrapt_1(Path(home)) if shutil.which("valgrind") else None
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(
            HOME=home,
            XDG_CONFIG_HOME=home,
            INDEXAUTH_INDEX_BENCH_URL=base + "/simple/",
            INDEXAUTH_INDEX_BENCH_USERNAME=USER,
            INDEXAUTH_INDEX_BENCH_PASSWORD=PASSWORD,
        )
        on, off = {**env, "INDEXAUTH": "1"}, {**env, "INDEXAUTH": "0"}
        url = base + "/simple/p0/"
        for context, args in FIRST_USE.items():
            argv = [sys.executable, "-X", "importtime", *(a.format(home=home, base=base) for a in args)]
            if args[0] == "-c":
                argv.append(url)

            def run(child_env: dict[str, str], argv: list[str] = argv) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    argv, env=child_env, cwd=home, capture_output=True, text=True, check=False, timeout=300
                )

            without = set(import_tree(run(off).stderr))
            run(on)  # writes indexauth's bytecode, if this is its first run
            server_stats(base, reset=True)
            first = run(on)
            stats = server_stats(base)
            totals: list[float] = []
            parts: dict[str, list[float]] = {"indexauth": [], "wrapt": [], "asyncio": []}
            tree: dict[str, tuple[int, str | None]] = {}
            for _ in range(rounds):
                tree = import_tree(run(on).stderr)
                extra = {name: us for name, (us, _p) in tree.items() if name not in without}
                wrapt = sum(us for name, us in extra.items() if brought_by_wrapt(name, tree))
                asyncio_us = sum(
                    us for name, us in extra.items()
                    if brought_by_wrapt(name, tree) and brought_by_asyncio(name, tree)
                )
                totals.append(sum(extra.values()) / 1000)
                parts["wrapt"].append(wrapt / 1000)
                parts["asyncio"].append(asyncio_us / 1000)
                parts["indexauth"].append((sum(extra.values()) - wrapt) / 1000)
            extra_names = sorted(name for name in tree if name not in without)
            by_wrapt = [name for name in extra_names if brought_by_wrapt(name, tree)]
            ours = [name for name in extra_names if name not in by_wrapt]
            own = [name for name in ours if "indexauth" in name]
            median = statistics.median(totals)
            wrapt_ms, ours_ms = statistics.median(parts["wrapt"]), statistics.median(parts["indexauth"])
            asyncio_ms = statistics.median(parts["asyncio"])
            by_asyncio = [name for name in by_wrapt if brought_by_asyncio(name, tree)]
            heavy = sorted(((n, tree[n][0]) for n in ours), key=lambda item: -item[1])[:5]
            rows.append(
                Row(
                    "1b first use",
                    f"INDEXAUTH=1, {context}: imports for the first request (median ms, self import time)",
                    round(median, 2),
                    "ms",
                    round(min(totals), 2),
                    round(max(totals), 2),
                    "<= 10 ms",
                    median <= 10,
                    f"{len(extra_names)} modules more than INDEXAUTH=0: indexauth {ours_ms:.1f} ms "
                    f"({len(ours)} modules, {len(own)} of them its own), wrapt {wrapt_ms:.1f} ms "
                    f"({len(by_wrapt)} modules: wrapt and what it imports first; of which asyncio "
                    f"{asyncio_ms:.1f} ms, {len(by_asyncio)} modules); {stats.get('requests', 0)} "
                    f"requests, {stats.get('challenges', 0)} 401s (exit {first.returncode}); indexauth's "
                    "heaviest (ms): " + ", ".join(f"{n} {us / 1000:.1f}" for n, us in heavy),
                    extra={
                        "indexauth_ms": ours_ms,
                        "wrapt_ms": wrapt_ms,
                        "asyncio_ms": asyncio_ms,
                        "indexauth_modules": ours,
                        "wrapt_modules": by_wrapt,
                    },
                )
            )
            row = import_row(context, ours, env, home, old_wrapt)
            if row is not None:
                rows.append(row)
            if context == "a requests program":
                plain = [sys.executable, *args, url]
                counted_on = callgrind(plain, on, home)
                counted_off = callgrind(plain, off, home)
                if counted_on is not None and counted_off is not None:
                    rows.append(
                        count_row(
                            "1b first use",
                            "import requests + first request, INDEXAUTH=1 / INDEXAUTH=0: instructions",
                            counted_on,
                            counted_off,
                            None,
                            f"{counted_on - counted_off:+,} instructions (the INDEXAUTH=0 run gets a 401 "
                            "and stops)",
                        )
                    )
    return rows


# -- 3b. added cost per request, 9. scaling -----------------------------------------------------

COST = str(HERE / "bench_cost.py")


def compile_first(argv: list[str], env: dict[str, str] | None = None) -> None:
    """Run *argv* once, uncounted, so the counted runs that follow find bytecode written.

    The first process to import a module whose source changed compiles it (tens
    of millions of instructions) and writes its bytecode: counted in one of two
    runs and not the other, that lands in the difference between them.
    """
    subprocess.run(argv, env=env, capture_output=True, check=False)


def per_request_instructions(driver: str, side: str, n: int, *extra: str) -> int | None:
    """Instructions one request costs: a run with *n* requests minus a run with none, over *n*."""
    # Not the thousands of INDEXAUTH_INDEX_* variables this process set for its own clients:
    # the child sets its own, and an inherited environment that large skewed the counts.
    env = {k: v for k, v in os.environ.items() if not k.startswith("INDEXAUTH_INDEX_")}
    compile_first([sys.executable, COST, driver, side, "0", *extra], env)
    with_n = callgrind([sys.executable, COST, driver, side, str(n), *extra], env)
    without = callgrind([sys.executable, COST, driver, side, "0", *extra], env)
    if with_n is None or without is None:
        return None
    return (with_n - without) // n


def per_request_us(get: Callable[[str], Any], urls: list[str], n: int) -> float:
    """Microseconds per request for *n* requests through *get*."""
    start = time.perf_counter()
    for i in range(n):
        get(urls[i % len(urls)])
    return (time.perf_counter() - start) / n * 1e6


def figure_added_cost(quick: bool) -> list[Row]:
    """What the adapter and the transports add per request, around an in-memory inner one."""
    import bench_cost

    rows = []
    added: dict[str, int] = {}
    n = 100 if quick else 300
    urls = bench_cost.request_urls(1, "one-host")
    rounds, per_round = (5, 300) if quick else (15, 1000)
    for driver in ("requests", "httpx", "httpx-async", "httpx-global", "httpx-async-global"):
        # Global mode (httpx's own transport instrumented) runs the same handle()/ahandle()
        # as the transports, plus wrapt's wrappers and the client observer.
        in_global = driver.endswith("-global")
        plain_i = per_request_instructions(driver, "plain", n)
        ours_i = per_request_instructions(driver, "ours", n)
        plain = bench_cost.make_client(driver, "plain")
        # Global mode's "ours" would instrument this very process: its wall time is not taken.
        ours = plain if in_global else bench_cost.make_client(driver, "ours")
        plain(urls[0]), ours(urls[0])
        walls: dict[str, list[float]] = {"plain": [], "ours": []}
        for i in range(rounds):
            for side in ("plain", "ours") if i % 2 else ("ours", "plain"):
                walls[side].append(per_request_us(plain if side == "plain" else ours, urls, per_round))
        # The fastest round is the least disturbed by other work on the machine.
        plain_us, ours_us = min(walls["plain"]), min(walls["ours"])
        wall = f"wall {plain_us:.1f} -> {ours_us:.1f} us = {ours_us - plain_us:+.1f} us (fastest of {rounds})"
        if in_global:
            wall = f"wall {plain_us:.1f} us without indexauth (fastest of {rounds}); ours not timed here"
        if (plain_i is None or ours_i is None) and in_global:
            continue  # without valgrind there is nothing to say about global mode here
        if plain_i is None or ours_i is None:
            rows.append(
                Row(
                    "3b added cost",
                    f"{driver}: added per request (wall)",
                    round(ours_us - plain_us, 2),
                    "us",
                    target="<= 8 us",
                    met=ours_us - plain_us <= 8,
                    note=wall + "; no valgrind",
                )
            )
            continue
        added[driver] = ours_i - plain_i
        # Instructions are exact; this machine's own rate turns them into time.
        ns_each = plain_us * 1000 / plain_i
        estimate = added[driver] * ns_each / 1000
        what = "global mode (INDEXAUTH=1), in-memory pool" if in_global else "in-memory inner transport"
        rows.append(
            Row(
                "3b added cost",
                f"{driver.removesuffix('-global')}: added per request, {what}",
                round(estimate, 2),
                "us",
                target="" if in_global else "<= 8 us",
                met=None if in_global else estimate <= 8,
                note=f"{added[driver]:+,} instructions ({ours_i:,} / {plain_i:,} = {ours_i / plain_i:.3f}x)"
                f" x {ns_each:.4f} ns each; {wall}",
                extra={"instructions": {"plain": plain_i, "ours": ours_i}, "wall_us": walls},
            )
        )
    if "requests" in added and "httpx" in added:
        rows.append(
            Row(
                "3b added cost",
                "httpx transport's added instructions / the requests adapter's",
                added["httpx"] / added["requests"],
                "x",
                target="<= 1x",
                met=added["httpx"] <= added["requests"],
                note=f"httpx {added['httpx']:,}, requests {added['requests']:,} per request",
            )
        )
    return rows


def figure_observer(quick: bool) -> list[Row]:
    """What global mode's watch one level up (`Session.send`, `Client.send`) adds to a good request."""
    rows = []
    n = 100 if quick else 300
    for driver in ("requests", "httpx", "httpx-async"):
        plain_i = per_request_instructions(driver, "plain", n)
        ours_i = per_request_instructions(driver, "observer", n)
        if plain_i is None or ours_i is None:
            continue  # instructions or nothing: the wall-time difference is far below the noise
        rows.append(
            Row(
                "3c observer",
                f"{driver}: global mode's watch, per good request",
                ours_i - plain_i,
                "instr",
                note=f"{ours_i:,} / {plain_i:,} = {ours_i / plain_i:.4f}x; in-memory adapter/transport, "
                "not instrumented, so no flow runs",
                extra={"instructions": {"plain": plain_i, "ours": ours_i}},
            )
        )
    return rows


def figure_scaling(quick: bool) -> list[Row]:
    """Per-request cost with 1 to 10,000 configured indexes, and with 1, 8 and 32 threads."""
    import bench_cost

    rows = []
    counts = (1, 10000) if quick else (1, 100, 1000, 10000)
    n = 100 if quick else 200
    for layout in bench_cost.LAYOUTS:
        first: int | None = None
        first_us = 0.0
        for count in counts:
            counted = per_request_instructions("requests", "ours", n, str(count), layout)
            get = bench_cost.make_client("requests", "ours", count, layout)
            urls = bench_cost.request_urls(count, layout)
            for url in urls:
                get(url)
            us = statistics.median(
                per_request_us(get, urls, 300 if quick else 1000) for _ in range(3 if quick else 7)
            )
            if count == 1:
                first, first_us = counted, us
            judged = count == counts[-1]
            value = counted / first if counted is not None and first else us / first_us
            what = "instructions" if counted is not None else "wall time"
            rows.append(
                Row(
                    "9 scaling",
                    f"{count:>6,} indexes, {layout}: {what} per request / 1 index",
                    value,
                    "x",
                    target="<= 1.2x" if judged else "",
                    met=(value <= 1.2) if judged else None,
                    note=(f"{counted:,} instructions; " if counted is not None else "")
                    + f"wall {us:.1f} us ({us / first_us:.2f}x of 1 index)",
                    extra={"instructions": counted, "wall_us": us},
                )
            )

    # Threads share one session; the flow takes no lock once credentials are accepted.
    plain = bench_cost.make_client("requests", "plain")
    ours = bench_cost.make_client("requests", "ours", 100, "one-host")
    urls = bench_cost.request_urls(100, "one-host")
    for url in urls:
        plain(url), ours(url)
    total = 960 if quick else 3840
    for threads in (1, 8, 32):

        def wave(get: Callable[[str], Any], threads: int = threads) -> float:
            barrier = threading.Barrier(threads)

            def worker(k: int) -> None:
                barrier.wait()
                for i in range(total // threads):
                    get(urls[(k + i) % len(urls)])

            pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
            start = time.perf_counter()
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            return time.perf_counter() - start

        rows.append(
            ratio_row(
                "9 scaling",
                f"{threads:>2} threads, one session, 100 indexes: wall ours / plain",
                interleave(functools.partial(wave, plain), functools.partial(wave, ours), 3 if quick else 7),
                None,
                f"{total} requests a round, in-memory inner adapter",
            )
        )
    return rows


# -- 3. per-request overhead ----------------------------------------------------------------


KEEPALIVE = str(HERE / "bench_keepalive.py")


def keepalive_rows(base: str, n: int) -> list[Row]:
    """Instructions per keep-alive GET, ours against plain; none without valgrind."""
    rows = []
    for driver in ("requests", "httpx", "httpx-async"):
        counts = {}
        for side in ("plain", "ours"):
            compile_first([sys.executable, KEEPALIVE, driver, side, "0", base])
            with_n = callgrind([sys.executable, KEEPALIVE, driver, side, str(n), base])
            without = callgrind([sys.executable, KEEPALIVE, driver, side, "0", base])
            if with_n is None or without is None:
                return []
            counts[side] = (with_n - without) // n
        rows.append(
            Row(
                "3 per request",
                f"{driver}, keep-alive GETs to a local server: instructions per request, ours / plain",
                round(counts["ours"] / counts["plain"], 3),
                "x",
                target="<= 1.05x",
                met=counts["ours"] / counts["plain"] <= 1.05,
                note=f"{counts['ours']:,} / {counts['plain']:,} instructions "
                f"({counts['ours'] - counts['plain']:+,}), {n} GETs counted in the client's process; "
                "the server runs in its own",
            )
        )
    return rows


def figure_per_request(quick: bool) -> list[Row]:
    """A client with indexauth against the same client sending the same header itself.

    Counted in instructions where valgrind is installed (those rows carry the
    target); the interleaved wall-time ratios stand beside them, and carry the
    target only without valgrind, since the load on a shared machine moves them
    by more than the 5% the target allows.
    """
    import requests

    import indexauth

    n, blocks = (600, 6) if quick else (2000, 20)
    per_block = n // blocks
    os.environ["INDEXAUTH_INDEX_BENCH_USERNAME"] = USER
    os.environ["INDEXAUTH_INDEX_BENCH_PASSWORD"] = PASSWORD
    with bench_server() as base:
        rows = keepalive_rows(base, 100 if quick else 400)
        limit = None if rows else 1.05
        index = indexauth.Index(base + "/simple/", name="bench")
        urls = [f"{base}/simple/p{i % 50}/" for i in range(per_block)]

        plain = requests.Session()
        plain.headers["Authorization"] = BASIC
        ours = requests.Session()
        ours.mount("http://", indexauth.IndexAuthAdapter([index], keyring_provider="disabled"))

        def block(session: requests.Session) -> Callable[[], float]:
            return lambda: timed(lambda: [session.get(u).raise_for_status() for u in urls])

        block(plain)(), block(ours)()
        rows.append(
            ratio_row(
                "3 per request",
                f"requests, {n} keep-alive GETs, wall time",
                interleave(block(plain), block(ours), blocks),
                limit,
            )
        )

        try:
            import httpx
        except ImportError:
            return rows
        if not hasattr(indexauth, "IndexAuthTransport"):
            return rows
        try:
            transport = indexauth.IndexAuthTransport([index], keyring_provider="disabled")  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - report, keep benchmarking
            rows.append(Row("3 per request", "httpx sync", 0, "", note=f"not measured: {exc}"))
            return rows
        hplain = httpx.Client(headers={"Authorization": BASIC})
        hours = httpx.Client(transport=transport)

        def hblock(client: httpx.Client) -> Callable[[], float]:
            return lambda: timed(lambda: [client.get(u).raise_for_status() for u in urls])

        hblock(hplain)(), hblock(hours)()
        rows.append(
            ratio_row(
                "3 per request",
                f"httpx sync, {n} keep-alive GETs, wall time",
                interleave(hblock(hplain), hblock(hours), blocks),
                limit,
            )
        )

        async def async_ratios() -> list[float]:
            aplain = httpx.AsyncClient(headers={"Authorization": BASIC})
            aours = httpx.AsyncClient(
                transport=indexauth.AsyncIndexAuthTransport([index], keyring_provider="disabled")  # type: ignore[attr-defined]
            )

            async def ablock(client: httpx.AsyncClient) -> float:
                start = time.perf_counter()
                for u in urls:
                    (await client.get(u)).raise_for_status()
                return time.perf_counter() - start

            await ablock(aplain), await ablock(aours)
            ratios = []
            for i in range(blocks):
                if i % 2:
                    tb, ta = await ablock(aours), await ablock(aplain)
                else:
                    ta, tb = await ablock(aplain), await ablock(aours)
                ratios.append(tb / ta)
            await aplain.aclose(), await aours.aclose()
            return ratios

        rows.append(
            ratio_row(
                "3 per request",
                f"httpx async, {n} keep-alive GETs, wall time",
                asyncio.run(async_ratios()),
                limit,
            )
        )
    return rows


# -- 4. an install-like workload ------------------------------------------------------------


def figure_workload(quick: bool) -> list[Row]:
    """50 package pages and 50 downloads from one index: requests, challenges, lookups."""
    import requests

    import indexauth

    rows = []
    with bench_server() as base:
        index_url = base + "/simple/"
        set_keyring({index_url: {USER: PASSWORD}})
        paths = [f"/simple/p{i}/" for i in range(50)] + [f"/files/p{i}-1.0.whl" for i in range(50)]

        def run(session: Any) -> tuple[float, dict[str, int], int]:
            server_stats(base, reset=True)
            calls = keyring_calls()
            wall = timed(lambda: [session.get(base + p).raise_for_status() for p in paths])
            return wall, server_stats(base), keyring_calls() - calls

        try:
            from pip._internal.network.auth import MultiDomainBasicAuth
            from pip._vendor import requests as pip_requests
        except ImportError:
            MultiDomainBasicAuth = None  # noqa: N806 - pip missing: its column is skipped

        def fresh(kind: str) -> tuple[Any, Any]:
            """A new client, as a new process would have: cold cache, new connections."""
            if kind == "pip":
                session = pip_requests.Session()
                session.auth = MultiDomainBasicAuth(
                    prompting=False, index_urls=[index_url], keyring_provider="import"
                )
                return session, None
            session = requests.Session()
            adapter = indexauth.IndexAuthAdapter([indexauth.Index(index_url, authenticate=kind)])
            session.mount("http://", adapter)
            return session, adapter

        kinds = ["auto", "always"] + (["pip"] if MultiDomainBasicAuth is not None else [])
        walls: dict[str, list[float]] = {k: [] for k in kinds}
        last: dict[str, tuple[dict[str, int], int, int]] = {}
        for round_ in range(3 if quick else 9):
            order = kinds[round_ % len(kinds) :] + kinds[: round_ % len(kinds)]
            for kind in order:
                session, adapter = fresh(kind)
                wall, stats, calls = run(session)
                walls[kind].append(wall)
                lookups = adapter.authenticator.resolver.lookups if adapter is not None else calls
                last[kind] = (stats, calls, lookups)
        pip_wall = statistics.median(walls["pip"]) if "pip" in walls else None
        for kind in kinds:
            stats, calls, lookups = last[kind]
            wall = statistics.median(walls[kind])
            versus = f"; {wall / pip_wall:.2f}x pip's time" if pip_wall and kind != "pip" else ""
            note = (
                f"{stats.get('challenges', 0)} challenges, {lookups} lookup(s) ({calls} keyring "
                f"calls), median {wall * 1000:.0f} ms{versus}"
            )
            if kind == "pip":
                rows.append(
                    Row(
                        "4 workload",
                        "pip's MultiDomainBasicAuth, same workload",
                        stats.get("requests", 0),
                        "requests",
                        note=note,
                        extra={"stats": stats, "keyring_calls": calls, "walls_s": walls[kind]},
                    )
                )
                continue
            target_challenges = 1 if kind == "auto" else 0
            rows.append(
                Row(
                    "4 workload",
                    f"indexauth {kind}: requests / challenges / lookups",
                    stats.get("requests", 0),
                    "requests",
                    target=f"<= {target_challenges} challenge, 1 lookup",
                    met=stats.get("challenges", 0) <= target_challenges and lookups == 1,
                    note=note,
                    extra={"stats": stats, "keyring_calls": calls, "walls_s": walls[kind]},
                )
            )
    return rows


# -- 5. concurrency ---------------------------------------------------------------------------


def figure_concurrency(quick: bool) -> list[Row]:
    """32 threads and 200 asyncio tasks at once against a cold cache: lookups, and cold/warm time."""
    import requests

    import indexauth

    rows = []
    with bench_server() as base:
        index_url = base + "/simple/"
        set_keyring({index_url: {USER: PASSWORD}}, delay=0.05)

        session = requests.Session()
        session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
        adapter = indexauth.IndexAuthAdapter(
            [indexauth.Index(index_url)], inner=requests.adapters.HTTPAdapter(pool_maxsize=32)
        )
        session.mount("http://", adapter)

        def wave() -> float:
            barrier = threading.Barrier(32)

            def worker(i: int) -> None:
                barrier.wait()
                session.get(f"{base}/simple/t{i}/").raise_for_status()

            threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return time.perf_counter() - start

        calls = keyring_calls()
        cold = wave()
        lookups = adapter.authenticator.resolver.lookups
        warm = statistics.median(wave() for _ in range(5))
        rows.append(
            Row(
                "5 concurrency",
                "32 threads, cold cache: lookups",
                lookups,
                "lookups",
                target="exactly 1",
                met=lookups == 1,
                note=f"{keyring_calls() - calls} keyring call(s); cold {cold * 1000:.0f} ms vs warm "
                f"{warm * 1000:.0f} ms = {cold / warm:.2f}x (the cold wave includes one 50 ms lookup "
                "and the 401 round trips)",
            )
        )
        if not hasattr(indexauth, "AsyncIndexAuthTransport"):
            return rows
        import httpx

        async def tasks() -> tuple[int, int, float, float]:
            transport = indexauth.AsyncIndexAuthTransport([indexauth.Index(index_url)])  # type: ignore[attr-defined]
            async with httpx.AsyncClient(transport=transport, timeout=60) as client:

                async def wave() -> float:
                    start = time.perf_counter()
                    await asyncio.gather(*(client.get(f"{base}/simple/a{i}/") for i in range(200)))
                    return time.perf_counter() - start

                calls = keyring_calls()
                cold = await wave()
                warm = statistics.median([await wave() for _ in range(3)])
                return transport.authenticator.resolver.lookups, keyring_calls() - calls, cold, warm

        lookups, calls, cold, warm = asyncio.run(tasks())
        rows.append(
            Row(
                "5 concurrency",
                "200 asyncio tasks, cold cache: lookups",
                lookups,
                "lookups",
                target="exactly 1",
                met=lookups == 1,
                note=f"{calls} keyring call(s); cold {cold * 1000:.0f} ms vs warm "
                f"{warm * 1000:.0f} ms = {cold / warm:.2f}x",
            )
        )
    return rows


# -- 6. keyring command mode ------------------------------------------------------------------


def figure_keyring_command(quick: bool) -> list[Row]:
    """A full miss over every service name, against one `keyring` call."""
    import shutil

    import indexauth
    from indexauth._keyring import KeyringCommandSource
    from indexauth._resolver import Resolver
    from indexauth._sources import Target

    exe = shutil.which("keyring", path=str(Path(sys.executable).parent)) or shutil.which("keyring")
    if exe is None:
        return [
            Row("6 keyring command", "full miss / one call", 0, "", note="not measured: no keyring command")
        ]
    set_keyring({})
    index = indexauth.Index("http://127.0.0.1:8765/simple/")
    names = len(Target(index, index.realm).service_names)

    def one_call() -> float:
        return timed(
            lambda: subprocess.run(
                [exe, "--mode", "creds", "--output", "json", "get", "http://127.0.0.1:8765/simple/"],
                capture_output=True,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        )

    def full_miss(source: KeyringCommandSource) -> Callable[[], float]:
        return lambda: timed(lambda: Resolver([source]).lookup(Target(index, index.realm)))

    rounds = 6 if quick else 12
    ours = KeyringCommandSource(executable=exe)
    rows = [
        ratio_row(
            "6 keyring command",
            f"full miss over {names} names / one keyring call",
            interleave(one_call, full_miss(ours), rounds),
            1.5,
        )
    ]
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = Path(tmp) / "keyring"
        wrapper.write_text(f'#!/bin/sh\nexec "{exe}" "$@"\n')
        wrapper.chmod(0o755)
        rows.append(
            ratio_row(
                "6 keyring command",
                "for information: name by name (a wrapped command) / one call",
                interleave(
                    one_call, full_miss(KeyringCommandSource(executable=str(wrapper))), max(rounds // 2, 3)
                ),
                None,
                "what a process per name costs",
            )
        )
    return rows


# -- 7. memory --------------------------------------------------------------------------------


def child_memory(kind: str, base: str, n: int) -> None:
    """In a child: peak RSS after 1,000 and after *n* requests, printed as JSON."""
    import requests

    import indexauth

    session = requests.Session()
    if kind == "plain":
        session.headers["Authorization"] = BASIC
    else:
        index = indexauth.Index(base + "/simple/", name="bench")
        session.mount("http://", indexauth.IndexAuthAdapter([index], keyring_provider="disabled"))
    marks = {}
    for i in range(1, n + 1):
        session.get(f"{base}/simple/p{i}/").raise_for_status()  # a new URL every time
        if i in (1000, n):
            marks[i] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(marks))


def figure_memory(quick: bool) -> list[Row]:
    """Peak RSS of a long run, ours against the plain client: no growth with the request count."""
    n = 4000 if quick else 10000
    env = {**os.environ, "INDEXAUTH_INDEX_BENCH_USERNAME": USER, "INDEXAUTH_INDEX_BENCH_PASSWORD": PASSWORD}
    out: dict[str, dict[str, int]] = {}
    with bench_server() as base:
        for kind in ("plain", "ours"):
            done = subprocess.run(
                [sys.executable, __file__, "--child-memory", kind, base, str(n)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            out[kind] = json.loads(done.stdout)
    growth = {k: v[str(n)] - v["1000"] for k, v in out.items()}
    ratio = out["ours"][str(n)] / out["plain"][str(n)]
    return [
        Row(
            "7 memory",
            f"peak RSS after {n} requests, ours / plain",
            ratio,
            "x",
            target="no growth with requests",
            met=growth["ours"] <= growth["plain"] + 1024,
            note=f"growth from 1,000 to {n} requests: ours {growth['ours']} KiB, plain {growth['plain']} KiB",
            extra={"rss_kib": out},
        )
    ]


FIGURES = {
    "startup": figure_startup,
    "first-use": figure_first_use,
    "added-cost": figure_added_cost,
    "per-request": figure_per_request,
    "workload": figure_workload,
    "concurrency": figure_concurrency,
    "keyring-command": figure_keyring_command,
    "memory": figure_memory,
    "startup-on": figure_startup_on,
    "scaling": figure_scaling,
    "observer": figure_observer,
}


def main(argv: list[str] | None = None) -> int:
    """Run the figures, print the table, write the JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds, for a smoke run")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--only", nargs="*", choices=sorted(FIGURES), help="run only these figures")
    parser.add_argument("--child-memory", nargs=3, metavar=("KIND", "BASE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_memory:
        child_memory(args.child_memory[0], args.child_memory[1], int(args.child_memory[2]))
        return 0
    isolate()
    rows: list[Row] = []
    for name, figure in FIGURES.items():
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(figure(args.quick))
    header = ["figure", "what", "value", "min .. max", "target", "", "note"]
    table = [header, *[r.cells() for r in rows]]
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    for line in table:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)) + "  " + line[-1])
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "python": sys.version,
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "quick": args.quick,
                "rows": [asdict(r) for r in rows],
            },
            indent=2,
        )
    )
    print(f"\nwritten: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
