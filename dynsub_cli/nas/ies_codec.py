"""Octets <-> IE values, one small codec object per kind of IE (TS 24.501 9.11).

A value codec knows the contents of an IE (what follows its IEI and length) and its length
limits; the message codec (``codec``) handles IEI, length octets and order. Decoders index only
inside ``data[start:end]`` after the message codec has checked the length against ``min_len``
and ``max_len``, and report a bad value with :class:`IeError`, which the message codec turns
into a :class:`~dynsub_cli.errors.NasDecodeError` naming the message and the IE.
Encoders check ranges and raise :class:`~dynsub_cli.errors.EncodeError`.
"""

from __future__ import annotations

from typing import Any

from dynsub_cli.errors import EncodeError
from dynsub_cli.nas.enums import (
    AccessType,
    CipheringAlgorithm,
    IntegrityAlgorithm,
    MmCause,
    PayloadContainerType,
    RegistrationResultValue,
    RegistrationTypeValue,
    SecurityContextType,
)
from dynsub_cli.nas.ies import (
    AdditionalSecurityInformation,
    DeregistrationType,
    NasSecurityAlgorithms,
    NgKsi,
    RegistrationResult,
    RegistrationType,
    SNssai,
    UeSecurityCapability,
)


class IeError(Exception):
    """One IE's contents are wrong; ``offset`` is the octet of the PDU where it shows."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


def check_int(name: str, value: object, low: int, high: int) -> int:
    if not isinstance(value, int) or not low <= value <= high:
        raise EncodeError(f"{name}: {value!r} is outside {low}-{high}")
    return value


class ValueCodec:
    """Base of the value codecs: the IE's name (for messages) and its contents' length range."""

    __slots__ = ("max_len", "min_len", "name")

    def __init__(self, name: str, min_len: int, max_len: int) -> None:
        self.name = name
        self.min_len = min_len
        self.max_len = max_len

    def encode(self, value: Any) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes, start: int, end: int) -> Any:
        raise NotImplementedError

    def _check_len(self, encoded: bytes) -> bytes:
        if not self.min_len <= len(encoded) <= self.max_len:
            raise EncodeError(
                f"{self.name}: {len(encoded)} octets, the IE holds {self.min_len}-{self.max_len}"
            )
        return encoded


class Octets(ValueCodec):
    """Contents carried as they are: RAND, AUTN, RES*, AUTS, ABBA, EAP message, containers."""

    __slots__ = ()

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, bytes):
            raise EncodeError(f"{self.name}: expected bytes, got {type(value).__name__}")
        return self._check_len(value)

    def decode(self, data: bytes, start: int, end: int) -> bytes:
        return data[start:end]


class Uint8(ValueCodec):
    """A one-octet number (PDU session identity 2, TS 24.501 9.11.3.41)."""

    __slots__ = ()

    def encode(self, value: Any) -> bytes:
        return bytes((check_int(self.name, value, 0, 255),))

    def decode(self, data: bytes, start: int, end: int) -> int:
        return data[start]


class Cause(ValueCodec):
    """TS 24.501 9.11.3.2: an unknown cause value is treated as #111 on receipt."""

    __slots__ = ()

    def encode(self, value: Any) -> bytes:
        return bytes((check_int(self.name, value, 0, 255),))

    def decode(self, data: bytes, start: int, end: int) -> MmCause:
        # TS 24.501 9.11.3.2: any other value is treated as #111.
        try:
            return MmCause(data[start])
        except ValueError:
            return MmCause.PROTOCOL_ERROR_UNSPECIFIED


class Algorithms(ValueCodec):
    """TS 24.501 9.11.3.34: ciphering algorithm in bits 5-8, integrity algorithm in bits 1-4."""

    __slots__ = ()

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, NasSecurityAlgorithms):
            raise EncodeError(f"{self.name}: expected NasSecurityAlgorithms, got {value!r}")
        enc = check_int(self.name + " ciphering", value.ciphering, 0, 7)
        integ = check_int(self.name + " integrity", value.integrity, 0, 7)
        return bytes((enc << 4 | integ,))

    def decode(self, data: bytes, start: int, end: int) -> NasSecurityAlgorithms:
        octet = data[start]
        if octet & 0x88:
            raise IeError(f"algorithm identifiers {octet:#04x} name no 5G-EA/5G-IA (0-7)", start)
        return NasSecurityAlgorithms(CipheringAlgorithm(octet >> 4), IntegrityAlgorithm(octet & 7))


