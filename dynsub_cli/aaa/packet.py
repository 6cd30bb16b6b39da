"""RADIUS packet codec (RFC 2865 3), with the authenticators EAP over RADIUS needs.

    Code(1) Identifier(1) Length(2) Authenticator(16) Attributes: Type(1) Length(1) Value

Bytes in, values out, nothing else: ``decode`` raises ``DecodeError`` for anything malformed.
Signing and checking are separate steps so that each failure says what it is:

- ``encode_request``: an Access-Request with a fresh Request Authenticator and a
  Message-Authenticator (RFC 3579 3.2: HMAC-MD5 over the packet, that attribute zeroed);
- ``encode_response``: a reply, Message-Authenticator computed with the request's
  authenticator, then the Response Authenticator (RFC 2865 3: MD5 over the packet and the
  secret);
- ``check_response`` / ``check_request``: the reverse; a mismatch raises ``BadAuthenticator``,
  which in practice means the two ends do not share the same secret.

EAP-Message is split over as many attributes as it needs (RFC 3579 3.1) and joined back in
order. The MPPE keys are hidden with the salt scheme of RFC 2548 2.4.2.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from dynsub_cli.aaa.attributes import Type
from dynsub_cli.errors import DecodeError, EncodeError, SecurityError

HEADER_LEN = 20  # RFC 2865 3: Code, Identifier, Length, Authenticator
AUTHENTICATOR_LEN = 16
MAX_PACKET = 4096  # RFC 2865 3: the maximum Length
MAX_VALUE = 253  # RFC 2865 5: an attribute's Length octet counts its 2-octet header
_ZERO_MAC = bytes(AUTHENTICATOR_LEN)


class Code(IntEnum):
    """RFC 2865 3, RFC 5997: the packet codes of authentication."""

    ACCESS_REQUEST = 1
    ACCESS_ACCEPT = 2
    ACCESS_REJECT = 3
    ACCESS_CHALLENGE = 11
    STATUS_SERVER = 12


RESPONSES = (Code.ACCESS_ACCEPT, Code.ACCESS_REJECT, Code.ACCESS_CHALLENGE)


class BadAuthenticator(SecurityError):
    """A Response Authenticator or Message-Authenticator did not verify: a wrong shared secret
    (or a forged packet)."""


@dataclass(frozen=True)
class Attribute:
    type: int
    value: bytes


@dataclass(frozen=True)
class Packet:
    code: Code
    identifier: int
    authenticator: bytes
    attributes: tuple[Attribute, ...]

    def get(self, kind: int) -> bytes | None:
        """The first attribute of ``kind``, if any."""
        return next((a.value for a in self.attributes if a.type == kind), None)

    def joined(self, kind: int) -> bytes:
        """Every attribute of ``kind`` in order, concatenated (RFC 3579 3.1: EAP-Message)."""
        return b"".join(a.value for a in self.attributes if a.type == kind)

    def vendor(self, vendor: int, kind: int) -> list[bytes]:
        """The values of one vendor's sub-attribute (RFC 2865 5.26, the recommended format)."""
        found: list[bytes] = []
        for attr in self.attributes:
            if attr.type != Type.VENDOR_SPECIFIC or len(attr.value) < 6:
                continue
            number, sub_type, sub_len = struct.unpack_from("!IBB", attr.value)
            if number == vendor and sub_type == kind and sub_len == len(attr.value) - 4:
                found.append(attr.value[6:])
        return found


def split(kind: int, value: bytes) -> list[Attribute]:
    """``value`` in as many attributes of ``kind`` as it needs (RFC 3579 3.1)."""
    if not value:
        return [Attribute(kind, b"")]
    return [Attribute(kind, value[i : i + MAX_VALUE]) for i in range(0, len(value), MAX_VALUE)]


def vendor_specific(vendor: int, kind: int, value: bytes) -> Attribute:
    if len(value) > MAX_VALUE - 6:
        raise EncodeError(f"vendor attribute {vendor}:{kind} of {len(value)} octets is too long")
    return Attribute(
        Type.VENDOR_SPECIFIC, struct.pack("!IBB", vendor, kind, len(value) + 2) + value
    )


