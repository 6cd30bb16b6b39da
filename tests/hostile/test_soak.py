"""A soak: every hostile client of tests/hostile at once against one `dynsub core serve`.

For a bounded time (SOAK_SECONDS) garbage senders, repeaters of the initial request, null-scheme
probers, slot holders and tricklers hammer the core from other 127.0.0.0/8 hosts while good UEs
onboard. At the end every good UE has onboarded, the core's open files and memory are back near
where they started, its log has no traceback, and the store passes PRAGMA integrity_check.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dynsub_cli.nas.framing import frame
from dynsub_cli.ue import client
from tests.flow import make_lab
from tests.hostile.test_core_attacks import initial_request, null_scheme_request
from tests.processes import served_core

SOAK_SECONDS = 20.0
GOOD_UES = 6


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def hammer(address: tuple[str, int], source: str, send: Callable[[socket.socket], None]) -> int:
    """Connect from ``source`` and ``send`` until the soak ends; returns the connections made."""
    stop = time.monotonic() + SOAK_SECONDS
    made = 0
    while time.monotonic() < stop:
        try:
            with socket.create_connection(address, timeout=2, source_address=(source, 0)) as s:
                made += 1
                send(s)
        except OSError:
            time.sleep(0.01)  # turned away or reset: try again, as an attacker would
    return made


def answer(s: socket.socket) -> None:
    s.settimeout(2)
    while s.recv(65536):
        pass


@pytest.mark.slow
def test_the_core_survives_every_hostile_client_at_once(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=GOOD_UES)
    garbage = frame(bytes([0x7E, 0x00, 0xEE]) + os.urandom(40))
    repeated = frame(initial_request(lab, 0)) * 20
    probe = frame(null_scheme_request("0000000001"))

    def send_garbage(s: socket.socket) -> None:
        s.sendall(garbage)
        answer(s)

    def send_repeated(s: socket.socket) -> None:
        s.sendall(repeated)
        answer(s)

    def send_probe(s: socket.socket) -> None:
        s.sendall(probe)
        answer(s)

    def hold(s: socket.socket) -> None:
        s.settimeout(10)
        s.recv(1)  # until the core gives up on the silent peer

    def trickle(s: socket.socket) -> None:
        for octet in probe:
            s.sendall(bytes([octet]))
            time.sleep(0.3)

    attackers = [
        ("127.0.0.11", send_garbage),
        ("127.0.0.12", send_repeated),
        ("127.0.0.13", send_probe),
        *[("127.0.0.14", hold)] * 70,  # more than one host may hold
        *[("127.0.0.15", trickle)] * 5,
    ]
    with served_core(lab.config_file, cwd=tmp_path) as core:
        pid = core.process.pid
        address = core.sockaddr
        client.onboard(lab.devices[0], address, tmp_path / "warm.toml")  # everything loaded
        fds_before, rss_before = fds(pid), rss_kib(pid)
        made: list[int] = []
        threads = [
            threading.Thread(target=lambda a=a: made.append(hammer(address, *a))) for a in attackers
        ]
        for thread in threads:
            thread.start()
        onboarded = []
        for i in range(1, GOOD_UES):
            time.sleep(SOAK_SECONDS / GOOD_UES)
            onboarded.append(client.onboard(lab.devices[i], address, tmp_path / f"ue{i}.toml"))
        for thread in threads:
            thread.join(timeout=SOAK_SECONDS + 30)
        time.sleep(1)  # the last connections closed on the core's side too
        fds_after, rss_after = fds(pid), rss_kib(pid)
    assert all(report.supi for report in onboarded)
    assert sum(made) > 100, made  # the attackers did connect, again and again
    assert fds_after <= fds_before + 5, (fds_before, fds_after)
    assert rss_after <= rss_before * 1.5, (rss_before, rss_after)
    assert not [line for line in core.other if "Traceback" in line], core.other
    with sqlite3.connect(lab.config().store.path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