class SecurityCapability(ValueCodec):
    """TS 24.501 9.11.3.54: 5G-EA and 5G-IA octets, then optional EEA and EIA octets.

    Octets 7 to 10 are spare: accepted on receipt and not kept.
    """

    __slots__ = ()

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, UeSecurityCapability):
            raise EncodeError(f"{self.name}: expected UeSecurityCapability, got {value!r}")
        out = bytearray((check_int(self.name, value.ea, 0, 255),))
        out.append(check_int(self.name, value.ia, 0, 255))
        if value.eea is not None:
            out.append(check_int(self.name, value.eea, 0, 255))
        if value.eia is not None:
            if value.eea is None:
                raise EncodeError(f"{self.name}: EIA octet given without the EEA octet")
            out.append(check_int(self.name, value.eia, 0, 255))
        return bytes(out)

    def decode(self, data: bytes, start: int, end: int) -> UeSecurityCapability:
        size = end - start
        return UeSecurityCapability(
            data[start],
            data[start + 1],
            data[start + 2] if size > 2 else None,
            data[start + 3] if size > 3 else None,
        )


class Nssai(ValueCodec):
    """TS 24.501 9.11.3.37: a list of S-NSSAI values, each with its own length octet."""

    __slots__ = ()

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, tuple) or not value:
            raise EncodeError(f"{self.name}: expected a non-empty tuple of SNssai")
        out = bytearray()
        for item in value:
            contents = encode_snssai(self.name, item)
            out.append(len(contents))
            out += contents
        return self._check_len(bytes(out))

    def decode(self, data: bytes, start: int, end: int) -> tuple[SNssai, ...]:
        items: list[SNssai] = []
        pos = start
        while pos < end:
            size = data[pos]
            if pos + 1 + size > end:
                raise IeError(f"S-NSSAI of {size} octets runs past the end of the NSSAI", pos)
            items.append(decode_snssai(data, pos + 1, pos + 1 + size))
            pos += 1 + size
        return tuple(items)


def encode_snssai(name: str, value: object) -> bytes:
    """TS 24.501 9.11.2.8: SST [SD] [mapped SST [mapped SD]] in 1, 2, 4, 5 or 8 octets."""
    if not isinstance(value, SNssai):
        raise EncodeError(f"{name}: expected SNssai, got {value!r}")
    out = bytearray((check_int(name + " SST", value.sst, 0, 255),))
    if value.sd is not None:
        out += check_int(name + " SD", value.sd, 0, 0xFFFFFF).to_bytes(3, "big")
    if value.mapped_sst is not None:
        out.append(check_int(name + " mapped SST", value.mapped_sst, 0, 255))
    if value.mapped_sd is not None:
        if value.sd is None or value.mapped_sst is None:
            raise EncodeError(f"{name}: a mapped SD needs both an SD and a mapped SST")
        out += check_int(name + " mapped SD", value.mapped_sd, 0, 0xFFFFFF).to_bytes(3, "big")
    return bytes(out)


def decode_snssai(data: bytes, start: int, end: int) -> SNssai:
    size = end - start
    sst = data[start] if size else 0
    if size == 1:
        return SNssai(sst)
    if size == 2:
        return SNssai(sst, mapped_sst=data[start + 1])
    if size == 4:
        return SNssai(sst, int.from_bytes(data[start + 1 : end], "big"))
    if size == 5:
        return SNssai(sst, int.from_bytes(data[start + 1 : start + 4], "big"), data[start + 4])
    if size == 8:
        sd = int.from_bytes(data[start + 1 : start + 4], "big")
        mapped_sd = int.from_bytes(data[start + 5 : end], "big")
        return SNssai(sst, sd, data[start + 4], mapped_sd)
    raise IeError(f"S-NSSAI contents of {size} octets (allowed: 1, 2, 4, 5, 8)", start)


class RegistrationResultCodec(ValueCodec):
    """TS 24.501 9.11.3.6: bits 1-3 value, 4 SMS allowed, 5 NSSAA, 6 emergency, 7 disaster."""

    __slots__ = ()

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, RegistrationResult):
            raise EncodeError(f"{self.name}: expected RegistrationResult, got {value!r}")
        octet = check_int(self.name, value.value, 1, 3)
        octet |= value.sms_allowed << 3 | value.nssaa_to_be_performed << 4
        octet |= value.emergency_registered << 5 | value.disaster_roaming << 6
        return bytes((octet,))

    def decode(self, data: bytes, start: int, end: int) -> RegistrationResult:
        octet = data[start]
        value = octet & 7
        if not 1 <= value <= 3:
            raise IeError(f"5GS registration result value {value} is reserved", start)
        return RegistrationResult(
            RegistrationResultValue(value),
            bool(octet & 0x08),
            bool(octet & 0x10),
            bool(octet & 0x20),
            bool(octet & 0x40),
        )


