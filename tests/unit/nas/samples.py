"""Sample messages for the NAS codec tests: for every message type a rich one (every optional
IE the codec models present) and a minimal one (mandatory IEs only), plus variants that cover
each kind of 5GS mobile identity and each S-NSSAI length."""

from __future__ import annotations

from dynsub_cli import nas

# An EAP-Request/TLS Start (RFC 5216 3.1: code 1, id 7, length 6, type 13, flags S).
EAP_TLS_START = bytes.fromhex("010700060d20")
# An EAP-Success (RFC 3748 4.2).
EAP_SUCCESS = bytes.fromhex("03080004")
# A long EAP-Response/TLS fragment (code 2, type 13, flags L|M, TLS length), 1400 octets in
# all: near the 1500-octet EAP maximum of TS 24.501 9.11.2.2 and above one length octet.
EAP_LONG = bytes.fromhex("020905780dc000010000") + bytes(range(256)) * 5 + bytes(110)

NULL_SUCI = nas.Suci.null_scheme("001", "01", "0000000001")
PROFILE_A_SUCI = nas.Suci(
    "208",
    "95",
    "678",
    nas.ProtectionScheme.PROFILE_A,
    27,
    bytes(range(32)) + bytes.fromhex("cb02352410") + bytes.fromhex("f1ab1074477ebcc7"),
)
PROFILE_B_SUCI = nas.Suci(
    "310",
    "410",
    "1234",
    nas.ProtectionScheme.PROFILE_B,
    3,
    b"\x02" + bytes(range(32)) + bytes.fromhex("0102030405") + bytes(8),
)
ONBOARDING_NAI = nas.SuciNai("type1.rid0.schid0.userid358240101234567@onboarding.example.org")
GUTI = nas.Guti("001", "01", 0xCA, 0x3FE, 0x2A, 0xDEADBEEF)
IMEI = nas.Imei("490154203237518")
IMEISV = nas.Imeisv("4901542032375181")
UE_SEC_CAP = nas.UeSecurityCapability.from_algorithms({0, 1, 2}, {1, 2}, {0, 2}, {2})
SLICES = (
    nas.SNssai(1),
    nas.SNssai(2, mapped_sst=3),
    nas.SNssai(1, 0x000001),
    nas.SNssai(3, 0xFFFFFE, 4),
    nas.SNssai(1, 0xABCDEF, 2, 0x123456),
)

RICH: tuple[nas.Message, ...] = (
    nas.RegistrationRequest(
        nas.RegistrationType(nas.RegistrationTypeValue.SNPN_ONBOARDING, follow_on_request=True),
        ONBOARDING_NAI,
        nas.NgKsi(3, nas.SecurityContextType.MAPPED),
        non_current_ngksi=nas.NgKsi(2),
        mm_capability=b"\x07\x00",
        ue_security_capability=UE_SEC_CAP,
        requested_nssai=SLICES,
        payload_container_type=nas.PayloadContainerType.UE_POLICY_CONTAINER,
        payload_container=b"\x01\x02",  # TS 24.501 D.5.2: PTI 1, MANAGE UE POLICY COMPLETE
        nas_message_container=bytes.fromhex("7e004179000d0100f110f0ff000000000000102e02a0a0"),
    ),
    nas.RegistrationAccept(
        nas.RegistrationResult(
            nas.RegistrationResultValue.ACCESS_3GPP_AND_NON_3GPP, True, True, True, True
        ),
        guti=GUTI,
        allowed_nssai=(nas.SNssai(1, 0x000001),),
        configured_nssai=SLICES,
        eap_message=EAP_SUCCESS,
    ),
    nas.RegistrationComplete(sor_transparent_container=b"\x01" + bytes(range(16))),
    nas.RegistrationReject(
        nas.MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN, eap_message=EAP_SUCCESS
    ),
    nas.AuthenticationRequest(
        nas.NgKsi(1),
        b"\x00\x00",
        rand=bytes(range(16)),
        autn=bytes(range(16, 32)),
        eap_message=EAP_TLS_START,
    ),
    nas.AuthenticationResponse(res_star=bytes(range(100, 116)), eap_message=EAP_LONG),
    nas.AuthenticationResult(nas.NgKsi(4), EAP_SUCCESS, abba=b"\x00\x00"),
    nas.AuthenticationFailure(nas.MmCause.SYNCH_FAILURE, auts=bytes(range(14))),
    nas.AuthenticationReject(eap_message=bytes.fromhex("04090004")),
    nas.SecurityModeCommand(
        nas.NasSecurityAlgorithms(nas.CipheringAlgorithm.EA2, nas.IntegrityAlgorithm.IA2),
        nas.NgKsi(5),
        UE_SEC_CAP,
        imeisv_request=True,
        additional_security_information=nas.AdditionalSecurityInformation(True, True),
        eap_message=EAP_SUCCESS,
        abba=b"\x00\x00\x01",
    ),
    nas.SecurityModeComplete(
        imeisv=IMEISV,
        nas_message_container=bytes.fromhex("7e0043"),
        non_imeisv_pei=IMEI,
    ),
    nas.SecurityModeReject(nas.MmCause.UE_SECURITY_CAPABILITIES_MISMATCH),
    nas.DeregistrationRequestUeOriginating(
        nas.DeregistrationType(nas.AccessType.ACCESS_3GPP_AND_NON_3GPP, False, True),
        PROFILE_A_SUCI,
        nas.NgKsi(6),
    ),
    nas.DeregistrationAcceptUeOriginating(),
    nas.DeregistrationRequestUeTerminated(
        nas.DeregistrationType(nas.AccessType.ACCESS_3GPP, re_registration_required=True),
        cause=nas.MmCause.ONBOARDING_SERVICES_TERMINATED,
    ),
    nas.DeregistrationAcceptUeTerminated(),
    nas.UlNasTransport(
        nas.PayloadContainerType.UE_PARAMETERS_UPDATE_TRANSPARENT_CONTAINER,
        bytes(range(256)) * 4,
        pdu_session_id=5,
        additional_information=b"\x01\x02",
    ),
    nas.DlNasTransport(
        nas.PayloadContainerType.UE_PARAMETERS_UPDATE_TRANSPARENT_CONTAINER,
        b"\x99" * 300,
        pdu_session_id=255,
        additional_information=b"\x03",
        cause=nas.MmCause.PAYLOAD_NOT_FORWARDED,
    ),
    nas.MmStatus(nas.MmCause.MESSAGE_TYPE_NON_EXISTENT),
)

