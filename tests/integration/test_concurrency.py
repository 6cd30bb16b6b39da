"""Many UEs against one `core serve`: distinct SUPIs, one subscription per device, limits.

The UEs are threads running the real client shell (``ue.client.onboard``: onboarding, then the
5G AKA registration) against a real server on 127.0.0.1, so the core sees truly concurrent
connections and its worker threads share one store.

What 20 parallel onboardings of ONE device leave behind, by re-onboarding policy
(core.toml [enrollment] reonboarding):

- ``same-record``: every onboarding that reaches the commit replaces K/OPc of the one record
  (same SUPI). Only the K committed last is valid: the UE holding it registers, and a UE whose
  K was replaced fails 5G AKA with a MAC failure (its AUTN check) and must onboard again.
- ``new-record``: every commit marks the previous record "replaced" and allocates a new SUPI.
  Exactly one record stays live (the last commit); a UE holding a replaced SUPI is refused at
  registration (#74, no subscription: start subscription generation) and must onboard again.
- ``refuse``: the first commit wins; every other onboarding is refused, either at its first
  REGISTRATION REQUEST (REGISTRATION REJECT #75, the record exists already) or at the commit
  (the store's check in the same transaction: dialogue ERROR, then DEREGISTRATION REQUEST #75).
"""

from __future__ import annotations

import dataclasses
import socket
import time
from pathlib import Path

import pytest

from dynsub_cli.config import CoreConfig, LimitsConfig, Reonboarding, StoreConfig
from dynsub_cli.core.assembly import open_store
from dynsub_cli.errors import DynsubError, MacFailure, Rejected
from dynsub_cli.nas import codec
from dynsub_cli.nas.enums import MmCause
from dynsub_cli.nas.framing import FrameReader
from dynsub_cli.nas.messages import RegistrationReject
from dynsub_cli.store import State, Subscription
from dynsub_cli.ue import client
from dynsub_cli.ue import state as states
from tests.flow import Lab, make_lab
from tests.integration.ues import Outcome, in_parallel
from tests.server import RunningCore, running_core

UES = 50
SAME_DEVICE = 20


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return make_lab(tmp_path_factory.mktemp("lab"), devices=UES)


def config_for(lab: Lab, folder: Path, **enrollment: object) -> CoreConfig:
    """The lab's core with a store of its own in ``folder`` (tests share the minted PKI)."""
    base = lab.config()
    return dataclasses.replace(
        base,
        store=StoreConfig(folder / "store.sqlite", base.store.key_file),
        enrollment=dataclasses.replace(base.enrollment, **enrollment),  # type: ignore[arg-type]
    )


def live_records(config: CoreConfig, imei: str) -> list[Subscription]:
    with open_store(config) as store:
        return [s for s in store.list() if s.imei == imei and s.state is not State.REPLACED]


def test_fifty_ues_onboard_concurrently_with_distinct_supis(lab: Lab, tmp_path: Path) -> None:
    config = config_for(lab, tmp_path)
    with running_core(config) as core:
        address = (core.host, core.port)
        outcomes = in_parallel(
            UES,
            lambda i: client.onboard(lab.devices[i], address, tmp_path / f"ue-{i}.toml"),
        )
    failures = [o for o in outcomes if isinstance(o, DynsubError)]
    assert failures == []
    reports = [o for o in outcomes if isinstance(o, client.Report)]
    supis = {r.supi for r in reports}
    assert len(supis) == UES
    assert not core.refusals()
    with open_store(config) as store:
        records = store.list()
        assert {r.supi for r in records} == supis
        # Every UE registered once with 5G AKA after onboarding: its SQN moved on.
        assert all(r.sqn > 0 for r in records)
        assert {r.imei for r in records} == {d.name for d in lab.devices}
        assert store.stats().allocated_supis == UES


def onboard_one_device_twenty_times(
    lab: Lab, config: CoreConfig, folder: Path
) -> tuple[RunningCore, list[Outcome], list[Path]]:
    files = [folder / f"ue-{i}.toml" for i in range(SAME_DEVICE)]
    with running_core(config) as core:
        address = (core.host, core.port)
        outcomes = in_parallel(
            SAME_DEVICE, lambda i: client.onboard(lab.devices[0], address, files[i])
        )
        # Every UE that got a subscription tries to register with it once more, now that
        # all onboardings are over: only the K the store holds can pass 5G AKA.
        after = [_register(f, address) if f.exists() else None for f in files]
    return core, [*outcomes], [f for f, a in zip(files, after, strict=True) if a is True]


def _register(state_file: Path, address: tuple[str, int]) -> bool | DynsubError:
    try:
        client.register(state_file, address)
    except DynsubError as err:
        return err
    return True