class AdditionalSecurityInformationCodec(ValueCodec):
    """TS 24.501 9.11.3.12: bit 1 HDP, bit 2 RINMR; the other bits are spare."""

    __slots__ = ()

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, AdditionalSecurityInformation):
            raise EncodeError(f"{self.name}: expected AdditionalSecurityInformation")
        return bytes((value.retransmission_requested << 1 | value.horizontal_derivation,))

    def decode(self, data: bytes, start: int, end: int) -> AdditionalSecurityInformation:
        octet = data[start]
        return AdditionalSecurityInformation(bool(octet & 2), bool(octet & 1))


# --- half-octet values -------------------------------------------------------------------------


class NibbleCodec:
    """A value that fills half an octet (type 1 IE, or one half of a V octet)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def encode(self, value: Any) -> int:
        raise NotImplementedError

    def decode(self, nibble: int, offset: int) -> Any:
        raise NotImplementedError


class NgKsiNibble(NibbleCodec):
    """TS 24.501 9.11.3.32: bit 4 TSC, bits 1-3 the key set identifier."""

    __slots__ = ()

    def encode(self, value: Any) -> int:
        if not isinstance(value, NgKsi):
            raise EncodeError(f"{self.name}: expected NgKsi, got {value!r}")
        return check_int(self.name + " TSC", value.tsc, 0, 1) << 3 | check_int(
            self.name, value.value, 0, 7
        )

    def decode(self, nibble: int, offset: int) -> NgKsi:
        return NgKsi(nibble & 7, SecurityContextType(nibble >> 3))


class RegistrationTypeNibble(NibbleCodec):
    """TS 24.501 9.11.3.7: bit 4 FOR, bits 1-3 the registration type (unused -> initial)."""

    __slots__ = ()

    def encode(self, value: Any) -> int:
        if not isinstance(value, RegistrationType):
            raise EncodeError(f"{self.name}: expected RegistrationType, got {value!r}")
        return value.follow_on_request << 3 | check_int(self.name, value.value, 1, 7)

    def decode(self, nibble: int, offset: int) -> RegistrationType:
        value = nibble & 7
        return RegistrationType(
            RegistrationTypeValue(value) if value else RegistrationTypeValue.INITIAL,
            bool(nibble & 8),
        )


class DeregistrationTypeNibble(NibbleCodec):
    """TS 24.501 9.11.3.20: bit 4 switch off, bit 3 re-registration required, bits 1-2 access."""

    __slots__ = ()

    def encode(self, value: Any) -> int:
        if not isinstance(value, DeregistrationType):
            raise EncodeError(f"{self.name}: expected DeregistrationType, got {value!r}")
        access = check_int(self.name + " access type", value.access_type, 1, 3)
        return value.switch_off << 3 | value.re_registration_required << 2 | access

    def decode(self, nibble: int, offset: int) -> DeregistrationType:
        access = nibble & 3
        if not access:
            raise IeError("de-registration access type 0 is reserved", offset)
        return DeregistrationType(AccessType(access), bool(nibble & 4), bool(nibble & 8))


class PayloadContainerTypeNibble(NibbleCodec):
    """TS 24.501 9.11.3.40: the payload container type; reserved values are refused."""

    __slots__ = ()

    def encode(self, value: Any) -> int:
        if not isinstance(value, PayloadContainerType):
            raise EncodeError(f"{self.name}: expected PayloadContainerType, got {value!r}")
        return int(value)

    def decode(self, nibble: int, offset: int) -> PayloadContainerType:
        try:
            return PayloadContainerType(nibble)
        except ValueError:
            raise IeError(f"payload container type {nibble} is reserved", offset) from None


class ImeisvRequestNibble(NibbleCodec):
    """TS 24.008 10.5.5.10: bits 1-3 = 001 "IMEISV requested"; any other value "not requested"."""

    __slots__ = ()

    def encode(self, value: Any) -> int:
        if not isinstance(value, bool):
            raise EncodeError(f"{self.name}: expected a bool, got {value!r}")
        return int(value)

    def decode(self, nibble: int, offset: int) -> bool:
        return nibble & 7 == 1
