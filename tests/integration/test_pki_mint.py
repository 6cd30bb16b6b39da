"""`dynsub pki mint` as real processes: two at once on one ledger, Ctrl-C and kill -9 half-way.

After any of these, the state must be consistent: every issued ledger entry has its complete
device folder, every device folder has its issued ledger entry, no ``.partial`` folder is left
once a rerun has settled, and the rerun completes.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dynsub_cli.errors import ExitCode
from dynsub_cli.pki import authority
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.ledger import Ledger

DEVICE_FILES = ["chain.pem", "device.key", "device.pem", "trust.pem"]

pytestmark = pytest.mark.slow


def dynsub(*args: str | Path | int) -> list[str]:
    return [sys.executable, "-m", "dynsub_cli", *map(str, args)]


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return authority.init(tmp_path / "pki", authority.InitOptions())


def ledger_rows(pki: Pki) -> dict[str, str]:
    with sqlite3.connect(pki.ledger) as db:
        return dict(db.execute("SELECT imei, state FROM devices").fetchall())


def device_folders(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if p.is_dir() and p.name.isdigit()}


def assert_consistent(pki: Pki, out: Path) -> set[str]:
    """Issued ledger entries and complete device folders are the same set; returns it."""
    rows = ledger_rows(pki)
    issued = {imei for imei, state in rows.items() if state == "issued"}
    folders = device_folders(out)
    assert issued == folders
    for imei in folders:
        assert sorted(p.name for p in (out / imei).iterdir()) == DEVICE_FILES, imei
    return issued


def wait_for_devices(out: Path, count: int, child: subprocess.Popen[bytes]) -> None:
    while not (out.is_dir() and len(device_folders(out)) >= count):
        assert child.poll() is None, "mint finished before it could be interrupted"
        time.sleep(0.02)


def test_two_concurrent_runs_never_share_an_imei(pki: Pki, tmp_path: Path) -> None:
    count = 300
    runs = [
        subprocess.Popen(
            dynsub(
                "pki",
                "mint",
                "--pki",
                pki.root,
                "--out",
                tmp_path / f"out{n}",
                "--count",
                count,
                "--workers",
                1,
                "--json",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(2)
    ]
    summaries = []
    for child in runs:
        stdout, stderr = child.communicate(timeout=300)
        assert child.returncode == 0, stderr.decode()
        summaries.append(json.loads(stdout))
    manifests = [json.loads(Path(s["manifest_json"]).read_text())["devices"] for s in summaries]
    imeis = [row["imei"] for rows in manifests for row in rows]
    assert len(imeis) == 2 * count
    assert len(set(imeis)) == 2 * count, "an IMEI was minted twice"
    rows = ledger_rows(pki)
    assert len(rows) == 2 * count
    assert set(rows.values()) == {"issued"}
    for n in range(2):
        assert_consistent_subset(pki, tmp_path / f"out{n}")


def test_ctrl_c_at_any_moment_ends_the_run(pki: Pki, tmp_path: Path) -> None:
    """Ctrl-C landing anywhere in the parent's loop ends the run. It once landed inside
    concurrent.futures.wait() while that held a future's lock, and the pool's shutdown then
    waited on the lock for ever: these 16 interrupts hung 2 runs of 3 before the fix."""
    for number, after in enumerate(range(1, 400, 25)):
        out = tmp_path / f"out{number}"
        child = subprocess.Popen(
            dynsub("pki", "mint", "--pki", pki.root, "--out", out, "--count", 20_000),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_devices(out, after, child)
            child.send_signal(signal.SIGINT)
            _, stderr = child.communicate(timeout=60)  # it stops within a second when it works
        finally:
            child.kill()
        assert child.returncode == ExitCode.INTERRUPTED, (after, stderr.decode())


def assert_consistent_subset(pki: Pki, out: Path) -> None:
    rows = ledger_rows(pki)
    for imei in device_folders(out):
        assert rows[imei] == "issued"
        assert sorted(p.name for p in (out / imei).iterdir()) == DEVICE_FILES


def test_ctrl_c_half_way_leaves_whole_devices_and_a_rerun_completes(
    pki: Pki, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    total = 20_000  # far more than can be minted before the interrupt arrives
    child = subprocess.Popen(
        dynsub("pki", "mint", "--pki", pki.root, "--out", out, "--count", total, "--workers", 2),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_devices(out, 200, child)
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=120)
    finally:
        child.kill()
    assert child.returncode == ExitCode.INTERRUPTED, stderr.decode()
    message = " ".join(stderr.decode().split())  # however the terminal wraps it
    assert "minting interrupted" in message
    assert "left open" in message
    assert "the next `dynsub pki mint`" in message
    said = int(message.split("minting interrupted: ")[1].split(" of ")[0])  # on disk, it says

    # Ctrl-C stops at once: the run is left open, its devices in place recorded, the rest
    # still reserved, for the next run to settle (as it settles a killed run).
    rows = ledger_rows(pki)
    recorded = {imei for imei, state in rows.items() if state == "issued"}
    assert 200 <= len(recorded) < total
    assert said <= len(recorded)  # nothing is called minted that is not recorded
    with Ledger(pki.ledger) as ledger:
        (run,) = ledger.open_runs()
    assert run.outcome == "interrupted"
    assert set(rows.values()) == {"issued", "reserved"}
    assert recorded <= device_folders(out)  # a folder placed as the signal came may be unrecorded
    for imei in device_folders(out):
        assert sorted(p.name for p in (out / imei).iterdir()) == DEVICE_FILES, imei
    assert not list(out.glob("manifest-*.json"))

    rerun = subprocess.run(
        dynsub("pki", "mint", "--pki", pki.root, "--out", out, "--count", 50, "--json"),
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr.decode()
    (settled,) = json.loads(rerun.stdout)["recovered_runs"]
    assert (settled["run"], settled["outcome"]) == (run.id, "interrupted")
    assert settled["released"] == total - settled["devices"]
    after = assert_consistent(pki, out)
    assert set(ledger_rows(pki).values()) == {"issued"}
    assert not list(out.glob(".*.partial"))
    (manifest,) = out.glob(f"manifest-{settled['run']}.json")
    document = json.loads(manifest.read_text())
    assert document["outcome"] == "interrupted"
    minted = {row["imei"] for row in document["devices"]}
    assert recorded <= minted
    assert len(after) == len(minted) + 50


def test_kill_9_half_way_is_settled_by_the_rerun(pki: Pki, tmp_path: Path) -> None:
    out = tmp_path / "out"
    before = _mint_processes()
    child = subprocess.Popen(
        dynsub("pki", "mint", "--pki", pki.root, "--out", out, "--count", 20_000, "--workers", 2),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_devices(out, 200, child)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    # Right after the crash: no issued entry lacks its folder (reserved ones may be open).
    rows = ledger_rows(pki)
    for imei, state in rows.items():
        if state == "issued":
            assert sorted(p.name for p in (out / imei).iterdir()) == DEVICE_FILES
    assert "reserved" in set(rows.values())
    # The workers notice that the minting process is gone and end: none is left behind.
    deadline = time.monotonic() + 10
    while _mint_processes() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _mint_processes() - before

    rerun = subprocess.run(
        dynsub("pki", "mint", "--pki", pki.root, "--out", out, "--count", 10, "--json"),
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr.decode()
    (recovered,) = json.loads(rerun.stdout)["recovered_runs"]
    assert recovered["released"] > 0
    minted = assert_consistent(pki, out)
    assert set(ledger_rows(pki).values()) == {"issued"}
    assert not list(out.glob(".*.partial"))
    killed_manifest = [
        m
        for m in out.glob("manifest-*.json")
        if json.loads(m.read_text())["outcome"] == "recovered"
    ]
    assert len(killed_manifest) == 1
    assert len(json.loads(killed_manifest[0].read_text())["devices"]) == len(minted) - 10


def _mint_processes() -> set[int]:
    """PIDs of the forkserver and workers of every minting run (their command line names the
    module the forkserver preloads)."""
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"forkserver" in cmdline and b"dynsub_cli.pki.mint" in cmdline:
                found.add(int(proc.name))
    return found
