"""Several `dynsub core serve` processes on one PostgreSQL store (issue 13, acceptance 1 and 2).

Three real core processes, each with its own core.toml (another listen port; the same store URL,
store key and secrets), serve real UEs (the client shell in threads) against one database of a
throwaway PostgreSQL cluster. Nothing is shared between the cores but the database, as between
cores on several hosts, so every guarantee shown here is the database's:

- 300 onboardings of distinct devices spread over the three: 300 distinct SUPIs, 300 records;
- 20 parallel onboardings of one device spread over the three: one live subscription, under each
  re-onboarding policy (what each policy leaves is explained in test_concurrency.py);
- kill -9 of one core during onboardings: no record without its K, no SUPI twice, and every UE
  cut by the kill onboards through another core;
- PostgreSQL stopped and started during onboardings: UEs are refused for a while, then succeed,
  and no core is restarted.
"""

from __future__ import annotations

import dataclasses
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from dynsub_cli import config
from dynsub_cli.config import CoreConfig, ListenConfig, StoreConfig
from dynsub_cli.core.assembly import open_store
from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import DynsubError, Rejected
from dynsub_cli.files import read_bytes
from dynsub_cli.nas.enums import MmCause
from dynsub_cli.security.milenage import compute_opc
from dynsub_cli.store import EventKind, State
from dynsub_cli.store.postgres import WAIT_SECONDS
from dynsub_cli.ue import client
from tests import postgres
from tests.flow import Lab, make_lab
from tests.integration.ues import Outcome, attempt, in_parallel
from tests.postgres import Cluster
from tests.processes import ServedCore, start_core