def decode(raw: bytes) -> Packet:
    if len(raw) < HEADER_LEN:
        raise DecodeError(f"RADIUS packet of {len(raw)} octets is shorter than its 20-octet header")
    code_octet, identifier, length = struct.unpack_from("!BBH", raw)
    try:
        code = Code(code_octet)
    except ValueError:
        raise DecodeError(f"RADIUS packet has unsupported Code {code_octet}") from None
    # RFC 2865 3: octets past Length are padding and ignored; a shorter packet is discarded.
    if length < HEADER_LEN or length > len(raw) or length > MAX_PACKET:
        raise DecodeError(f"RADIUS Length {length} does not fit the {len(raw)} octets received")
    attributes: list[Attribute] = []
    offset = HEADER_LEN
    while offset < length:
        if offset + 2 > length:
            raise DecodeError(f"RADIUS attribute header cut short at octet {offset}")
        kind, attr_len = raw[offset], raw[offset + 1]
        if attr_len < 2 or offset + attr_len > length:
            raise DecodeError(f"RADIUS attribute {kind} at octet {offset} has Length {attr_len}")
        attributes.append(Attribute(kind, bytes(raw[offset + 2 : offset + attr_len])))
        offset += attr_len
    return Packet(code, identifier, bytes(raw[4:HEADER_LEN]), tuple(attributes))


def _body(attributes: Iterable[Attribute]) -> bytes:
    out = bytearray()
    for attr in attributes:
        if len(attr.value) > MAX_VALUE:
            raise EncodeError(f"RADIUS attribute {attr.type} of {len(attr.value)} octets > 253")
        out += bytes([attr.type, len(attr.value) + 2]) + attr.value
    return bytes(out)


def _assemble(code: Code, identifier: int, authenticator: bytes, body: bytes) -> bytearray:
    length = HEADER_LEN + len(body)
    if length > MAX_PACKET:
        raise EncodeError(f"RADIUS packet of {length} octets exceeds 4096 (RFC 2865 3)")
    if not 0 <= identifier <= 0xFF:
        raise EncodeError(f"RADIUS Identifier {identifier} is not one octet")
    return bytearray(struct.pack("!BBH", code, identifier, length) + authenticator + body)


def _with_mac(attributes: Sequence[Attribute]) -> tuple[bytes, int]:
    """The body with a zeroed Message-Authenticator first, and where its value starts."""
    body = _body([Attribute(Type.MESSAGE_AUTHENTICATOR, _ZERO_MAC), *attributes])
    return body, HEADER_LEN + 2


def _sign_mac(packet: bytearray, at: int, secret: bytes) -> None:
    packet[at : at + AUTHENTICATOR_LEN] = hmac.new(secret, bytes(packet), hashlib.md5).digest()


def encode_request(
    identifier: int,
    attributes: Sequence[Attribute],
    secret: bytes,
    *,
    authenticator: bytes | None = None,
) -> bytes:
    """An Access-Request with a Message-Authenticator (RFC 3579 3.2: "MUST" with EAP)."""
    request_auth = authenticator if authenticator is not None else secrets.token_bytes(16)
    body, at = _with_mac(attributes)
    packet = _assemble(Code.ACCESS_REQUEST, identifier, request_auth, body)
    _sign_mac(packet, at, secret)
    return bytes(packet)


def response_authenticator(packet: bytes, request_authenticator: bytes, secret: bytes) -> bytes:
    """RFC 2865 3: MD5(Code+ID+Length+RequestAuth+Attributes+Secret)."""
    return hashlib.md5(
        packet[:4] + request_authenticator + packet[HEADER_LEN:] + secret, usedforsecurity=False
    ).digest()


def encode_response(
    code: Code,
    identifier: int,
    request_authenticator: bytes,
    attributes: Sequence[Attribute],
    secret: bytes,
) -> bytes:
    """A reply to a request whose authenticator was ``request_authenticator``.

    RFC 3579 3.2: the Message-Authenticator of a reply is computed with the Request
    Authenticator in the header, before the Response Authenticator replaces it. It comes first
    among the attributes (the BlastRADIUS advice, so no chosen prefix precedes it).
    """
    body, at = _with_mac(attributes)
    packet = _assemble(code, identifier, request_authenticator, body)
    _sign_mac(packet, at, secret)
    packet[4:HEADER_LEN] = response_authenticator(bytes(packet), request_authenticator, secret)
    return bytes(packet)


