"""Ctrl-C during a large `dynsub pki mint`: the documented exit status, and a consistent PKI.

The interrupted run stops without settling (issue: stop within a second), so these tests check
what it leaves: every device folder whole and in the ledger, no half-written device taken for
one, and the next run settling the rest in bulk and writing the interrupted run's manifest.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dynsub_cli.errors import ExitCode
from dynsub_cli.pki import pem
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.imei import make_imei
from dynsub_cli.pki.ledger import Ledger
from dynsub_cli.pki.verify import fingerprint
from tests.processes import HANG, dynsub
from tests.unit.pki.factory import make_pki

COUNT = 60_000  # far more than can be minted before the signal: most stay reserved
SIGNAL_AFTER = 200  # devices in place before Ctrl-C


def _devices(out: Path) -> set[str]:
    return {entry.name for entry in os.scandir(out) if entry.name.isdigit()}


def _interrupt_a_large_run(pki: Pki, out: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "dynsub_cli", "pki", "mint", "--pki", str(pki.root)]
    process = subprocess.Popen(
        [*command, "--out", str(out), "--count", str(COUNT), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + HANG  # a hang guard, not a timing
    try:
        while not (out.is_dir() and len(_devices(out)) >= SIGNAL_AFTER):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no device folder appeared"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=HANG)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_ctrl_c_exits_130_and_the_next_run_settles_the_rest(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    out = tmp_path / "out"
    stopped = _interrupt_a_large_run(pki, out)

    assert stopped.returncode == ExitCode.INTERRUPTED, stopped.stderr
    error = json.loads(stopped.stdout)["error"]
    assert error["code"] == "INTERRUPTED"
    assert "left open" in error["message"]
    assert "the next `dynsub pki mint`" in error["message"]
    # What it called minted is on disk and in the ledger, whole, before any settling.
    said = int(error["message"].split("minting interrupted: ")[1].split(" of ")[0])
    with Ledger(pki.ledger) as ledger:
        (run,) = ledger.open_runs()
        assert run.outcome == "interrupted"
        issued = {d.imei: d for d in ledger.issued(run.id)}
    assert SIGNAL_AFTER <= said <= len(issued)
    assert not list(out.glob("manifest-*"))  # left to the next run
    for imei in issued:
        assert (out / imei / "device.key").is_file()

    # The next run settles the interrupted one first, then mints after the highest serial.
    next_run = dynsub(
        "pki", "mint", "--pki", pki.root, "--out", out, "--count", "3", "--json", cwd=tmp_path
    )
    settled = json.loads(next_run.stdout)
    (recovered,) = settled["recovered_runs"]
    assert recovered["run"] == run.id
    assert recovered["outcome"] == "interrupted"
    on_disk = _devices(out)
    with Ledger(pki.ledger) as ledger:
        assert ledger.open_runs() == []
        assert ledger.counts() == {"issued": len(on_disk)}  # nothing left reserved
        after = {d.imei: d for d in ledger.issued(run.id)}
    assert recovered["devices"] == len(after)
    assert recovered["released"] == COUNT - len(after)
    assert set(issued) <= set(after)  # nothing recorded before was lost
    assert not list(out.glob(".*.partial"))
    manifest = json.loads((out / f"manifest-{run.id}.json").read_text())
    assert manifest["outcome"] == "interrupted"
    assert {row["imei"] for row in manifest["devices"]} == set(after)
    # Every folder on disk is a device of the ledger: the interrupted run's, or the 3 new ones.
    new = {make_imei(pki.tac, int(settled["first_imei"][8:14]) + n) for n in range(3)}
    assert on_disk == set(after) | new
    for row in manifest["devices"]:
        cert = pem.read_certificate(out / row["path"] / "device.pem")
        assert fingerprint(cert) == row["sha256_fingerprint"] == after[row["imei"]].fingerprint
    # Serials go on after the highest one issued; the released ones are free again.
    highest = max(int(imei[8:14]) for imei in after)
    assert int(settled["first_imei"][8:14]) == highest + 1
