"""`dynsub ue load` against a real `dynsub core serve`, both as subprocesses, as CI runs them.

The summary must agree with what the store holds afterwards (`dynsub store stats` and
`store list`), refusals must show with their 5GMM cause, and the pass/fail checks must turn a
bad run into exit 15 (CHECK_FAILED).
"""

from __future__ import annotations

import dataclasses
import json
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from dynsub_cli import config
from dynsub_cli.cli import main
from dynsub_cli.errors import ExitCode
from dynsub_cli.nas.enums import MmCause
from dynsub_cli.ue import state as states
from tests.flow import make_lab
from tests.processes import HANG, dynsub, served_core


def _json(text: str) -> Any:
    return json.loads(text)


def _store(config_file: Path, tmp_path: Path, *what: str) -> Any:
    return _json(dynsub("store", *what, "--config", config_file, "--json", cwd=tmp_path).stdout)


def test_200_onboardings_at_50_per_second_match_the_store(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=200)
    devices = lab.devices[0].parent
    with served_core(lab.config_file, cwd=tmp_path) as core:
        ran = dynsub("ue", "load", "--devices", devices, "--core", core.address,
                     "--count", "200", "--concurrency", "20", "--rate", "50", "--json",
                     cwd=tmp_path)  # fmt: skip
    summary = _json(ran.stdout)
    assert summary["arrivals"] == summary["succeeded"] == 200
    assert summary["failed"] == 0
    assert summary["outcomes"] == {"ok": 200}
    assert summary["distinct_supis"] == 200
    assert summary["causes"] == []
    assert summary["interrupted"] is False
    assert summary["passed"] is True
    # Open loop: 200 arrivals due 20 ms apart are 50 per second whatever the core did.
    assert abs(summary["offered_rate"] - 50.0) < 1e-6
    assert summary["achieved_rate"] > 0
    latency = summary["latency_ms"]
    for name in ("total", "wait", "onboarding", "onboarding EAP-TLS", "onboarding dialogue"):
        row = latency[name]
        assert row["count"] == 200
        assert 0 <= row["p50"] <= row["p95"] <= row["p99"] <= row["max"]
    assert "registration" not in latency  # no --register: onboarding only

    stats = _store(lab.config_file, tmp_path, "stats")
    assert stats["total"] == stats["allocated_supis"] == summary["succeeded"]
    assert stats["events_by_kind"]["subscription_created"] == {"success": 200}
    listed = _store(lab.config_file, tmp_path, "list")
    by_imei = {row["imei"]: row["supi"] for row in listed}
    assert len(set(by_imei.values())) == 200
    # Each device's state file, where `ue onboard` puts it, holds the SUPI the store gave it.
    for device in lab.devices:
        state_file = device / "ue-state.toml"
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
        assert states.load(state_file).supi == by_imei[device.name]


def test_refused_devices_show_their_cause_and_fail_the_check(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=8)
    blocked = tuple(device.name for device in lab.devices[::2])
    loaded = lab.config()
    config.write(
        dataclasses.replace(
            loaded, enrollment=dataclasses.replace(loaded.enrollment, blocklist=blocked)
        ),
        lab.config_file,
        overwrite=True,
    )
    devices = lab.devices[0].parent
    with served_core(lab.config_file, cwd=tmp_path) as core:
        run = ("ue", "load", "--devices", devices, "--core", core.address, "--count", "8",
               "--concurrency", "4", "--json")  # fmt: skip
        failed = dynsub(*run, "--max-failure-rate", "0.1", cwd=tmp_path,
                        expect=ExitCode.CHECK_FAILED)  # fmt: skip
        # A later run with --register reuses the state files of the devices that onboarded.
        again = dynsub(*run, "--register", "--max-failure-rate", "0.5", cwd=tmp_path)
    summary = _json(failed.stdout)
    assert summary["arrivals"] == 8
    assert summary["succeeded"] == summary["failed"] == 4
    assert summary["outcomes"] == {"ok": 4, "rejected": 4}
    assert summary["causes"] == [
        {"cause": int(MmCause.PEI_NOT_ACCEPTED), "name": "PEI not accepted", "count": 4}
    ]
    assert summary["checks"] == [
        {"check": "max-failure-rate", "limit": 0.1, "value": 0.5, "passed": False}
    ]
    assert summary["passed"] is False
    assert "check failed: max-failure-rate" in failed.stderr

    registered = _json(again.stdout)
    assert registered["succeeded"] == 4
    assert registered["passed"] is True
    assert "registration" in registered["latency_ms"]
    assert "onboarding" not in registered["latency_ms"]  # registered with the saved state
    stats = _store(lab.config_file, tmp_path, "stats")
    assert stats["total"] == 4  # two onboarding runs of the same 4 devices: same records
    supis = {row["supi"] for row in _store(lab.config_file, tmp_path, "list")}
    assert supis == {states.load(d / "ue-state.toml").supi for d in lab.devices[1::2]}
    assert not any((d / "ue-state.toml").exists() for d in lab.devices[::2])


def test_load_needs_a_count_or_a_duration(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["ue", "load", "--devices", str(tmp_path), "--core", "127.0.0.1:1"]
    done = runner.invoke(main, args)
    assert done.exit_code == ExitCode.USAGE
    assert "--count N or --duration SECONDS" in done.output
    empty = runner.invoke(main, [*args, "--count", "1"])
    assert empty.exit_code == ExitCode.IO
    assert "no device folders here" in empty.output


def test_ctrl_c_ends_the_run_with_a_summary_of_what_ran(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=2)
    with served_core(lab.config_file, cwd=tmp_path) as core:
        process = subprocess.Popen(
            [sys.executable, "-m", "dynsub_cli", "ue", "load", "--devices",
             str(lab.devices[0].parent), "--core", core.address, "--duration", "600",
             "--rate", "0.05", "--json"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        # The first arrival is due at once, the next in 20 s: interrupt while it waits.
        deadline = time.monotonic() + HANG
        while not list(lab.devices[0].glob("ue-state.toml")) and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=HANG)
    assert process.returncode == ExitCode.INTERRUPTED, err
    summary = _json(out)
    assert summary["interrupted"] is True
    assert summary["arrivals"] == summary["succeeded"] == 1, (summary, err)
    assert "interrupted after 1 arrivals" in err


def test_ctrl_c_waits_for_the_arrival_that_is_running(tmp_path: Path) -> None:
    """Ctrl-C starts nothing new and counts what was running once it ends. In Python 3.11 a
    KeyboardInterrupt caught around Thread.join() marked the running worker as stopped, so
    the summary came out at once without the arrival in flight."""
    lab = make_lab(tmp_path, devices=1)
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers: a hung core
    host, port = silent.getsockname()[:2]
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "dynsub_cli", "ue", "load", "--devices",
             str(lab.devices[0].parent), "--core", f"{host}:{port}", "--count", "1",
             "--timeout", "3", "--json"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        connection, _ = silent.accept()  # the arrival is under way, waiting for the core
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=HANG)
        connection.close()
    finally:
        silent.close()
    assert process.returncode == ExitCode.INTERRUPTED, err
    summary = _json(out)
    assert summary["interrupted"] is True
    assert summary["arrivals"] == 1, (summary, err)  # the arrival ran to its timeout
    assert summary["outcomes"] == {"timeout": 1}, summary
