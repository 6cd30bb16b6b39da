"""Issue 11: the store commands that read every record hold one page in memory, not the store.

Each command runs as users run it (a subprocess, stdout to /dev/null) on a store of 12,000
subscriptions and 24,000 events, and its peak RSS is compared with that of `dynsub store stats`
on the same store, which reads no records: the same interpreter, imports and SQLite cache.
Streamed, a command stays within about 5 MB of stats. Built in memory first, as before issue
11, the same commands took 20 MB (plain `list`) to 180 MB (`export --format open5gs`) more
(761 MB at 100,000 subscriptions for `list --json`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.bulkstore import build, measured

COUNT = 12_000
#: Above what `stats` takes: a page of rows (1,000 records), an output block and Python's own
#: slack; less than the smallest of the growths above.
HEADROOM_MB = 15


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("streaming") / "core", COUNT)


def _peak(core: Path, *args: str) -> float:
    _, peak_mb = measured(
        [sys.executable, "-m", "dynsub_cli", "store", *args, "--config", str(core)]
    )
    return peak_mb


@pytest.mark.parametrize(
    "args",
    [
        ("list", "--json"),
        ("list",),
        ("export",),
        ("export", "--format", "ndjson"),
        ("export", "--format", "csv", "--reveal-secrets"),
        ("export", "--format", "open5gs", "--reveal-secrets"),
        ("events", "--all", "--json"),
        ("events", "--all"),
    ],
    ids=" ".join,
)
def test_reading_every_record_takes_the_memory_of_a_page(core: Path, args: tuple[str, ...]) -> None:
    reference = _peak(core, "stats")
    peak = _peak(core, *args)
    assert peak < reference + HEADROOM_MB, (
        f"dynsub store {' '.join(args)}: peak RSS {peak:.1f} MB, stats {reference:.1f} MB"
    )


def test_an_export_to_a_file_streams_too(core: Path, tmp_path: Path) -> None:
    out = tmp_path / "subscribers.json"
    reference = _peak(core, "stats")
    peak = _peak(core, "export", "--format", "open5gs", "--reveal-secrets", "--out", str(out))
    assert peak < reference + HEADROOM_MB
    assert out.stat().st_size > COUNT * 500  # every record is in it


@pytest.mark.parametrize("args", [("list",), ("export", "--format", "ndjson")], ids=" ".join)
def test_a_reader_that_stops_early_ends_the_command_quietly(
    core: Path, args: tuple[str, ...]
) -> None:
    """`dynsub store list | head`: the reader closes the pipe after a few lines; the command
    stops writing and exits 0 without a traceback."""
    argv = [sys.executable, "-m", "dynsub_cli", "store", *args, "--config", str(core)]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        assert proc.stdout.readline()
        proc.stdout.close()
        stderr = proc.stderr.read()
        assert proc.wait(timeout=60) == 0, stderr
    assert stderr == b""
