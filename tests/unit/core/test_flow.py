"""The whole seed flow in memory: core session and UE procedures wired together."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dynsub_cli.nas import codec
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import MmCause
from dynsub_cli.security.nas import header_type
from dynsub_cli.store import State
from dynsub_cli.ue import device as devices
from dynsub_cli.ue.onboarding import Onboarding
from dynsub_cli.ue.registration import Registration
from dynsub_cli.ue.state import UeState
from tests.flow import Core, Lab, converse, make_lab, open_core


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return make_lab(tmp_path_factory.mktemp("lab"))


@pytest.fixture
def core(lab: Lab) -> Iterator[Core]:
    opened = open_core(lab)
    with opened.store:
        yield opened


def onboard(lab: Lab, core: Core, index: int = 0) -> UeState:
    procedure = Onboarding(devices.load(lab.devices[index]))
    exchange = converse(procedure, procedure.start(), core.session())
    assert not exchange.closed_by_core, core.log[-1]
    return procedure.result


def plain_types(pdus: list[tuple[str, bytes]]) -> list[str]:
    names = []
    for _, pdu in pdus:
        message = codec.decode(pdu)
        names.append(type(message).__name__ if header_type(pdu) == 0 else "protected")
    return names


def test_a_new_device_gets_a_subscription_and_then_registers(lab: Lab, core: Core) -> None:
    device = devices.load(lab.devices[0])
    procedure = Onboarding(device)
    exchange = converse(procedure, procedure.start(), core.session())
    state = procedure.result

    # The seed flow: no record -> reject #74 -> onboarding registration -> EAP-TLS ...
    first = [codec.decode(pdu) for _, pdu in exchange.pdus[:3]]
    assert isinstance(first[0], m.RegistrationRequest)
    assert isinstance(first[1], m.RegistrationReject)
    assert first[1].cause == MmCause.TEMPORARILY_NOT_AUTHORIZED_FOR_SNPN
    assert isinstance(first[2], m.RegistrationRequest)
    assert first[2].registration_type.value == 5  # SNPN onboarding
    # ... and everything after SECURITY MODE COMMAND is protected.
    names = plain_types(exchange.pdus)
    smc = names.index("protected")
    assert all(name == "protected" for name in names[smc:])

    record = core.store.get(state.supi, reveal_secrets=True)
    assert record.imei == device.imei
    assert record.state is State.ACTIVE
    assert record.secrets is not None
    assert record.secrets.k == state.k  # derived on both sides, never sent
    assert record.secrets.opc == state.opc
    assert state.supi.startswith("imsi-00101")
    assert {k.scheme for k in state.home_network_keys} == {1, 2}

    registration = Registration(state)
    converse(registration, registration.start(), core.session())
    assert registration.result.sqn_ms > 0
    assert core.store.get(state.supi).sqn == registration.result.sqn_ms
    kinds = [event.kind for event in core.store.events(imei=device.imei)]
    assert "subscription_created" in kinds
    assert "registration" in kinds


def test_k_never_crosses_the_wire(lab: Lab, core: Core) -> None:
    procedure = Onboarding(devices.load(lab.devices[1]))
    exchange = converse(procedure, procedure.start(), core.session())
    k = procedure.result.k
    assert all(k not in pdu for _, pdu in exchange.pdus)


def test_the_ue_resynchronises_when_its_sqn_is_ahead(lab: Lab, core: Core) -> None:
    state = onboard(lab, core, 2)
    ahead = state.with_sqn(10_000)
    registration = Registration(ahead)
    exchange = converse(registration, registration.start(), core.session())
    sent = [type(codec.decode(p)).__name__ for d, p in exchange.pdus if d == "ul"][:2]
    assert sent == ["RegistrationRequest", "AuthenticationFailure"]
    assert registration.result.sqn_ms > 10_000
    assert [e.kind for e in core.store.events(supi=state.supi)][0:3].count("resynchronisation") == 1


def test_a_ue_whose_sqn_is_behind_accepts_the_fresher_challenge(lab: Lab, core: Core) -> None:
    state = onboard(lab, core, 0)
    first = Registration(state)
    converse(first, first.start(), core.session())
    behind = first.result.with_sqn(0)  # e.g. a state file restored from an old backup
    second = Registration(behind)
    exchange = converse(second, second.start(), core.session())
    sent = [type(codec.decode(p)).__name__ for d, p in exchange.pdus if d == "ul"][:2]
    assert sent == ["RegistrationRequest", "AuthenticationResponse"]  # no resynchronisation
    assert second.result.sqn_ms > first.result.sqn_ms
