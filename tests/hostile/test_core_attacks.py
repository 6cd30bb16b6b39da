"""Attacks on a running core over real TCP on 127.0.0.0/8 (issue classes 1, 2, 4, 5 and 6).

Each test stands for a class of defect found on the core as it was: a device of another maker
taking over a subscription, revocation not reaching onboarded devices, probing SUPIs with
null-scheme SUCIs, flooding the audit trail from one connection, and one host holding every
connection slot. Every loop here is bounded in count and time.
"""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dynsub_cli.config import CoreConfig
from dynsub_cli.config.core import OnRevocation
from dynsub_cli.core.assembly import open_store
from dynsub_cli.core.refusals import Refusal
from dynsub_cli.errors import Rejected
from dynsub_cli.nas import codec
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import MmCause, RegistrationTypeValue
from dynsub_cli.nas.framing import FrameReader, frame
from dynsub_cli.nas.ies import RegistrationType, Suci
from dynsub_cli.pki import authority, mint, revocation
from dynsub_cli.pki.authority import InitOptions
from dynsub_cli.store import State
from dynsub_cli.ue import client
from dynsub_cli.ue import device as devices
from dynsub_cli.ue.onboarding import Onboarding
from dynsub_cli.ue.procedure import CAPABILITY
from tests.flow import Lab, events_about, make_lab
from tests.server import RunningCore, running_core

DEADLINE = 20.0  # seconds any wait here may take before the test fails


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return make_lab(tmp_path, devices=3)


def refused(core: RunningCore, refusal: Refusal) -> list[str]:
    return [r.message for r in core.refusals() if r.cause == int(refusal.cause)]


def wait_until(check: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not callable(check) or not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.02)


# --- 1. another manufacturer's device with the same IMEI -------------------------------


def second_maker(lab: Lab, folder: Path, imei: str) -> tuple[Path, Path, Path]:
    """A second manufacturer (own root) minting a device with ``imei``; its root, its CA, and
    the device folder (trusting the lab's root, to authenticate the lab's core)."""
    # Another PKI given the same TAC on purpose (two PKIs never share one by default).
    authority.init(folder, InitOptions(manufacturer="Other Maker Ltd", tac=imei[:8]))
    other = authority.load(folder)
    request = mint.MintRequest(
        out=folder / "devices",
        first_snr=int(imei[8:14]),
        workers=1,
        trust_anchors=(authority.load(lab.pki).load_root(),),
    )
    (device,) = mint.mint(other, request).devices
    assert device.imei == imei
    return other.trust_anchors, other.manufacturer_cert, folder / "devices" / imei


def test_a_device_of_another_maker_cannot_take_over_a_subscription(
    lab: Lab, tmp_path: Path
) -> None:
    imei = lab.devices[0].name
    root, ca, impostor = second_maker(lab, tmp_path / "other", imei)
    config = lab.config()
    pki = dataclasses.replace(
        config.pki,
        trust_anchors=(*config.pki.trust_anchors, root),
        manufacturer_cas=(*config.pki.manufacturer_cas, ca),
    )
    config = dataclasses.replace(config, pki=pki)
    with running_core(config) as core:
        address = (core.host, core.port)
        first = client.onboard(lab.devices[0], address, tmp_path / "first.toml")
        with pytest.raises(Rejected) as raised:
            client.onboard(impostor, address, tmp_path / "impostor.toml")
        assert raised.value.cause == Refusal.ISSUER_MISMATCH.cause
        # The first device keeps its subscription and registers as before.
        again = client.register(tmp_path / "first.toml", address)
    assert again.supi == first.supi
    with open_store(config) as store:
        record = store.get(first.supi or "")
        assert record.state is State.ACTIVE
        assert "Other Maker" not in record.issuer
        refusals = [
            e for e in events_about(store, imei=imei) if e.reason.startswith("issuer_mismatch: ")
        ]
    assert len(refusals) == 1, refusals


# --- 2. revocation reaches the subscriptions it created -------------------------------------


def test_a_revoked_certificate_suspends_its_subscription(lab: Lab, tmp_path: Path) -> None:
    config = lab.config()
    state = tmp_path / "ue.toml"
    with running_core(config) as core:
        address = (core.host, core.port)
        onboarded = client.onboard(lab.devices[1], address, state)
        pki = authority.load(lab.pki)
        revocation.revoke(pki, devices.load(lab.devices[1]).credentials.certificate)
        revocation.write_crl(pki)  # the core reads it at the next connection
        with pytest.raises(Rejected) as raised:
            client.register(state, address)
    assert raised.value.cause == MmCause.ILLEGAL_UE
    with open_store(config) as store:
        record = store.get(onboarded.supi or "")
        assert record.state is State.SUSPENDED
        (why,) = [e for e in store.events(supi=record.supi) if e.kind == "suspended"]
    assert "device certificate revoked" in why.reason


def test_revocation_can_be_ignored_by_configuration(lab: Lab, tmp_path: Path) -> None:
    config = lab.config()
    enrollment = dataclasses.replace(config.enrollment, on_revocation=OnRevocation.IGNORE)
    config = dataclasses.replace(config, enrollment=enrollment)
    state = tmp_path / "ue.toml"
    with running_core(config) as core:
        address = (core.host, core.port)
        client.onboard(lab.devices[2], address, state)
        pki = authority.load(lab.pki)
        revocation.revoke(pki, devices.load(lab.devices[2]).credentials.certificate)
        revocation.write_crl(pki)
        client.register(state, address)  # still served


# --- 4. probing SUPIs -----------------------------------------------------------------------


