"""Octets <-> IE values, one small codec object per kind of IE (TS 24.501 9.11).

A value codec knows the contents of an IE (what follows its IEI and length) and its length
limits; the message codec (``codec``) handles IEI, length octets and order. Decoders index only
inside ``data[start:end]`` after the message codec has checked the length against ``min_len``
and ``max_len``, and report a bad value with :class:`IeError`, which the message codec turns
into a :class:`~dynsub_cli.errors.NasDecodeError` naming the message and the IE.
Encoders check ranges and raise :class:`~dynsub_cli.errors.EncodeError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dynsub_cli.errors import EncodeError
from dynsub_cli.nas import digits
from dynsub_cli.nas.enums import (
    AccessType,
    CipheringAlgorithm,
    IntegrityAlgorithm,
    MmCause,
    PayloadContainerType,
    ProtectionScheme,
    RegistrationResultValue,
    RegistrationTypeValue,
    SecurityContextType,
    SupiFormat,
)
from dynsub_cli.nas.ies import (
    AdditionalSecurityInformation,
    DeregistrationType,
    Guti,
    Imei,
    Imeisv,
    NasSecurityAlgorithms,
    NgKsi,
    NoIdentity,
    RegistrationResult,
    RegistrationType,
    SNssai,
    STmsi,
    Suci,
    SuciNai,
    UeSecurityCapability,
)


class IeError(Exception):
    """One IE's contents are wrong; ``offset`` is the octet of the PDU where it shows."""

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


def _check_int(name: str, value: object, low: int, high: int) -> int:
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
        return bytes((_check_int(self.name, value, 0, 255),))

    def decode(self, data: bytes, start: int, end: int) -> int:
        return data[start]


class Cause(ValueCodec):
    """TS 24.501 9.11.3.2: an unknown cause value is treated as #111 on receipt."""

    __slots__ = ()

    def encode(self, value: Any) -> bytes:
        return bytes((_check_int(self.name, value, 0, 255),))

    def decode(self, data: bytes, start: int, end: int) -> MmCause:
        cause = MmCause._value2member_map_.get(data[start], MmCause.PROTOCOL_ERROR_UNSPECIFIED)
        assert isinstance(cause, MmCause)
        return cause


class Algorithms(ValueCodec):
    """TS 24.501 9.11.3.34: ciphering algorithm in bits 5-8, integrity algorithm in bits 1-4."""

    __slots__ = ()

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, NasSecurityAlgorithms):
            raise EncodeError(f"{self.name}: expected NasSecurityAlgorithms, got {value!r}")
        enc = _check_int(self.name + " ciphering", value.ciphering, 0, 7)
        integ = _check_int(self.name + " integrity", value.integrity, 0, 7)
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
        out = bytearray((_check_int(self.name, value.ea, 0, 255),))
        out.append(_check_int(self.name, value.ia, 0, 255))
        if value.eea is not None:
            out.append(_check_int(self.name, value.eea, 0, 255))
        if value.eia is not None:
            if value.eea is None:
                raise EncodeError(f"{self.name}: EIA octet given without the EEA octet")
            out.append(_check_int(self.name, value.eia, 0, 255))
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
    out = bytearray((_check_int(name + " SST", value.sst, 0, 255),))
    if value.sd is not None:
        out += _check_int(name + " SD", value.sd, 0, 0xFFFFFF).to_bytes(3, "big")
    if value.mapped_sst is not None:
        out.append(_check_int(name + " mapped SST", value.mapped_sst, 0, 255))
    if value.mapped_sd is not None:
        if value.sd is None or value.mapped_sst is None:
            raise EncodeError(f"{name}: a mapped SD needs both an SD and a mapped SST")
        out += _check_int(name + " mapped SD", value.mapped_sd, 0, 0xFFFFFF).to_bytes(3, "big")
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
        octet = _check_int(self.name, value.value, 1, 3)
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


# --- 5GS mobile identity (TS 24.501 9.11.3.4) ----------------------------------------------


def _pack_plmn(name: str, mcc: str, mnc: str) -> bytes:
    packed = digits.pack_plmn(mcc, mnc) if isinstance(mcc, str) and isinstance(mnc, str) else None
    if packed is None:
        raise EncodeError(f"{name}: MCC {mcc!r} / MNC {mnc!r} is not 3 digits / 2-3 digits")
    return packed


def _plmn(data: bytes, start: int) -> tuple[str, str]:
    plmn = digits.unpack_plmn(data[start : start + 3])
    if plmn is None:
        raise IeError(f"PLMN identity {data[start : start + 3].hex()} is not BCD digits", start)
    return plmn


