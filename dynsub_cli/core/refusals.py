"""Every way the core refuses a UE: the step it happens at, the 5GMM cause, the audit kind.

One table, so that the core's answer, its log line, the store's audit event and the UE's
message cannot drift apart. docs/protocol.md section 6 renders the same table for people;
tests/unit/core/test_protocol_doc.py checks that the two agree.

Where TS 24.501 prescribes the answer, the table follows it: an unknown or malformed message
gets a 5GMM STATUS with the clause 7 cause; a wrong RES* in 5G AKA an AUTHENTICATION REJECT
(5.4.1.3.7). Elsewhere the cause is the closest in meaning, and the choice is documented.
"""

from __future__ import annotations

from enum import Enum

from dynsub_cli.errors import (
    AuthenticationError,
    CertificateRefused,
    DecodeError,
    FrameTooLarge,
    IntegrityError,
    NasDecodeError,
    NotFound,
    PeerTimeout,
    ReplayError,
    ServiceUnavailable,
    SqnExhausted,
    StoreError,
    UnexpectedMessage,
)
from dynsub_cli.nas.enums import MmCause
from dynsub_cli.pki.rules import Rule


class Answer(Enum):
    """How the refusal reaches the UE."""

    REGISTRATION_REJECT = "REGISTRATION REJECT"
    #: REGISTRATION REJECT while the UE is not registered, DEREGISTRATION REQUEST once it is.
    ABORT = "REGISTRATION REJECT or DEREGISTRATION REQUEST"
    AUTHENTICATION_REJECT = "AUTHENTICATION REJECT"
    DEREGISTRATION = "DEREGISTRATION REQUEST"
    STATUS = "5GMM STATUS"
    CLOSE = "connection closed"


