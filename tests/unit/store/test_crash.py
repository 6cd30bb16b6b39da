"""kill -9 at random points while onboarding: the store holds whole records or none."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.unit.store.helpers import imei, open_store

ROOT = Path(__file__).resolve().parents[3]

_WRITER = """
import sys
from pathlib import Path
from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.store import State, SupiRange
from tests.unit.store.helpers import onboard, open_store

path, first = Path(sys.argv[1]), int(sys.argv[2])
wide = SupiRange(plmn="00101", msin_start="0000000001", msin_end="9999999999")
with open_store(path) as store:
    print("ready", flush=True)
    serial = first
    while True:
        # Mix every kind of write: create, re-onboard both ways, suspend, SQN steps.
        supi = onboard(store, serial, supi_range=wide)
        # One write per line: with PYTHONUNBUFFERED, print() writes each of its pieces
        # separately, and a kill between them would leave half a line.
        sys.stdout.write(f"committed {serial}\\n")
        sys.stdout.flush()
        if serial % 3 == 0:
            supi = onboard(store, serial, policy=Reonboarding.NEW_RECORD, supi_range=wide)
        store.start_authentication(supi)  # steps SQN while the record is active
        if serial % 5 == 0:
            store.set_state(supi, State.SUSPENDED)
        serial += 1
"""


def _kill_at_random(path: Path, first: int, rng: random.Random) -> list[int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), str(first)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(rng.uniform(0.02, 0.3))
    os.kill(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # Only whole lines count: the kill may land in the middle of the last one.
    lines = out.split("\n")[:-1]
    return [int(line.split()[1]) for line in lines if line.startswith("committed ")]


def test_kill_9_never_leaves_a_partial_record(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    open_store(path).close()
    rng = random.Random(20260102)
    reported: list[int] = []
    for run in range(5):
        reported += _kill_at_random(path, 10_000 * (run + 1), rng)
    assert reported, "the writer never got to commit: the test proves nothing"

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # An allocated SUPI without its record (or the reverse) would be half a transaction.
    orphans = conn.execute(
        "SELECT COUNT(*) FROM supi_allocations WHERE supi NOT IN (SELECT supi FROM subscriptions)"
    ).fetchone()[0]
    assert orphans == 0
    # Every record has the event written in its transaction, and every such event its record.
    records = {row[0] for row in conn.execute("SELECT supi FROM subscriptions")}
    created = {
        row[0]
        for row in conn.execute(
            "SELECT supi FROM events "
            "WHERE kind IN ('subscription_created', 'subscription_replaced')"
        )
    }
    assert records == created
    conn.close()

    with open_store(path) as store:
        imeis = {s.imei for s in store.list()}
        for sub in store.list(reveal_secrets=True):
            assert sub.secrets is not None  # every sealed K/OPc is whole and opens
        live = [s for s in store.list() if s.state.value != "replaced"]
        assert len(live) == len(imeis)  # one live record per device
    # Every onboarding the writer reported as committed survived the kill.
    assert {imei(serial) for serial in reported} <= imeis