class MobileIdentityCodec(ValueCodec):
    """The 5GS mobile identity; ``allowed`` restricts the kinds an IE may carry (5G-GUTI, ...)."""

    __slots__ = ("allowed",)

    def __init__(self, name: str, allowed: tuple[type, ...]) -> None:
        super().__init__(name, 1, 0xFFFF)
        self.allowed = allowed

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, self.allowed):
            kinds = "/".join(k.__name__ for k in self.allowed)
            raise EncodeError(f"{self.name}: expected {kinds}, got {value!r}")
        return self._check_len(_encode_identity(self.name, value))

    def decode(self, data: bytes, start: int, end: int) -> Any:
        value = _decode_identity(data, start, end)
        if not isinstance(value, self.allowed):
            raise IeError(f"{self.name} may not be a {type(value).__name__}", start)
        return value


def _encode_identity(name: str, value: object) -> bytes:
    encoder = _IDENTITY_ENCODERS.get(type(value))
    if encoder is None:
        raise EncodeError(f"{name}: {value!r} is not a 5GS mobile identity")
    return encoder(name, value)


def _encode_suci(name: str, value: Suci) -> bytes:
    rid = value.routing_indicator
    if not isinstance(rid, str) or not 1 <= len(rid) <= 4 or not (rid.isascii() and rid.isdigit()):
        raise EncodeError(f"{name}: routing indicator {rid!r} is not 1-4 digits")
    nibbles = [int(c) for c in rid] + [0xF] * (4 - len(rid))  # TS 24.501: unused digits 1111
    scheme = _check_int(name + " protection scheme", value.protection_scheme, 0, 15)
    hnpki = _check_int(name + " key id", value.home_network_public_key_id, 0, 255)
    output = value.scheme_output
    if not isinstance(output, bytes) or not output:
        raise EncodeError(f"{name}: the SUCI scheme output is empty")
    if scheme == ProtectionScheme.NULL and digits.unpack(output) is None:
        raise EncodeError(f"{name}: null-scheme output {output.hex()} is not a BCD MSIN")
    return (
        b"\x01"  # TS 24.501 9.11.3.4: SUPI format IMSI (000), type SUCI (001)
        + _pack_plmn(name, value.mcc, value.mnc)
        + bytes((nibbles[1] << 4 | nibbles[0], nibbles[3] << 4 | nibbles[2], scheme, hnpki))
        + output
    )


def _encode_suci_nai(name: str, value: SuciNai) -> bytes:
    fmt = _check_int(name + " SUPI format", value.supi_format, 1, 3)
    if not value.nai:
        raise EncodeError(f"{name}: the SUCI NAI is empty")
    return bytes((fmt << 4 | 1,)) + value.nai.encode("utf-8")


def _encode_guti(name: str, value: Guti) -> bytes:
    return (
        b"\xf2"  # bits 5-8 are 1111 and bit 4 (odd/even) is 0 for a 5G-GUTI
        + _pack_plmn(name, value.mcc, value.mnc)
        + bytes((_check_int(name + " AMF region ID", value.amf_region_id, 0, 255),))
        + _set_pointer_tmsi(name, value.amf_set_id, value.amf_pointer, value.tmsi)
    )


def _encode_s_tmsi(name: str, value: STmsi) -> bytes:
    return b"\xf4" + _set_pointer_tmsi(name, value.amf_set_id, value.amf_pointer, value.tmsi)


def _encode_imei(name: str, value: Imei | Imeisv) -> bytes:
    want, kind = (15, 3) if type(value) is Imei else (16, 5)
    text = value.digits
    rest = digits.pack(text[1:]) if isinstance(text, str) and len(text) == want else None
    if rest is None or not "0" <= text[0] <= "9":
        raise EncodeError(f"{name}: {text!r} is not {want} digits")
    # TS 24.501 9.11.3.4: digit 1 shares the first octet with the odd/even flag and type.
    return bytes((int(text[0]) << 4 | (want % 2) << 3 | kind,)) + rest


_IDENTITY_ENCODERS: dict[type, Callable[[str, Any], bytes]] = {
    Suci: _encode_suci,
    SuciNai: _encode_suci_nai,
    Guti: _encode_guti,
    STmsi: _encode_s_tmsi,
    Imei: _encode_imei,
    Imeisv: _encode_imei,
    NoIdentity: lambda name, value: b"\x00",
}


def _set_pointer_tmsi(name: str, set_id: int, pointer: int, tmsi: int) -> bytes:
    # TS 24.501 9.11.3.4: AMF Set ID is 10 bits, AMF Pointer the 6 bits after it.
    set_id = _check_int(name + " AMF set ID", set_id, 0, 1023)
    pointer = _check_int(name + " AMF pointer", pointer, 0, 63)
    tmsi = _check_int(name + " 5G-TMSI", tmsi, 0, 0xFFFFFFFF)
    return bytes((set_id >> 2, (set_id & 3) << 6 | pointer)) + tmsi.to_bytes(4, "big")