def exchange(address: tuple[str, int], *pdus: bytes, source: str | None = None) -> list[m.Message]:
    """Send ``pdus`` one by one on one connection; every answer until the core closes."""
    answers: list[m.Message] = []
    with socket.create_connection(
        address, timeout=DEADLINE, source_address=(source, 0) if source else None
    ) as sock:
        reader = FrameReader()
        for pdu in pdus:
            try:
                sock.sendall(frame(pdu))
            except OSError:  # the core has closed the connection
                return answers
            got: list[bytes] = []
            while not got:
                try:
                    data = sock.recv(65536)
                except ConnectionResetError:
                    return answers
                if not data:
                    return answers
                got = reader.feed(data)
            answers += [codec.decode(p) for p in got]
        return answers


def null_scheme_request(msin: str) -> bytes:
    identity = Suci.null_scheme("001", "01", msin)
    request = m.RegistrationRequest(
        RegistrationType(RegistrationTypeValue.INITIAL), identity, ue_security_capability=CAPABILITY
    )
    return codec.encode(request)


def test_null_scheme_probes_learn_nothing_and_supis_are_not_sequential(
    lab: Lab, tmp_path: Path
) -> None:
    config = lab.config()
    with running_core(config) as core:
        address = (core.host, core.port)
        supis = [
            client.onboard(lab.devices[i], address, tmp_path / f"ue{i}.toml").supi for i in range(3)
        ]
        taken = [supi[-10:] for supi in supis if supi]
        answers = [
            exchange(address, null_scheme_request(msin))
            for msin in [*taken, "0000000001", "0000000002"]
        ]
    # Every probe gets the same answer, whether the SUPI exists or not, and no challenge.
    assert all(
        [type(a) for a in got] == [m.RegistrationReject]
        and got[0].cause == Refusal.NULL_SCHEME.cause  # type: ignore[attr-defined]
        for got in answers
    ), answers
    assert taken != sorted(taken) or int(taken[-1]) - int(taken[0]) > len(taken)
    with open_store(config) as store:
        # No probe moved a subscriber's SQN (the onboarding's own registration did: 32).
        assert {store.get(s or "").sqn for s in supis} == {32}


def test_challenges_to_one_supi_are_bounded(lab: Lab, tmp_path: Path) -> None:
    config = lab.config()
    limits = dataclasses.replace(config.limits, challenges_per_minute=3)
    config = dataclasses.replace(config, limits=limits)
    state = tmp_path / "ue.toml"
    with running_core(config) as core:
        address = (core.host, core.port)
        client.onboard(lab.devices[0], address, state)  # challenge 1
        client.register(state, address)  # 2
        client.register(state, address)  # 3
        with pytest.raises(Rejected) as raised:
            client.register(state, address)
    assert raised.value.cause == MmCause.CONGESTION
    assert refused(core, Refusal.CHALLENGES_EXCEEDED)


# --- 5. flooding the audit trail ------------------------------------------------------------


def initial_request(lab: Lab, index: int) -> bytes:
    return Onboarding(devices.load(lab.devices[index])).start().pdus[0]


def test_one_connection_gets_one_initial_request(lab: Lab) -> None:
    config = lab.config()
    pdu = initial_request(lab, 0)
    with running_core(config) as core:
        answers = exchange((core.host, core.port), *[pdu] * 50)
    # REJECT #74 once, then 5GMM STATUS and the end of the connection.
    assert [type(a) for a in answers] == [m.RegistrationReject, m.MmStatus]
    assert answers[1].cause == MmCause.MESSAGE_TYPE_NOT_COMPATIBLE_WITH_STATE  # type: ignore[attr-defined]
    with open_store(config) as store:
        found = store.events(limit=1000)
    assert len(found) <= 2, found
    # Nothing is recorded as the device's own: the peer never authenticated.
    assert all(e.imei is None for e in found)


# --- 6. connection slots --------------------------------------------------------------------


@pytest.fixture
def tight(lab: Lab) -> Iterator[tuple[CoreConfig, RunningCore]]:
    config = lab.config()
    limits = dataclasses.replace(
        config.limits, max_connections=8, max_connections_per_peer=4, first_pdu_seconds=1.0
    )
    config = dataclasses.replace(config, limits=limits)
    with running_core(config) as core:
        yield config, core


def test_one_host_cannot_take_every_slot(lab: Lab, tight: tuple[CoreConfig, RunningCore]) -> None:
    _, core = tight
    address = (core.host, core.port)
    idle = [socket.create_connection(address, source_address=("127.0.0.3", 0)) for _ in range(4)]
    try:
        # The fifth from the same host is turned away with #22, at once.
        (busy,) = exchange(address, initial_request(lab, 1), source="127.0.0.3")
        assert isinstance(busy, m.RegistrationReject)
        assert busy.cause == MmCause.CONGESTION
        # A UE from another host onboards meanwhile.
        report = client.onboard(lab.devices[0], address, lab.core / "ue.toml")
        assert report.supi
    finally:
        for sock in idle:
            sock.close()
    refusals = [r.message for r in core.log if r.step == "connection"]
    assert any("127.0.0.3 already holds 4 connections" in why for why in refusals), refusals


def test_a_trickling_peer_loses_its_slot(lab: Lab, tight: tuple[CoreConfig, RunningCore]) -> None:
    _, core = tight
    pdu = frame(initial_request(lab, 2))
    started = time.monotonic()
    closed = False
    with socket.create_connection((core.host, core.port), source_address=("127.0.0.4", 0)) as sock:
        sock.settimeout(0.2)
        for octet in pdu:  # one octet every 0.2 s: the whole frame would take seconds
            try:
                sock.sendall(bytes([octet]))
                if sock.recv(65536) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
            if time.monotonic() - started > DEADLINE:
                break
    assert closed, "the core kept a connection that never sent a whole PDU"
    wait_until(lambda: any("no whole PDU" in r.message for r in core.log), "a timeout log line")
