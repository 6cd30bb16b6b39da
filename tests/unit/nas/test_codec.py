"""The codec on hand-assembled octets (TS 24.501 layouts) and on the receiving rules."""

from __future__ import annotations

import pytest

from dynsub_cli.errors import DecodeError, EncodeError, NasDecodeError
from dynsub_cli.nas import (
    AuthenticationResponse,
    DeregistrationRequestUeOriginating,
    DeregistrationRequestUeTerminated,
    DeregistrationType,
    DlNasTransport,
    Guti,
    Imei,
    Imeisv,
    MmCause,
    MmStatus,
    NasSecurityAlgorithms,
    NgKsi,
    NoIdentity,
    PayloadContainerType,
    ProtectionScheme,
    RegistrationAccept,
    RegistrationRequest,
    RegistrationResult,
    RegistrationType,
    RegistrationTypeValue,
    SecurityHeaderType,
    SecurityModeCommand,
    SecurityProtected,
    SNssai,
    Suci,
    SuciNai,
    UeSecurityCapability,
    UlNasTransport,
    decode,
    encode,
)
from tests.unit.nas.samples import ALL, RICH, sample_id

# TS 24.501 8.2.6: REGISTRATION REQUEST, SNPN onboarding with FOR, ngKSI 7, null-scheme SUCI
# 001/01 MSIN 0000000001, UE security capability 5G-EA0/2 5G-IA0/2, requested NSSAI.
REGISTRATION_REQUEST = bytes.fromhex(
    "7e0041"  # EPD 5GMM, plain, message type 0x41
    "7d"  # ngKSI 7 (bits 5-8), FOR=1 + registration type 5 (bits 1-4)
    "000d" "01" "00f110" "f0ff" "00" "00" "0000000010"  # LV-E SUCI: type, PLMN, RI, scheme
    "2e02a0a0"  # UE security capability
    "2f07" "0101" "0401123456"  # requested NSSAI: SST 1; SST 1 + SD 0x123456
)  # fmt: skip
REGISTRATION_REQUEST_VALUE = RegistrationRequest(
    RegistrationType(RegistrationTypeValue.SNPN_ONBOARDING, follow_on_request=True),
    Suci.null_scheme("001", "01", "0000000001"),
    NgKsi(7),
    ue_security_capability=UeSecurityCapability.from_algorithms({0, 2}, {0, 2}),
    requested_nssai=(SNssai(1), SNssai(1, 0x123456)),
)


def test_registration_request_octets() -> None:
    assert encode(REGISTRATION_REQUEST_VALUE) == REGISTRATION_REQUEST
    assert decode(REGISTRATION_REQUEST) == REGISTRATION_REQUEST_VALUE
    assert REGISTRATION_REQUEST_VALUE.mobile_identity.msin == "0000000001"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("message", "octets"),
    [
        (MmStatus(MmCause.PROTOCOL_ERROR_UNSPECIFIED), "7e00646f"),
        # TS 24.501 8.2.14: spare half octet + de-registration type (re-registration required,
        # 3GPP access), then 5GMM cause #93 as TV with IEI 0x58.
        (
            DeregistrationRequestUeTerminated(
                DeregistrationType(re_registration_required=True),
                MmCause.ONBOARDING_SERVICES_TERMINATED,
            ),
            "7e004705585d",
        ),
        # TS 24.501 8.2.25: algorithms 0x22 (NEA2/NIA2), ngKSI 5, replayed capability LV,
        # IMEISV request as type 1 IE "E-".
        (
            SecurityModeCommand(
                NasSecurityAlgorithms(2, 2),  # type: ignore[arg-type]
                NgKsi(5),
                UeSecurityCapability(0xA0, 0xA0),
                imeisv_request=True,
            ),
            "7e005d220502a0a0e1",
        ),
        # TS 24.501 8.2.11: spare + payload container type 6, LV-E payload, PDU session ID TV.
        (
            UlNasTransport(
                PayloadContainerType.UE_PARAMETERS_UPDATE_TRANSPARENT_CONTAINER, b"abc", 5
            ),
            "7e00670600036162631205",
        ),
        # TS 24.501 9.11.3.4: 5G-GUTI 001/01, region 1, set 2, pointer 3, TMSI 4 (TLV-E 0x77).
        (
            RegistrationAccept(RegistrationResult(), guti=Guti("001", "01", 1, 2, 3, 4)),
            "7e0042010177000bf200f11001008300000004",
        ),
        # TS 24.501 9.11.3.4: IMEI 490154203237518, odd number of digits, type 011.
        (
            DeregistrationRequestUeOriginating(DeregistrationType(), Imei("490154203237518")),
            "7e00457100084b09512430325781",
        ),
    ],
)
def test_known_octets(message: object, octets: str) -> None:
    assert encode(message) == bytes.fromhex(octets)  # type: ignore[arg-type]
    assert decode(bytes.fromhex(octets)) == message