class Refusal(Enum):
    """(step, 5GMM cause, how it is answered, what it means)."""

    step: str
    cause: MmCause
    answer: Answer
    meaning: str

    def __new__(cls, step: str, cause: MmCause, answer: Answer, meaning: str) -> Refusal:
        obj = object.__new__(cls)
        obj._value_ = len(cls.__members__) + 1
        obj.step, obj.cause, obj.answer, obj.meaning = step, cause, answer, meaning
        return obj

    # Registration: the signal that starts onboarding, and records that cannot be served.
    NO_SUBSCRIPTION = (
        "registration",
        MmCause.TEMPORARILY_NOT_AUTHORIZED_FOR_SNPN,
        Answer.REGISTRATION_REJECT,
        "no subscription record: start subscription generation (onboarding)",
    )
    SUSPENDED = (
        "registration",
        MmCause.SERVICES_5GS_NOT_ALLOWED,
        Answer.REGISTRATION_REJECT,
        "the subscription is suspended by the operator",
    )
    REONBOARDING_REFUSED = (
        "registration",
        MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN,
        Answer.REGISTRATION_REJECT,
        "the device has a subscription and the policy refuses onboarding it again",
    )
    NULL_SCHEME = (
        "registration",
        MmCause.UE_IDENTITY_CANNOT_BE_DERIVED,
        Answer.REGISTRATION_REJECT,
        "a null-scheme SUCI of an IMSI while home network keys are configured (TS 33.501 6.12.2)",
    )
    SUBSCRIPTION_REVOKED = (
        "registration",
        MmCause.ILLEGAL_UE,
        Answer.REGISTRATION_REJECT,
        "the certificate the subscription was created with is revoked: it is suspended",
    )
    SUCI_NOT_DECONCEALED = (
        "registration",
        MmCause.UE_IDENTITY_CANNOT_BE_DERIVED,
        Answer.REGISTRATION_REJECT,
        "the SUCI cannot be deconcealed (unknown key id or bad MAC)",
    )
    SECURITY_CAPABILITIES = (
        "registration",
        MmCause.UE_SECURITY_CAPABILITIES_MISMATCH,
        Answer.REGISTRATION_REJECT,
        "the UE supports neither 128-NEA2 nor 128-NIA2",
    )
    # Certificate authentication (EAP-TLS): answered with REGISTRATION REJECT carrying
    # EAP-Failure (TS 24.501 8.2.9.4), so that each reason has its cause.
    UNTRUSTED_MANUFACTURER = (
        "certificate",
        MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN,
        Answer.REGISTRATION_REJECT,
        "the device certificate is not issued by a trusted manufacturer CA",
    )
    DEVICE_POLICY_MISSING = (
        "certificate",
        MmCause.ILLEGAL_ME,
        Answer.REGISTRATION_REJECT,
        "the device certificate lacks the 3GPP device policy",
    )
    CERTIFICATE_REVOKED = (
        "certificate",
        MmCause.ILLEGAL_UE,
        Answer.REGISTRATION_REJECT,
        "the device certificate is revoked (CRL)",
    )
    CERTIFICATE_EXPIRED = (
        "certificate",
        MmCause.ILLEGAL_UE,
        Answer.REGISTRATION_REJECT,
        "the device certificate has expired or is not yet valid",
    )
    CERTIFICATE_INVALID = (
        "certificate",
        MmCause.ILLEGAL_UE,
        Answer.REGISTRATION_REJECT,
        "the device certificate breaks the device profile",
    )
    BLOCKLISTED = (
        "certificate",
        MmCause.PEI_NOT_ACCEPTED,
        Answer.REGISTRATION_REJECT,
        "the IMEI is on the core's blocklist",
    )
    ISSUER_MISMATCH = (
        "certificate",
        MmCause.PEI_NOT_ACCEPTED,
        Answer.REGISTRATION_REJECT,
        "the IMEI's subscription was created under another manufacturer CA",
    )
    IDENTITY_MISMATCH = (
        "certificate",
        MmCause.UE_IDENTITY_CANNOT_BE_DERIVED,
        Answer.REGISTRATION_REJECT,
        "the certificate is not the one the SUCI claimed (TS 33.501 B.2.1.1)",
    )
    EAP_TLS_FAILED = (
        "certificate",
        MmCause.ILLEGAL_UE,
        Answer.REGISTRATION_REJECT,
        "EAP-TLS failed (the UE refused the core's certificate, or TLS broke)",
    )
    # The subscription-generation dialogue: a dialogue ERROR, then DEREGISTRATION REQUEST.
    UNKNOWN_SERVICE_TYPE = (
        "dialogue",
        MmCause.NO_NETWORK_SLICES_AVAILABLE,
        Answer.DEREGISTRATION,
        "the chosen service type is not offered",
    )
    UNKNOWN_PLAN = (
        "dialogue",
        MmCause.SERVICES_5GS_NOT_ALLOWED,
        Answer.DEREGISTRATION,
        "the chosen billing plan is not offered, or not for that service type",
    )
    MISSING_BILLING_INFORMATION = (
        "dialogue",
        MmCause.INVALID_MANDATORY_INFORMATION,
        Answer.DEREGISTRATION,
        "the plan needs billing information the UE did not give",
    )
    ONBOARDED_MEANWHILE = (
        "dialogue",
        MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN,
        Answer.DEREGISTRATION,
        "another connection of the device committed its subscription first (policy refuse)",
    )
    SUPI_RANGE_EXHAUSTED = (
        "dialogue",
        MmCause.CONGESTION,
        Answer.DEREGISTRATION,
        "every SUPI of the configured range is allocated",
    )
    HOOK_DENIED = (
        "dialogue",
        MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN,
        Answer.DEREGISTRATION,
        "the operator's provisioning hook refused the device (its reason reaches the UE)",
    )
    HOOK_FAILED = (
        "dialogue",
        MmCause.CONGESTION,
        Answer.DEREGISTRATION,
        "the provisioning hook failed or did not answer in time, and on_error is deny",
    )
    KEY_CONFIRMATION_FAILED = (
        "key generation",
        MmCause.MAC_FAILURE,
        Answer.DEREGISTRATION,
        "the UE's key confirmation does not match the key the core derived",
    )
    # 5G AKA.
    SQN_EXHAUSTED = (
        "5G AKA",
        MmCause.SERVICES_5GS_NOT_ALLOWED,
        Answer.REGISTRATION_REJECT,
        "the subscription's SQN space is used up: the device must onboard again for a new K",
    )
    CHALLENGES_EXCEEDED = (
        "5G AKA",
        MmCause.CONGESTION,
        Answer.REGISTRATION_REJECT,
        "too many challenges for the SUPI in the last minute (limits.challenges_per_minute)",
    )
    WRONG_RES_STAR = (
        "5G AKA",
        MmCause.MAC_FAILURE,
        Answer.AUTHENTICATION_REJECT,
        "RES* does not match (TS 24.501 5.4.1.3.7: AUTHENTICATION REJECT)",
    )
    AKA_FAILED_AT_UE = (
        "5G AKA",
        MmCause.MAC_FAILURE,
        Answer.CLOSE,
        "the UE refused the network's challenge (AUTN MAC failure or non-5G vector)",
    )
    # NAS security and transport.
    NAS_MAC_FAILURE = (
        "NAS security",
        MmCause.MAC_FAILURE,
        Answer.DEREGISTRATION,
        "a NAS message failed its integrity check (128-NIA2)",
    )
    NAS_REPLAY = (
        "NAS security",
        MmCause.MESSAGE_NOT_COMPATIBLE_WITH_STATE,
        Answer.DEREGISTRATION,
        "a NAS message was replayed (its NAS COUNT was seen before)",
    )
    NOT_PROTECTED = (
        "NAS security",
        MmCause.MESSAGE_NOT_COMPATIBLE_WITH_STATE,
        Answer.DEREGISTRATION,
        "a message arrived without NAS protection after security mode",
    )
    MALFORMED = (
        "protocol",
        MmCause.INVALID_MANDATORY_INFORMATION,
        Answer.STATUS,
        "a malformed NAS PDU (TS 24.501 clause 7)",
    )
    UNEXPECTED_MESSAGE = (
        "protocol",
        MmCause.MESSAGE_TYPE_NOT_COMPATIBLE_WITH_STATE,
        Answer.STATUS,
        "a message the procedure does not expect now (TS 24.501 7.4)",
    )
    # The core's own troubles: the UE may try again later (#22), or nothing fits (#111).
    STORE_UNAVAILABLE = (
        "store",
        MmCause.CONGESTION,
        Answer.ABORT,
        "the subscription store failed or did not answer in time (temporary)",
    )
    AAA_UNAVAILABLE = (
        "certificate",
        MmCause.CONGESTION,
        Answer.REGISTRATION_REJECT,
        "the AAA server (Default Credentials Server) did not answer (temporary)",
    )
    INTERNAL_ERROR = (
        "internal",
        MmCause.PROTOCOL_ERROR_UNSPECIFIED,
        Answer.ABORT,
        "the core failed to serve the procedure (its log has the details)",
    )
    OVERSIZE_FRAME = (
        "transport",
        MmCause.PROTOCOL_ERROR_UNSPECIFIED,
        Answer.STATUS,
        "a frame longer than limits.max_frame (or empty)",
    )
    TIMEOUT = (
        "transport",
        MmCause.PROTOCOL_ERROR_UNSPECIFIED,
        Answer.CLOSE,
        "the UE went silent or stalled past limits.timeout_seconds",
    )
    CONNECTION_LOST = (
        "transport",
        MmCause.PROTOCOL_ERROR_UNSPECIFIED,
        Answer.CLOSE,
        "the UE closed the connection before the procedure ended",
    )


