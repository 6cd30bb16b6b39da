"""The code points of NAS-5GS (TS 24.501): message types, header types, causes, IE values.

Each enum lists the values the specification defines for the field it names; the clause is
given on the class. How a value that is not listed is treated on receipt is decided in
``ies_codec`` next to the decoder of that IE, following what the specification says there.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType
from typing import Final


class ExtendedProtocolDiscriminator(IntEnum):
    """TS 24.007 11.2.3.1.1A, TS 24.501 9.2: the first octet of every NAS-5GS PDU."""

    MOBILITY_MANAGEMENT = 0x7E  # 5GMM
    SESSION_MANAGEMENT = 0x2E  # 5GSM (not decoded by this codec)


class SecurityHeaderType(IntEnum):
    """TS 24.501 9.3.1: bits 1 to 4 of the second octet of a 5GMM message."""

    PLAIN = 0
    INTEGRITY_PROTECTED = 1
    INTEGRITY_PROTECTED_AND_CIPHERED = 2
    INTEGRITY_PROTECTED_WITH_NEW_CONTEXT = 3
    INTEGRITY_PROTECTED_AND_CIPHERED_WITH_NEW_CONTEXT = 4

    @property
    def ciphered(self) -> bool:
        """Types 2 and 4 cipher the plain message (TS 24.501 9.3.1)."""
        return self in (
            SecurityHeaderType.INTEGRITY_PROTECTED_AND_CIPHERED,
            SecurityHeaderType.INTEGRITY_PROTECTED_AND_CIPHERED_WITH_NEW_CONTEXT,
        )


class MessageType(IntEnum):
    """TS 24.501 9.7, table 9.7.1: 5GS mobility management message types."""

    REGISTRATION_REQUEST = 0x41
    REGISTRATION_ACCEPT = 0x42
    REGISTRATION_COMPLETE = 0x43
    REGISTRATION_REJECT = 0x44
    DEREGISTRATION_REQUEST_UE_ORIGINATING = 0x45
    DEREGISTRATION_ACCEPT_UE_ORIGINATING = 0x46
    DEREGISTRATION_REQUEST_UE_TERMINATED = 0x47
    DEREGISTRATION_ACCEPT_UE_TERMINATED = 0x48
    SERVICE_REQUEST = 0x4C
    SERVICE_REJECT = 0x4D
    SERVICE_ACCEPT = 0x4E
    CONTROL_PLANE_SERVICE_REQUEST = 0x4F
    NSSAA_COMMAND = 0x50
    NSSAA_COMPLETE = 0x51
    NSSAA_RESULT = 0x52
    CONFIGURATION_UPDATE_COMMAND = 0x54
    CONFIGURATION_UPDATE_COMPLETE = 0x55
    AUTHENTICATION_REQUEST = 0x56
    AUTHENTICATION_RESPONSE = 0x57
    AUTHENTICATION_REJECT = 0x58
    AUTHENTICATION_FAILURE = 0x59
    AUTHENTICATION_RESULT = 0x5A
    IDENTITY_REQUEST = 0x5B
    IDENTITY_RESPONSE = 0x5C
    SECURITY_MODE_COMMAND = 0x5D
    SECURITY_MODE_COMPLETE = 0x5E
    SECURITY_MODE_REJECT = 0x5F
    STATUS_5GMM = 0x64
    NOTIFICATION = 0x65
    NOTIFICATION_RESPONSE = 0x66
    UL_NAS_TRANSPORT = 0x67
    DL_NAS_TRANSPORT = 0x68


class MmCause(IntEnum):
    """TS 24.501 9.11.3.2, table 9.11.3.2.1: 5GMM cause values.

    Any other value received is treated as #111 "protocol error, unspecified" (same table).
    """

    ILLEGAL_UE = 3
    PEI_NOT_ACCEPTED = 5
    ILLEGAL_ME = 6
    SERVICES_5GS_NOT_ALLOWED = 7
    UE_IDENTITY_CANNOT_BE_DERIVED = 9
    IMPLICITLY_DEREGISTERED = 10
    PLMN_NOT_ALLOWED = 11
    TRACKING_AREA_NOT_ALLOWED = 12
    ROAMING_NOT_ALLOWED_IN_TRACKING_AREA = 13
    NO_SUITABLE_CELLS_IN_TRACKING_AREA = 15
    MAC_FAILURE = 20
    SYNCH_FAILURE = 21
    CONGESTION = 22
    UE_SECURITY_CAPABILITIES_MISMATCH = 23
    SECURITY_MODE_REJECTED_UNSPECIFIED = 24
    NON_5G_AUTHENTICATION_UNACCEPTABLE = 26
    N1_MODE_NOT_ALLOWED = 27
    RESTRICTED_SERVICE_AREA = 28
    REDIRECTION_TO_EPC_REQUIRED = 31
    IAB_NODE_OPERATION_NOT_AUTHORIZED = 36
    LADN_NOT_AVAILABLE = 43
    NO_NETWORK_SLICES_AVAILABLE = 62
    MAXIMUM_NUMBER_OF_PDU_SESSIONS_REACHED = 65
    INSUFFICIENT_RESOURCES_FOR_SLICE_AND_DNN = 67
    INSUFFICIENT_RESOURCES_FOR_SLICE = 69
    NGKSI_ALREADY_IN_USE = 71
    NON_3GPP_ACCESS_TO_5GCN_NOT_ALLOWED = 72
    SERVING_NETWORK_NOT_AUTHORIZED = 73
    TEMPORARILY_NOT_AUTHORIZED_FOR_SNPN = 74
    PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN = 75
    NOT_AUTHORIZED_FOR_CAG = 76
    WIRELINE_ACCESS_AREA_NOT_ALLOWED = 77
    PLMN_NOT_ALLOWED_AT_UE_LOCATION = 78
    UAS_SERVICES_NOT_ALLOWED = 79
    DISASTER_ROAMING_NOT_ALLOWED = 80
    PAYLOAD_NOT_FORWARDED = 90
    DNN_NOT_SUPPORTED_IN_SLICE = 91
    INSUFFICIENT_USER_PLANE_RESOURCES = 92
    ONBOARDING_SERVICES_TERMINATED = 93
    SEMANTICALLY_INCORRECT_MESSAGE = 95
    INVALID_MANDATORY_INFORMATION = 96
    MESSAGE_TYPE_NON_EXISTENT = 97
    MESSAGE_TYPE_NOT_COMPATIBLE_WITH_STATE = 98
    IE_NON_EXISTENT = 99
    CONDITIONAL_IE_ERROR = 100
    MESSAGE_NOT_COMPATIBLE_WITH_STATE = 101
    PROTOCOL_ERROR_UNSPECIFIED = 111


#: TS 24.501 table 9.11.3.2.1: each 5GMM cause as the specification titles it, for every
#: place a cause is shown to people (the enum's names are identifiers, not titles).
MM_CAUSE_TITLES: Final[Mapping[MmCause, str]] = MappingProxyType(
    {
        MmCause.ILLEGAL_UE: "Illegal UE",
        MmCause.PEI_NOT_ACCEPTED: "PEI not accepted",
        MmCause.ILLEGAL_ME: "Illegal ME",
        MmCause.SERVICES_5GS_NOT_ALLOWED: "5GS services not allowed",
        MmCause.UE_IDENTITY_CANNOT_BE_DERIVED: "UE identity cannot be derived by the network",
        MmCause.IMPLICITLY_DEREGISTERED: "Implicitly de-registered",
        MmCause.PLMN_NOT_ALLOWED: "PLMN not allowed",
        MmCause.TRACKING_AREA_NOT_ALLOWED: "Tracking area not allowed",
        MmCause.ROAMING_NOT_ALLOWED_IN_TRACKING_AREA: "Roaming not allowed in this tracking area",
        MmCause.NO_SUITABLE_CELLS_IN_TRACKING_AREA: "No suitable cells in tracking area",
        MmCause.MAC_FAILURE: "MAC failure",
        MmCause.SYNCH_FAILURE: "Synch failure",
        MmCause.CONGESTION: "Congestion",
        MmCause.UE_SECURITY_CAPABILITIES_MISMATCH: "UE security capabilities mismatch",
        MmCause.SECURITY_MODE_REJECTED_UNSPECIFIED: "Security mode rejected, unspecified",
        MmCause.NON_5G_AUTHENTICATION_UNACCEPTABLE: "Non-5G authentication unacceptable",
        MmCause.N1_MODE_NOT_ALLOWED: "N1 mode not allowed",
        MmCause.RESTRICTED_SERVICE_AREA: "Restricted service area",
        MmCause.REDIRECTION_TO_EPC_REQUIRED: "Redirection to EPC required",
        MmCause.IAB_NODE_OPERATION_NOT_AUTHORIZED: "IAB-node operation not authorized",
        MmCause.LADN_NOT_AVAILABLE: "LADN not available",
        MmCause.NO_NETWORK_SLICES_AVAILABLE: "No network slices available",
        MmCause.MAXIMUM_NUMBER_OF_PDU_SESSIONS_REACHED: "Maximum number of PDU sessions reached",
        MmCause.INSUFFICIENT_RESOURCES_FOR_SLICE_AND_DNN: (
            "Insufficient resources for specific slice and DNN"
        ),
        MmCause.INSUFFICIENT_RESOURCES_FOR_SLICE: "Insufficient resources for specific slice",
        MmCause.NGKSI_ALREADY_IN_USE: "ngKSI already in use",
        MmCause.NON_3GPP_ACCESS_TO_5GCN_NOT_ALLOWED: "Non-3GPP access to 5GCN not allowed",
        MmCause.SERVING_NETWORK_NOT_AUTHORIZED: "Serving network not authorized",
        MmCause.TEMPORARILY_NOT_AUTHORIZED_FOR_SNPN: "Temporarily not authorized for this SNPN",
        MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN: "Permanently not authorized for this SNPN",
        MmCause.NOT_AUTHORIZED_FOR_CAG: (
            "Not authorized for this CAG or authorized for CAG cells only"
        ),
        MmCause.WIRELINE_ACCESS_AREA_NOT_ALLOWED: "Wireline access area not allowed",
        MmCause.PLMN_NOT_ALLOWED_AT_UE_LOCATION: (
            "PLMN not allowed to operate at the present UE location"
        ),
        MmCause.UAS_SERVICES_NOT_ALLOWED: "UAS services not allowed",
        MmCause.DISASTER_ROAMING_NOT_ALLOWED: (
            "Disaster roaming for the determined PLMN with disaster condition not allowed"
        ),
        MmCause.PAYLOAD_NOT_FORWARDED: "Payload was not forwarded",
        MmCause.DNN_NOT_SUPPORTED_IN_SLICE: "DNN not supported or not subscribed in the slice",
        MmCause.INSUFFICIENT_USER_PLANE_RESOURCES: (
            "Insufficient user-plane resources for the PDU session"
        ),
        MmCause.ONBOARDING_SERVICES_TERMINATED: "Onboarding services terminated",
        MmCause.SEMANTICALLY_INCORRECT_MESSAGE: "Semantically incorrect message",
        MmCause.INVALID_MANDATORY_INFORMATION: "Invalid mandatory information",
        MmCause.MESSAGE_TYPE_NON_EXISTENT: "Message type non-existent or not implemented",
        MmCause.MESSAGE_TYPE_NOT_COMPATIBLE_WITH_STATE: (
            "Message type not compatible with the protocol state"
        ),
        MmCause.IE_NON_EXISTENT: "Information element non-existent or not implemented",
        MmCause.CONDITIONAL_IE_ERROR: "Conditional IE error",
        MmCause.MESSAGE_NOT_COMPATIBLE_WITH_STATE: "Message not compatible with the protocol state",
        MmCause.PROTOCOL_ERROR_UNSPECIFIED: "Protocol error, unspecified",
    }
)


def cause_title(value: int) -> str | None:
    """The TS 24.501 title of a 5GMM cause value, or None for a value the table lacks."""
    try:
        return MM_CAUSE_TITLES[MmCause(value)]
    except ValueError:
        return None


class RegistrationTypeValue(IntEnum):
    """TS 24.501 9.11.3.7: 5GS registration type value (bits 1 to 3).

    Unused values received by the network are interpreted as "initial registration" (same clause).
    """

    INITIAL = 1
    MOBILITY_UPDATING = 2
    PERIODIC_UPDATING = 3
    EMERGENCY = 4
    SNPN_ONBOARDING = 5
    DISASTER_ROAMING_MOBILITY_UPDATING = 6
    DISASTER_ROAMING_INITIAL = 7


class SecurityContextType(IntEnum):
    """TS 24.501 9.11.3.32: type of security context flag (TSC) of the NAS key set identifier."""

    NATIVE = 0
    MAPPED = 1


#: TS 24.501 9.11.3.32: the ngKSI value that means "no key is available" (UE to network).
NGKSI_NO_KEY_AVAILABLE = 7


class IdentityType(IntEnum):
    """TS 24.501 9.11.3.4: type of identity (bits 1 to 3 of the first value octet)."""

    NO_IDENTITY = 0
    SUCI = 1
    GUTI = 2
    IMEI = 3
    S_TMSI = 4
    IMEISV = 5
    MAC_ADDRESS = 6
    EUI64 = 7


class SupiFormat(IntEnum):
    """TS 24.501 9.11.3.4: SUPI format of a SUCI (bits 5 to 7 of the first value octet)."""

    IMSI = 0
    NETWORK_SPECIFIC_IDENTIFIER = 1
    GCI = 2
    GLI = 3


class ProtectionScheme(IntEnum):
    """TS 24.501 9.11.3.4, TS 33.501 Annex C: protection scheme identifier of a SUCI.

    Values 3 to 11 are reserved and 12 to 15 operator specific; the codec carries them as plain
    ints so that a SUCI with an unknown scheme still decodes (the core refuses it, not the codec).
    The one enum of the protection scheme for every layer: the codec, the ECIES profiles of
    ``security`` (A and B), the SUCI, the keys in the dialogue and in the UE's state file.
    """

    NULL = 0
    PROFILE_A = 1  # ECIES with X25519 (TS 33.501 C.3.4.1)
    PROFILE_B = 2  # ECIES with secp256r1 (TS 33.501 C.3.4.2)

    @property
    def label(self) -> str:
        """The scheme as TS 33.501 Annex C names it: "null scheme", "Profile A", "Profile B"."""
        return "null scheme" if self is ProtectionScheme.NULL else f"Profile {self.name[-1]}"


class CipheringAlgorithm(IntEnum):
    """TS 24.501 9.11.3.34: type of ciphering algorithm (bits 5 to 8)."""

    EA0 = 0
    EA1 = 1  # 128-5G-EA1
    EA2 = 2  # 128-5G-EA2
    EA3 = 3  # 128-5G-EA3
    EA4 = 4
    EA5 = 5
    EA6 = 6
    EA7 = 7


class IntegrityAlgorithm(IntEnum):
    """TS 24.501 9.11.3.34: type of integrity protection algorithm (bits 1 to 4)."""

    IA0 = 0
    IA1 = 1  # 128-5G-IA1
    IA2 = 2  # 128-5G-IA2
    IA3 = 3  # 128-5G-IA3
    IA4 = 4
    IA5 = 5
    IA6 = 6
    IA7 = 7


class RegistrationResultValue(IntEnum):
    """TS 24.501 9.11.3.6: 5GS registration result value (bits 1 to 3)."""

    ACCESS_3GPP = 1
    ACCESS_NON_3GPP = 2
    ACCESS_3GPP_AND_NON_3GPP = 3


class AccessType(IntEnum):
    """TS 24.501 9.11.3.20: access type of the de-registration type (bits 1 and 2)."""

    ACCESS_3GPP = 1
    ACCESS_NON_3GPP = 2
    ACCESS_3GPP_AND_NON_3GPP = 3


class PayloadContainerType(IntEnum):
    """TS 24.501 9.11.3.40: payload container type; all other values are reserved."""

    N1_SM_INFORMATION = 1
    SMS = 2
    LPP_MESSAGE_CONTAINER = 3
    SOR_TRANSPARENT_CONTAINER = 4
    UE_POLICY_CONTAINER = 5
    UE_PARAMETERS_UPDATE_TRANSPARENT_CONTAINER = 6
    LOCATION_SERVICES_MESSAGE_CONTAINER = 7
    CIOT_USER_DATA_CONTAINER = 8
    SERVICE_LEVEL_AA_CONTAINER = 9
    EVENT_NOTIFICATION = 10
    MULTIPLE_PAYLOADS = 15
