"""`dynsub core serve` as a real process: clean stop on SIGTERM/SIGINT, refusals to start.

A signal closes the listener first; sessions already running get a grace period
(core.server.Limits.shutdown_grace_seconds) to finish, and a record is committed whole or not
at all, so every UE that received its SUBSCRIPTION finds its record in the store afterwards.
"""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from dynsub_cli.config import load
from dynsub_cli.core.assembly import open_store
from dynsub_cli.errors import ExitCode, NetworkError
from dynsub_cli.ue import client
from dynsub_cli.ue import state as states
from tests.flow import Lab, make_lab
from tests.integration.ues import Outcome, PausedUe, attempt
from tests.processes import serve_command, served_core

UES = 12


def _committed_records_are_kept(lab: Lab, state_files: list[Path]) -> int:
    """Every UE that kept a subscription finds it in the store with its K; returns how many."""
    config = lab.config()
    saved = [states.load(f) for f in state_files if f.exists()]
    with open_store(config) as store:
        for state in saved:
            record = store.get(state.supi, reveal_secrets=True)
            assert record.imei == state.imei
            assert record.secrets is not None
            assert record.secrets.k == state.k
    with sqlite3.connect(config.store.path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    return len(saved)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_signal_stops_the_core_cleanly_while_ues_onboard(
    tmp_path: Path, signum: signal.Signals
) -> None:
    lab = make_lab(tmp_path, devices=UES + 1)
    files = [tmp_path / f"ue-{i}.toml" for i in range(UES + 1)]
    with served_core(lab.config_file) as core:
        # One UE waits just before the message the core commits on: it is mid-procedure
        # when the signal arrives, whatever the timing of the others.
        paused = PausedUe(lab.devices[UES], core.sockaddr, files[UES])
        paused.wait_paused()
        outcomes: list[Outcome] = []
        threads = [
            threading.Thread(
                target=lambda i=i: outcomes.append(
                    attempt(lambda: client.onboard(lab.devices[i], core.sockaddr, files[i]))
                )
            )
            for i in range(UES)
        ]
        for thread in threads:
            thread.start()
        _wait_for(lambda: any(f.exists() for f in files[:UES]))
        core.send(signum)
        _wait_for(lambda: _refuses_connections(core.sockaddr))
        paused.resume()
        finished = paused.result()
        for thread in threads:
            thread.join(timeout=60)
        code = core.wait()
    assert code == ExitCode.OK, core.stderr()
    assert core.events[-1]["event"] == "stopped"
    assert "Traceback" not in core.stderr(), core.stderr()[-4000:]
    # The paused UE finished its onboarding within the grace period: its record is kept.
    assert isinstance(finished, client.Report), finished
    assert files[UES].exists()
    kept = _committed_records_are_kept(lab, files)
    assert kept >= 2
    # UEs that came too late were told the core is not there, not left hanging.
    for outcome in outcomes:
        if not isinstance(outcome, client.Report):
            assert isinstance(outcome, NetworkError), outcome


def _wait_for(condition: object, timeout: float = 30.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.01)


def _refuses_connections(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return True
    return False


def _serve(config_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        serve_command(config_file, *args),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_refuses_a_missing_config_file(tmp_path: Path) -> None:
    result = _serve(tmp_path / "missing.toml")
    assert result.returncode == ExitCode.CONFIG
    assert "missing.toml: not found" in result.stderr
    assert "dynsub core init" in result.stderr


def test_refuses_an_unknown_key(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    text = lab.config_file.read_text()
    lab.config_file.write_text(text.replace("[limits]\n", "[limits]\nmax_conections = 3\n"))
    result = _serve(lab.config_file)
    assert result.returncode == ExitCode.CONFIG
    assert '[limits] unknown key "max_conections"' in result.stderr
    assert "max_connections" in result.stderr  # the known keys are listed


def test_refuses_a_missing_secret_file_before_listening(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    config = load(lab.config_file)
    config.operator.op_file.unlink()
    result = _serve(lab.config_file, "--listen", "127.0.0.1:0")
    assert result.returncode == ExitCode.CONFIG
    assert f"{config.operator.op_file}: not found" in result.stderr
    assert "listening" not in result.stderr


def test_refuses_a_port_already_taken(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _serve(lab.config_file, "--listen", f"127.0.0.1:{port}")
    assert result.returncode == ExitCode.NETWORK
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "choose another port with --listen" in result.stderr
