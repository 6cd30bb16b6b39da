"""The RADIUS attributes dynsub sends and reads, one constant each, with where they are defined.

Standard attributes come from RFC 2865, RFC 2869, RFC 3579 and RFC 2548 (Microsoft's MPPE
keys). What the core needs back from the AAA server and no RFC defines (the device certificate
the server authenticated, its refusal reason) uses the implementation-specific
range 224-240 (RFC 3575 1, RFC 8044 3): no vendor number is needed, and a server configured
by ``dynsub core radius-config`` defines the same names in its dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Type(IntEnum):
    """RFC 2865 5 / RFC 2869 5 / RFC 3579 3: attribute types used here."""

    USER_NAME = 1
    NAS_IP_ADDRESS = 4
    SERVICE_TYPE = 6
    FRAMED_MTU = 12
    REPLY_MESSAGE = 18
    STATE = 24
    VENDOR_SPECIFIC = 26
    CALLED_STATION_ID = 30
    CALLING_STATION_ID = 31
    NAS_IDENTIFIER = 32
    NAS_PORT_TYPE = 61
    EAP_MESSAGE = 79
    MESSAGE_AUTHENTICATOR = 80


@dataclass(frozen=True)
class Private:
    """An implementation-specific attribute and its FreeRADIUS dictionary type."""

    name: str
    code: int
    kind: str  # "octets" or "string"


#: The DER device certificate the server authenticated, in 250-octet pieces in order.
DEVICE_CERTIFICATE = Private("Dynsub-Device-Certificate", 224, "octets")
#: Why the server refused (Access-Reject): its own log line, e.g. "certificate revoked".
REFUSAL = Private("Dynsub-Refusal", 225, "string")
IMPLEMENTATION_SPECIFIC = (DEVICE_CERTIFICATE, REFUSAL)

#: RFC 2548 2.4: Microsoft's vendor number and the MPPE key attributes it defines.
VENDOR_MICROSOFT = 311
MS_MPPE_SEND_KEY = 16
MS_MPPE_RECV_KEY = 17
#: TS 29.061 16.4.7: 3GPP's vendor number and 3GPP-IMEISV (the IMEI(SV) as digits).
VENDOR_3GPP = 10415
IMEISV_3GPP = 20

#: RFC 2865 5.6 Service-Type Authenticate-Only (8): no network service is granted here.
SERVICE_AUTHENTICATE_ONLY = 8
#: RFC 2865 5.41 NAS-Port-Type Virtual (5): the UE reaches us over NAS, not a port.
NAS_PORT_VIRTUAL = 5

#: The words of a refused identity binding in Dynsub-Refusal: the certificate's CN is not the
#: IMEI of the EAP identity (the onboarding SUCI).
IDENTITY_MISMATCH = "is not the IMEI the EAP identity claims"
