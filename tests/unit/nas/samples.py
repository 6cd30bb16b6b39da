"""Sample messages for the NAS codec tests: for every message type a rich one (every optional
IE the codec models present) and a minimal one (mandatory IEs only), plus variants that cover
each kind of 5GS mobile identity and each S-NSSAI length."""

from __future__ import annotations

from dynsub_cli.nas import (
    AccessType,
    AdditionalSecurityInformation,
    AuthenticationFailure,
    AuthenticationReject,
    AuthenticationRequest,
    AuthenticationResponse,
    AuthenticationResult,
    CipheringAlgorithm,
    DeregistrationAcceptUeOriginating,
    DeregistrationAcceptUeTerminated,
    DeregistrationRequestUeOriginating,
    DeregistrationRequestUeTerminated,
    DeregistrationType,
    DlNasTransport,
    Guti,
    Imei,
    Imeisv,
    IntegrityAlgorithm,
    Message,
    MmCause,
    MmStatus,
    NasSecurityAlgorithms,
    NgKsi,
    NoIdentity,
    PayloadContainerType,
    ProtectionScheme,
    RegistrationAccept,
    RegistrationComplete,
    RegistrationReject,
    RegistrationRequest,
    RegistrationResult,
    RegistrationResultValue,
    RegistrationType,
    RegistrationTypeValue,
    SecurityContextType,
    SecurityHeaderType,
    SecurityModeCommand,
    SecurityModeComplete,
    SecurityModeReject,
    SecurityProtected,
    SNssai,
    STmsi,
    Suci,
    SuciNai,
    UeSecurityCapability,
    UlNasTransport,
)

# An EAP-Request/TLS Start (RFC 5216 3.1: code 1, id 7, length 6, type 13, flags S).
EAP_TLS_START = bytes.fromhex("010700060d20")
# An EAP-Success (RFC 3748 4.2).
EAP_SUCCESS = bytes.fromhex("03080004")
# A long EAP-Response/TLS fragment (code 2, type 13, flags L|M, TLS length), 1400 octets in
# all: near the 1500-octet EAP maximum of TS 24.501 9.11.2.2 and above one length octet.
EAP_LONG = bytes.fromhex("020905780dc000010000") + bytes(range(256)) * 5 + bytes(110)

NULL_SUCI = Suci.null_scheme("001", "01", "0000000001")
PROFILE_A_SUCI = Suci(
    "208",
    "95",
    "678",
    ProtectionScheme.PROFILE_A,
    27,
    bytes(range(32)) + bytes.fromhex("cb02352410") + bytes.fromhex("f1ab1074477ebcc7"),
)
PROFILE_B_SUCI = Suci(
    "310",
    "410",
    "1234",
    ProtectionScheme.PROFILE_B,
    3,
    b"\x02" + bytes(range(32)) + bytes.fromhex("0102030405") + bytes(8),
)
ONBOARDING_NAI = SuciNai("type1.rid0.schid0.userid358240101234567@onboarding.example.org")
GUTI = Guti("001", "01", 0xCA, 0x3FE, 0x2A, 0xDEADBEEF)
IMEI = Imei("490154203237518")
IMEISV = Imeisv("4901542032375181")
UE_SEC_CAP = UeSecurityCapability.from_algorithms({0, 1, 2}, {1, 2}, {0, 2}, {2})
SLICES = (
    SNssai(1),
    SNssai(2, mapped_sst=3),
    SNssai(1, 0x000001),
    SNssai(3, 0xFFFFFE, 4),
    SNssai(1, 0xABCDEF, 2, 0x123456),
)

RICH: tuple[Message, ...] = (
    RegistrationRequest(
        RegistrationType(RegistrationTypeValue.SNPN_ONBOARDING, follow_on_request=True),
        ONBOARDING_NAI,
        NgKsi(3, SecurityContextType.MAPPED),
        non_current_ngksi=NgKsi(2),
        mm_capability=b"\x07\x00",
        ue_security_capability=UE_SEC_CAP,
        requested_nssai=SLICES,
        payload_container_type=PayloadContainerType.UE_POLICY_CONTAINER,
        payload_container=b"\x01\x02",  # TS 24.501 D.5.2: PTI 1, MANAGE UE POLICY COMPLETE
        nas_message_container=bytes.fromhex("7e004179000d0100f110f0ff000000000000102e02a0a0"),
    ),
    RegistrationAccept(
        RegistrationResult(
            RegistrationResultValue.ACCESS_3GPP_AND_NON_3GPP, True, True, True, True
        ),
        guti=GUTI,
        allowed_nssai=(SNssai(1, 0x000001),),
        configured_nssai=SLICES,
        eap_message=EAP_SUCCESS,
    ),
    RegistrationComplete(sor_transparent_container=b"\x01" + bytes(range(16))),
    RegistrationReject(MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN, eap_message=EAP_SUCCESS),
    AuthenticationRequest(
        NgKsi(1),
        b"\x00\x00",
        rand=bytes(range(16)),
        autn=bytes(range(16, 32)),
        eap_message=EAP_TLS_START,
    ),
    AuthenticationResponse(res_star=bytes(range(100, 116)), eap_message=EAP_LONG),
    AuthenticationResult(NgKsi(4), EAP_SUCCESS, abba=b"\x00\x00"),
    AuthenticationFailure(MmCause.SYNCH_FAILURE, auts=bytes(range(14))),
    AuthenticationReject(eap_message=bytes.fromhex("04090004")),
    SecurityModeCommand(
        NasSecurityAlgorithms(CipheringAlgorithm.EA2, IntegrityAlgorithm.IA2),
        NgKsi(5),
        UE_SEC_CAP,
        imeisv_request=True,
        additional_security_information=AdditionalSecurityInformation(True, True),
        eap_message=EAP_SUCCESS,
        abba=b"\x00\x00\x01",
    ),
    SecurityModeComplete(
        imeisv=IMEISV,
        nas_message_container=bytes.fromhex("7e0043"),
        non_imeisv_pei=IMEI,
    ),
    SecurityModeReject(MmCause.UE_SECURITY_CAPABILITIES_MISMATCH),
    DeregistrationRequestUeOriginating(
        DeregistrationType(AccessType.ACCESS_3GPP_AND_NON_3GPP, False, True),
        PROFILE_A_SUCI,
        NgKsi(6),
    ),
    DeregistrationAcceptUeOriginating(),
    DeregistrationRequestUeTerminated(
        DeregistrationType(AccessType.ACCESS_3GPP, re_registration_required=True),
        cause=MmCause.ONBOARDING_SERVICES_TERMINATED,
    ),
    DeregistrationAcceptUeTerminated(),
    UlNasTransport(
        PayloadContainerType.UE_PARAMETERS_UPDATE_TRANSPARENT_CONTAINER,
        bytes(range(256)) * 4,
        pdu_session_id=5,
        additional_information=b"\x01\x02",
    ),
    DlNasTransport(
        PayloadContainerType.UE_PARAMETERS_UPDATE_TRANSPARENT_CONTAINER,
        b"\x99" * 300,
        pdu_session_id=255,
        additional_information=b"\x03",
        cause=MmCause.PAYLOAD_NOT_FORWARDED,
    ),
    MmStatus(MmCause.MESSAGE_TYPE_NON_EXISTENT),
)

