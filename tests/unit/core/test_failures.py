"""Failures a procedure does not expect still end in one place: an answer, a log line, an event.

Each test drives a session into a failure that used to escape the session (no answer, no audit
event, a traceback in asyncio's log), then checks that the UE got a 5GMM cause, the core wrote
exactly one "refused" log line and one audit event for it, and that the next UE onboards.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from collections.abc import Iterator

import pytest

from dynsub_cli.config import CoreConfig
from dynsub_cli.core.refusals import Refusal
from dynsub_cli.errors import Rejected
from dynsub_cli.nas import codec
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import MmCause
from dynsub_cli.store import SQN_MAX, Event
from dynsub_cli.ue import device as devices
from dynsub_cli.ue.onboarding import Onboarding
from dynsub_cli.ue.registration import Registration
from dynsub_cli.ue.state import UeState
from tests.flow import Core, Lab, converse, events_about, make_lab, open_core


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return make_lab(tmp_path_factory.mktemp("lab"), devices=6)


@pytest.fixture
def core(lab: Lab) -> Iterator[Core]:
    opened = open_core(lab)
    with opened.store:
        yield opened


def onboard(lab: Lab, core: Core, index: int) -> UeState:
    procedure = Onboarding(devices.load(lab.devices[index]))
    exchange = converse(procedure, procedure.start(), core.session())
    assert not exchange.closed_by_core, core.log[-1]
    return procedure.result


def refused_once(core: Core, refusal: Refusal, reason_of: list[Event]) -> None:
    """One refused log line, for ``refusal``, and one audit event naming it."""
    refused = [record for record in core.log if record.outcome == "refused"]
    assert len(refused) == 1, refused
    assert (refused[0].step, refused[0].cause) == (refusal.step, int(refusal.cause))
    named = [e for e in reason_of if e.reason.startswith(f"{refusal.name.lower()}: ")]
    assert len(named) == 1, reason_of
    assert not [r for r in core.log if r.outcome == "failed"], core.log


def test_an_exhausted_sqn_is_refused_with_a_cause(lab: Lab, core: Core) -> None:
    state = onboard(lab, core, 0)
    core.store.update_sqn(state.supi, SQN_MAX)
    core.log.clear()

    registration = Registration(state)
    with pytest.raises(Rejected) as raised:
        converse(registration, registration.start(), core.session())

    assert raised.value.cause == MmCause.SERVICES_5GS_NOT_ALLOWED
    refused_once(core, Refusal.SQN_EXHAUSTED, events_about(core.store, supi=state.supi))
    onboard(lab, core, 5)


def test_a_store_locked_past_its_timeout_is_refused_as_temporary(lab: Lab, core: Core) -> None:
    state = onboard(lab, core, 1)
    core.log.clear()
    # The store waits 0.2 s for a lock, not 30 s; another writer holds it until the core has
    # refused the UE (then the background audit event goes through).
    core.store._conn.execute("PRAGMA busy_timeout = 200")  # type: ignore[attr-defined]
    holder = sqlite3.connect(lab.config().store.path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")

    def release() -> None:
        deadline = time.monotonic() + 30
        while not any(r.outcome == "refused" for r in core.log) and time.monotonic() < deadline:
            time.sleep(0.005)
        holder.execute("ROLLBACK")

    releaser = threading.Thread(target=release)
    releaser.start()
    registration = Registration(state)
    try:
        with pytest.raises(Rejected) as raised:
            converse(registration, registration.start(), core.session())
    finally:
        releaser.join()
        holder.close()

    assert raised.value.cause == MmCause.CONGESTION  # TS 24.501 5.5.1.2.5: try again later
    refused_once(core, Refusal.STORE_UNAVAILABLE, events_about(core.store, supi=state.supi))
    onboard(lab, core, 4)


def test_a_record_deleted_mid_session_is_refused(lab: Lab, core: Core) -> None:
    state = onboard(lab, core, 2).with_sqn(1_000_000)  # the UE is ahead: it answers with AUTS
    core.log.clear()

    def delete_before_auts(pdu: bytes) -> bytes:
        if isinstance(codec.decode(pdu), m.AuthenticationFailure):
            core.store.delete(state.supi)
        return pdu

    registration = Registration(state)
    with pytest.raises(Rejected) as raised:
        converse(registration, registration.start(), core.session(), uplink=delete_before_auts)

    assert raised.value.cause == MmCause.TEMPORARILY_NOT_AUTHORIZED_FOR_SNPN  # onboard again
    refused_once(core, Refusal.NO_SUBSCRIPTION, events_about(core.store, supi=state.supi))
    onboard(lab, core, 2)  # the device onboards again, from scratch


def test_an_offer_that_cannot_be_encoded_is_an_internal_error(lab: Lab, core: Core) -> None:
    config: CoreConfig = core.network.config
    broken = {
        name: dataclasses.replace(service, ambr_ul=1 << 70)  # beyond the 64-bit AMBR field
        for name, service in config.service_types.items()
    }
    good_network = core.network
    core.network = dataclasses.replace(
        good_network, config=dataclasses.replace(config, service_types=broken)
    )
    device = devices.load(lab.devices[3])
    procedure = Onboarding(device)
    with pytest.raises(Rejected) as raised:
        converse(procedure, procedure.start(), core.session())

    assert raised.value.cause == MmCause.PROTOCOL_ERROR_UNSPECIFIED
    refused_once(core, Refusal.INTERNAL_ERROR, events_about(core.store, imei=device.imei))
    core.network = good_network
    onboard(lab, core, 3)
