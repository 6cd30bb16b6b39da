"""The 5GS mobile identity IE (TS 24.501 9.11.3.4): SUCI, 5G-GUTI, 5G-S-TMSI, IMEI, IMEISV.

One octet of identity type (with SUPI format or odd/even flag and first digit), then contents
that depend on the type. The codec object follows the conventions of ``ies_codec``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dynsub_cli.errors import EncodeError
from dynsub_cli.nas import digits
from dynsub_cli.nas.enums import ProtectionScheme, SupiFormat
from dynsub_cli.nas.ies import Guti, Imei, Imeisv, NoIdentity, STmsi, Suci, SuciNai
from dynsub_cli.nas.ies_codec import IeError, ValueCodec, check_int


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
    scheme = check_int(name + " protection scheme", value.protection_scheme, 0, 15)
    hnpki = check_int(name + " key id", value.home_network_public_key_id, 0, 255)
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
    fmt = check_int(name + " SUPI format", value.supi_format, 1, 3)
    if not value.nai:
        raise EncodeError(f"{name}: the SUCI NAI is empty")
    return bytes((fmt << 4 | 1,)) + value.nai.encode("utf-8")


def _encode_guti(name: str, value: Guti) -> bytes:
    return (
        b"\xf2"  # bits 5-8 are 1111 and bit 4 (odd/even) is 0 for a 5G-GUTI
        + _pack_plmn(name, value.mcc, value.mnc)
        + bytes((check_int(name + " AMF region ID", value.amf_region_id, 0, 255),))
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
    set_id = check_int(name + " AMF set ID", set_id, 0, 1023)
    pointer = check_int(name + " AMF pointer", pointer, 0, 63)
    tmsi = check_int(name + " 5G-TMSI", tmsi, 0, 0xFFFFFFFF)
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
