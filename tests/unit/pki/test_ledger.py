"""The minting ledger: allocation, refusal of duplicates, the reserve/commit protocol."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynsub_cli.errors import AlreadyExists, BadInput
from dynsub_cli.pki.imei import make_imei
from dynsub_cli.pki.ledger import RESERVE_BATCH, Issued, Ledger, RunLock

TAC = "35000000"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "ledger.sqlite") as opened:
        yield opened


def _issued(imei: str) -> Issued:
    return Issued(imei, "s", "ab", "00" * 32, "9999-12-31T23:59:59Z")


def test_allocation_continues_after_the_highest(ledger: Ledger, tmp_path: Path) -> None:
    first = ledger.reserve("r1", tmp_path, TAC, 3, None)
    assert [r.snr for r in first] == [0, 1, 2]
    assert [r.imei for r in first] == [make_imei(TAC, n) for n in range(3)]
    second = ledger.reserve("r2", tmp_path, TAC, 2, None)
    assert [r.snr for r in second] == [3, 4]
    explicit = ledger.reserve("r3", tmp_path, TAC, 2, 100)
    assert [r.snr for r in explicit] == [100, 101]
    assert [r.snr for r in ledger.reserve("r4", tmp_path, TAC, 1, None)] == [102]
    # Another TAC has its own serials.
    assert [r.snr for r in ledger.reserve("r5", tmp_path, "35000001", 1, None)] == [0]


def test_an_overlapping_range_is_refused_and_names_the_next_free(
    ledger: Ledger, tmp_path: Path
) -> None:
    ledger.reserve("r1", tmp_path, TAC, 10, None)
    with pytest.raises(AlreadyExists, match=r"next free serial is 000010") as caught:
        ledger.reserve("r2", tmp_path, TAC, 5, 8)
    assert "2 of serials 000008..000012 already allocated" in caught.value.message
    # Nothing of the refused run was recorded.
    assert ledger.counts() == {"reserved": 10}
    assert [r.id for r in ledger.open_runs()] == ["r1"]


def test_a_full_tac_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    ledger.reserve("r1", tmp_path, TAC, 2, 999_998)
    with pytest.raises(BadInput, match="do not fit in 6 digits"):
        ledger.reserve("r2", tmp_path, TAC, 1, None)


def test_commit_and_release(ledger: Ledger, tmp_path: Path) -> None:
    reserved = ledger.reserve("r1", tmp_path, TAC, 3, None)
    ledger.commit("r1", [_issued(reserved[0].imei)])
    ledger.release("r1", [reserved[1].imei])
    assert ledger.counts() == {"issued": 1, "reserved": 1}
    assert [r.imei for r in ledger.reserved("r1")] == [reserved[2].imei]
    assert ledger.find(reserved[0].imei) == ("issued", "r1")
    assert ledger.find(reserved[1].imei) is None
    # Released serials are gaps below the highest: the next run continues after the highest.
    assert [r.snr for r in ledger.reserve("r2", tmp_path, TAC, 1, None)] == [3]
    # An issued IMEI is never released.
    ledger.release("r1", [reserved[0].imei])
    assert ledger.find(reserved[0].imei) == ("issued", "r1")


def test_open_runs_and_dead_runs(ledger: Ledger, tmp_path: Path) -> None:
    with RunLock(ledger.locks, "alive"):
        ledger.reserve("alive", tmp_path, TAC, 1, None)
        ledger.reserve("dead", tmp_path, TAC, 1, None)  # never locked: its process is gone
        assert {r.id for r in ledger.open_runs()} == {"alive", "dead"}
        assert [r.id for r in ledger.dead_runs()] == ["dead"]
    ledger.finish_run("dead", "recovered")
    assert [r.id for r in ledger.dead_runs()] == ["alive"]


def test_a_run_lock_is_held_until_its_process_dies(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from dynsub_cli.pki.ledger import RunLock\n"
        "lock = RunLock(Path(sys.argv[1]), 'r'); lock.acquire(); print('locked', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        assert RunLock.is_held(tmp_path, "r")
    finally:
        child.kill()
        child.wait()
    assert not RunLock.is_held(tmp_path, "r")


def test_a_run_lock_goes_with_its_process_even_while_a_forked_worker_lives(
    tmp_path: Path,
) -> None:
    # A mint forks its workers; one that outlives a killed mint must not keep the run "alive".
    code = (
        "import os, sys, time; from pathlib import Path\n"
        "from dynsub_cli.pki.ledger import RunLock\n"
        "lock = RunLock(Path(sys.argv[1]), 'r'); lock.acquire()\n"
        "worker = os.fork()\n"
        "if worker == 0:\n"
        "    time.sleep(60); os._exit(0)\n"
        "print(worker, flush=True); os.kill(os.getpid(), 9)\n"
    )
    minting = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert minting.stdout is not None
    worker = int(minting.stdout.readline())
    try:
        assert minting.wait(timeout=30) == -9
        assert Path(f"/proc/{worker}").exists()  # the worker lives on ...
        assert not RunLock.is_held(tmp_path, "r")  # ... and the run is seen as dead
    finally:
        os.kill(worker, 9)


def test_the_ledger_is_shared_between_connections(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as one, Ledger(path) as two:
        one.reserve("a", tmp_path, TAC, 5, None)
        assert [r.snr for r in two.reserve("b", tmp_path, TAC, 5, None)] == [5, 6, 7, 8, 9]
    assert os.path.getsize(path) > 0


def test_a_reservation_is_synced_before_minting_and_commits_are_not(
    ledger: Ledger, tmp_path: Path
) -> None:
    # What SQLite is told, in order: the reservation commits under synchronous=FULL (the WAL
    # is synced, so a power cut cannot give its IMEIs out again); the per-chunk commits keep
    # NORMAL, which a power cut may undo and the next run's settle step redoes.
    statements: list[str] = []
    ledger._db.set_trace_callback(statements.append)  # test-only look at the connection
    (first,) = ledger.reserve("r", tmp_path, TAC, 1, None)
    ledger.commit("r", [_issued(first.imei)])
    ledger._db.set_trace_callback(None)

    pragmas = [s for s in statements if s.startswith(("PRAGMA synchronous", "COMMIT"))]
    assert pragmas == [
        "PRAGMA synchronous=FULL",
        "COMMIT",
        "PRAGMA synchronous=NORMAL",
        "COMMIT",
    ]
    assert ledger._db.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL again


def test_settle_asks_only_about_names_on_disk_and_releases_the_rest_at_once(
    ledger: Ledger, tmp_path: Path
) -> None:
    # More names than one statement's batch, and names that are no reservation of the run.
    reserved = ledger.reserve("big", tmp_path, TAC, 1_300, None)
    names = [r.imei for r in reserved[:1_200]] + ["not-an-imei", make_imei(TAC, 999_999)]
    assert ledger.reserved_among("big", names) == {r.imei for r in reserved[:1_200]}
    first = reserved[0]
    found = Issued(first.imei, "s", "1", "ab" * 32, "9999-12-31T23:59:59Z")
    assert ledger.settle("big", [found]) == 1_299
    assert ledger.counts() == {"issued": 1}
    assert ledger.reserved_among("big", names) == set()


def test_a_reservation_of_several_batches_is_one_whole_transaction(
    ledger: Ledger, tmp_path: Path
) -> None:
    count = 2 * RESERVE_BATCH + 7
    reserved = ledger.reserve("many", tmp_path, TAC, count, None)
    assert [r.snr for r in reserved] == list(range(count))
    assert ledger.counts() == {"reserved": count}
    # A range overlapping the last batch is refused as a whole, nothing of it recorded.
    with pytest.raises(AlreadyExists):
        ledger.reserve("overlap", tmp_path, TAC, 10, count - 3)
    assert ledger.counts() == {"reserved": count}
    assert [r.id for r in ledger.open_runs()] == ["many"]
