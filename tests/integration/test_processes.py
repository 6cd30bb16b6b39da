"""`dynsub core serve --processes N`: several serving processes on one port, one supervisor."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynsub_cli import config
from dynsub_cli.config.core import LimitsConfig
from dynsub_cli.core import assembly, operations
from dynsub_cli.core.service import _share_limits
from dynsub_cli.errors import ExitCode
from dynsub_cli.store import EventKind
from dynsub_cli.ue import client
from tests.flow import Lab, make_lab
from tests.processes import ServedCore, serve_command, served_core, start_core

TWO = ("--listen", "127.0.0.1:0", "--processes", "2")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return make_lab(tmp_path_factory.mktemp("processes"), devices=8)


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


@pytest.fixture
def core(lab: Lab) -> Iterator[ServedCore]:
    with served_core(lab.config_file, args=("--processes", "2")) as started:
        yield started


def _onboard(lab: Lab, index: int, core: ServedCore, folder: Path) -> str:
    report = client.onboard(lab.devices[index], core.sockaddr, folder / f"ue-{index}.toml")
    assert report.supi is not None
    return report.supi


def test_each_serving_process_serves_the_one_port(
    lab: Lab, core: ServedCore, tmp_path: Path
) -> None:
    workers = _children(core.process.pid)
    assert len(workers) == 2
    served = []
    # With one serving process stopped, the other alone accepts: both serve the same port.
    for stopped, index in ((workers[0], 0), (workers[1], 1)):
        os.kill(stopped, signal.SIGSTOP)
        try:
            served.append(_onboard(lab, index, core, tmp_path))
        finally:
            os.kill(stopped, signal.SIGCONT)
    assert len(set(served)) == 2
    # One store: a UE onboarded through one process registers through either.
    for stopped in workers:
        os.kill(stopped, signal.SIGSTOP)
        try:
            client.register(tmp_path / "ue-0.toml", core.sockaddr)
        finally:
            os.kill(stopped, signal.SIGCONT)
    with assembly.open_store(lab.config()) as store:
        kinds = [event.kind for event in store.events(limit=1000)]
    # `ue onboard` registers once onboarded: two onboardings, then two registrations.
    assert kinds.count(EventKind.REGISTRATION) == 4
    assert sum('"event": "listening"' in line for line in core.lines) == 1


def test_sighup_reaches_every_serving_process_and_sigterm_stops_them(
    lab: Lab, core: ServedCore
) -> None:
    workers = _children(core.process.pid)
    pid_file = operations.pid_file(lab.config_file)
    assert pid_file.read_text().strip() == str(core.process.pid)
    core.send(signal.SIGHUP)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        reloads = [e for e in core.events if e.get("step") == "reload"]
        if len(reloads) == 2:
            break
        time.sleep(0.05)
    assert [e["outcome"] for e in reloads] == ["ok", "ok"]
    # Each applies its share of [limits], on reload too: nothing to restart for.
    assert not any("restart" in e["message"] for e in reloads)
    core.send(signal.SIGTERM)
    assert core.wait() == ExitCode.OK
    assert sum('"event": "stopped"' in line for line in core.lines) == 1
    assert not pid_file.exists()
    for worker in workers:
        assert not Path(f"/proc/{worker}").exists()


def test_a_serving_process_that_dies_stops_the_core(lab: Lab, core: ServedCore) -> None:
    first, second = _children(core.process.pid)
    os.kill(first, signal.SIGKILL)
    assert core.wait() == ExitCode.INTERNAL
    said = [e["message"] for e in core.events if e.get("step") == "processes"]
    assert any("was killed by SIGKILL; stopping the core" in text for text in said)
    assert not Path(f"/proc/{second}").exists()


def test_killing_the_supervisor_takes_its_serving_processes_with_it(lab: Lab) -> None:
    started = start_core(lab.config_file, *TWO)
    workers = _children(started.process.pid)
    started.process.kill()
    started.wait()
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    # Orphans would hold the port; they got SIGTERM when the supervisor died.
    assert not any(Path(f"/proc/{w}").exists() for w in workers)


def test_a_core_that_cannot_start_says_so_once(lab: Lab, tmp_path: Path) -> None:
    cfg = lab.config()
    bad_key = tmp_path / "wrong.key"
    bad_key.write_bytes(os.urandom(32))
    bad_key.chmod(0o600)
    other = tmp_path / "core.toml"
    store = config.StoreConfig(cfg.store.path, bad_key, cfg.store.url, cfg.store.password_file)
    config.write(dataclasses.replace(cfg, store=store), other)
    done = subprocess.run(
        serve_command(other, *TWO), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == ExitCode.STORE, done.stderr
    assert done.stderr.count("store key does not open this store") == 1


def test_what_one_process_serves_refuses_several(lab: Lab, tmp_path: Path) -> None:
    done = subprocess.run(
        serve_command(lab.config_file, *TWO, "--pcap", str(tmp_path / "x.pcap")),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == ExitCode.USAGE
    assert "--pcap need a single serving process" in done.stderr


def test_limits_are_shared_so_that_the_processes_hold_the_totals(lab: Lab) -> None:
    cfg = lab.config()
    limits = LimitsConfig(max_connections=9, max_connections_per_peer=4, challenges_per_minute=1)
    cfg = dataclasses.replace(cfg, limits=limits)
    shared = _share_limits(cfg, 2).limits
    assert (shared.max_connections, shared.per_peer, shared.challenges_per_minute) == (5, 2, 1)
    assert _share_limits(cfg, 1) == cfg