def _decode_identity(data: bytes, start: int, end: int) -> object:
    first = data[start]
    kind = first & 7
    size = end - start
    if kind == 1:
        fmt = first >> 4 & 7
        if fmt == SupiFormat.IMSI:
            return _decode_suci(data, start, end)
        if fmt > 3:
            raise IeError(f"SUPI format {fmt} is reserved", start)
        try:
            nai = data[start + 1 : end].decode("utf-8")
        except UnicodeDecodeError as err:
            raise IeError(f"SUCI NAI is not UTF-8 ({err.reason})", start + 1 + err.start) from err
        if not nai:
            raise IeError("SUCI NAI is empty", start)
        return SuciNai(nai, SupiFormat(fmt))
    if kind == 2:
        if size != 11:
            raise IeError(f"5G-GUTI contents are {size} octets, not 11", start)
        mcc, mnc = _plmn(data, start + 1)
        set_id, pointer, tmsi = _split_set_pointer_tmsi(data, start + 5)
        return Guti(mcc, mnc, data[start + 4], set_id, pointer, tmsi)
    if kind == 4:
        if size != 7:
            raise IeError(f"5G-S-TMSI contents are {size} octets, not 7", start)
        return STmsi(*_split_set_pointer_tmsi(data, start + 1))
    if kind in (3, 5):
        return _decode_imei(data, start, end, kind)
    if kind == 0:
        if size != 1:
            raise IeError(f"'no identity' with {size} octets of contents, not 1", start)
        return NoIdentity()
    raise IeError(f"type of identity {kind} (MAC address / EUI-64) is not supported", start)


def _split_set_pointer_tmsi(data: bytes, at: int) -> tuple[int, int, int]:
    set_id = data[at] << 2 | data[at + 1] >> 6
    return set_id, data[at + 1] & 0x3F, int.from_bytes(data[at + 2 : at + 6], "big")


def _decode_suci(data: bytes, start: int, end: int) -> Suci:
    if end - start < 9:
        raise IeError(f"SUCI contents are {end - start} octets, at least 9 needed", start)
    mcc, mnc = _plmn(data, start + 1)
    low, high = data[start + 4], data[start + 5]
    nibbles = (low & 0xF, low >> 4, high & 0xF, high >> 4)
    rid = ""
    for i, nibble in enumerate(nibbles):
        if nibble == 0xF and i and all(n == 0xF for n in nibbles[i:]):
            break
        if nibble > 9:
            raise IeError(f"routing indicator {data[start + 4 : start + 6].hex()}", start + 4)
        rid += str(nibble)
    scheme = data[start + 6] & 0xF
    output = data[start + 8 : end]
    if scheme == ProtectionScheme.NULL and digits.unpack(output) is None:
        raise IeError(f"null-scheme output {output.hex()} is not a BCD MSIN", start + 8)
    known = ProtectionScheme._value2member_map_.get(scheme)
    return Suci(
        mcc,
        mnc,
        rid,
        scheme if known is None else ProtectionScheme(scheme),
        data[start + 7],
        output,
    )


def _decode_imei(data: bytes, start: int, end: int, kind: int) -> Imei | Imeisv:
    want = 15 if kind == 3 else 16
    name = "IMEI" if kind == 3 else "IMEISV"
    rest = digits.unpack(data[start + 1 : end])
    first = data[start] >> 4
    odd = data[start] >> 3 & 1
    if rest is None or first > 9:
        raise IeError(f"{name} digits {data[start:end].hex()} are not BCD", start)
    text = str(first) + rest
    if len(text) != want or len(text) % 2 != odd:
        raise IeError(f"{name} of {len(text)} digits (odd flag {odd}), not {want}", start)
    return Imei(text) if kind == 3 else Imeisv(text)


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
        return _check_int(self.name + " TSC", value.tsc, 0, 1) << 3 | _check_int(
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
        return value.follow_on_request << 3 | _check_int(self.name, value.value, 1, 7)

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
        access = _check_int(self.name + " access type", value.access_type, 1, 3)
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
        member = PayloadContainerType._value2member_map_.get(nibble)
        if member is None:
            raise IeError(f"payload container type {nibble} is reserved", offset)
        assert isinstance(member, PayloadContainerType)
        return member


class ImeisvRequestNibble(NibbleCodec):
    """TS 24.008 10.5.5.10: bits 1-3 = 001 "IMEISV requested"; any other value "not requested"."""

    __slots__ = ()

    def encode(self, value: Any) -> int:
        if not isinstance(value, bool):
            raise EncodeError(f"{self.name}: expected a bool, got {value!r}")
        return int(value)

    def decode(self, nibble: int, offset: int) -> bool:
        return nibble & 7 == 1
