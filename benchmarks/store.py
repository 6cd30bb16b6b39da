"""How fast the `dynsub store` read commands are on a large store, against a plain read of the
same tables in the same run (issue 11, target 3).

    python -m benchmarks.store [--count 100000] [--dir DIR] [--json FILE]

The store (built first, not timed): ``--count`` subscriptions and two audit events for each,
written in one transaction through the store's own bulk path (tests/bulkstore.py).

Rows, each a `dynsub store` command run once as a subprocess with stdout to /dev/null, as a
script runs it: ``list --json``; ``export`` in every format (json, ndjson, csv, csv with
--reveal-secrets, open5gs with --reveal-secrets); ``events --all --json`` (the whole audit
trail); ``list`` piped (plain rows, every record); ``list --limit 50`` on a pseudo-terminal (the
first page as rich draws it); ``stats``.

Baselines, in the same run, each a subprocess too: plain ``sqlite3`` in Python reading every
column of every row of the subscriptions table, and of the events table (the floor of any
command that reads them), and ``dynsub --version`` (what every command pays before it reads
anything: start-up and imports).

Columns: wall time; records per second (subscriptions, or events for ``events``), over the wall
time and over the time after opening (the wall time less that of ``list --json --limit 1``,
which pays the same start-up, imports and opening of the store but reads one record); the wall
time against the baseline of the same table; peak RSS of the child (``ru_maxrss`` from
``wait4``). Targets: under 100 MB and at least 50,000 records/s for list --json, export and
events; the first page of ``list`` under 1 s. Other processes on the machine slow every row
alike: the ratios are what compare across runs, and the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynsub_cli import config
from tests.bulkstore import build, measured


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...]  # after `dynsub store`, before --config
    table: str | None  # what its records are: "subscriptions", "events", or None (no rate)
    terminal: bool = False
    records: int | None = None  # how many it writes, when not the whole table


COMMANDS = (
    Command("list --json", ("list", "--json"), "subscriptions"),
    Command("export (json)", ("export",), "subscriptions"),
    Command("export --format ndjson", ("export", "--format", "ndjson"), "subscriptions"),
    Command("export --format csv", ("export", "--format", "csv"), "subscriptions"),
    Command(
        "export csv --reveal-secrets",
        ("export", "--format", "csv", "--reveal-secrets"),
        "subscriptions",
    ),
    Command(
        "export open5gs --reveal-secrets",
        ("export", "--format", "open5gs", "--reveal-secrets"),
        "subscriptions",
    ),
    Command("events --all --json", ("events", "--all", "--json"), "events"),
    Command("list (piped: plain rows)", ("list",), "subscriptions"),
    Command("list --limit 50 (terminal)", ("list", "--limit", "50"), None, True, 50),
    Command("stats", ("stats",), None),
)

_READ_ALL = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
for _ in conn.execute(f"SELECT * FROM {sys.argv[2]}"):
    pass
"""


def _row(
    name: str,
    seconds: float,
    rss: float,
    records: int | None,
    base: float | None,
    opening: float | None = None,
) -> dict[str, Any]:
    streaming = None
    if records is not None and opening is not None and seconds > opening:
        streaming = records / (seconds - opening)
    return {
        "name": name,
        "seconds": seconds,
        "records": records,
        "records_per_second": None if records is None else records / seconds,
        "records_per_second_after_opening": streaming,
        "x_baseline": None if base is None else seconds / base,
        "peak_rss_mb": rss,
    }


def run(count: int = 100_000, folder: Path | None = None) -> dict[str, Any]:
    """Build a store of ``count`` subscriptions, run every row once; the results as JSON-ready
    values (``rows``: each command's figures by its name, baselines first), e.g.
    ``rows["list --json"]["peak_rss_mb"]`` or ``["records_per_second"]``."""
    with tempfile.TemporaryDirectory(prefix="dynsub-bench-store-", dir=folder) as work:
        started = time.perf_counter()
        core = build(Path(work) / "core", count)
        built = time.perf_counter() - started
        store_file = str(config.load(core).store.path)
        sizes = {"subscriptions": count, "events": 2 * count}
        dynsub = [sys.executable, "-m", "dynsub_cli"]
        measured([*dynsub, "store", "stats", "--config", str(core)])  # warm the page cache
        rows, baseline = [], {}
        for table, size in sizes.items():
            seconds, rss = measured([sys.executable, "-c", _READ_ALL, store_file, table])
            baseline[table] = seconds
            rows.append(_row(f"baseline: sqlite3 reads {table}", seconds, rss, size, seconds))
        seconds, rss = measured([*dynsub, "--version"])
        rows.append(_row("baseline: dynsub --version", seconds, rss, None, None))
        # What every read command pays before its first record: start-up, imports, opening
        # the store (no quick_check: store/health.py) and one page read.
        first = ["store", "list", "--json", "--limit", "1", "--config", str(core)]
        opening, rss = measured([*dynsub, *first])
        for command in COMMANDS:
            argv = [*dynsub, "store", *command.args, "--config", str(core)]
            seconds, rss = measured(argv, terminal=command.terminal)
            records = command.records
            if records is None and command.table is not None:
                records = sizes[command.table]
            base = baseline[command.table] if command.table else None
            rows.append(_row(command.name, seconds, rss, records, base, opening))
    return {
        "benchmark": "store",
        "count": count,
        "build_seconds": built,
        "load_average": os.getloadavg()[0],
        "cpus": os.cpu_count(),
        "rows": {row["name"]: row for row in rows},
    }


def _print(result: dict[str, Any]) -> None:
    print(
        f"{result['count']} subscriptions (built in {result['build_seconds']:.1f} s, not timed), "
        f"load average {result['load_average']:.2f} on {result['cpus']} CPUs"
    )
    print(
        f"{'command':36} {'seconds':>8} {'records/s':>10} {'after open':>10} {'x baseline':>10} "
        f"{'peak MB':>8}"
    )
    for r in result["rows"].values():
        rate = "" if r["records_per_second"] is None else f"{r['records_per_second']:.0f}"
        ratio = "" if r["x_baseline"] is None else f"{r['x_baseline']:.2f}"
        after = r["records_per_second_after_opening"]
        after_text = "" if after is None else f"{after:.0f}"
        print(
            f"{r['name']:36} {r['seconds']:8.2f} {rate:>10} {after_text:>10} {ratio:>10} "
            f"{r['peak_rss_mb']:8.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="subscriptions in the store")
    parser.add_argument("--dir", type=Path, default=None, help="where to build (default: tmp)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    result = run(args.count, args.dir)
    _print(result)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
