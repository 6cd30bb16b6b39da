"""Every refusal only a hostile or broken UE can cause, against a real `core serve` on
127.0.0.1: a forged identity, a wrong key confirmation or RES*, a corrupted, replayed or
unprotected NAS message, a malformed PDU, an oversize frame, a silent or stalled peer.

Each case checks the core's answer (decoded where it is plain, else the 5GMM cause of its log
line), the audit event, what the UE reports where it can see it (the DynsubError class, its
exit status and ``step``), and that a good UE onboards next on the same core. The core runs
with a short timeout and a small frame limit, so that the transport cases are quick.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dynsub_cli import config
from dynsub_cli.config import CoreConfig
from dynsub_cli.core.refusals import Answer, Refusal
from dynsub_cli.errors import (
    DynsubError,
    ExitCode,
    NetworkError,
    PeerTimeout,
    ProtocolError,
    Rejected,
)
from dynsub_cli.nas import codec
from dynsub_cli.nas import dialogue as d
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import MmCause
from dynsub_cli.store import EventKind
from dynsub_cli.ue import client
from dynsub_cli.ue import device as devices
from dynsub_cli.ue import state as states
from dynsub_cli.ue.onboarding import Onboarding
from tests.flow import Lab, make_lab
from tests.integration.hostile import (
    Hooks,
    HostileOnboarding,
    HostileRegistration,
    RawPeer,
    run,
)
from tests.integration.refusal_lab import refusal_event, refusal_record
from tests.server import RunningCore, running_core

TIMEOUT_SECONDS = 1.0  # the core's [limits] timeout_seconds in this module
MAX_FRAME = 2048  # the core's [limits] max_frame: above an EAP-TLS fragment (1500)


@dataclass
class World:
    lab: Lab
    config: CoreConfig
    core: RunningCore
    devices: Iterator[Path]
    tmp: Path

    def next_good_onboards(self) -> None:
        device = next(self.devices)
        report = client.onboard(device, (self.core.host, self.core.port), self.tmp / device.name)
        assert report.supi is not None
        assert not [r for r in self.core.refusals() if r.imei == device.name]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("hostile")
    lab = make_lab(tmp, devices=32)
    loaded = lab.config()
    limits = dataclasses.replace(
        loaded.limits, timeout_seconds=TIMEOUT_SECONDS, max_frame=MAX_FRAME
    )
    config.write(dataclasses.replace(loaded, limits=limits), lab.config_file, overwrite=True)
    cfg = config.load(lab.config_file)
    assert (cfg.limits.timeout_seconds, cfg.limits.max_frame) == (TIMEOUT_SECONDS, MAX_FRAME)
    with running_core(cfg) as core:
        yield World(lab, cfg, core, iter(lab.devices), tmp)


# --- hooks: one uplink message changed ------------------------------------------------------


def dialogue_of(message: m.PlainMessage) -> d.Message | None:
    if isinstance(message, m.UlNasTransport):
        return d.decode(message.payload_container)
    return None


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def carrying(message: m.PlainMessage, payload: d.Message) -> m.PlainMessage:
    """``message`` (an UL NAS TRANSPORT) with another dialogue payload in it."""
    assert isinstance(message, m.UlNasTransport)
    return dataclasses.replace(message, payload_container=d.encode(payload))


def wrong_key_confirmation(message: m.PlainMessage) -> m.PlainMessage:
    payload = dialogue_of(message)
    if isinstance(payload, d.KeyResponse):
        forged = dataclasses.replace(payload, confirmation=flip(payload.confirmation, 0))
        return carrying(message, forged)
    return message


def wrong_res_star(message: m.PlainMessage) -> m.PlainMessage:
    if isinstance(message, m.AuthenticationResponse) and message.res_star is not None:
        return dataclasses.replace(message, res_star=flip(message.res_star, 0))
    return message


def on_choice(change: Callable[[bytes, list[bytes], m.PlainMessage], bytes]) -> Hooks:
    """Hooks that change the protected PDU of the dialogue's CHOICE, and nothing else."""

    def tamper(message: m.PlainMessage, pdu: bytes, earlier: list[bytes]) -> bytes:
        if isinstance(dialogue_of(message), d.Choice):
            return change(pdu, earlier, message)
        return pdu

    return Hooks(tamper=tamper)


# TS 24.501 9.1.1: EPD, security header type, MAC (4 octets), sequence number, message.
MAC_OFFSET = 2
mac_flipped = on_choice(lambda pdu, earlier, message: flip(pdu, MAC_OFFSET))
replayed = on_choice(lambda pdu, earlier, message: earlier[-1])  # REGISTRATION COMPLETE again
unprotected = on_choice(lambda pdu, earlier, message: codec.encode(message))
out_of_turn = Hooks(  # the ACK of a subscription not yet offered, instead of the CHOICE
    rewrite=lambda message: (
        carrying(message, d.Ack("imsi-001010000000001"))
        if isinstance(dialogue_of(message), d.Choice)
        else message
    )
)