def test_security_protected_layout() -> None:
    message = SecurityProtected(
        SecurityHeaderType.INTEGRITY_PROTECTED_AND_CIPHERED, b"\x01\x02\x03\x04", 9, b"\xaa\xbb"
    )
    # TS 24.501 9.1.1: EPD, security header type, MAC (4), sequence number (1), NAS message.
    assert encode(message) == bytes.fromhex("7e020102030409aabb")
    assert decode(encode(message)) == message


@pytest.mark.parametrize("message", ALL, ids=sample_id)
def test_round_trip(message: object) -> None:
    pdu = encode(message)  # type: ignore[arg-type]
    assert decode(pdu, strict=True) == message
    assert encode(decode(pdu)) == pdu


def test_identity_kinds_round_trip() -> None:
    for identity in (
        Suci("310", "410", "1234", ProtectionScheme.PROFILE_B, 255, b"\x02" + bytes(40)),
        Suci("001", "01", "0", 12, 1, b"\x01"),  # operator-specific scheme: kept as an int
        SuciNai("type1.rid0.schid0.useridé@x"),
        Imeisv("3567890123456781"),
        NoIdentity(),
    ):
        message = RegistrationRequest(RegistrationType(RegistrationTypeValue.INITIAL), identity)
        assert decode(encode(message)) == message


# --- receiving rules ------------------------------------------------------------------------


def _error(pdu: bytes, strict: bool = False) -> NasDecodeError:
    with pytest.raises(NasDecodeError) as caught:
        decode(pdu, strict=strict)
    assert isinstance(caught.value, DecodeError)
    assert "unexpected decoder failure" not in caught.value.message
    return caught.value


def test_truncated_and_foreign_pdus_are_refused() -> None:
    assert _error(b"").offset == 0
    assert _error(b"\x7e\x00").cause == MmCause.INVALID_MANDATORY_INFORMATION
    assert "5GMM" in _error(bytes.fromhex("2e0101c1ffff")).message
    unknown = _error(bytes.fromhex("7e00ee"))
    assert unknown.cause == MmCause.MESSAGE_TYPE_NON_EXISTENT
    assert unknown.offset == 2
    assert _error(bytes.fromhex("7e05a1b2c3d4007e")).offset == 1  # header type 5 is reserved
    assert "header (7)" in _error(bytes.fromhex("7e01a1b2c3d400")).message  # no inner message


def test_mandatory_ie_errors_say_where() -> None:
    err = _error(REGISTRATION_REQUEST[:10])
    assert err.cause == MmCause.INVALID_MANDATORY_INFORMATION
    assert "5GS mobile identity" in err.message
    assert err.offset == 4
    bad_plmn = bytearray(REGISTRATION_REQUEST)
    bad_plmn[7] = 0xAB  # MCC digits 0xA and 0xB are not BCD
    err = _error(bytes(bad_plmn))
    assert "PLMN" in err.message
    assert err.offset == 7
    assert "reserved" in _error(bytes.fromhex("7e00670b000100")).message  # container type 11
    assert "access type 0" in _error(bytes.fromhex("7e004700")).message


def test_unknown_cause_is_read_as_protocol_error() -> None:
    # TS 24.501 9.11.3.2: any other value is treated as #111.
    assert decode(bytes.fromhex("7e0064ff")) == MmStatus(MmCause.PROTOCOL_ERROR_UNSPECIFIED)


def test_unused_registration_type_is_read_as_initial() -> None:
    pdu = bytearray(REGISTRATION_REQUEST)
    pdu[3] = 0x70  # ngKSI 7, FOR 0, registration type 0 (unused)
    decoded = decode(bytes(pdu))
    assert isinstance(decoded, RegistrationRequest)
    assert decoded.registration_type == RegistrationType(RegistrationTypeValue.INITIAL)


def test_unknown_optional_ies_are_skipped_by_format() -> None:
    base = encode(MmStatus(MmCause.CONGESTION))
    # TS 24.007 11.2.4: 0x9- one octet, 0x70 TLV-E, 0x55 TLV: all skipped.
    extra = bytes.fromhex("95700002abcd5503010203")
    assert decode(base + extra) == MmStatus(MmCause.CONGESTION)


def test_comprehension_required_unknown_ie_is_refused() -> None:
    err = _error(encode(MmStatus(MmCause.CONGESTION)) + bytes.fromhex("0a0100"))
    assert "comprehension required" in err.message
    assert err.cause == MmCause.INVALID_MANDATORY_INFORMATION
    assert err.offset == 4


