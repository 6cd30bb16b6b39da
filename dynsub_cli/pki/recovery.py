"""Settling minting runs: the reservations a run leaves open are committed or released.

A run settles its own leftovers when it ends (finished, a worker error). A run whose process
died (kill -9, power cut) cannot; the next run finds it open with its lock file free
(:class:`~dynsub_cli.pki.ledger.RunLock`) and settles it, writing that run's manifest. A run
stopped by Ctrl-C leaves itself open the same way, on purpose, so that it stops at once
(:mod:`dynsub_cli.pki.mint`). Settling decides from the disk alone: a reserved IMEI whose folder
is in place is committed from that folder, any other is released and its ``.partial`` folder
removed.
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
    committed: int  # devices found whole on disk whose commit had not been recorded
    released: int
    manifest: manifest.Manifest | None
    outcome: str = "recovered"  # "interrupted" for a run stopped by Ctrl-C
    devices: int = 0  # every device the run issued, as its manifest lists them


def settle(ledger: Ledger, run: str, out: Path) -> tuple[int, int]:
    """Commit or release every reservation ``run`` left open; returns (committed, released).

    The work follows what is on disk, not the reservation count: one listing of ``out``, the
    ledger asked which of its names are IMEIs this run still holds reserved (folders renamed
    into place whose commit was cut short, or ``.partial`` folders), then one transaction that
    commits those found whole and releases all the rest at once. A run stopped early in a
    batch of 200,000 leaves nearly all of them reserved with nothing on disk.
    """
    try:
        names = os.listdir(out)
    except FileNotFoundError:
        names = []
    partials = {
        device_folder.partial_imei(Path(name)): name
        for name in names
        if name.startswith(".") and name.endswith(device_folder.PARTIAL)
    }
    wanted = [name for name in names if name.isdigit()] + list(partials)
    reserved = ledger.reserved_among(run, wanted)
    committed: list[Issued] = []
    for imei in sorted(reserved):
        folder = out / imei
        found = device_folder.read_issued(folder, imei) if folder.is_dir() else None
        if found is not None:
            committed.append(found)
        if imei in partials:
            shutil.rmtree(out / partials[imei], ignore_errors=True)
    released = ledger.settle(run, committed)
    return len(committed), released


def _sweep_partials(ledger: Ledger, out: Path) -> None:
    """Remove ``.partial`` folders no open reservation owns (left by orphaned workers)."""
    for partial in out.glob(f".*{device_folder.PARTIAL}"):
        found = ledger.find(device_folder.partial_imei(partial))
        if found is None or found[0] != "reserved":
            shutil.rmtree(partial, ignore_errors=True)


def settle_dead_runs(ledger: Ledger) -> list[Settled]:
    """Settle runs whose process died or was interrupted, and write their manifests."""
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
            # A run the user interrupted keeps that outcome (mint.py left it open on purpose).
            outcome = "interrupted" if run.outcome == "interrupted" else "recovered"
            written = None
            if issued and run.out.is_dir():
                written = manifest.write(run.out, run.id, run.tac, outcome, issued)
            ledger.finish_run(run.id, outcome)
        finally:
            lock.release()
        done.append(Settled(run.id, committed, released, written, outcome, len(issued)))
    return done
