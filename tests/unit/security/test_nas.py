"""The NAS security context: both roles wired together in memory."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsub_cli.errors import BadInput, DecodeError, IntegrityError, ReplayError, SecurityError
from dynsub_cli.nas.enums import SecurityHeaderType
from dynsub_cli.security import nas
from dynsub_cli.security.algorithms import Ciphering, Integrity, nea2, nia2
from dynsub_cli.security.nas import Role, SecurityContext

KAMF = bytes(range(32))
REGISTRATION_COMPLETE = bytes.fromhex("7e0043")  # a plain 5GMM message: EPD, plain, type


def pair(**options: object) -> tuple[SecurityContext, SecurityContext]:
    ue = SecurityContext.from_kamf(Role.UE, KAMF, **options)  # type: ignore[arg-type]
    network = SecurityContext.from_kamf(Role.NETWORK, KAMF, **options)  # type: ignore[arg-type]
    return ue, network


def test_wire_format_and_algorithm_inputs() -> None:
    ue = SecurityContext(Role.UE, bytes(16), bytes(range(16)))
    pdu = ue.protect(REGISTRATION_COMPLETE)
    assert pdu[0] == 0x7E
    assert pdu[1] == SecurityHeaderType.INTEGRITY_PROTECTED_AND_CIPHERED
    assert pdu[6] == 0  # sequence number = COUNT & 0xff
    # TS 33.501 6.4.3.1: COUNT 0, BEARER 1 (3GPP access), DIRECTION 0 (uplink).
    ciphered = nea2(bytes(16), 0, 1, 0, REGISTRATION_COMPLETE)
    assert pdu[7:] == ciphered
    assert pdu[2:6] == nia2(bytes(range(16)), 0, 1, 0, b"\x00" + ciphered)
    assert ue.tx_count == 1


@pytest.mark.parametrize(
    ("cipher", "new_context", "header"),
    [(False, False, 1), (True, False, 2), (False, True, 3), (True, True, 4)],
)
def test_header_types(cipher: bool, new_context: bool, header: int) -> None:
    ue, network = pair()
    pdu = network.protect(REGISTRATION_COMPLETE, cipher=cipher, new_context=new_context)
    assert pdu[1] == header
    assert nas.header_type(pdu) == header
    assert (pdu[7:] == REGISTRATION_COMPLETE) is (not cipher)
    opened = ue.open(pdu)
    assert opened.message == REGISTRATION_COMPLETE
    assert opened.header_type == header
    assert opened.count == 0


def test_security_mode_command_and_complete() -> None:
    ue, network = pair()
    smc = bytes.fromhex("7e005d02000420202020")
    assert ue.unprotect(network.protect(smc, cipher=False, new_context=True)) == smc
    smc_complete = bytes.fromhex("7e005e")
    assert network.unprotect(ue.protect(smc_complete, new_context=True)) == smc_complete


@settings(max_examples=60, deadline=None)
@given(
    messages=st.lists(st.binary(min_size=2, max_size=300), min_size=1, max_size=20),
    downlink=st.booleans(),
)
def test_round_trip(messages: list[bytes], downlink: bool) -> None:
    ue, network = pair()
    sender, receiver = (network, ue) if downlink else (ue, network)
    for index, message in enumerate(messages):
        opened = receiver.open(sender.protect(message))
        assert opened.message == message
        assert opened.count == index == receiver.rx_count


@settings(max_examples=60, deadline=None)
@given(message=st.binary(min_size=2, max_size=120), data=st.data())
def test_any_single_flipped_bit_is_an_integrity_error(message: bytes, data: st.DataObject) -> None:
    ue, network = pair()
    pdu = bytearray(ue.protect(message))
    # Every bit from the MAC on: MAC, sequence number and (ciphered) message.
    bit = data.draw(st.integers(16, 8 * len(pdu) - 1))
    pdu[bit // 8] ^= 0x80 >> (bit % 8)
    with pytest.raises(IntegrityError):
        network.unprotect(bytes(pdu))
    assert network.rx_count is None  # nothing was accepted


@settings(max_examples=40, deadline=None)
@given(count=st.integers(1, 300), data=st.data())
def test_any_replayed_count_is_a_replay_error(count: int, data: st.DataObject) -> None:
    ue, network = pair()
    sent = [ue.protect(i.to_bytes(2, "big")) for i in range(count)]
    for pdu in sent:
        network.unprotect(pdu)
    old = data.draw(st.integers(max(0, count - 256), count - 1))
    with pytest.raises(ReplayError, match="replayed"):
        network.unprotect(sent[old])
    # A fresh message still goes through.
    assert network.unprotect(ue.protect(b"\x7e\x00")) == b"\x7e\x00"


def test_lost_messages_and_sequence_number_wrap() -> None:
    ue, network = pair()
    for _ in range(250):
        ue.protect(b"lost")
    for expected in range(250, 600):
        assert network.open(ue.protect(b"kept")).count == expected


def test_direction_matters() -> None:
    ue, network = pair()
    with pytest.raises(IntegrityError):
        SecurityContext.from_kamf(Role.UE, KAMF).unprotect(ue.protect(b"ab"))
    assert ue.unprotect(network.protect(b"ab")) == b"ab"


def test_other_keys_fail() -> None:
    ue, _ = pair()
    other = SecurityContext.from_kamf(Role.NETWORK, bytes(32))
    with pytest.raises(IntegrityError, match="MAC check failed"):
        other.unprotect(ue.protect(b"ab"))


def test_nia0_only_when_enabled_and_nea0_selectable() -> None:
    with pytest.raises(BadInput, match="NIA0"):
        SecurityContext.from_kamf(Role.UE, KAMF, integrity=Integrity.NIA0)
    ue, network = pair(
        ciphering=Ciphering.NEA0, integrity=Integrity.NIA0, allow_null_integrity=True
    )
    pdu = ue.protect(b"\x7e\x00\x41")
    assert pdu[2:6] == bytes(4)
    assert pdu[7:] == b"\x7e\x00\x41"
    assert network.unprotect(pdu) == b"\x7e\x00\x41"
    # No MAC, no replay protection: the copy is taken for the next sequence number overflow.
    assert network.open(pdu).count == 256


def test_defaults_are_nea2_and_nia2() -> None:
    ue = SecurityContext.from_kamf(Role.UE, KAMF)
    assert (ue.ciphering, ue.integrity) == (Ciphering.NEA2, Integrity.NIA2)
    assert "k_" not in repr(ue)
    assert KAMF.hex() not in repr(ue)


def test_malformed_input() -> None:
    ue, network = pair()
    with pytest.raises(DecodeError, match="too short"):
        network.unprotect(b"\x7e\x02\x00")
    with pytest.raises(DecodeError, match="EPD"):
        network.unprotect(b"\x2e\x02" + bytes(6))
    with pytest.raises(DecodeError, match="reserved"):
        network.unprotect(b"\x7e\x07" + bytes(6))
    with pytest.raises(DecodeError, match="spare half octet"):
        network.unprotect(b"\x7e\x12" + bytes(6))
    with pytest.raises(IntegrityError, match="not a security protected"):
        network.unprotect(b"\x7e\x00" + bytes(6))
    with pytest.raises(BadInput, match="too short"):
        ue.protect(b"\x7e")
    with pytest.raises(DecodeError):
        nas.header_type(b"\x2e\x00")


def test_count_exhaustion() -> None:
    ue, _ = pair()
    ue.tx_count = nas.COUNT_MAX + 1
    with pytest.raises(SecurityError, match="exhausted"):
        ue.protect(b"ab")
