"""Encode and decode NAS-5GS 5GMM messages: ``encode(message) -> bytes``, ``decode(bytes)``.

Every message is described by one row of ``_LAYOUTS``: its mandatory IEs in order (the
imperative part) and its optional IEs by IEI (the non-imperative part), straight from the
message tables of TS 24.501 clause 8.2. One generic loop walks a layout in each direction.

Receiving rules (TS 24.007 11.2.4, TS 24.501 7 and 9.11.1):

* Optional IEs may arrive in any order; a repeated one is kept at its first occurrence and the
  repeats are ignored (TS 24.501 7.6.3).
* An unknown IEI is skipped by its format, which the IEI itself tells: bit 8 set means a
  one-octet IE (type 1 or 2); bits 8-5 = 0111 mean TLV-E (two length octets); any other IEI is
  read as TLV (one length octet).
* "Comprehension required": an unknown IEI whose bits 8-5 are 0000 must be understood
  (TS 24.007 11.2.4, TS 24.008 10.5.4.1); the message is then treated as if a mandatory IE
  were missing, so :func:`decode` raises with cause #96 "invalid mandatory information".
* A known optional IE with a bad value is "syntactically incorrect" and treated as absent
  (TS 24.501 7.7.2); ``decode(..., strict=True)`` raises instead, which tests use.
* A mandatory IE with a bad value, a truncated PDU or an IE length that runs past the end of
  the PDU always raise :class:`~dynsub_cli.errors.NasDecodeError`.

Bytes in, values out: no I/O, no clock, no state between calls.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from dynsub_cli.errors import EncodeError, NasDecodeError
from dynsub_cli.nas import ies_codec as ie
from dynsub_cli.nas.enums import (
    ExtendedProtocolDiscriminator,
    MmCause,
    SecurityHeaderType,
)
from dynsub_cli.nas.identity_codec import MobileIdentityCodec
from dynsub_cli.nas.ies import Guti, Imei, Imeisv, NoIdentity, STmsi, Suci, SuciNai
from dynsub_cli.nas.messages import (
    AuthenticationFailure,
    AuthenticationReject,
    AuthenticationRequest,
    AuthenticationResponse,
    AuthenticationResult,
    DeregistrationAcceptUeOriginating,
    DeregistrationAcceptUeTerminated,
    DeregistrationRequestUeOriginating,
    DeregistrationRequestUeTerminated,
    DlNasTransport,
    Message,
    MmStatus,
    PlainMessage,
    RegistrationAccept,
    RegistrationComplete,
    RegistrationReject,
    RegistrationRequest,
    SecurityModeCommand,
    SecurityModeComplete,
    SecurityModeReject,
    SecurityProtected,
    UlNasTransport,
)

_EPD_5GMM = ExtendedProtocolDiscriminator.MOBILITY_MANAGEMENT
_INVALID_MANDATORY = MmCause.INVALID_MANDATORY_INFORMATION
_PROTOCOL_ERROR = MmCause.PROTOCOL_ERROR_UNSPECIFIED

# Formats of TS 24.007 11.2.1.1. Mandatory: a pair of half-octet values sharing one octet
# (low nibble first, as the message tables list them), V of fixed length, LV, LV-E.
HALF, V, LV, LVE = 0, 1, 2, 3
# Optional: TV with a half-octet IEI (type 1), TV of fixed length (type 3), TLV, TLV-E.
TV1, TV, TLV, TLVE = 10, 11, 12, 13

_Mandatory = tuple[Any, ...]
_Optional = tuple[int, int, str, Any]


class _Layout:
    __slots__ = ("build", "by_half_iei", "by_iei", "cls", "mandatory", "name", "optional", "type")

    def __init__(
        self,
        cls: type[PlainMessage],
        mandatory: tuple[_Mandatory, ...],
        optional: tuple[_Optional, ...] = (),
    ) -> None:
        self.cls = cls
        self.build: Callable[..., Message] = cls
        self.type = int(cls.MESSAGE_TYPE)
        self.name = cls.MESSAGE_TYPE.name.replace("_", " ")
        self.mandatory = mandatory
        self.optional = optional
        self.by_iei = {o[1]: o for o in optional if o[0] != TV1}
        self.by_half_iei = {o[1]: o for o in optional if o[0] == TV1}


# --- the IEs (TS 24.501 8.2 tables; lengths are of the contents, after IEI and length) ----

_ANY_IDENTITY = (Suci, SuciNai, Guti, STmsi, Imei, Imeisv, NoIdentity)
_NGKSI = ie.NgKsiNibble("ngKSI")
_SPARE = None
_CAUSE = ie.Cause("5GMM cause", 1, 1)
_EAP = ie.Octets("EAP message", 4, 1500)
_ABBA = ie.Octets("ABBA", 2, 255)
_PAYLOAD_TYPE = ie.PayloadContainerTypeNibble("payload container type")
_PAYLOAD = ie.Octets("payload container", 1, 0xFFFF)
_NAS_CONTAINER = ie.Octets("NAS message container", 1, 0xFFFF)
_UE_SEC_CAP = ie.SecurityCapability("UE security capability", 2, 8)
_PDU_SESSION_ID = ie.Uint8("PDU session identity 2", 1, 1)
_ADDITIONAL_INFO = ie.Octets("additional information", 1, 255)

_LAYOUTS = (
    _Layout(
        RegistrationRequest,
        (
            (
                HALF,
                "registration_type",
                ie.RegistrationTypeNibble("5GS registration type"),
                "ngksi",
                _NGKSI,
            ),
            (LVE, "mobile_identity", MobileIdentityCodec("5GS mobile identity", _ANY_IDENTITY)),
        ),
        (
            (TV1, 0xC, "non_current_ngksi", ie.NgKsiNibble("non-current native ngKSI")),
            (TLV, 0x10, "mm_capability", ie.Octets("5GMM capability", 1, 13)),
            (TLV, 0x2E, "ue_security_capability", _UE_SEC_CAP),
            (TLV, 0x2F, "requested_nssai", ie.Nssai("requested NSSAI", 2, 72)),
            (TV1, 0x8, "payload_container_type", _PAYLOAD_TYPE),
            (TLVE, 0x7B, "payload_container", _PAYLOAD),
            (TLVE, 0x71, "nas_message_container", _NAS_CONTAINER),
        ),
    ),
    _Layout(
        RegistrationAccept,
        ((LV, "registration_result", ie.RegistrationResultCodec("5GS registration result", 1, 1)),),
        (
            (TLVE, 0x77, "guti", MobileIdentityCodec("5G-GUTI", (Guti,))),
            (TLV, 0x15, "allowed_nssai", ie.Nssai("allowed NSSAI", 2, 72)),
            (TLV, 0x31, "configured_nssai", ie.Nssai("configured NSSAI", 2, 144)),
            (TLVE, 0x78, "eap_message", _EAP),
        ),
    ),
    _Layout(
        RegistrationComplete,
        (),
        ((TLVE, 0x73, "sor_transparent_container", ie.Octets("SOR container", 17, 2045)),),
    ),
    _Layout(RegistrationReject, ((V, "cause", _CAUSE),), ((TLVE, 0x78, "eap_message", _EAP),)),
    _Layout(
        AuthenticationRequest,
        ((HALF, "ngksi", _NGKSI, None, _SPARE), (LV, "abba", _ABBA)),
        (
            (TV, 0x21, "rand", ie.Octets("authentication parameter RAND", 16, 16)),
            (TLV, 0x20, "autn", ie.Octets("authentication parameter AUTN", 16, 16)),
            (TLVE, 0x78, "eap_message", _EAP),
        ),
    ),
    _Layout(
        AuthenticationResponse,
        (),
        (
            (TLV, 0x2D, "res_star", ie.Octets("authentication response parameter", 16, 16)),
            (TLVE, 0x78, "eap_message", _EAP),
        ),
    ),
    _Layout(
        AuthenticationResult,
        ((HALF, "ngksi", _NGKSI, None, _SPARE), (LVE, "eap_message", _EAP)),
        ((TLV, 0x38, "abba", _ABBA),),
    ),
    _Layout(
        AuthenticationFailure,
        ((V, "cause", _CAUSE),),
        ((TLV, 0x30, "auts", ie.Octets("authentication failure parameter", 14, 14)),),
    ),
    _Layout(AuthenticationReject, (), ((TLVE, 0x78, "eap_message", _EAP),)),
    _Layout(
        SecurityModeCommand,
        (
            (V, "selected_algorithms", ie.Algorithms("selected NAS security algorithms", 1, 1)),
            (HALF, "ngksi", _NGKSI, None, _SPARE),
            (LV, "replayed_ue_security_capability", _UE_SEC_CAP),
        ),
        (
            (TV1, 0xE, "imeisv_request", ie.ImeisvRequestNibble("IMEISV request")),
            (
                TLV,
                0x36,
                "additional_security_information",
                ie.AdditionalSecurityInformationCodec("additional 5G security information", 1, 1),
            ),
            (TLVE, 0x78, "eap_message", _EAP),
            (TLV, 0x38, "abba", _ABBA),
        ),
    ),
    _Layout(
        SecurityModeComplete,
        (),
        (
            (TLVE, 0x77, "imeisv", MobileIdentityCodec("IMEISV", (Imeisv,))),
            (TLVE, 0x71, "nas_message_container", _NAS_CONTAINER),
            (TLVE, 0x78, "non_imeisv_pei", MobileIdentityCodec("non-IMEISV PEI", (Imei,))),
        ),
    ),
    _Layout(SecurityModeReject, ((V, "cause", _CAUSE),)),
    _Layout(
        DeregistrationRequestUeOriginating,
        (
            (
                HALF,
                "deregistration_type",
                ie.DeregistrationTypeNibble("de-registration type"),
                "ngksi",
                _NGKSI,
            ),
            (LVE, "mobile_identity", MobileIdentityCodec("5GS mobile identity", _ANY_IDENTITY)),
        ),
    ),
    _Layout(DeregistrationAcceptUeOriginating, ()),
    _Layout(
        DeregistrationRequestUeTerminated,
        (
            (
                HALF,
                "deregistration_type",
                ie.DeregistrationTypeNibble("de-registration type"),
                None,
                _SPARE,
            ),
        ),
        ((TV, 0x58, "cause", _CAUSE),),
    ),
    _Layout(DeregistrationAcceptUeTerminated, ()),
    _Layout(
        UlNasTransport,
        (
            (HALF, "payload_container_type", _PAYLOAD_TYPE, None, _SPARE),
            (LVE, "payload_container", _PAYLOAD),
        ),
        (
            (TV, 0x12, "pdu_session_id", _PDU_SESSION_ID),
            (TLV, 0x24, "additional_information", _ADDITIONAL_INFO),
        ),
    ),
    _Layout(
        DlNasTransport,
        (
            (HALF, "payload_container_type", _PAYLOAD_TYPE, None, _SPARE),
            (LVE, "payload_container", _PAYLOAD),
        ),
        (
            (TV, 0x12, "pdu_session_id", _PDU_SESSION_ID),
            (TLV, 0x24, "additional_information", _ADDITIONAL_INFO),
            (TV, 0x58, "cause", _CAUSE),
        ),
    ),
    _Layout(MmStatus, ((V, "cause", _CAUSE),)),
)

_BY_TYPE: dict[int, _Layout] = {layout.type: layout for layout in _LAYOUTS}
_BY_CLASS: dict[type, _Layout] = {layout.cls: layout for layout in _LAYOUTS}


# --- encoding ------------------------------------------------------------------------------


def encode(message: Message) -> bytes:
    """The octets of ``message`` as TS 24.501 lays them out.

    Raises :class:`~dynsub_cli.errors.EncodeError` when a field is out of its range.
    """
    if type(message) is SecurityProtected:
        return _encode_protected(message)
    layout = _BY_CLASS.get(type(message))
    if layout is None:
        raise EncodeError(f"{type(message).__name__} is not a NAS message this codec encodes")
    out = bytearray((_EPD_5GMM, 0, layout.type))
    for entry in layout.mandatory:
        kind = entry[0]
        if kind == HALF:
            low = entry[2].encode(getattr(message, entry[1]))
            high = 0 if entry[3] is None else entry[4].encode(getattr(message, entry[3]))
            out.append(high << 4 | low)
            continue
        contents = entry[2].encode(getattr(message, entry[1]))
        if kind == LV:
            out.append(len(contents))
        elif kind == LVE:
            out += len(contents).to_bytes(2, "big")
        out += contents
    for kind, iei, name, codec in layout.optional:
        value = getattr(message, name)
        if value is None:
            continue
        if kind == TV1:
            out.append(iei << 4 | codec.encode(value))
            continue
        contents = codec.encode(value)
        out.append(iei)
        if kind == TLV:
            out.append(len(contents))
        elif kind == TLVE:
            out += len(contents).to_bytes(2, "big")
        out += contents
    return bytes(out)


def _encode_protected(message: SecurityProtected) -> bytes:
    header_type = message.header_type
    if not isinstance(header_type, int) or not 1 <= header_type <= 4:
        raise EncodeError(f"security header type {header_type!r} is not a protected one (1-4)")
    if not isinstance(message.mac, bytes) or len(message.mac) != 4:
        raise EncodeError(f"message authentication code {message.mac!r} is not 4 octets")
    sequence_number = message.sequence_number
    if not isinstance(sequence_number, int) or not 0 <= sequence_number <= 255:
        raise EncodeError(f"sequence number {sequence_number!r} is outside 0-255")
    if not isinstance(message.payload, bytes) or not message.payload:
        raise EncodeError("a security protected message needs a non-empty inner NAS message")
    # TS 24.501 9.1.1: EPD, spare half octet + security header type, MAC, SQN, NAS message.
    return (
        bytes((_EPD_5GMM, header_type)) + message.mac + bytes((sequence_number,)) + message.payload
    )


# --- decoding ------------------------------------------------------------------------------


def decode(data: bytes, *, strict: bool = False) -> Message:
    """The message in ``data``: a plain 5GMM message or a :class:`SecurityProtected` one.

    Raises :class:`~dynsub_cli.errors.NasDecodeError` (a ``DecodeError``), and nothing else,
    for any input that is not a well-formed message of the kinds this codec handles; its
    ``cause`` is the 5GMM cause to report and ``offset`` the octet where decoding stopped.
    """
    if type(data) is not bytes:
        data = bytes(data)
    try:
        return _decode(data, strict)
    except NasDecodeError:
        raise
    except (IndexError, ValueError, KeyError, TypeError, struct.error) as err:
        # A backstop for the promise above; the decoders check lengths before they index, so
        # reaching this line is a codec bug, which the property tests look for.
        raise NasDecodeError(
            f"NAS PDU: unexpected decoder failure ({type(err).__name__}: {err})",
            cause=_PROTOCOL_ERROR,
            offset=0,
        ) from err


def _fail(message: str, offset: int, cause: int = _INVALID_MANDATORY) -> NasDecodeError:
    return NasDecodeError(message, cause=cause, offset=offset)


def _decode(data: bytes, strict: bool) -> Message:
    size = len(data)
    if size < 3:
        raise _fail(f"NAS PDU of {size} octets: a 5GMM message has at least 3", 0)
    epd = data[0]
    if epd != _EPD_5GMM:
        raise _fail(
            f"NAS PDU: extended protocol discriminator {epd:#04x} is not 5GMM (0x7e)",
            0,
            _PROTOCOL_ERROR,
        )
    header_type = data[1] & 0x0F
    if header_type:
        if header_type > 4:
            raise _fail(f"NAS PDU: security header type {header_type} is reserved", 1)
        if size < 8:
            raise _fail(
                f"security protected NAS PDU of {size} octets: header (7) and a message needed",
                size,
            )
        return SecurityProtected(SecurityHeaderType(header_type), data[2:6], data[6], data[7:])
    layout = _BY_TYPE.get(data[2])
    if layout is None:
        raise _fail(
            f"NAS PDU: message type {data[2]:#04x} is not a 5GMM message this codec handles",
            2,
            MmCause.MESSAGE_TYPE_NON_EXISTENT,
        )
    return _decode_plain(layout, data, strict)


def _decode_plain(layout: _Layout, data: bytes, strict: bool) -> Message:
    size = len(data)
    fields: dict[str, Any] = {}
    pos = 3
    for entry in layout.mandatory:
        kind = entry[0]
        if pos >= size:
            what = entry[2].name
            raise _fail(f"{layout.name}: the PDU ends at octet {pos}, before the {what}", pos)
        try:
            if kind == HALF:
                octet = data[pos]
                fields[entry[1]] = entry[2].decode(octet & 0x0F, pos)
                if entry[3] is not None:
                    fields[entry[3]] = entry[4].decode(octet >> 4, pos)
                pos += 1
                continue
            codec = entry[2]
            if kind == V:
                start, end = pos, pos + codec.min_len
            elif kind == LV:
                start = pos + 1
                end = start + data[pos]
            else:
                if pos + 2 > size:
                    raise _fail(f"{layout.name}: the {codec.name} length is cut off", pos)
                start = pos + 2
                end = start + (data[pos] << 8 | data[pos + 1])
            if end > size:
                raise _fail(
                    f"{layout.name}: the {codec.name} at octet {pos} needs {end - start} octets,"
                    f" {size - start} are left",
                    pos,
                )
            if not codec.min_len <= end - start <= codec.max_len:
                raise _fail(
                    f"{layout.name}: the {codec.name} at octet {pos} has {end - start} octets,"
                    f" it holds {codec.min_len}-{codec.max_len}",
                    pos,
                )
            fields[entry[1]] = codec.decode(data, start, end)
            pos = end
        except ie.IeError as err:
            what = entry[2].name
            raise _fail(
                f"{layout.name}: {what}: {err.reason} (octet {err.offset})", err.offset
            ) from None
    _decode_optional(layout, data, pos, fields, strict)
    return layout.build(**fields)


def _decode_optional(
    layout: _Layout, data: bytes, pos: int, fields: dict[str, Any], strict: bool
) -> None:
    size = len(data)
    by_iei = layout.by_iei
    by_half_iei = layout.by_half_iei
    while pos < size:
        iei = data[pos]
        entry = by_iei.get(iei)
        if entry is None and iei & 0x80:
            entry = by_half_iei.get(iei >> 4)
        if entry is None:
            pos = _skip_unknown(layout, data, pos)
            continue
        kind, _, name, codec = entry
        if kind == TV1:
            if name not in fields:
                try:
                    fields[name] = codec.decode(iei & 0x0F, pos)
                except ie.IeError as err:
                    _incorrect_optional(layout, err, strict)
            pos += 1
            continue
        if kind == TV:
            start = pos + 1
            end = start + codec.min_len
        elif kind == TLV:
            if pos + 2 > size:
                raise _fail(f"{layout.name}: IE {iei:#04x} length is cut off", pos, _PROTOCOL_ERROR)
            start = pos + 2
            end = start + data[pos + 1]
        else:
            if pos + 3 > size:
                raise _fail(f"{layout.name}: IE {iei:#04x} length is cut off", pos, _PROTOCOL_ERROR)
            start = pos + 3
            end = start + (data[pos + 1] << 8 | data[pos + 2])
        if end > size:
            raise _fail(
                f"{layout.name}: the {codec.name} at octet {pos} needs {end - start} octets,"
                f" {size - start} are left",
                pos,
                _PROTOCOL_ERROR,
            )
        if name not in fields:
            if codec.min_len <= end - start <= codec.max_len:
                try:
                    fields[name] = codec.decode(data, start, end)
                except ie.IeError as err:
                    _incorrect_optional(layout, err, strict)
            elif strict:
                raise _fail(
                    f"{layout.name}: the {codec.name} at octet {pos} has {end - start} octets,"
                    f" it holds {codec.min_len}-{codec.max_len}",
                    pos,
                    _PROTOCOL_ERROR,
                )
        pos = end


def _incorrect_optional(layout: _Layout, err: ie.IeError, strict: bool) -> None:
    # TS 24.501 7.7.2: a syntactically incorrect optional IE is treated as not present.
    if strict:
        raise _fail(f"{layout.name}: {err.reason}", err.offset, _PROTOCOL_ERROR) from None


def _skip_unknown(layout: _Layout, data: bytes, pos: int) -> int:
    iei = data[pos]
    if iei & 0x80:  # TS 24.007 11.2.4: a one-octet IE (type 1 or type 2)
        return pos + 1
    high = iei >> 4
    if high == 0:
        raise _fail(
            f"{layout.name}: unknown IE {iei:#04x} at octet {pos} is comprehension required",
            pos,
        )
    if high == 7:  # TS 24.007 11.2.4: 0111 xxxx is TLV-E in 5GS and EPS NAS
        if pos + 3 > len(data):
            raise _fail(f"{layout.name}: IE {iei:#04x} length is cut off", pos, _PROTOCOL_ERROR)
        end = pos + 3 + (data[pos + 1] << 8 | data[pos + 2])
    else:
        if pos + 2 > len(data):
            raise _fail(f"{layout.name}: IE {iei:#04x} length is cut off", pos, _PROTOCOL_ERROR)
        end = pos + 2 + data[pos + 1]
    if end > len(data):
        raise _fail(
            f"{layout.name}: unknown IE {iei:#04x} at octet {pos} runs past the end of the PDU",
            pos,
            _PROTOCOL_ERROR,
        )
    return end