CORES = 3
UES = 300
SAME_DEVICE = 20
#: UEs onboarding at once (each a thread of this process): enough to keep three cores busy on
#: a 2-CPU machine without running into the UEs' own timeouts.
AT_ONCE = 60
COMMITS = {
    EventKind.SUBSCRIPTION_CREATED,
    EventKind.SUBSCRIPTION_UPDATED,
    EventKind.SUBSCRIPTION_REPLACED,
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return make_lab(tmp_path_factory.mktemp("pg-lab"), devices=UES)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def shared_configs(
    lab: Lab, cluster: Cluster, policy: Reonboarding = Reonboarding.SAME_RECORD
) -> list[Path]:
    """Three core.toml beside the lab's (same secrets), each with its own port, all on one new
    database; the password is in a 0600 file, as an operator would keep it."""
    base = lab.config()
    password_file = lab.core / "secrets" / "pg-password"
    if not password_file.exists():
        password_file.write_text(postgres.PASSWORD + "\n")
        password_file.chmod(0o600)
    store = StoreConfig(
        path=base.store.path,
        key_file=base.store.key_file,
        url=cluster.url(cluster.new_database()),
        password_file=password_file,
    )
    files = []
    for n in range(CORES):
        shared = dataclasses.replace(
            base,
            store=store,
            listen=ListenConfig("127.0.0.1", _free_port()),
            enrollment=dataclasses.replace(base.enrollment, reonboarding=policy),
        )
        files.append(config.write(shared, lab.core / f"core-{n}.toml", overwrite=True))
    return files


@contextmanager
def cores(files: list[Path]) -> Iterator[list[ServedCore]]:
    """A `core serve` per file (listening where its file says); killed at the end if left."""
    with ExitStack() as stack:
        started = []
        for file in files:
            core = start_core(file)
            stack.callback(_end, core)
            started.append(core)
        yield started


def _end(core: ServedCore) -> None:
    if core.process.poll() is None:
        core.process.kill()
    core.wait()


def pooled(count: int, job: Callable[[int], client.Report]) -> list[Outcome]:
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        return list(pool.map(lambda i: attempt(lambda: job(i)), range(count)))


def check_store(cfg: CoreConfig) -> list[str]:
    """No record without its K (every sealed K and OPc opens, and OPc is K's), no SUPI twice,
    one live record per device, and every commit's event names a record. Returns the SUPIs."""
    op = bytes.fromhex(read_bytes(cfg.operator.op_file, "OP").decode().strip())
    with open_store(cfg) as store:
        records = store.list(reveal_secrets=True)
        for record in records:
            assert record.secrets is not None, record.supi
            assert record.secrets.opc == compute_opc(record.secrets.k, op), record.supi
        supis = [r.supi for r in records]
        assert len(supis) == len(set(supis))
        live = [r.imei for r in records if r.state is not State.REPLACED]
        assert len(live) == len(set(live)), "a device with two live subscriptions"
        stats = store.stats()
        # Nothing was deleted: every SUPI allocated has its record, and the reverse.
        assert stats.allocated_supis == stats.total == len(records)
        events = store.events(limit=1_000_000)
        assert {e.supi for e in events if e.kind in COMMITS} >= set(supis)
        assert {e.supi for e in events if e.kind in COMMITS} <= set(supis)
    return supis


@pytest.mark.slow
def test_three_cores_onboard_300_devices_with_distinct_supis(
    lab: Lab, pg_cluster: Cluster, tmp_path: Path
) -> None:
    files = shared_configs(lab, pg_cluster)
    with cores(files) as running:
        outcomes = pooled(
            UES,
            lambda i: client.onboard(
                lab.devices[i], running[i % CORES].sockaddr, tmp_path / f"ue-{i}.toml"
            ),
        )
        alive = [core.process.poll() for core in running]
    failures = [o for o in outcomes if isinstance(o, DynsubError)]
    assert failures == []
    assert alive == [None] * CORES
    supis = {o.supi for o in outcomes if isinstance(o, client.Report)}
    assert len(supis) == UES
    cfg = config.load(files[0])
    assert set(check_store(cfg)) == supis
    with open_store(cfg) as store:
        assert {r.imei for r in store.list()} == {d.name for d in lab.devices}
        # Every UE registered with 5G AKA after onboarding, through the core it onboarded on.
        assert all(r.sqn > 0 for r in store.list())


@pytest.mark.slow
@pytest.mark.parametrize("policy", list(Reonboarding))
def test_one_device_onboarding_on_three_cores_at_once_keeps_one_subscription(
    lab: Lab, pg_cluster: Cluster, tmp_path: Path, policy: Reonboarding
) -> None:
    files = shared_configs(lab, pg_cluster, policy)
    device = lab.devices[0]
    with cores(files) as running:
        outcomes = in_parallel(
            SAME_DEVICE,
            lambda i: client.onboard(
                device, running[i % CORES].sockaddr, tmp_path / f"ue-{i}.toml"
            ),
        )
    cfg = config.load(files[0])
    check_store(cfg)
    with open_store(cfg) as store:
        mine = [s for s in store.list() if s.imei == device.name]
    live = [s for s in mine if s.state is not State.REPLACED]
    assert len(live) == 1
    winners = [o for o in outcomes if isinstance(o, client.Report)]
    losers = [o for o in outcomes if isinstance(o, DynsubError)]
    if policy is Reonboarding.SAME_RECORD:
        assert len(mine) == 1  # one SUPI, whose K the last commit set
    elif policy is Reonboarding.NEW_RECORD:
        assert len(mine) == SAME_DEVICE  # every commit retired the one before
    else:
        assert len(mine) == 1
        assert [w.supi for w in winners] == [live[0].supi]
        assert len(losers) == SAME_DEVICE - 1
        for loser in losers:
            assert isinstance(loser, Rejected), loser
            assert loser.cause == MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN


@pytest.mark.slow
def test_kill_9_of_one_core_during_onboardings(
    lab: Lab, pg_cluster: Cluster, tmp_path: Path
) -> None:
    files = shared_configs(lab, pg_cluster, Reonboarding.SAME_RECORD)
    count = 60
    states = [tmp_path / f"ue-{i}.toml" for i in range(count)]
    with cores(files) as running:
        victim = running[0]
        started = threading.Event()

        def job(i: int) -> client.Report:
            started.set()
            return client.onboard(lab.devices[i], running[i % CORES].sockaddr, states[i])

        with ThreadPoolExecutor(max_workers=1) as killer:
            # Kill while the onboardings are in full flow: after the first ones have begun.
            def kill() -> None:
                started.wait(timeout=60)
                time.sleep(0.5)
                victim.crash()

            killed = killer.submit(kill)
            outcomes = pooled(count, job)
            killed.result(timeout=60)
        assert victim.wait() == -signal.SIGKILL
        cfg = config.load(files[0])
        check_store(cfg)
        cut = [i for i, o in enumerate(outcomes) if isinstance(o, DynsubError)]
        assert cut, "the kill cut no onboarding: the test proves nothing"
        assert all(i % CORES == 0 for i in cut), "only the killed core's UEs may fail"
        # Each UE the kill cut tries again through another core, and ends ready.
        for n, i in enumerate(cut):
            report = client.onboard(lab.devices[i], running[1 + n % 2].sockaddr, states[i])
            assert report.supi is not None
        assert [c.process.poll() for c in running[1:]] == [None, None]
    supis = check_store(cfg)
    assert len(supis) == count


@pytest.mark.slow
def test_postgresql_restarting_during_onboardings(lab: Lab, tmp_path: Path) -> None:
    """The database stops for a while UEs onboard: store calls fail as temporary, UEs whose
    call failed are refused (#22 congestion) and try again, every UE ends onboarded, and the
    cores keep running throughout (the store's pool reconnects)."""
    count = 60
    states = [tmp_path / f"ue-{i}.toml" for i in range(count)]
    with postgres.cluster() as own:
        files = shared_configs(lab, own)
        with cores(files) as running:
            refusals: list[DynsubError] = []
            lock = threading.Lock()
            started = threading.Event()

            def job(i: int) -> client.Report:
                started.set()
                for _ in range(40):
                    try:
                        return client.onboard(
                            lab.devices[i], running[i % CORES].sockaddr, states[i], timeout=15
                        )
                    except DynsubError as err:
                        with lock:
                            refusals.append(err)
                        time.sleep(0.25)  # a UE backs off before it tries again
                return client.onboard(lab.devices[i], running[i % CORES].sockaddr, states[i])

            def restart() -> None:
                started.wait(timeout=60)
                time.sleep(0.5)
                own.stop()
                # Longer than a store call waits for a connection (WAIT_SECONDS), so the
                # calls under way fail instead of merely waiting it out.
                time.sleep(WAIT_SECONDS + 1.0)
                own.start()

            with ThreadPoolExecutor(max_workers=1) as operator:
                restarted = operator.submit(restart)
                outcomes = pooled(count, job)
                restarted.result(timeout=120)
            alive = [core.process.poll() for core in running]
            # What the cores met: store calls that failed as temporary while it was down.
            unanswered = [
                line for core in running for line in core.lines if "did not answer" in line
            ]
        assert [o for o in outcomes if isinstance(o, DynsubError)] == []
        assert alive == [None] * CORES, "a core stopped: it must ride out the database restart"
        # UEs are refused (#22) when their own store call fails; a store call queued behind
        # failing ones (e.g. the core's background audit writes) may instead just wait.
        assert refusals or unanswered, "the restart touched no store call: it proves nothing"
        for refusal in refusals:
            assert isinstance(refusal, Rejected), refusal
            assert refusal.cause == MmCause.CONGESTION, refusal
        supis = check_store(config.load(files[0]))
        assert len(supis) == count
    print(f"restart: {len(refusals)} UEs refused, {len(unanswered)} store calls failed")
