"""The 5GMM messages the codec reads and writes, one frozen dataclass each (TS 24.501 8.2).

Field order follows the message tables: mandatory IEs first, then the optional ones, whose
value is ``None`` when absent. Optional IEs the codec does not model are skipped on decode
(see ``codec``). Containers that may carry secrets in clear once deciphered (payload container,
NAS message container) are left out of ``repr`` so that logging a message cannot leak them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from dynsub_cli.nas.enums import MessageType, MmCause, PayloadContainerType, SecurityHeaderType
from dynsub_cli.nas.ies import (
    AdditionalSecurityInformation,
    DeregistrationType,
    Guti,
    Imei,
    Imeisv,
    MobileIdentity,
    NasSecurityAlgorithms,
    NgKsi,
    RegistrationResult,
    RegistrationType,
    SNssai,
    UeSecurityCapability,
)

#: ngKSI "no key is available" (TS 24.501 9.11.3.32), the default of UE-sent messages.
NO_KEY = NgKsi()


class Message:
    """Base of every message :func:`dynsub_cli.nas.codec.decode` returns."""

    __slots__ = ()


class PlainMessage(Message):
    """A plain 5GMM message (security header type 0); ``MESSAGE_TYPE`` is its code point."""

    __slots__ = ()
    MESSAGE_TYPE: ClassVar[MessageType]


@dataclass(frozen=True, slots=True)
class SecurityProtected(Message):
    """TS 24.501 9.1.1, figure 9.1.1.2: a security protected 5GMM message.

    ``payload`` is the inner plain NAS message as sent: ciphered when ``header_type`` says so.
    The NAS security layer computes and checks ``mac`` over sequence number and payload.
    """

    header_type: SecurityHeaderType
    mac: bytes
    sequence_number: int
    payload: bytes


# --- registration (TS 24.501 8.2.6 - 8.2.9) ------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistrationRequest(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.REGISTRATION_REQUEST
    registration_type: RegistrationType
    mobile_identity: MobileIdentity
    ngksi: NgKsi = NO_KEY
    non_current_ngksi: NgKsi | None = None
    mm_capability: bytes | None = None
    ue_security_capability: UeSecurityCapability | None = None
    requested_nssai: tuple[SNssai, ...] | None = None
    payload_container_type: PayloadContainerType | None = None
    payload_container: bytes | None = field(default=None, repr=False)
    nas_message_container: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class RegistrationAccept(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.REGISTRATION_ACCEPT
    registration_result: RegistrationResult
    guti: Guti | None = None
    allowed_nssai: tuple[SNssai, ...] | None = None
    configured_nssai: tuple[SNssai, ...] | None = None
    eap_message: bytes | None = None


@dataclass(frozen=True, slots=True)
class RegistrationComplete(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.REGISTRATION_COMPLETE
    sor_transparent_container: bytes | None = None


@dataclass(frozen=True, slots=True)
class RegistrationReject(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.REGISTRATION_REJECT
    cause: MmCause
    eap_message: bytes | None = None


# --- authentication (TS 24.501 8.2.1 - 8.2.5) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthenticationRequest(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.AUTHENTICATION_REQUEST
    ngksi: NgKsi
    abba: bytes
    rand: bytes | None = None
    autn: bytes | None = None
    eap_message: bytes | None = None


@dataclass(frozen=True, slots=True)
class AuthenticationResponse(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.AUTHENTICATION_RESPONSE
    res_star: bytes | None = None
    eap_message: bytes | None = None


@dataclass(frozen=True, slots=True)
class AuthenticationResult(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.AUTHENTICATION_RESULT
    ngksi: NgKsi
    eap_message: bytes
    abba: bytes | None = None


@dataclass(frozen=True, slots=True)
class AuthenticationFailure(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.AUTHENTICATION_FAILURE
    cause: MmCause
    auts: bytes | None = None


@dataclass(frozen=True, slots=True)
class AuthenticationReject(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.AUTHENTICATION_REJECT
    eap_message: bytes | None = None


# --- security mode control (TS 24.501 8.2.25 - 8.2.27) --------------------------------------


@dataclass(frozen=True, slots=True)
class SecurityModeCommand(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.SECURITY_MODE_COMMAND
    selected_algorithms: NasSecurityAlgorithms
    ngksi: NgKsi
    replayed_ue_security_capability: UeSecurityCapability
    imeisv_request: bool | None = None
    additional_security_information: AdditionalSecurityInformation | None = None
    eap_message: bytes | None = None
    abba: bytes | None = None


@dataclass(frozen=True, slots=True)
class SecurityModeComplete(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.SECURITY_MODE_COMPLETE
    imeisv: Imeisv | None = None
    nas_message_container: bytes | None = field(default=None, repr=False)
    non_imeisv_pei: Imei | None = None


@dataclass(frozen=True, slots=True)
class SecurityModeReject(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.SECURITY_MODE_REJECT
    cause: MmCause


# --- de-registration (TS 24.501 8.2.12 - 8.2.15) -------------------------------------------


@dataclass(frozen=True, slots=True)
class DeregistrationRequestUeOriginating(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.DEREGISTRATION_REQUEST_UE_ORIGINATING
    deregistration_type: DeregistrationType
    mobile_identity: MobileIdentity
    ngksi: NgKsi = NO_KEY


@dataclass(frozen=True, slots=True)
class DeregistrationAcceptUeOriginating(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.DEREGISTRATION_ACCEPT_UE_ORIGINATING


@dataclass(frozen=True, slots=True)
class DeregistrationRequestUeTerminated(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.DEREGISTRATION_REQUEST_UE_TERMINATED
    deregistration_type: DeregistrationType
    cause: MmCause | None = None


@dataclass(frozen=True, slots=True)
class DeregistrationAcceptUeTerminated(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.DEREGISTRATION_ACCEPT_UE_TERMINATED


# --- transport and status (TS 24.501 8.2.10, 8.2.11, 8.2.29) -------------------------------


@dataclass(frozen=True, slots=True)
class UlNasTransport(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.UL_NAS_TRANSPORT
    payload_container_type: PayloadContainerType
    payload_container: bytes = field(repr=False)
    pdu_session_id: int | None = None
    additional_information: bytes | None = None


@dataclass(frozen=True, slots=True)
class DlNasTransport(PlainMessage):
    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.DL_NAS_TRANSPORT
    payload_container_type: PayloadContainerType
    payload_container: bytes = field(repr=False)
    pdu_session_id: int | None = None
    additional_information: bytes | None = None
    cause: MmCause | None = None


@dataclass(frozen=True, slots=True)
class MmStatus(PlainMessage):
    """5GMM STATUS: reports an error the receiver found in a message (TS 24.501 5.4.6)."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.STATUS_5GMM
    cause: MmCause


#: Every plain message class the codec handles.
PLAIN_MESSAGES: tuple[type[PlainMessage], ...] = (
    RegistrationRequest,
    RegistrationAccept,
    RegistrationComplete,
    RegistrationReject,
    AuthenticationRequest,
    AuthenticationResponse,
    AuthenticationResult,
    AuthenticationFailure,
    AuthenticationReject,
    SecurityModeCommand,
    SecurityModeComplete,
    SecurityModeReject,
    DeregistrationRequestUeOriginating,
    DeregistrationAcceptUeOriginating,
    DeregistrationRequestUeTerminated,
    DeregistrationAcceptUeTerminated,
    UlNasTransport,
    DlNasTransport,
    MmStatus,
)
