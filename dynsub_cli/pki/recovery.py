"""Settling minting runs: the reservations a run leaves open are committed or released.

A run settles its own leftovers when it ends in any way (finished, Ctrl-C, a worker error). A
run whose process died (kill -9, power cut) cannot; the next run finds it open with its lock
file free (:class:`~dynsub_cli.pki.ledger.RunLock`) and settles it, writing that run's manifest.
Settling decides from the disk alone: a reserved IMEI whose folder is in place is committed from
that folder, any other is released and its ``.partial`` folder removed.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from dynsub_cli.pki import device_folder, manifest
from dynsub_cli.pki.ledger import Issued, Ledger, RunLock


@dataclass(frozen=True)
class Settled:
    """What settling a dead run did: folders committed from disk, reservations released."""

    run: str
    committed: int
    released: int
    manifest: manifest.Manifest | None


def settle(ledger: Ledger, run: str, out: Path) -> tuple[int, int]:
    """Commit or release every reservation ``run`` left open; returns (committed, released)."""
    committed: list[Issued] = []
    released: list[str] = []
    # One listing of the folder instead of two lookups per reservation: a run stopped by
    # Ctrl-C early in a large batch leaves most of its reservations with nothing on disk.
    try:
        present = {entry.name for entry in os.scandir(out)}
    except FileNotFoundError:
        present = set()
    for reservation in ledger.reserved(run):
        imei = reservation.imei
        found = (
            device_folder.read_issued(out / imei, imei)
            if imei in present and (out / imei).is_dir()
            else None
        )
        if found is not None:
            committed.append(found)
        else:
            partial = device_folder.partial(out, imei)
            if Path(partial).name in present:
                shutil.rmtree(partial, ignore_errors=True)
            released.append(imei)
    if committed:
        ledger.commit(run, committed)
    if released:
        ledger.release(run, released)
    return len(committed), len(released)


def _sweep_partials(ledger: Ledger, out: Path) -> None:
    """Remove ``.partial`` folders no open reservation owns (left by orphaned workers)."""
    for partial in out.glob(f".*{device_folder.PARTIAL}"):
        found = ledger.find(device_folder.partial_imei(partial))
        if found is None or found[0] != "reserved":
            shutil.rmtree(partial, ignore_errors=True)


def settle_dead_runs(ledger: Ledger) -> list[Settled]:
    """Settle runs whose process died, and write their manifests."""
    done = []
    for run in ledger.dead_runs():
        lock = RunLock(ledger.locks, run.id)
        if not lock.try_acquire():
            continue  # another rerun is settling it right now
        try:
            if run.id not in {r.id for r in ledger.open_runs()}:
                continue  # it finished (or was settled) between our look and our lock
            committed, released = settle(ledger, run.id, run.out)
            _sweep_partials(ledger, run.out)
            issued = ledger.issued(run.id)
            written = None
            if issued and run.out.is_dir():
                written = manifest.write(run.out, run.id, run.tac, "recovered", issued)
            ledger.finish_run(run.id, "recovered")
        finally:
            lock.release()
        done.append(Settled(run.id, committed, released, written))
    return done