def test_optional_ies_in_any_order_first_occurrence_wins() -> None:
    pdu = bytes.fromhex(
        "7e0057"
        "78000403080004"  # EAP message first (out of table order)
        "2d10"
        + "11" * 16  # RES*
        + "2d10"
        + "22" * 16  # repeated RES*: ignored (TS 24.501 7.6.3)
    )
    assert decode(pdu) == AuthenticationResponse(b"\x11" * 16, bytes.fromhex("03080004"))


def test_incorrect_optional_ie_is_absent_unless_strict() -> None:
    # An RES* of 3 octets and an EAP message of 2: both outside their lengths.
    pdu = bytes.fromhex("7e00572d0301020378000201ff")
    assert decode(pdu) == AuthenticationResponse()
    assert "octets" in _error(pdu, strict=True).message
    # A 5G-GUTI IE carrying an IMEI: the right length but the wrong kind of identity.
    accept = bytes.fromhex("7e004201017700084b09512430325781")
    assert decode(accept) == RegistrationAccept(RegistrationResult())
    assert "5G-GUTI may not be a Imei" in _error(accept, strict=True).message


def test_ie_running_past_the_end_is_refused() -> None:
    err = _error(bytes.fromhex("7e00572d100102"))
    assert err.offset == 3
    assert err.cause == MmCause.PROTOCOL_ERROR_UNSPECIFIED
    assert "cut off" in _error(bytes.fromhex("7e00577800")).message
    assert "past the end" in _error(bytes.fromhex("7e006416550500")).message


def test_eap_length_limits() -> None:
    # TS 24.501 9.11.2.2: the EAP message IE carries 4 to 1500 octets of EAP.
    at_limit = AuthenticationResponse(eap_message=b"\x02" + bytes(1499))
    assert decode(encode(at_limit)) == at_limit
    with pytest.raises(EncodeError, match="EAP message: 1501 octets"):
        encode(AuthenticationResponse(eap_message=bytes(1501)))
    too_long = bytes.fromhex("7e00577805dd") + bytes(1501)
    assert decode(too_long) == AuthenticationResponse()
    _error(too_long, strict=True)


# --- encoding refuses what the spec cannot carry ---------------------------------------------


@pytest.mark.parametrize(
    ("message", "words"),
    [
        (
            RegistrationRequest(
                RegistrationType(RegistrationTypeValue.INITIAL), NoIdentity(), NgKsi(9)
            ),
            "ngKSI",
        ),
        (UlNasTransport(PayloadContainerType.SMS, b"x", pdu_session_id=256), "PDU session"),
        (UlNasTransport(PayloadContainerType.SMS, bytes(0x10000)), "payload container"),
        (
            RegistrationRequest(
                RegistrationType(RegistrationTypeValue.INITIAL),
                Suci("01", "01", "0", 0, 0, b"\x01"),
            ),
            "MCC",
        ),
        (
            RegistrationRequest(
                RegistrationType(RegistrationTypeValue.INITIAL), Suci("001", "01", "12345")
            ),
            "routing indicator",
        ),
        (
            RegistrationRequest(
                RegistrationType(RegistrationTypeValue.INITIAL), NoIdentity(), requested_nssai=()
            ),
            "NSSAI",
        ),
        (
            RegistrationRequest(RegistrationType(RegistrationTypeValue.INITIAL), Imei("123")),
            "not 15 digits",
        ),
        (SecurityProtected(SecurityHeaderType.PLAIN, bytes(4), 0, b"x"), "header type"),
        (SecurityProtected(SecurityHeaderType.INTEGRITY_PROTECTED, bytes(3), 0, b"x"), "4 octets"),
        (SecurityProtected(SecurityHeaderType.INTEGRITY_PROTECTED, bytes(4), 256, b"x"), "0-255"),
        (SecurityProtected(SecurityHeaderType.INTEGRITY_PROTECTED, bytes(4), 0, b""), "inner"),
        (DlNasTransport(7, b"x"), "PayloadContainerType"),  # type: ignore[arg-type]
    ],
)
def test_encode_refuses_out_of_range_fields(message: object, words: str) -> None:
    with pytest.raises(EncodeError, match=words):
        encode(message)  # type: ignore[arg-type]


def test_encode_refuses_a_foreign_object() -> None:
    with pytest.raises(EncodeError, match="not a NAS message"):
        encode(object())  # type: ignore[arg-type]


def test_containers_stay_out_of_repr() -> None:
    secret = b"OPc=0123456789abcdef"
    message = DlNasTransport(PayloadContainerType.SMS, secret)
    assert "0123456789abcdef" not in repr(message)
    for sample in RICH:
        assert "payload_container=" not in repr(sample)
        assert "nas_message_container=" not in repr(sample)