MINIMAL: tuple[Message, ...] = (
    RegistrationRequest(RegistrationType(RegistrationTypeValue.INITIAL), NULL_SUCI),
    RegistrationAccept(RegistrationResult()),
    RegistrationComplete(),
    RegistrationReject(MmCause.ILLEGAL_UE),
    AuthenticationRequest(NgKsi(0), b"\x00\x00"),
    AuthenticationResponse(),
    AuthenticationResult(NgKsi(0), EAP_SUCCESS),
    AuthenticationFailure(MmCause.MAC_FAILURE),
    AuthenticationReject(),
    SecurityModeCommand(
        NasSecurityAlgorithms(CipheringAlgorithm.EA0, IntegrityAlgorithm.IA1),
        NgKsi(0),
        UeSecurityCapability(0x80, 0x40),
    ),
    SecurityModeComplete(),
    SecurityModeReject(MmCause.SECURITY_MODE_REJECTED_UNSPECIFIED),
    DeregistrationRequestUeOriginating(DeregistrationType(), GUTI),
    DeregistrationRequestUeTerminated(DeregistrationType(AccessType.ACCESS_NON_3GPP)),
    # TS 24.501 8.3.1: PDU SESSION ESTABLISHMENT REQUEST, PDU session 1, PTI 1, no rate limit.
    UlNasTransport(PayloadContainerType.N1_SM_INFORMATION, bytes.fromhex("2e0101c1ffff")),
    DlNasTransport(PayloadContainerType.SMS, b"\x01"),
)

# Each kind of mobile identity in the Registration Request, and a few more value corners.
VARIANTS: tuple[Message, ...] = (
    RegistrationRequest(RegistrationType(RegistrationTypeValue.INITIAL), PROFILE_A_SUCI),
    RegistrationRequest(RegistrationType(RegistrationTypeValue.MOBILITY_UPDATING), PROFILE_B_SUCI),
    RegistrationRequest(RegistrationType(RegistrationTypeValue.PERIODIC_UPDATING), GUTI),
    RegistrationRequest(RegistrationType(RegistrationTypeValue.EMERGENCY), IMEI),
    RegistrationRequest(
        RegistrationType(RegistrationTypeValue.INITIAL),
        Suci.null_scheme("310", "410", "123456789", routing_indicator="12"),
    ),
    DeregistrationRequestUeOriginating(DeregistrationType(switch_off=True), STmsi(1, 2, 3)),
    DeregistrationRequestUeOriginating(DeregistrationType(), NoIdentity()),
    DeregistrationRequestUeOriginating(DeregistrationType(), IMEISV),
)

PROTECTED: tuple[SecurityProtected, ...] = tuple(
    SecurityProtected(header_type, bytes.fromhex("a1b2c3d4"), number, payload)
    for header_type, number, payload in (
        (SecurityHeaderType.INTEGRITY_PROTECTED, 0, bytes.fromhex("7e005e")),
        (SecurityHeaderType.INTEGRITY_PROTECTED_AND_CIPHERED, 1, bytes(range(40))),
        (SecurityHeaderType.INTEGRITY_PROTECTED_WITH_NEW_CONTEXT, 255, bytes.fromhex("7e005e")),
        (SecurityHeaderType.INTEGRITY_PROTECTED_AND_CIPHERED_WITH_NEW_CONTEXT, 7, b"\x55"),
    )
)

PLAIN: tuple[Message, ...] = RICH + MINIMAL + VARIANTS
ALL: tuple[Message, ...] = PLAIN + PROTECTED


def sample_id(message: object) -> str:
    """A pytest id: the class name of a sample and its position in :data:`ALL`."""
    for i, sample in enumerate(ALL):
        if sample is message:
            return f"{i:02d}-{type(sample).__name__}"
    return type(message).__name__