#: The rules of dynsub_cli.pki that decide which certificate refusal applies, most telling
#: first: a revoked and expired certificate is reported as revoked. Keyed on rules, never on
#: the words, which may name anything (a CA called "Unrevoked Devices Ltd").
_CERTIFICATE_RULES: tuple[tuple[Rule, Refusal], ...] = (
    (Rule.REVOKED, Refusal.CERTIFICATE_REVOKED),
    # An AAA server refused the binding of the EAP identity to the certificate's IMEI.
    (Rule.IDENTITY_MISMATCH, Refusal.IDENTITY_MISMATCH),
    (Rule.UNTRUSTED_MANUFACTURER, Refusal.UNTRUSTED_MANUFACTURER),
    (Rule.CHAIN, Refusal.UNTRUSTED_MANUFACTURER),
    (Rule.POLICY_MISSING, Refusal.DEVICE_POLICY_MISSING),
    (Rule.EXPIRED, Refusal.CERTIFICATE_EXPIRED),
    (Rule.NOT_YET_VALID, Refusal.CERTIFICATE_EXPIRED),
)


def for_certificate(err: CertificateRefused) -> Refusal:
    """Which refusal a device certificate's broken rules amount to."""
    for rule, refusal in _CERTIFICATE_RULES:
        if rule in err.rules:
            return refusal
    return Refusal.CERTIFICATE_INVALID


def for_error(err: BaseException) -> tuple[Refusal, MmCause | None]:
    """The refusal an error amounts to when no procedure step named a better one, and the
    5GMM cause when the error itself calls for one (the codec's TS 24.501 clause 7 cause)."""
    if isinstance(err, NasDecodeError):
        return Refusal.MALFORMED, MmCause(err.cause)
    if isinstance(err, CertificateRefused):
        return for_certificate(err), None
    if isinstance(err, ServiceUnavailable):
        store = err.service == "store"
        return (Refusal.STORE_UNAVAILABLE if store else Refusal.AAA_UNAVAILABLE), None
    for kind, refusal in _ERRORS:
        if isinstance(err, kind):
            return refusal, None
    return Refusal.INTERNAL_ERROR, None


#: Most specific first: the first class an error is an instance of decides.
_ERRORS: tuple[tuple[type[BaseException], Refusal], ...] = (
    (FrameTooLarge, Refusal.OVERSIZE_FRAME),
    (DecodeError, Refusal.MALFORMED),
    (UnexpectedMessage, Refusal.UNEXPECTED_MESSAGE),
    (IntegrityError, Refusal.NAS_MAC_FAILURE),
    (ReplayError, Refusal.NAS_REPLAY),
    (PeerTimeout, Refusal.TIMEOUT),
    (AuthenticationError, Refusal.EAP_TLS_FAILED),
    (SqnExhausted, Refusal.SQN_EXHAUSTED),
    (NotFound, Refusal.NO_SUBSCRIPTION),  # the record went away mid-procedure
    (StoreError, Refusal.STORE_UNAVAILABLE),
)
