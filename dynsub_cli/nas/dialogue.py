"""The subscription-generation dialogue: dynsub's own payload inside UL/DL NAS TRANSPORT.

After the UE is registered for onboarding services, core and UE agree on a service type and a
billing plan, the core asks the UE to generate its long-term key, and the core hands over the
generated subscription. TS 24.501 has no message for this, so the dialogue rides as the payload
container of UL/DL NAS TRANSPORT under NAS security (docs/protocol.md section 5).

Wire format, version 1 (every integer big-endian)::

    octet 0       version (1)
    octet 1       dialogue message type (DialogueType)
    octets 2..    fields, each: tag (1 octet) | length (2 octets) | value

Fields appear in tag order; a repeated field (a list) is the same tag repeated. A receiver
refuses an unknown version and an unknown tag of a known message (the format is ours, so an
unknown tag means a peer of another version, not an extension to skip).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import ClassVar, Self

from dynsub_cli.errors import DecodeError, EncodeError
from dynsub_cli.nas.ies import SNssai

VERSION = 1

#: TS 24.501 9.11.3.40: the dialogue rides as a "UE parameters update transparent container"
#: (6), the container the home network uses to hand parameters to the UE (TS 24.501 5.4.5,
#: TS 33.501 6.15): the closest in meaning. Its content here is dynsub's own format, which the
#: version octet identifies; Wireshark shows such a container as plain octets, without error.
PAYLOAD_CONTAINER_TYPE = 6


class DialogueType(IntEnum):
    OFFER = 1  # DL: the service types and billing plans on offer
    CHOICE = 2  # UL: the chosen service type and plan, with billing information
    KEY_REQUEST = 3  # DL: the core asks the UE to generate its key (network nonce)
    KEY_RESPONSE = 4  # UL: UE nonce and key confirmation
    SUBSCRIPTION = 5  # DL: the generated subscription
    ACK = 6  # UL: the UE has stored the subscription
    ERROR = 7  # either direction: why the dialogue cannot go on


class DialogueCause(IntEnum):
    """Why a dialogue step was refused; carried in an ERROR message."""

    UNKNOWN_SERVICE_TYPE = 1
    UNKNOWN_PLAN = 2
    PLAN_NOT_FOR_SERVICE_TYPE = 3
    MISSING_BILLING_INFORMATION = 4
    KEY_CONFIRMATION_FAILED = 5
    SUPI_RANGE_EXHAUSTED = 6
    REONBOARDING_REFUSED = 7
    MALFORMED = 8
    INTERNAL = 9
    DENIED = 10  # the operator's provisioning hook refused the device (its reason in text)


# --- field encoding ---------------------------------------------------------------------


def _put(out: bytearray, tag: int, value: bytes) -> None:
    if len(value) > 0xFFFF:
        raise ValueError(f"dialogue field {tag} is {len(value)} octets; at most 65535 fit")
    out += struct.pack("!BH", tag, len(value))
    out += value


def _fields(data: bytes, offset: int) -> Iterator[tuple[int, bytes]]:
    while offset < len(data):
        if offset + 3 > len(data):
            raise DecodeError(f"dialogue: field header cut short at offset {offset}")
        tag, length = struct.unpack_from("!BH", data, offset)
        offset += 3
        if offset + length > len(data):
            raise DecodeError(
                f"dialogue: field {tag} at offset {offset - 3} announces {length} octets, "
                f"{len(data) - offset} remain"
            )
        yield tag, data[offset : offset + length]
        offset += length


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DecodeError(f"dialogue: {what} is not UTF-8") from err


def _uint(value: bytes, what: str, size: int) -> int:
    if len(value) != size:
        raise DecodeError(f"dialogue: {what} must be {size} octets, got {len(value)}")
    return int.from_bytes(value, "big")


def _exact(value: bytes, what: str, size: int) -> bytes:
    if len(value) != size:
        raise DecodeError(f"dialogue: {what} must be {size} octets, got {len(value)}")
    return value


def _strings(values: Sequence[str]) -> bytes:
    """A list of short strings inside one field: each as length (1 octet) | UTF-8."""
    out = bytearray()
    for value in values:
        raw = value.encode("utf-8")
        if len(raw) > 0xFF:
            raise ValueError(f"dialogue: {value[:20]!r}... is longer than 255 octets")
        out.append(len(raw))
        out += raw
    return bytes(out)


def _unstrings(value: bytes, what: str) -> tuple[str, ...]:
    items: list[str] = []
    offset = 0
    while offset < len(value):
        length = value[offset]
        end = offset + 1 + length
        if end > len(value):
            raise DecodeError(f"dialogue: {what} list cut short")
        items.append(_text(value[offset + 1 : end], what))
        offset = end
    return tuple(items)


# --- values -------------------------------------------------------------------------------


def _snssai_octets(snssai: SNssai) -> bytes:
    """TS 23.003 28.4.2: SST (1 octet), then the SD (3 octets) if there is one; the dialogue
    carries no mapped S-NSSAI (that is for roaming, TS 24.501 9.11.2.8)."""
    if snssai.mapped_sst is not None or snssai.mapped_sd is not None:
        raise EncodeError(f"dialogue: S-NSSAI {snssai}: a mapped S-NSSAI has no place here")
    if not 0 <= snssai.sst <= 0xFF or not (snssai.sd is None or 0 <= snssai.sd <= 0xFFFFFF):
        raise EncodeError(f"dialogue: S-NSSAI {snssai}: SST is 1 octet, SD 3 octets")
    sd = b"" if snssai.sd is None else snssai.sd.to_bytes(3, "big")
    return bytes([snssai.sst]) + sd


def _snssai(value: bytes) -> SNssai:
    if len(value) not in (1, 4):
        raise DecodeError(f"dialogue: S-NSSAI must be 1 or 4 octets, got {len(value)}")
    return SNssai(value[0], int.from_bytes(value[1:], "big") if len(value) == 4 else None)


@dataclass(frozen=True, slots=True)
class ServiceTypeOffer:
    name: str
    snssai: SNssai
    ambr_uplink_bps: int
    ambr_downlink_bps: int
    description: str = ""


@dataclass(frozen=True, slots=True)
class PlanOffer:
    name: str
    requires: tuple[str, ...] = ()  # billing fields the UE must supply, e.g. ("account",)
    service_types: tuple[str, ...] = ()  # empty: every service type
    description: str = ""


@dataclass(frozen=True, slots=True)
class HomeNetworkPublicKey:
    """A home network public key for SUCI concealment, with its identifier (TS 33.501 Annex C).

    What the core publishes of its :class:`dynsub_cli.security.ecies.HomeNetworkKey` and what
    the UE keeps in its state file. ``scheme`` is an int as it came off the wire (a
    :class:`ProtectionScheme` when known): the UE refuses an unknown one when it conceals.
    """

    scheme: int
    key_id: int
    public_key: bytes


# --- messages -----------------------------------------------------------------------------


class _Message:
    kind: ClassVar[DialogueType]

    def _body(self) -> bytearray:
        raise NotImplementedError

    @classmethod
    def _parse(cls, fields: Iterator[tuple[int, bytes]]) -> Self:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Offer(_Message):
    kind: ClassVar[DialogueType] = DialogueType.OFFER
    service_types: tuple[ServiceTypeOffer, ...]
    plans: tuple[PlanOffer, ...]
    default_service_type: str
    default_plan: str

    def _body(self) -> bytearray:
        out = bytearray()
        _put(out, 1, self.default_service_type.encode())
        _put(out, 2, self.default_plan.encode())
        for s in self.service_types:
            inner = bytearray()
            _put(inner, 1, s.name.encode())
            _put(inner, 2, _snssai_octets(s.snssai))
            _put(inner, 3, struct.pack("!QQ", s.ambr_uplink_bps, s.ambr_downlink_bps))
            _put(inner, 4, s.description.encode())
            _put(out, 3, bytes(inner))
        for p in self.plans:
            inner = bytearray()
            _put(inner, 1, p.name.encode())
            _put(inner, 2, _strings(p.requires))
            _put(inner, 3, _strings(p.service_types))
            _put(inner, 4, p.description.encode())
            _put(out, 4, bytes(inner))
        return out

    @classmethod
    def _parse(cls, fields: Iterator[tuple[int, bytes]]) -> Offer:
        defaults: dict[int, str] = {}
        services: list[ServiceTypeOffer] = []
        plans: list[PlanOffer] = []
        for tag, value in fields:
            if tag in (1, 2):
                defaults[tag] = _text(value, "default name")
            elif tag == 3:
                f = dict(_fields(value, 0))
                ul, dl = struct.unpack("!QQ", _exact(f.get(3, b""), "AMBR", 16))
                services.append(
                    ServiceTypeOffer(
                        _text(f.get(1, b""), "service type name"),
                        _snssai(f.get(2, b"")),
                        ul,
                        dl,
                        _text(f.get(4, b""), "description"),
                    )
                )
            elif tag == 4:
                f = dict(_fields(value, 0))
                plans.append(
                    PlanOffer(
                        _text(f.get(1, b""), "plan name"),
                        _unstrings(f.get(2, b""), "required fields"),
                        _unstrings(f.get(3, b""), "service types"),
                        _text(f.get(4, b""), "description"),
                    )
                )
            else:
                raise DecodeError(f"dialogue: unknown field {tag} in OFFER")
        if set(defaults) != {1, 2}:
            raise DecodeError("dialogue: OFFER lacks its default service type or plan")
        return cls(tuple(services), tuple(plans), defaults[1], defaults[2])


@dataclass(frozen=True, slots=True)
class Choice(_Message):
    kind: ClassVar[DialogueType] = DialogueType.CHOICE
    service_type: str
    plan: str
    billing: tuple[tuple[str, str], ...] = ()  # (field, value) pairs, e.g. ("account", "A-1")

    def _body(self) -> bytearray:
        out = bytearray()
        _put(out, 1, self.service_type.encode())
        _put(out, 2, self.plan.encode())
        for name, value in self.billing:
            _put(out, 3, _strings((name, value)))
        return out

    @classmethod
    def _parse(cls, fields: Iterator[tuple[int, bytes]]) -> Choice:
        names: dict[int, str] = {}
        billing: list[tuple[str, str]] = []
        for tag, value in fields:
            if tag in (1, 2):
                names[tag] = _text(value, "choice")
            elif tag == 3:
                pair = _unstrings(value, "billing information")
                if len(pair) != 2:
                    raise DecodeError("dialogue: billing information must be a (field, value) pair")
                billing.append((pair[0], pair[1]))
            else:
                raise DecodeError(f"dialogue: unknown field {tag} in CHOICE")
        if set(names) != {1, 2}:
            raise DecodeError("dialogue: CHOICE lacks its service type or plan")
        return cls(names[1], names[2], tuple(billing))


#: Nonces are 16 to 64 octets (dynsub_cli.security.subscription makes 16).
NONCE_SIZES = range(16, 65)
CONFIRMATION_SIZE = 32


def _nonce(value: bytes, what: str) -> bytes:
    if len(value) not in NONCE_SIZES:
        raise DecodeError(f"dialogue: {what} must be 16 to 64 octets, got {len(value)}")
    return value


@dataclass(frozen=True, slots=True)
class KeyRequest(_Message):
    kind: ClassVar[DialogueType] = DialogueType.KEY_REQUEST
    network_nonce: bytes

    def _body(self) -> bytearray:
        out = bytearray()
        _put(out, 1, self.network_nonce)
        return out

    @classmethod
    def _parse(cls, fields: Iterator[tuple[int, bytes]]) -> KeyRequest:
        f = _known(fields, {1}, "KEY_REQUEST")
        return cls(_nonce(f[1], "network nonce"))


@dataclass(frozen=True, slots=True)
class KeyResponse(_Message):
    kind: ClassVar[DialogueType] = DialogueType.KEY_RESPONSE
    ue_nonce: bytes
    confirmation: bytes = field(repr=False)

    def _body(self) -> bytearray:
        out = bytearray()
        _put(out, 1, self.ue_nonce)
        _put(out, 2, self.confirmation)
        return out

    @classmethod
    def _parse(cls, fields: Iterator[tuple[int, bytes]]) -> KeyResponse:
        f = _known(fields, {1, 2}, "KEY_RESPONSE")
        return cls(
            _nonce(f[1], "UE nonce"),
            _exact(f[2], "key confirmation", CONFIRMATION_SIZE),
        )


@dataclass(frozen=True, slots=True)
class Subscription(_Message):
    """The generated subscription: everything the UE needs for normal service but K itself."""

    kind: ClassVar[DialogueType] = DialogueType.SUBSCRIPTION
    supi: str
    opc: bytes = field(repr=False)
    amf: bytes
    mcc: str
    mnc: str
    routing_indicator: str
    home_network_keys: tuple[HomeNetworkPublicKey, ...]
    allowed_nssai: tuple[SNssai, ...]
    ambr_uplink_bps: int
    ambr_downlink_bps: int
    service_type: str
    plan: str
    confirmation: bytes = field(repr=False)  # the core's proof that it derived the same K

    def _body(self) -> bytearray:
        out = bytearray()
        _put(out, 1, self.supi.encode())
        _put(out, 2, self.opc)
        _put(out, 3, self.amf)
        _put(out, 4, _strings((self.mcc, self.mnc, self.routing_indicator)))
        for key in self.home_network_keys:
            _put(out, 5, bytes([key.scheme, key.key_id]) + key.public_key)
        for snssai in self.allowed_nssai:
            _put(out, 6, _snssai_octets(snssai))
        _put(out, 7, struct.pack("!QQ", self.ambr_uplink_bps, self.ambr_downlink_bps))
        _put(out, 8, _strings((self.service_type, self.plan)))
        _put(out, 9, self.confirmation)
        return out

    @classmethod
    def _parse(cls, fields: Iterator[tuple[int, bytes]]) -> Subscription:
        single: dict[int, bytes] = {}
        keys: list[HomeNetworkPublicKey] = []
        nssai: list[SNssai] = []
        for tag, value in fields:
            if tag == 5:
                if len(value) < 3:
                    raise DecodeError("dialogue: home network key too short")
                keys.append(HomeNetworkPublicKey(value[0], value[1], value[2:]))
            elif tag == 6:
                nssai.append(_snssai(value))
            elif tag in (1, 2, 3, 4, 7, 8, 9):
                single[tag] = value
            else:
                raise DecodeError(f"dialogue: unknown field {tag} in SUBSCRIPTION")
        missing = {1, 2, 3, 4, 7, 8, 9} - set(single)
        if missing:
            raise DecodeError(f"dialogue: SUBSCRIPTION lacks fields {sorted(missing)}")
        plmn = _unstrings(single[4], "network identity")
        names = _unstrings(single[8], "service type and plan")
        if len(plmn) != 3 or len(names) != 2:
            raise DecodeError("dialogue: SUBSCRIPTION network identity or names malformed")
        ul, dl = struct.unpack("!QQ", _exact(single[7], "AMBR", 16))
        return cls(
            supi=_text(single[1], "SUPI"),
            opc=_exact(single[2], "OPc", 16),
            amf=_exact(single[3], "AMF", 2),
            mcc=plmn[0],
            mnc=plmn[1],
            routing_indicator=plmn[2],
            home_network_keys=tuple(keys),
            allowed_nssai=tuple(nssai),
            ambr_uplink_bps=ul,
            ambr_downlink_bps=dl,
            service_type=names[0],
            plan=names[1],
            confirmation=_exact(single[9], "confirmation", CONFIRMATION_SIZE),
        )


@dataclass(frozen=True, slots=True)
class Ack(_Message):
    kind: ClassVar[DialogueType] = DialogueType.ACK
    supi: str

    def _body(self) -> bytearray:
        out = bytearray()
        _put(out, 1, self.supi.encode())
        return out

    @classmethod
    def _parse(cls, fields: Iterator[tuple[int, bytes]]) -> Ack:
        return cls(_text(_known(fields, {1}, "ACK")[1], "SUPI"))


@dataclass(frozen=True, slots=True)
class Error(_Message):
    kind: ClassVar[DialogueType] = DialogueType.ERROR
    cause: DialogueCause
    text: str
    field_name: str = ""  # the choice or billing field at fault, if any

    def _body(self) -> bytearray:
        out = bytearray()
        _put(out, 1, bytes([self.cause]))
        _put(out, 2, self.text.encode())
        _put(out, 3, self.field_name.encode())
        return out

    @classmethod
    def _parse(cls, fields: Iterator[tuple[int, bytes]]) -> Error:
        f = _known(fields, {1, 2, 3}, "ERROR")
        try:
            cause = DialogueCause(_uint(f[1], "cause", 1))
        except ValueError as err:
            raise DecodeError(f"dialogue: unknown cause {f[1].hex()}") from err
        return cls(cause, _text(f[2], "text"), _text(f[3], "field"))


def _known(fields: Iterator[tuple[int, bytes]], tags: set[int], name: str) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    for tag, value in fields:
        if tag not in tags or tag in found:
            raise DecodeError(f"dialogue: unexpected field {tag} in {name}")
        found[tag] = value
    if set(found) != tags:
        raise DecodeError(f"dialogue: {name} lacks fields {sorted(tags - set(found))}")
    return found


Message = Offer | Choice | KeyRequest | KeyResponse | Subscription | Ack | Error

_BY_TYPE: dict[DialogueType, type[_Message]] = {
    cls.kind: cls for cls in (Offer, Choice, KeyRequest, KeyResponse, Subscription, Ack, Error)
}


def encode(message: Message) -> bytes:
    return bytes([VERSION, message.kind]) + bytes(message._body())


def decode(data: bytes) -> Message:
    """Decode one dialogue payload; anything malformed raises DecodeError."""
    if len(data) < 2:
        raise DecodeError(f"dialogue: {len(data)} octets is too short for a dialogue payload")
    if data[0] != VERSION:
        raise DecodeError(f"dialogue: version {data[0]} is not supported (this is {VERSION})")
    try:
        kind = DialogueType(data[1])
    except ValueError as err:
        raise DecodeError(f"dialogue: unknown message type {data[1]}") from err
    message = _BY_TYPE[kind]._parse(_fields(data, 2))
    return message  # type: ignore[return-value]
