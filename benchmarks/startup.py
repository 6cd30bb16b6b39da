"""How long `dynsub` takes to start, against the interpreter and click measured in the same run.

    python -m benchmarks.startup [--runs 21] [--json FILE] [--importtime]

Each row is the wall time of a fresh process, from spawning it to its exit, median and minimum
of --runs; the rows take turns within each round, so that the load of a shared machine falls
on all of them alike:

- python -c pass: the interpreter's own start-up, the floor of any Python command;
- python -c "import click": the floor of any click command line;
- dynsub --version, dynsub --help, and dynsub crypto milenage with the inputs of TS 35.208
  test set 1 (its output is checked against the RES of the test set).

dynsub runs as users run it: the console script beside this interpreter, with byte-code
caches (pip writes them on install; PYTHONDONTWRITEBYTECODE is dropped here, so the warm-up
run writes those of an editable install, as Python does by default). Columns: the median
and minimum, the median above `import click`, the median as a multiple of `import click`, and
whether the median is under the target of issue 11 (0.2 s). --importtime adds, for each
dynsub row, what ``python -X importtime`` says: the total import time and the ten modules that
cost the most, with what they import.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: TS 35.208 test set 1, and the RES it gives (f2).
MILENAGE = [
    "crypto",
    "milenage",
    "--k",
    "465b5ce8b199b49faa5f0a2ee238a6bc",
    "--op",
    "cdc202d5123e20f62b6d676ac72cb318",
    "--rand",
    "23553cbe9637a89d218ae64dae47bf35",
    "--sqn",
    "ff9bb4d0b607",
    "--amf",
    "b9b9",
]
MILENAGE_RES = "a54211d5e3ba50bf"
TARGET_SECONDS = 0.2
BASELINE = 'python -c "import click"'


def _dynsub() -> str:
    script = Path(sys.executable).with_name("dynsub")
    if not script.is_file():
        raise SystemExit(f"{script}: no dynsub console script here: pip install -e . first")
    return str(script)


def commands() -> dict[str, list[str]]:
    """Row name -> argv, baselines first."""
    dynsub = _dynsub()
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        BASELINE: [sys.executable, "-c", "import click"],
        "dynsub --version": [dynsub, "--version"],
        "dynsub --help": [dynsub, "--help"],
        "dynsub crypto milenage": [dynsub, *MILENAGE],
    }


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _once(argv: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=_environment())
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit status {done.returncode}: {done.stderr}")
    return took, done.stdout


def importtime(args: list[str], top: int = 10) -> dict[str, Any]:
    """``python -X importtime`` of ``dynsub ARGS``: the total, and the ``top`` modules that
    cost the most with what they import (microseconds)."""
    # The console script is `from dynsub_cli.cli import main; main()`, as `-m dynsub_cli` is.
    full = [sys.executable, "-X", "importtime", "-m", "dynsub_cli", *args]
    done = subprocess.run(full, capture_output=True, text=True, check=False, env=_environment())
    rows: list[tuple[str, int, int]] = []
    for text in done.stderr.splitlines():
        if not text.startswith("import time:") or "self [us]" in text:
            continue
        own, cumulative, name = text.removeprefix("import time:").split("|")
        rows.append((name.strip(), int(own), int(cumulative)))
    rows.sort(key=lambda row: row[2], reverse=True)
    return {
        "total_us": sum(own for _, own, _ in rows),
        "modules": len(rows),
        "top": [{"module": name, "cumulative_us": c} for name, _, c in rows[:top]],
    }


def run(runs: int = 21, *, with_importtime: bool = False) -> dict[str, Any]:
    """Measure every row ``runs`` times, taking turns; the figures as one JSON-able dict."""
    argvs = commands()
    for argv in argvs.values():  # warm the file cache and the byte-code caches
        _once(argv)
    times: dict[str, list[float]] = {name: [] for name in argvs}
    for _ in range(runs):
        for name, argv in argvs.items():
            took, output = _once(argv)
            if name == "dynsub crypto milenage" and f"res\t{MILENAGE_RES}" not in output:
                raise SystemExit(f"dynsub crypto milenage: RES is not {MILENAGE_RES}: {output}")
            times[name].append(took)
    baseline = statistics.median(times[BASELINE])
    rows: dict[str, dict[str, Any]] = {}
    for name, seconds in times.items():
        median = statistics.median(seconds)
        rows[name] = {
            "median_s": round(median, 4),
            "min_s": round(min(seconds), 4),
            "above_click_s": round(median - baseline, 4),
            "x_click": round(median / baseline, 3),
        }
        if name.startswith("dynsub"):
            rows[name]["under_target"] = median < TARGET_SECONDS
            if with_importtime:
                rows[name]["importtime"] = importtime(argvs[name][1:])
    return {
        "benchmark": "startup",
        "runs": runs,
        "cpus": os.cpu_count(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "target_s": TARGET_SECONDS,
        "rows": rows,
    }


def print_table(result: dict[str, Any]) -> None:
    load = ", ".join(str(x) for x in result["load_average"])
    print(f"{result['runs']} runs per row, taking turns; {result['cpus']} CPUs, load {load}")
    print(f"target: each dynsub row under {result['target_s']} s (median)\n")
    print(f"{'':26} {'median':>8} {'min':>8} {'- click':>8} {'x click':>8}  target")
    for name, row in result["rows"].items():
        target = {True: "met", False: "MISSED"}.get(row.get("under_target"), "")
        print(
            f"{name:26} {row['median_s']:8.3f} {row['min_s']:8.3f} "
            f"{row['above_click_s']:+8.3f} {row['x_click']:8.2f}  {target}"
        )
    for name, row in result["rows"].items():
        if "importtime" not in row:
            continue
        found = row["importtime"]
        print(f"\n{name}: {found['modules']} modules, {found['total_us'] / 1000:.1f} ms of imports")
        for entry in found["top"]:
            print(f"  {entry['cumulative_us'] / 1000:8.1f} ms  {entry['module']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="runs of each row (median)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--importtime", action="store_true", help="add python -X importtime for each dynsub row"
    )
    args = parser.parse_args()
    result = run(args.runs, with_importtime=args.importtime)
    print_table(result)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