MINIMAL: tuple[nas.Message, ...] = (
    nas.RegistrationRequest(nas.RegistrationType(nas.RegistrationTypeValue.INITIAL), NULL_SUCI),
    nas.RegistrationAccept(nas.RegistrationResult()),
    nas.RegistrationComplete(),
    nas.RegistrationReject(nas.MmCause.ILLEGAL_UE),
    nas.AuthenticationRequest(nas.NgKsi(0), b"\x00\x00"),
    nas.AuthenticationResponse(),
    nas.AuthenticationResult(nas.NgKsi(0), EAP_SUCCESS),
    nas.AuthenticationFailure(nas.MmCause.MAC_FAILURE),
    nas.AuthenticationReject(),
    nas.SecurityModeCommand(
        nas.NasSecurityAlgorithms(nas.CipheringAlgorithm.EA0, nas.IntegrityAlgorithm.IA1),
        nas.NgKsi(0),
        nas.UeSecurityCapability(0x80, 0x40),
    ),
    nas.SecurityModeComplete(),
    nas.SecurityModeReject(nas.MmCause.SECURITY_MODE_REJECTED_UNSPECIFIED),
    nas.DeregistrationRequestUeOriginating(nas.DeregistrationType(), GUTI),
    nas.DeregistrationRequestUeTerminated(nas.DeregistrationType(nas.AccessType.ACCESS_NON_3GPP)),
    # TS 24.501 8.3.1: PDU SESSION ESTABLISHMENT REQUEST, PDU session 1, PTI 1, no rate limit.
    nas.UlNasTransport(nas.PayloadContainerType.N1_SM_INFORMATION, bytes.fromhex("2e0101c1ffff")),
    nas.DlNasTransport(nas.PayloadContainerType.SMS, b"\x01"),
)

# Each kind of mobile identity in the Registration Request, and a few more value corners.
VARIANTS: tuple[nas.Message, ...] = (
    nas.RegistrationRequest(
        nas.RegistrationType(nas.RegistrationTypeValue.INITIAL), PROFILE_A_SUCI
    ),
    nas.RegistrationRequest(
        nas.RegistrationType(nas.RegistrationTypeValue.MOBILITY_UPDATING), PROFILE_B_SUCI
    ),
    nas.RegistrationRequest(
        nas.RegistrationType(nas.RegistrationTypeValue.PERIODIC_UPDATING), GUTI
    ),
    nas.RegistrationRequest(nas.RegistrationType(nas.RegistrationTypeValue.EMERGENCY), IMEI),
    nas.RegistrationRequest(
        nas.RegistrationType(nas.RegistrationTypeValue.INITIAL),
        nas.Suci.null_scheme("310", "410", "123456789", routing_indicator="12"),
    ),
    nas.DeregistrationRequestUeOriginating(
        nas.DeregistrationType(switch_off=True), nas.STmsi(1, 2, 3)
    ),
    nas.DeregistrationRequestUeOriginating(nas.DeregistrationType(), nas.NoIdentity()),
    nas.DeregistrationRequestUeOriginating(nas.DeregistrationType(), IMEISV),
)

PROTECTED: tuple[nas.SecurityProtected, ...] = tuple(
    nas.SecurityProtected(header_type, bytes.fromhex("a1b2c3d4"), number, payload)
    for header_type, number, payload in (
        (nas.SecurityHeaderType.INTEGRITY_PROTECTED, 0, bytes.fromhex("7e005e")),
        (nas.SecurityHeaderType.INTEGRITY_PROTECTED_AND_CIPHERED, 1, bytes(range(40))),
        (nas.SecurityHeaderType.INTEGRITY_PROTECTED_WITH_NEW_CONTEXT, 255, bytes.fromhex("7e005e")),
        (nas.SecurityHeaderType.INTEGRITY_PROTECTED_AND_CIPHERED_WITH_NEW_CONTEXT, 7, b"\x55"),
    )
)

PLAIN: tuple[nas.Message, ...] = RICH + MINIMAL + VARIANTS
ALL: tuple[nas.Message, ...] = PLAIN + PROTECTED


def sample_id(message: object) -> str:
    """A pytest id: the class name of a sample and its position in :data:`ALL`."""
    for i, sample in enumerate(ALL):
        if sample is message:
            return f"{i:02d}-{type(sample).__name__}"
    return type(message).__name__
