"""The EAP / EAP-TLS codec: known encodings, round trips, and every malformation refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynsub_cli.eap.packet import (
    Code,
    Packet,
    TlsFlags,
    TlsPayload,
    Type,
    decode,
    decode_tls,
    encode,
    encode_tls,
    failure,
    success,
    tls_packet,
)
from dynsub_cli.errors import DecodeError, ProtocolError


def test_known_encodings() -> None:
    # RFC 3748 4.2: Success/Failure are 4 octets; RFC 5216 3.1: Start is flags 0x20, no data.
    assert success(7) == bytes.fromhex("03070004")
    assert failure(9) == bytes.fromhex("04090004")
    start = tls_packet(Code.REQUEST, 1, TlsPayload(TlsFlags.START))
    assert start == bytes.fromhex("010100060d20")
    first = tls_packet(
        Code.RESPONSE,
        2,
        TlsPayload(TlsFlags.LENGTH_INCLUDED | TlsFlags.MORE_FRAGMENTS, 0x0102, b"\x16\x03"),
    )
    assert first == bytes.fromhex("0202000c0dc0000001021603")


def test_identity_round_trip() -> None:
    raw = encode(Packet(Code.RESPONSE, 5, Type.IDENTITY, b"anonymous@5gc"))
    assert decode(raw) == Packet(Code.RESPONSE, 5, Type.IDENTITY, b"anonymous@5gc")


def test_octets_past_length_are_padding() -> None:
    # RFC 3748 4.1: bytes beyond Length are link-layer padding and ignored.
    assert decode(success(3) + b"\x00\x00") == Packet(Code.SUCCESS, 3)
    raw = tls_packet(Code.REQUEST, 4, TlsPayload(TlsFlags.NONE, None, b"abc"))
    assert decode_tls(decode(raw + b"zz").type_data).data == b"abc"


def test_reserved_flag_bits_are_ignored() -> None:
    assert decode_tls(b"\x1f") == TlsPayload(TlsFlags.NONE)


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        (b"", "shorter than the 4-octet header"),
        (b"\x01\x01\x00", "shorter than the 4-octet header"),
        (bytes.fromhex("05010004"), "unknown Code 5"),
        (bytes.fromhex("01010010") + b"\x0d", "exceeds the 5 octets"),
        (bytes.fromhex("03010005") + b"\x00", "must have Length 4"),
        (bytes.fromhex("01010004"), "too short for a Type"),
    ],
)
def test_malformed_packets(raw: bytes, what: str) -> None:
    with pytest.raises(DecodeError, match=what):
        decode(raw)


@pytest.mark.parametrize("type_data", [b"", b"\x80", b"\xc0\x00\x00"])
def test_malformed_tls_payloads(type_data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_tls(type_data)


def test_encode_refuses_what_cannot_be_sent() -> None:
    with pytest.raises(ProtocolError, match="one octet"):
        encode(Packet(Code.REQUEST, 256, Type.TLS))
    with pytest.raises(ProtocolError, match="no Type"):
        encode(Packet(Code.SUCCESS, 1, Type.TLS))
    with pytest.raises(ProtocolError, match="16-bit"):
        encode(Packet(Code.REQUEST, 1, Type.TLS, bytes(0x10000)))
    with pytest.raises(ProtocolError, match="go together"):
        encode_tls(TlsPayload(TlsFlags.LENGTH_INCLUDED, None, b""))


payloads = st.builds(
    lambda flags, length, data: TlsPayload(
        TlsFlags(flags | (TlsFlags.LENGTH_INCLUDED if length is not None else 0)), length, data
    ),
    st.sampled_from([0, TlsFlags.MORE_FRAGMENTS, TlsFlags.START]),
    st.none() | st.integers(0, 2**32 - 1),
    st.binary(max_size=64),
)


@given(payloads, st.sampled_from([Code.REQUEST, Code.RESPONSE]), st.integers(0, 255))
def test_tls_round_trip(payload: TlsPayload, code: Code, identifier: int) -> None:
    packet = decode(tls_packet(code, identifier, payload))
    assert (packet.code, packet.identifier, packet.type) == (code, identifier, Type.TLS)
    assert decode_tls(packet.type_data) == payload


@given(st.binary(max_size=80))
def test_random_bytes_decode_or_raise_decode_error(raw: bytes) -> None:
    try:
        packet = decode(raw)
        if packet.type == Type.TLS:
            decode_tls(packet.type_data)
    except DecodeError:
        pass