def test_same_record_keeps_one_subscription_and_only_the_last_key(lab: Lab, tmp_path: Path) -> None:
    config = config_for(lab, tmp_path, reonboarding=Reonboarding.SAME_RECORD)
    core, outcomes, registered = onboard_one_device_twenty_times(lab, config, tmp_path)
    imei = lab.devices[0].name
    [record] = live_records(config, imei)
    with open_store(config) as store:
        stored = store.get(record.supi, reveal_secrets=True).secrets
        assert stored is not None
        assert store.stats().allocated_supis == 1
    saved = [states.load(f) for f in (tmp_path / f"ue-{i}.toml" for i in range(SAME_DEVICE))]
    assert {s.supi for s in saved} == {record.supi}
    holders = [f for f, s in zip(range(SAME_DEVICE), saved, strict=True) if s.k == stored.k]
    # The K committed last is held by exactly one UE, and that UE (and only it) registers.
    assert len(holders) == 1
    assert registered == [tmp_path / f"ue-{holders[0]}.toml"]
    # A UE whose K was replaced while it registered failed 5G AKA with a MAC failure.
    for outcome in outcomes:
        if isinstance(outcome, DynsubError):
            assert isinstance(outcome, MacFailure), outcome
            assert outcome.step == "5G AKA"
    assert {r.cause for r in core.refusals()} <= {int(MmCause.MAC_FAILURE)}


def test_new_record_keeps_one_live_subscription(lab: Lab, tmp_path: Path) -> None:
    config = config_for(lab, tmp_path, reonboarding=Reonboarding.NEW_RECORD)
    core, outcomes, registered = onboard_one_device_twenty_times(lab, config, tmp_path)
    imei = lab.devices[0].name
    [record] = live_records(config, imei)
    with open_store(config) as store:
        everything = [s for s in store.list() if s.imei == imei]
    # Every onboarding committed its own record; all but the last were replaced.
    assert len(everything) == SAME_DEVICE
    assert len({s.supi for s in everything}) == SAME_DEVICE
    assert registered == [
        f
        for f in (tmp_path / f"ue-{i}.toml" for i in range(SAME_DEVICE))
        if states.load(f).supi == record.supi
    ]
    for outcome in outcomes:
        if isinstance(outcome, DynsubError):
            # Its SUPI was replaced before it registered: #74, the signal to onboard again.
            assert isinstance(outcome, Rejected), outcome
            assert outcome.cause == MmCause.TEMPORARILY_NOT_AUTHORIZED_FOR_SNPN
            assert outcome.step == "registration"
    assert {r.cause for r in core.refusals()} <= {int(MmCause.TEMPORARILY_NOT_AUTHORIZED_FOR_SNPN)}


def test_refuse_lets_one_onboarding_win(lab: Lab, tmp_path: Path) -> None:
    config = config_for(lab, tmp_path, reonboarding=Reonboarding.REFUSE)
    core, outcomes, registered = onboard_one_device_twenty_times(lab, config, tmp_path)
    imei = lab.devices[0].name
    [record] = live_records(config, imei)
    winners = [o for o in outcomes if isinstance(o, client.Report)]
    assert [w.supi for w in winners] == [record.supi]
    losers = [o for o in outcomes if isinstance(o, DynsubError)]
    assert len(losers) == SAME_DEVICE - 1
    for loser in losers:
        # Refused at its first REGISTRATION REQUEST, or at the commit if it got that far.
        assert isinstance(loser, Rejected), loser
        assert loser.cause == MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN
    assert registered == [r.state_file for r in winners]
    assert len(core.refusals()) == SAME_DEVICE - 1


def test_max_connections_refuses_extra_connections_and_keeps_serving(
    lab: Lab, tmp_path: Path
) -> None:
    base = config_for(lab, tmp_path)
    config = dataclasses.replace(base, limits=LimitsConfig(timeout_seconds=30, max_connections=3))
    with running_core(config) as core:
        address = (core.host, core.port)
        # Three idle connections fill the core.
        idle = [socket.create_connection(address, timeout=5) for _ in range(3)]
        try:
            extra = socket.create_connection(address, timeout=5)
            with extra:
                answer = codec.decode(FrameReader().feed(extra.recv(64))[0])
            assert answer == RegistrationReject(MmCause.CONGESTION)
            with pytest.raises(Rejected, match="#22") as refused_ue:
                client.onboard(lab.devices[1], address, tmp_path / "refused.toml")
            assert refused_ue.value.cause == MmCause.CONGESTION
        finally:
            for sock in idle:
                sock.close()
        refused = [r for r in core.log if r.step == "connection" and r.outcome == "refused"]
        assert len(refused) == 2
        assert all("3 connections already open" in r.message for r in refused)
        # The idle connections are gone: the core serves again.
        report = _onboard_when_free(lab.devices[2], address, tmp_path / "ue.toml")
    assert report.supi is not None


def _onboard_when_free(device: Path, address: tuple[str, int], state: Path) -> client.Report:
    """The core notices the closed idle connections a moment later: retry until it has, as a
    UE told #22 (congestion) does."""
    for _ in range(100):
        try:
            return client.onboard(device, address, state)
        except Rejected as err:
            if err.cause != MmCause.CONGESTION:
                raise
            time.sleep(0.02)
    return client.onboard(device, address, state)
