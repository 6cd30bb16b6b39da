"""EAP packet codec (RFC 3748 4) and the EAP-TLS payload (RFC 5216 3.1, RFC 9190).

Bytes in, values out: ``decode`` / ``decode_tls`` raise ``DecodeError`` (and only that) for
anything malformed; ``encode`` / ``encode_tls`` refuse values that cannot be put on the wire with
``ProtocolError`` (our mistake, not the peer's).

    EAP:      Code(1) Identifier(1) Length(2) [Type(1) Type-Data(...)]
    EAP-TLS:  Flags(1: L M S R R R R R) [TLS Message Length(4) if L] [TLS data]
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum, IntFlag

from dynsub_cli.errors import DecodeError, ProtocolError

HEADER_LEN = 4  # RFC 3748 4: Code, Identifier, Length
TLS_HEADER_LEN = HEADER_LEN + 2  # plus Type and the EAP-TLS Flags octet
TLS_LENGTH_LEN = 4  # RFC 5216 3.1: TLS Message Length, present when L is set
MAX_PACKET = 0xFFFF  # the Length field is 16 bits


class Code(IntEnum):
    """RFC 3748 4: the EAP packet codes."""

    REQUEST = 1
    RESPONSE = 2
    SUCCESS = 3
    FAILURE = 4


class Type(IntEnum):
    """RFC 3748 5 and RFC 5216 3.1: the method types this package speaks."""

    IDENTITY = 1
    NOTIFICATION = 2
    NAK = 3  # Legacy Nak, response only (RFC 3748 5.3.1)
    TLS = 13


class TlsFlags(IntFlag):
    """RFC 5216 3.1: the EAP-TLS flags octet. Reserved bits are ignored on reception."""

    NONE = 0
    LENGTH_INCLUDED = 0x80  # L: a 4-octet TLS Message Length follows
    MORE_FRAGMENTS = 0x40  # M: more fragments of this TLS message follow
    START = 0x20  # S: EAP-TLS Start, sent by the server only

    @classmethod
    def known(cls, octet: int) -> TlsFlags:
        return cls(octet & (cls.LENGTH_INCLUDED | cls.MORE_FRAGMENTS | cls.START))


@dataclass(frozen=True)
class Packet:
    """One EAP packet; ``type`` is None for Success and Failure (no Type, RFC 3748 4.2)."""

    code: Code
    identifier: int
    type: int | None = None
    type_data: bytes = b""


@dataclass(frozen=True)
class TlsPayload:
    """The Type-Data of an EAP-TLS packet. An empty payload with no flags is an acknowledgement."""

    flags: TlsFlags
    message_length: int | None = None
    data: bytes = b""

    @property
    def is_ack(self) -> bool:
        # RFC 5216 2.1.5: a fragment is acknowledged with an EAP-TLS packet with no data.
        return not self.data and not (self.flags & (TlsFlags.START | TlsFlags.MORE_FRAGMENTS))


def decode(raw: bytes) -> Packet:
    """Decode one EAP packet; octets past Length are link-layer padding (RFC 3748 4.1)."""
    if len(raw) < HEADER_LEN:
        raise DecodeError(f"EAP packet of {len(raw)} octets is shorter than the 4-octet header")
    code_octet, identifier, length = struct.unpack_from("!BBH", raw)
    try:
        code = Code(code_octet)
    except ValueError:
        raise DecodeError(f"EAP packet has unknown Code {code_octet} (RFC 3748 4)") from None
    if length > len(raw):
        raise DecodeError(f"EAP Length {length} exceeds the {len(raw)} octets received")
    if code in (Code.SUCCESS, Code.FAILURE):
        # RFC 3748 4.2: Success and Failure have no data; Length is exactly 4.
        if length != HEADER_LEN:
            raise DecodeError(f"EAP-{code.name.title()} must have Length 4, got {length}")
        return Packet(code, identifier)
    if length < HEADER_LEN + 1:
        raise DecodeError(f"EAP-{code.name.title()} has Length {length}, too short for a Type")
    return Packet(code, identifier, raw[HEADER_LEN], bytes(raw[HEADER_LEN + 1 : length]))


def encode(packet: Packet) -> bytes:
    """Encode one EAP packet."""
    if not 0 <= packet.identifier <= 0xFF:
        raise ProtocolError(f"EAP Identifier {packet.identifier} is not one octet")
    if packet.code in (Code.SUCCESS, Code.FAILURE):
        if packet.type is not None or packet.type_data:
            raise ProtocolError(f"EAP-{packet.code.name.title()} carries no Type or data")
        return struct.pack("!BBH", packet.code, packet.identifier, HEADER_LEN)
    if packet.type is None or not 0 <= packet.type <= 0xFF:
        raise ProtocolError(f"EAP-{packet.code.name.title()} needs a one-octet Type")
    length = HEADER_LEN + 1 + len(packet.type_data)
    if length > MAX_PACKET:
        raise ProtocolError(f"EAP packet of {length} octets exceeds the 16-bit Length field")
    return struct.pack("!BBHB", packet.code, packet.identifier, length, packet.type) + (
        packet.type_data
    )


def decode_tls(type_data: bytes) -> TlsPayload:
    """Decode the Type-Data of an EAP-TLS packet (RFC 5216 3.1)."""
    if not type_data:
        raise DecodeError("EAP-TLS packet has no Flags octet (RFC 5216 3.1)")
    flags = TlsFlags.known(type_data[0])
    if not flags & TlsFlags.LENGTH_INCLUDED:
        return TlsPayload(flags, None, bytes(type_data[1:]))
    if len(type_data) < 1 + TLS_LENGTH_LEN:
        raise DecodeError("EAP-TLS packet sets L but has no 4-octet TLS Message Length")
    (message_length,) = struct.unpack_from("!I", type_data, 1)
    return TlsPayload(flags, message_length, bytes(type_data[1 + TLS_LENGTH_LEN :]))


def encode_tls(payload: TlsPayload) -> bytes:
    """Encode the Type-Data of an EAP-TLS packet; L and the length go together."""
    has_length = payload.message_length is not None
    if has_length != bool(payload.flags & TlsFlags.LENGTH_INCLUDED):
        raise ProtocolError("EAP-TLS: the L flag and the TLS Message Length must go together")
    head = bytes([payload.flags])
    if payload.message_length is not None:
        head += struct.pack("!I", payload.message_length)
    return head + payload.data


def tls_packet(code: Code, identifier: int, payload: TlsPayload) -> bytes:
    """Encode an EAP-Request or EAP-Response of Type EAP-TLS."""
    return encode(Packet(code, identifier, Type.TLS, encode_tls(payload)))


def success(identifier: int) -> bytes:
    return encode(Packet(Code.SUCCESS, identifier))


def failure(identifier: int) -> bytes:
    return encode(Packet(Code.FAILURE, identifier))
