"""kill -9 of `dynsub core serve` during onboardings leaves a consistent store; retries succeed.

Each iteration starts the real core process, onboards a few UEs at once and kills the core with
SIGKILL after a seeded random delay. Half of the delays are drawn from the few milliseconds
after one UE (paused just before KEY_RESPONSE) sends the message on which the core commits, so
kills land in and around the commit transaction; the others anywhere in the procedures.

After every kill the store must be whole: SQLite's integrity check passes, every record's
sealed K and OPc open with the store key and OPc belongs to K, no SUPI is allocated twice, a
device has at most one live record, and every audit event of a commit names a record that
exists (the record and its event share one transaction). Then the core restarts on the same
store and every UE whose onboarding was cut onboards again and ends ready. The re-onboarding
policy alternates between "same-record" and "new-record" from one iteration to the next.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dynsub_cli.config import CoreConfig
from dynsub_cli.core.assembly import open_store
from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import DynsubError
from dynsub_cli.files import read_bytes
from dynsub_cli.security.milenage import compute_opc
from dynsub_cli.store import EventKind, State
from dynsub_cli.ue import client
from dynsub_cli.ue import state as states
from tests.flow import Lab, make_lab
from tests.integration.ues import Outcome, PausedUe, attempt
from tests.processes import served_core, start_core

SEED = 5216
ITERATIONS = 8
UES_PER_ITERATION = 4
DEVICES = 10
#: Onboarding events written in the same transaction as the record they name.
COMMITS = (
    EventKind.SUBSCRIPTION_CREATED,
    EventKind.SUBSCRIPTION_UPDATED,
    EventKind.SUBSCRIPTION_REPLACED,
)


@dataclass
class Tally:
    """What the kills hit, for the test's output (pytest -s) and its final checks."""

    kills: int = 0
    cut: dict[str, int] = field(default_factory=dict)  # UE step -> UEs cut there
    completed: int = 0
    retried: int = 0

    def add(self, outcome: Outcome) -> None:
        if isinstance(outcome, client.Report):
            self.completed += 1
        else:
            step = outcome.step or "connect"
            self.cut[step] = self.cut.get(step, 0) + 1


def set_policy(lab: Lab, policy: Reonboarding) -> None:
    text = lab.config_file.read_text()
    for other in Reonboarding:
        text = text.replace(f'reonboarding = "{other.value}"', f'reonboarding = "{policy.value}"')
    lab.config_file.write_text(text)
    assert lab.config().enrollment.reonboarding is policy


def check_store(config: CoreConfig) -> None:
    """The store a kill left behind is whole (see the module docstring)."""
    with sqlite3.connect(config.store.path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        allocations = db.execute("SELECT COUNT(*), COUNT(DISTINCT msin) FROM supi_allocations")
        total, distinct = allocations.fetchone()
        assert total == distinct
        orphans = db.execute(
            "SELECT COUNT(*) FROM subscriptions "
            "WHERE supi NOT IN (SELECT supi FROM supi_allocations)"
        )
        assert orphans.fetchone() == (0,)
    op = bytes.fromhex(read_bytes(config.operator.op_file, "OP").decode().strip())
    with open_store(config) as store:
        records = store.list()
        for record in records:
            opened = store.get(record.supi, reveal_secrets=True).secrets
            assert opened is not None, record.supi
            assert opened.opc == compute_opc(opened.k, op), record.supi
        live = [r.imei for r in records if r.state is not State.REPLACED]
        assert len(live) == len(set(live)), "a device with two live subscriptions"
        supis = {r.supi for r in records}
        events = store.events(limit=1_000_000)
        for event in events:
            if event.kind in COMMITS:
                assert event.supi in supis, event
        created = {e.supi for e in events if e.kind in COMMITS}
        assert supis <= created, "a record without the event of its commit"


def kill_during_onboardings(
    lab: Lab, rng: random.Random, files: list[Path], tally: Tally
) -> list[int]:
    """One iteration: UEs onboard, the core is killed; returns the devices that were cut."""
    chosen = rng.sample(range(DEVICES), UES_PER_ITERATION)
    target, others = chosen[0], chosen[1:]
    near_commit = rng.random() < 0.5
    delay = rng.uniform(0.0, 0.004) if near_commit else rng.uniform(0.0, 0.3)
    core = start_core(lab.config_file, "--listen", "127.0.0.1:0")
    try:
        paused = PausedUe(lab.devices[target], core.sockaddr, files[target])
        paused.wait_paused()
        results: dict[int, Outcome] = {}
        threads = [
            threading.Thread(
                target=lambda i=i: results.__setitem__(
                    i, attempt(lambda: client.onboard(lab.devices[i], core.sockaddr, files[i]))
                )
            )
            for i in others
        ]
        for thread in threads:
            thread.start()
        paused.resume()
        time.sleep(delay)
        core.crash()
        tally.kills += 1
        assert core.wait() == -signal.SIGKILL
        results[target] = paused.result()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        if core.process.poll() is None:
            core.process.kill()
            core.wait()
    for outcome in results.values():
        tally.add(outcome)
    # The paused UE did not register: like any UE that lacks a confirmed registration, it
    # goes through onboarding again below.
    return [i for i in chosen if i == target or not isinstance(results[i], client.Report)]


@pytest.mark.slow
def test_kill_9_during_onboardings_leaves_a_consistent_store(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=DEVICES)
    config = lab.config()
    files = [tmp_path / f"ue-{i}.toml" for i in range(DEVICES)]
    rng = random.Random(SEED)
    tally = Tally()
    onboarded: set[int] = set()
    for iteration in range(ITERATIONS):
        set_policy(lab, Reonboarding.SAME_RECORD if iteration % 2 else Reonboarding.NEW_RECORD)
        cut = kill_during_onboardings(lab, rng, files, tally)
        check_store(config)
        with served_core(lab.config_file) as core:
            for i in cut:
                # The UE's retry: onboarding again, then the 5G AKA registration.
                tally.retried += 1
                report = client.onboard(lab.devices[i], core.sockaddr, files[i])
                assert report.supi is not None
            onboarded.update(cut)
            core.send(signal.SIGTERM)
            assert core.wait() == 0
        check_store(config)
    print(f"crash: {tally}")
    assert tally.kills == ITERATIONS
    # Every device that onboarded has exactly one live subscription, and its UE (the last
    # state it saved) registers with it.
    with served_core(lab.config_file) as core:
        for i in sorted(onboarded):
            state = states.load(files[i])
            with open_store(config) as store:
                live = [
                    r
                    for r in store.list()
                    if r.imei == state.imei and r.state is not State.REPLACED
                ]
            assert [r.supi for r in live] == [state.supi]
            try:
                client.register(files[i], core.sockaddr)
            except DynsubError as err:
                raise AssertionError(f"{files[i]}: {err.describe()}") from err
