"""What `dynsub ue load` shows: live progress on stderr, the summary as tables or one JSON.

Kept beside :mod:`dynsub_cli.cli.render` (whose consoles it uses) so that the load generator's
views stay in one place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dynsub_cli.cli import render
from dynsub_cli.ue.load import Attempt, Check, Summary, cause_name


def document(summary: Summary, checks: tuple[Check, ...]) -> dict[str, Any]:
    """The summary as --json prints it: times in milliseconds, rates per second."""

    def ms(value: float) -> float:
        return round(value * 1000, 3)

    return {
        "planned": summary.planned,
        "arrivals": summary.arrivals,
        "succeeded": summary.succeeded,
        "failed": summary.failed,
        "failure_rate": round(summary.failure_rate, 4),
        "distinct_supis": summary.supis,
        "interrupted": summary.interrupted,
        "elapsed_seconds": round(summary.elapsed, 3),
        "offered_rate": round(summary.offered_rate, 3) if summary.offered_rate else None,
        "achieved_rate": round(summary.achieved_rate, 3),
        "latency_ms": {
            name: {
                "count": lat.count,
                "p50": ms(lat.p50),
                "p95": ms(lat.p95),
                "p99": ms(lat.p99),
                "max": ms(lat.max),
            }
            for name, lat in summary.latency.items()
        },
        "outcomes": summary.outcomes,
        "causes": [
            {"cause": cause, "name": cause_name(cause), "count": count}
            for cause, count in summary.causes.items()
        ],
        "checks": [_check(c) for c in checks],
        "passed": all(c.passed for c in checks),
    }


def _check(check: Check) -> dict[str, Any]:
    # --max-p99 is given in milliseconds, like the latencies shown.
    scale = 1000 if check.name == "max-p99" else 1
    value = None if check.value is None else round(check.value * scale, 4)
    return {"check": check.name, "limit": check.limit * scale, "value": value,
            "passed": check.passed}  # fmt: skip


@contextmanager
def progress(total: int | None, *, enabled: bool) -> Iterator[Callable[[Attempt], None]]:
    """A live bar (ok / failed) on stderr when it is a terminal; otherwise silent."""
    if not enabled or not render.err.is_terminal:
        yield lambda attempt: None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("[green]{task.fields[ok]} ok[/] [red]{task.fields[failed]} failed[/]"),
        TimeElapsedColumn(),
        console=render.err,
        transient=False,
    )
    lock = threading.Lock()
    ok, failed = [0], [0]
    with bar:
        task = bar.add_task("ue load", total=total, ok=0, failed=0)

        def advance(attempt: Attempt) -> None:
            with lock:
                (ok if attempt.ok else failed)[0] += 1
                bar.update(task, advance=1, ok=ok[0], failed=failed[0])

        yield advance


def tables(doc: dict[str, Any]) -> None:
    """The summary for people, on stdout."""
    planned = doc["planned"] if doc["planned"] is not None else "-"
    offered = doc["offered_rate"]
    stopped = " (stopped early)" if doc["interrupted"] else ""
    overview = [
        ("arrivals", f"{doc['arrivals']} of {planned}{stopped}"),
        ("succeeded", f"{doc['succeeded']} ({doc['distinct_supis']} distinct SUPIs)"),
        ("failed", f"{doc['failed']} ({doc['failure_rate'] * 100:.1f} %)"),
        ("elapsed", f"{doc['elapsed_seconds']:.3f} s"),
        ("offered rate", f"{offered:.1f} /s" if offered else "-"),
        ("achieved rate", f"{doc['achieved_rate']:.1f} /s"),
    ]  # fmt: skip
    render.key_values("ue load", overview)
    latency = Table(title="latency (ms; successful attempts, wait: all)", title_justify="left")
    for column in ("step", "count", "p50", "p95", "p99", "max"):
        latency.add_column(column, justify="left" if column == "step" else "right")
    for name, lat in doc["latency_ms"].items():
        latency.add_row(
            escape(name),
            str(lat["count"]),
            *(f"{lat[k]:.1f}" for k in ("p50", "p95", "p99", "max")),
        )
    render.out.print(latency)
    outcomes = [(name, count) for name, count in doc["outcomes"].items()]
    outcomes += [(f"5GMM #{c['cause']} ({c['name']})", c["count"]) for c in doc["causes"]]
    render.table("outcomes", ("outcome", "count"), outcomes)
    if doc["checks"]:
        render.table(
            "checks",
            ("check", "limit", "value", "result"),
            [
                (c["check"], c["limit"], _value(c["value"]), "pass" if c["passed"] else "FAIL")
                for c in doc["checks"]
            ],
        )


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