@dataclass(frozen=True)
class Case:
    refusal: Refusal
    make: Callable[[World, Path], HostileOnboarding | HostileRegistration]
    error: type[DynsubError]
    step: str  # the step the UE names
    says: str  # in the UE's message
    kind: EventKind = EventKind.ONBOARDING_REFUSED


def onboarding(hooks: Hooks) -> Callable[[World, Path], HostileOnboarding]:
    return lambda world, device: HostileOnboarding(devices.load(device), hooks)


def claims_another_imei(world: World, device: Path) -> HostileOnboarding:
    # The SUCI names a device that has not onboarded; the certificate is this one's.
    claimed = next(world.devices)
    presented = dataclasses.replace(devices.load(device), imei=claimed.name)
    return HostileOnboarding(presented, Hooks())


def registers_with_wrong_res_star(world: World, device: Path) -> HostileRegistration:
    state_file = world.tmp / f"{device.name}.toml"
    client.onboard(device, (world.core.host, world.core.port), state_file)
    return HostileRegistration(states.load(state_file), Hooks(rewrite=wrong_res_star))


CASES: dict[str, Case] = {
    "certificate not matching the claimed identity": Case(
        Refusal.IDENTITY_MISMATCH, claims_another_imei, Rejected, "EAP-TLS", "EAP-Failure"
    ),
    "bad key confirmation": Case(
        Refusal.KEY_CONFIRMATION_FAILED,
        onboarding(Hooks(rewrite=wrong_key_confirmation)),
        Rejected,
        "key generation",
        "key confirmation",
    ),
    "wrong RES*": Case(
        Refusal.WRONG_RES_STAR,
        registers_with_wrong_res_star,
        Rejected,
        "5G AKA",
        "AUTHENTICATION REJECT",
        EventKind.REGISTRATION_REJECTED,
    ),
    "MAC failure": Case(Refusal.NAS_MAC_FAILURE, onboarding(mac_flipped), Rejected, "dialogue", ""),
    "replayed NAS message": Case(
        Refusal.NAS_REPLAY, onboarding(replayed), Rejected, "dialogue", ""
    ),
    "unprotected NAS message": Case(
        Refusal.NOT_PROTECTED, onboarding(unprotected), Rejected, "dialogue", ""
    ),
    "message out of turn": Case(
        Refusal.UNEXPECTED_MESSAGE, onboarding(out_of_turn), ProtocolError, "dialogue", ""
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_forged_uplink_message_is_refused(world: World, name: str) -> None:
    case = CASES[name]
    device = next(world.devices)
    procedure = case.make(world, device)
    claimed = procedure.imei if isinstance(procedure, HostileOnboarding) else device.name

    err = run(procedure, world.core, name)

    # The UE: the error class (so the exit status), the failed step, the 5GMM cause.
    assert type(err) is case.error, err
    assert err.step == case.step, err.describe()
    assert case.says in err.message
    if case.refusal.answer is not Answer.AUTHENTICATION_REJECT:  # TS 24.501 8.2.5: no cause
        assert f"#{int(case.refusal.cause)}" in err.message
    if isinstance(err, Rejected):
        assert err.exit_code == ExitCode.REJECTED
        assert err.cause == case.refusal.cause
    # The core: the refusal's step and cause in its log line, and the audit event.
    record = refusal_record(world.core, imei=claimed)
    assert (record.step, record.cause) == (case.refusal.step, int(case.refusal.cause))
    event = refusal_event(world.config, case.refusal, imei=claimed)
    assert event.kind == case.kind
    if case.refusal is Refusal.IDENTITY_MISMATCH:
        assert device.name in event.reason  # the IMEI the certificate really carries
    world.next_good_onboards()


# --- raw bytes: what no UE procedure sends -------------------------------------------------


def started(world: World, peer: RawPeer) -> tuple[str, Onboarding]:
    """Send the first REGISTRATION REQUEST of a device and read the REJECT #74."""
    device = next(world.devices)
    procedure = Onboarding(devices.load(device))
    peer.send_pdu(procedure.start().pdus[0])
    reject = codec.decode(peer.receive())
    assert isinstance(reject, m.RegistrationReject)
    assert reject.cause == Refusal.NO_SUBSCRIPTION.cause
    return device.name, procedure


def only_status(pdus: list[bytes]) -> m.MmStatus:
    assert len(pdus) == 1, pdus
    status = codec.decode(pdus[0])
    assert isinstance(status, m.MmStatus)
    return status


def check_core(
    world: World,
    refusal: Refusal,
    peer: RawPeer,
    imei: str | None,
    *,
    says: str = "",
    cause: int | None = None,
) -> None:
    """``cause``: the 5GMM cause sent, where the fault names its own (default: the table's)."""
    record = refusal_record(world.core, peer=peer.peer)
    assert says in record.message
    assert record.imei == imei
    expected_cause = int(refusal.cause) if cause is None else cause
    assert (record.step, record.cause) == (refusal.step, expected_cause)
    assert refusal.meaning in record.message
    event = refusal_event(world.config, refusal, imei=imei, peer=peer.peer)
    assert event.kind == EventKind.REGISTRATION_REJECTED  # onboarding had not begun
    world.next_good_onboards()


def test_a_malformed_pdu_gets_5gmm_status(world: World) -> None:
    with RawPeer(world.core) as peer:
        imei, _ = started(world, peer)
        peer.send_pdu(b"\x7e\x00\x41\x79")  # REGISTRATION REQUEST cut after its type
        status = only_status(peer.until_closed())
    assert Refusal.MALFORMED.answer is Answer.STATUS
    assert status.cause == Refusal.MALFORMED.cause
    check_core(world, Refusal.MALFORMED, peer, imei, says="REGISTRATION REQUEST")


def test_an_unknown_message_type_gets_5gmm_status_97(world: World) -> None:
    with RawPeer(world.core) as peer:
        imei, _ = started(world, peer)
        peer.send_pdu(b"\x7e\x00\x7f")  # message type 0x7f does not exist in 5GMM
        status = only_status(peer.until_closed())
    # TS 24.501 7.4: "message type non-existent or not implemented"
    assert status.cause == MmCause.MESSAGE_TYPE_NON_EXISTENT
    check_core(world, Refusal.MALFORMED, peer, imei, cause=MmCause.MESSAGE_TYPE_NON_EXISTENT)


def test_an_oversize_frame_gets_5gmm_status(world: World) -> None:
    with RawPeer(world.core) as peer:
        imei, _ = started(world, peer)
        peer.send((MAX_FRAME + 1).to_bytes(2, "big") + b"\x7e" * 64)
        status = only_status(peer.until_closed())
    assert status.cause == Refusal.OVERSIZE_FRAME.cause
    check_core(world, Refusal.OVERSIZE_FRAME, peer, imei, says=f"{MAX_FRAME + 1} octets")


def test_a_silent_peer_is_cut_off(world: World) -> None:
    with RawPeer(world.core) as peer:
        assert peer.until_closed() == []  # nothing said, nothing answered: closed
    check_core(world, Refusal.TIMEOUT, peer, None, says="silent")


def test_a_peer_stalled_mid_frame_is_cut_off(world: World) -> None:
    with RawPeer(world.core) as peer:
        imei, _ = started(world, peer)
        peer.send(b"\x00\x40" + b"\x7e\x00\x41")  # 3 of the 64 octets announced
        assert peer.until_closed() == []
    check_core(world, Refusal.TIMEOUT, peer, imei, says="5 octets into a frame")


def test_a_peer_that_leaves_mid_procedure_is_recorded(world: World) -> None:
    with RawPeer(world.core) as peer:
        imei, procedure = started(world, peer)
        reject = codec.encode(m.RegistrationReject(Refusal.NO_SUBSCRIPTION.cause))
        peer.send_pdu(procedure.receive(reject).pdus[0])  # the onboarding registration
        assert isinstance(codec.decode(peer.receive()), m.AuthenticationRequest)
    record = refusal_record(world.core, peer=peer.peer)
    assert (record.imei, record.cause) == (imei, int(Refusal.CONNECTION_LOST.cause))
    event = refusal_event(world.config, Refusal.CONNECTION_LOST, imei=imei, peer=peer.peer)
    assert event.kind == EventKind.ONBOARDING_REFUSED
    world.next_good_onboards()


# --- the UE's side of a silent, stalled or vanishing core ---------------------------------


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


def serve_once(listener: socket.socket, answer: bytes | None) -> threading.Thread:
    """Accept one connection, read the UE's first PDU, send ``answer`` (None: close)."""

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            if answer is None:
                return
            conn.sendall(answer)
            conn.recv(65536)  # stay silent until the UE gives up

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("answer", "error", "says"),
    [
        (b"", PeerTimeout, "sent nothing"),  # silent core
        (b"\x00\x40\x7e\x00", PeerTimeout, "sent nothing"),  # stalled mid-frame
        (None, NetworkError, "closed the connection"),  # gone
    ],
    ids=["silent core", "core stalled mid-frame", "core closes"],
)
def test_the_ue_names_the_step_when_the_core_fails_it(
    world: World,
    listener: socket.socket,
    answer: bytes | None,
    error: type[DynsubError],
    says: str,
) -> None:
    thread = serve_once(listener, answer)
    device = world.lab.devices[0]
    with pytest.raises(error) as raised:
        client.onboard(device, listener.getsockname()[:2], world.tmp / "never.toml", timeout=0.3)
    thread.join(timeout=10)
    assert raised.value.step == "registration"
    assert says in raised.value.message
    assert raised.value.exit_code == (
        ExitCode.TIMEOUT if error is PeerTimeout else ExitCode.NETWORK
    )
    assert not (world.tmp / "never.toml").exists()