def _mac_offset(raw: bytes) -> int | None:
    offset = HEADER_LEN
    length = struct.unpack_from("!H", raw, 2)[0]
    while offset + 2 <= length:
        kind, attr_len = raw[offset], raw[offset + 1]
        if kind == Type.MESSAGE_AUTHENTICATOR and attr_len == AUTHENTICATOR_LEN + 2:
            return offset + 2
        offset += max(attr_len, 2)
    return None


def _check_mac(raw: bytes, authenticator: bytes, secret: bytes, what: str) -> None:
    at = _mac_offset(raw)
    if at is None:
        raise BadAuthenticator(
            f"{what} carries no Message-Authenticator; RFC 3579 3.2 requires one with EAP "
            "(and the BlastRADIUS advice on every packet): refusing it"
        )
    length = struct.unpack_from("!H", raw, 2)[0]
    zeroed = bytearray(raw[:length])
    zeroed[4:HEADER_LEN] = authenticator
    zeroed[at : at + AUTHENTICATOR_LEN] = _ZERO_MAC
    expected = hmac.new(secret, bytes(zeroed), hashlib.md5).digest()
    if not hmac.compare_digest(expected, raw[at : at + AUTHENTICATOR_LEN]):
        raise BadAuthenticator(
            f"{what}: the Message-Authenticator does not verify: the RADIUS shared secret "
            "differs between the two ends"
        )


def check_response(raw: bytes, request_authenticator: bytes, secret: bytes) -> Packet:
    """Decode a reply and check both authenticators against the request's."""
    packet = decode(raw)
    if packet.code not in RESPONSES:
        raise DecodeError(f"RADIUS {packet.code.name} where a reply was expected")
    length = struct.unpack_from("!H", raw, 2)[0]
    expected = response_authenticator(raw[:length], request_authenticator, secret)
    if not hmac.compare_digest(expected, packet.authenticator):
        raise BadAuthenticator(
            f"RADIUS {packet.code.name}: bad Response Authenticator: the RADIUS shared secret "
            "differs between the two ends (RFC 2865 3)"
        )
    _check_mac(raw, request_authenticator, secret, f"RADIUS {packet.code.name}")
    return packet


def check_request(raw: bytes, secret: bytes) -> Packet:
    """Decode an Access-Request and check its Message-Authenticator."""
    packet = decode(raw)
    if packet.code is not Code.ACCESS_REQUEST:
        raise DecodeError(f"RADIUS {packet.code.name} where an Access-Request was expected")
    _check_mac(raw, packet.authenticator, secret, "RADIUS Access-Request")
    return packet


# --- RFC 2548 2.4.2: MS-MPPE-Send-Key / MS-MPPE-Recv-Key ------------------------------------


def hide_key(key: bytes, secret: bytes, request_authenticator: bytes, salt: bytes) -> bytes:
    """Salt (2 octets, high bit set) then the key length, key and padding, hidden."""
    if len(salt) != 2 or not salt[0] & 0x80:
        raise EncodeError("RFC 2548 2.4.2: the salt is 2 octets with the high bit set")
    plain = bytes([len(key)]) + key
    plain += bytes(-len(plain) % 16)
    out = bytearray()
    previous = request_authenticator + salt
    for i in range(0, len(plain), 16):
        pad = hashlib.md5(secret + previous, usedforsecurity=False).digest()
        block = bytes(p ^ b for p, b in zip(plain[i : i + 16], pad, strict=True))
        out += block
        previous = block
    return salt + bytes(out)


def reveal_key(value: bytes, secret: bytes, request_authenticator: bytes) -> bytes:
    """The key an MS-MPPE-*-Key attribute hides (RFC 2548 2.4.2, 2.4.3)."""
    if len(value) < 18 or (len(value) - 2) % 16:
        raise DecodeError(f"MS-MPPE key attribute of {len(value)} octets: not salt + 16n")
    salt, hidden = value[:2], value[2:]
    plain = bytearray()
    previous = request_authenticator + salt
    for i in range(0, len(hidden), 16):
        block = hidden[i : i + 16]
        pad = hashlib.md5(secret + previous, usedforsecurity=False).digest()
        plain += bytes(c ^ b for c, b in zip(block, pad, strict=True))
        previous = block
    length = plain[0]
    if length > len(plain) - 1:
        raise BadAuthenticator(
            f"MS-MPPE key: hidden length {length} exceeds the attribute: the RADIUS shared "
            "secret differs between the two ends"
        )
    return bytes(plain[1 : 1 + length])
