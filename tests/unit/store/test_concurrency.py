"""Many writers at once: threads of one process (the core) and two processes, on both backends.

For PostgreSQL, "two processes" stands for two cores on two hosts: nothing is shared between
them but the database.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import DeviceAlreadyOnboarded
from dynsub_cli.store import State
from tests.unit.store.helpers import AnyStore, device, onboard, open_location, run_threads

ROOT = Path(__file__).resolve().parents[3]


def test_threads_sharing_one_store_get_distinct_supis(location: str) -> None:
    supis: list[str] = []
    with open_location(location) as store:

        def work(index: int) -> None:
            for n in range(20):
                supis.append(onboard(store, index * 100 + n))

        assert run_threads(8, work) == []
        assert len(set(supis)) == 160
        assert sorted(supis) == [f"imsi-00101{n:010d}" for n in range(1, 161)]
        assert store.stats().total == 160


def test_threads_with_their_own_connections_get_distinct_supis(location: str) -> None:
    path = location
    open_location(path).close()
    supis: list[str] = []

    def work(index: int) -> None:
        with open_location(path) as store:
            supis.extend(onboard(store, index * 100 + n) for n in range(15))

    assert run_threads(6, work) == []
    assert len(set(supis)) == 90


@pytest.mark.parametrize("policy", list(Reonboarding))
def test_one_device_on_many_connections_ends_with_one_live_record(
    location: str, policy: Reonboarding
) -> None:
    path = location
    open_location(path).close()

    def work(index: int) -> None:
        with open_location(path) as store:
            onboard(store, 7, policy=policy)

    errors = run_threads(10, work)
    with open_location(path) as store:
        live = [s for s in store.list() if s.state is not State.REPLACED]
        assert len(live) == 1
        assert store.find_by_imei(device(7).imei) == live[0]
        everything = store.list()
    if policy is Reonboarding.REFUSE:
        assert len(errors) == 9
        assert all(isinstance(e, DeviceAlreadyOnboarded) for e in errors)
        assert len(everything) == 1
    else:
        assert errors == []
    if policy is Reonboarding.SAME_RECORD:
        assert len(everything) == 1
    if policy is Reonboarding.NEW_RECORD:
        assert len(everything) == 10
        assert sum(s.state is State.REPLACED for s in everything) == 9


_WORKER = """
import sys
from pathlib import Path
from dynsub_cli.enrollment import Reonboarding
from tests.unit.store.helpers import onboard, open_location

path, first, count, policy = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
go = Path(sys.argv[5])
with open_location(path) as store:
    while not go.exists():  # start together, to collide as much as possible
        pass
    for serial in range(first, first + count):
        print(onboard(store, serial, policy=Reonboarding(policy)), flush=True)
"""


def _processes(
    path: str, jobs: list[tuple[int, int]], policy: Reonboarding, folder: Path
) -> list[str]:
    go = folder / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), str(first), str(count), policy, str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for first, count in jobs
    ]
    go.touch()
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        outputs += out.split()
    return outputs


def test_two_processes_allocate_distinct_supis(location: str, tmp_path: Path) -> None:
    path = location
    open_location(path).close()
    supis = _processes(path, [(0, 60), (1000, 60)], Reonboarding.SAME_RECORD, tmp_path)
    assert len(supis) == 120
    assert len(set(supis)) == 120
    with open_location(path) as store:
        assert store.stats().total == 120
        assert store.stats().allocated_supis == 120


def test_two_processes_onboarding_the_same_devices(location: str, tmp_path: Path) -> None:
    path = location
    open_location(path).close()
    supis = _processes(path, [(0, 40), (0, 40)], Reonboarding.SAME_RECORD, tmp_path)
    assert len(supis) == 80
    assert len(set(supis)) == 40  # both processes got the same SUPI for each device
    with open_location(path) as store:
        assert store.stats().total == 40


def test_a_shared_store_is_safe_from_asyncio_worker_threads(location: str) -> None:
    import asyncio

    async def main(store: AnyStore) -> list[str]:
        calls = [asyncio.to_thread(onboard, store, n) for n in range(50)]
        return list(await asyncio.gather(*calls))

    with open_location(location) as store:
        supis = asyncio.run(main(store))
    assert len(set(supis)) == 50


def test_concurrent_authentications_get_distinct_sqns(location: str) -> None:
    path = location
    with open_location(path) as store:
        supi = onboard(store, 1)
    sqns: list[int] = []

    def work(index: int) -> None:
        with open_location(path) as store:
            sqns.extend(store.start_authentication(supi).sqn for _ in range(10))

    assert run_threads(5, work) == []
    assert sorted(sqns) == [32 * n for n in range(1, 51)]
