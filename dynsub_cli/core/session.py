"""The core's side of one NAS connection: AMF, AUSF and provisioning as one state machine.

Theory of operation. A session takes NAS PDUs in (``receive``) and gives PDUs out, with
whether to close the connection (``Output``); it never touches a socket or a file. What it
needs from outside (the subscription store, the clock, randomness) comes in ``Network``.

A connection serves one procedure, chosen by the first REGISTRATION REQUEST:

- *initial* with the device's onboarding SUCI (a NAI, null scheme): there is no subscription
  yet, so the core answers REGISTRATION REJECT #74, the documented signal to start
  subscription generation (docs/protocol.md);
- *SNPN onboarding* (type 5) with that SUCI: EAP-TLS with the factory certificate, security
  mode, registration for onboarding services, then the dialogue that creates the record;
- *initial* with a SUCI of an IMSI: an ordinary registration with 5G AKA.

The phases and the messages each accepts (anything else gets 5GMM STATUS #98 and the end of
the connection):

=================  ==============================  ==========================================
phase              accepts                         then
=================  ==============================  ==========================================
IDLE               REGISTRATION REQUEST            REJECT #74 / EAP / AKA
EAP                AUTHENTICATION RESPONSE (EAP)   more EAP, or SECURITY MODE COMMAND
AKA                AUTHENTICATION RESPONSE (RES*)  SECURITY MODE COMMAND
AKA                AUTHENTICATION FAILURE          new challenge (#21) or end
SECURITY_MODE      SECURITY MODE COMPLETE/REJECT   REGISTRATION ACCEPT
REGISTERING        REGISTRATION COMPLETE           OFFER (onboarding) / REGISTERED
OFFERED            UL NAS TRANSPORT: CHOICE        KEY_REQUEST
KEY_REQUESTED      UL NAS TRANSPORT: KEY_RESPONSE  record committed, SUBSCRIPTION
PROVISIONED        UL NAS TRANSPORT: ACK           DEREGISTRATION REQUEST #93
DEREGISTERING      DEREGISTRATION ACCEPT           close
REGISTERED         DEREGISTRATION REQUEST          DEREGISTRATION ACCEPT, close
=================  ==============================  ==========================================

Every refusal goes through one place (``_refuse``) that answers the UE as the table of
:mod:`dynsub_cli.core.refusals` says, writes the audit event and the log line, and closes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum, auto

from cryptography import x509

from dynsub_cli.core import authentication, provisioning
from dynsub_cli.core.network import Network
from dynsub_cli.core.refusals import Answer, Refusal, for_certificate
from dynsub_cli.core.server import Output
from dynsub_cli.eap.tls import Authenticator
from dynsub_cli.errors import (
    AuthenticationError,
    CertificateRefused,
    DecodeError,
    DynsubError,
    FrameTooLarge,
    IntegrityError,
    NasDecodeError,
    NetworkError,
    PeerTimeout,
    ReplayError,
    UnexpectedMessage,
)
from dynsub_cli.nas import codec
from dynsub_cli.nas import dialogue as d
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import (
    CipheringAlgorithm,
    IntegrityAlgorithm,
    MmCause,
    PayloadContainerType,
    RegistrationTypeValue,
)
from dynsub_cli.nas.ies import (
    DeregistrationType,
    NasSecurityAlgorithms,
    NgKsi,
    RegistrationResult,
    SNssai,
    Suci,
    SuciNai,
)
from dynsub_cli.pki.verify import DeviceIdentity
from dynsub_cli.security import aka, keys, subscription, suci
from dynsub_cli.security.nas import Role, SecurityContext, header_type
from dynsub_cli.store import EventKind, EventOutcome, Policy, Service, State

#: TS 33.501 A.7.1: ABBA 0x0000 (no features yet); both sides put it into KAMF.
ABBA = b"\x00\x00"
#: The ngKSI the core assigns to the security context it establishes.
NGKSI = NgKsi(0)


class Phase(Enum):
    IDLE = auto()
    EAP = auto()
    AKA = auto()
    SECURITY_MODE = auto()
    REGISTERING = auto()
    OFFERED = auto()
    KEY_REQUESTED = auto()
    PROVISIONED = auto()
    DEREGISTERING = auto()
    REGISTERED = auto()
    CLOSED = auto()


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One structured line per procedure step, for the core's log (stderr)."""

    peer: str
    step: str
    outcome: str  # "ok", "refused", "failed"
    message: str
    imei: str | None = None
    supi: str | None = None
    cause: int | None = None


class _Refused(Exception):
    """Internal: stop the procedure with this refusal (handled in ``receive``)."""

    def __init__(
        self,
        refusal: Refusal,
        detail: str,
        *,
        dialogue_cause: d.DialogueCause | None = None,
        told: str | None = None,
        cause: MmCause | None = None,
    ) -> None:
        super().__init__(detail)
        self.refusal = refusal
        #: The 5GMM cause sent: the table's, unless the fault itself names one.
        self.cause = cause if cause is not None else refusal.cause
        self.detail = detail  # for the log and the audit trail
        self.dialogue_cause = dialogue_cause
        #: What the UE reads in the dialogue ERROR: the detail only where it is meant for the
        #: UE (the offer's rules); a store error names the operator's files and settings.
        self.told = told if told is not None else detail


class CoreSession:
    def __init__(
        self,
        network: Network,
        peer: str,
        *,
        log: Callable[[LogRecord], None] = lambda record: None,
        random: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._net = network
        self._peer = peer
        self._log = log
        self._random = random
        self.phase = Phase.IDLE
        self._security: SecurityContext | None = None
        self._onboarding = False
        self._imei: str | None = None
        self._supi: str | None = None  # the SUPI keys are bound to (onboarding: the NAI)
        self._request: m.RegistrationRequest | None = None  # the one that started the procedure
        self._eap: Authenticator[DeviceIdentity] | None = None
        self._device: DeviceIdentity | None = None
        self._kausf = b""
        self._kseaf = b""
        self._vector: aka.AuthVector | None = None
        self._service: Service | None = None
        self._network_nonce = b""

    # --- the interface of core.server.Session ------------------------------------------

    def receive(self, pdu: bytes) -> Output:
        if self.phase is Phase.CLOSED:
            return Output(close=True)
        try:
            return self._dispatch(self._open(pdu))
        except _Refused as refused:
            return self._refuse(refused)
        except IntegrityError as err:
            return self._refuse(_Refused(Refusal.NAS_MAC_FAILURE, err.message))
        except ReplayError as err:
            return self._refuse(_Refused(Refusal.NAS_REPLAY, err.message))
        except NasDecodeError as err:
            # TS 24.501 clause 7: the codec knows which cause the fault calls for (#96, #97...).
            return self._refuse(_Refused(Refusal.MALFORMED, err.message, cause=MmCause(err.cause)))
        except DecodeError as err:
            return self._refuse(_Refused(Refusal.MALFORMED, err.message))
        except UnexpectedMessage as err:
            return self._refuse(_Refused(Refusal.UNEXPECTED_MESSAGE, err.message))

    def fail(self, problem: DynsubError) -> Output:
        if self.phase in (Phase.IDLE, Phase.CLOSED, Phase.REGISTERED) and isinstance(
            problem, NetworkError
        ):
            # Between procedures a UE may simply go away.
            self.phase = Phase.CLOSED
            return Output(close=True)
        if isinstance(problem, FrameTooLarge):
            refusal = Refusal.OVERSIZE_FRAME
        elif isinstance(problem, PeerTimeout):
            refusal = Refusal.TIMEOUT
        else:
            refusal = Refusal.CONNECTION_LOST
        return self._refuse(_Refused(refusal, problem.message))

    # --- decoding and sending -------------------------------------------------------------

    def _open(self, pdu: bytes) -> m.Message:
        if self._security is None:
            message = codec.decode(pdu)
            if isinstance(message, m.SecurityProtected):
                raise UnexpectedMessage("a protected NAS message before security mode")
            return message
        if header_type(pdu) == 0:
            raise _Refused(Refusal.NOT_PROTECTED, "plain NAS message after security mode")
        return codec.decode(self._security.unprotect(pdu))

    def _pdu(self, message: m.PlainMessage, *, new_context: bool = False) -> bytes:
        plain = codec.encode(message)
        if self._security is None:
            return plain
        return self._security.protect(plain, new_context=new_context, cipher=not new_context)

    def _send(self, *messages: m.PlainMessage, close: bool = False) -> Output:
        return Output(tuple(self._pdu(message) for message in messages), close)

    def _note(self, step: str, message: str, outcome: str = "ok") -> None:
        self._log(LogRecord(self._peer, step, outcome, message, self._imei, self._supi))

    def _event(self, kind: str, outcome: EventOutcome, reason: str) -> None:
        self._net.store.add_event(
            kind,
            outcome=outcome,
            imei=self._imei,
            supi=self._stored_supi(),
            reason=reason,
            peer=self._peer,
        )

    def _stored_supi(self) -> str | None:
        return self._supi if self._supi and self._supi.startswith("imsi-") else None

    # --- dispatch ---------------------------------------------------------------------------

    def _dispatch(self, message: m.Message) -> Output:
        handler = _HANDLERS.get((self.phase, type(message)))
        if handler is None:
            raise UnexpectedMessage(
                f"{type(message).__name__} is not expected in phase {self.phase.name}"
            )
        return handler(self, message)

    # --- registration -----------------------------------------------------------------------

    def _registration_request(self, message: m.Message) -> Output:
        assert isinstance(message, m.RegistrationRequest)
        self._request = message
        kind = message.registration_type.value
        identity = message.mobile_identity
        if isinstance(identity, SuciNai) and kind in (
            RegistrationTypeValue.INITIAL,
            RegistrationTypeValue.SNPN_ONBOARDING,
        ):
            self._imei, self._supi = _onboarding_identity(identity)
            return self._onboarding_request(kind)
        if isinstance(identity, Suci) and kind is RegistrationTypeValue.INITIAL:
            return self._service_request(identity)
        raise _Refused(
            Refusal.SUCI_NOT_DECONCEALED,
            f"registration type {kind.name} with identity {type(identity).__name__} is not served",
        )

    def _check_capabilities(self) -> None:
        assert self._request is not None
        capability = self._request.ue_security_capability
        if capability is None or not (
            capability.supports_ea(CipheringAlgorithm.EA2)
            and capability.supports_ia(IntegrityAlgorithm.IA2)
        ):
            raise _Refused(Refusal.SECURITY_CAPABILITIES, "the UE lacks 128-NEA2/128-NIA2")

    def _onboarding_request(self, kind: RegistrationTypeValue) -> Output:
        assert self._imei is not None
        existing = self._net.store.find_by_imei(self._imei)
        if existing is not None and self._net.policy is Policy.REFUSE:
            raise _Refused(
                Refusal.REONBOARDING_REFUSED, f"device already has subscription {existing.supi}"
            )
        if kind is RegistrationTypeValue.INITIAL:
            # No subscription for this identity: tell the UE to start subscription generation.
            self._event(EventKind.REGISTRATION_REJECTED, EventOutcome.FAILURE, "no subscription")
            self._note("registration", "no subscription record: start subscription generation")
            # The connection stays open for the onboarding registration that follows.
            return self._send(m.RegistrationReject(Refusal.NO_SUBSCRIPTION.cause))
        self._check_capabilities()
        self._onboarding = True
        self._event(EventKind.ONBOARDING_ATTEMPT, EventOutcome.SUCCESS, "EAP-TLS started")
        self._eap = Authenticator(self._net.credentials, self._verify_device)
        self.phase = Phase.EAP
        self._note("eap-tls", "onboarding: EAP-TLS started")
        return self._send(m.AuthenticationRequest(NGKSI, ABBA, eap_message=self._eap.start()))

    def _eap_response(self, message: m.Message) -> Output:
        assert isinstance(message, m.AuthenticationResponse)
        assert self._eap is not None
        if message.eap_message is None:
            raise DecodeError("AUTHENTICATION RESPONSE without an EAP message")
        try:
            packet = self._eap.receive(message.eap_message)
        except CertificateRefused as err:
            raise _Refused(for_certificate(err), err.message) from err
        except DynsubError as err:
            raise _Refused(Refusal.EAP_TLS_FAILED, err.message) from err
        if not self._eap.done:
            return self._send(m.AuthenticationRequest(NGKSI, ABBA, eap_message=packet))
        device = self._eap.result.peer_identity
        self._device = device
        self._kausf = self._eap.result.kausf
        self._kseaf = keys.kseaf(self._kausf, self._net.serving_network)
        self._note(
            "eap-tls", f"device {device.imei} authenticated ({self._eap.result.tls_version})"
        )
        return self._security_mode(eap_success=packet)

    def _verify_device(self, chain: Sequence[x509.Certificate]) -> DeviceIdentity:
        # The EAP server's verdict on the UE's chain, given while EAP-TLS is still running:
        # a refusal here ends it with EAP-Failure (RFC 9190 2.1.3), which the REGISTRATION
        # REJECT carries (TS 24.501 8.2.9.4), instead of an EAP-Success taken back later.
        device = self._net.verify_device(chain)
        self._check_device(device)
        return device

    def _check_device(self, device: DeviceIdentity) -> None:
        # TS 33.501 B.2.1.1: the certificate must be the one the SUCI claimed.
        if device.imei != self._imei:
            raise _Refused(
                Refusal.IDENTITY_MISMATCH,
                f"certificate IMEI {device.imei} differs from the SUCI's {self._imei}",
            )
        if device.imei in self._net.config.enrollment.blocklist:
            raise _Refused(Refusal.BLOCKLISTED, f"IMEI {device.imei} is blocklisted")

    def _service_request(self, identity: Suci) -> Output:
        try:
            supi = suci.deconceal(_security_suci(identity), self._net.home_network_keys)
        except DynsubError as err:
            raise _Refused(Refusal.SUCI_NOT_DECONCEALED, err.message) from err
        self._supi = supi
        record = self._net.store.find(supi)
        if record is None or record.state is State.REPLACED:
            raise _Refused(Refusal.NO_SUBSCRIPTION, f"no subscription for {supi}")
        self._imei = record.imei
        if record.state is State.SUSPENDED:
            raise _Refused(Refusal.SUSPENDED, f"{supi} is suspended")
        self._check_capabilities()
        return self._challenge()

    def _challenge(self) -> Output:
        assert self._supi is not None
        self._vector = authentication.challenge(self._net, self._supi, self._random(16))
        self.phase = Phase.AKA
        self._note("5g-aka", "challenge sent")
        request = m.AuthenticationRequest(
            NGKSI, ABBA, rand=self._vector.rand, autn=self._vector.autn
        )
        return self._send(request)

    def _aka_response(self, message: m.Message) -> Output:
        assert isinstance(message, m.AuthenticationResponse)
        assert self._vector is not None
        if message.res_star is None:
            raise DecodeError("AUTHENTICATION RESPONSE without RES*")
        try:
            authentication.check_response(self._vector, message.res_star)
        except AuthenticationError as err:
            raise _Refused(Refusal.WRONG_RES_STAR, err.message) from err
        self._kausf, self._kseaf = self._vector.kausf, self._vector.kseaf
        self._note("5g-aka", "RES* verified")
        return self._security_mode()

    def _aka_failure(self, message: m.Message) -> Output:
        assert isinstance(message, m.AuthenticationFailure)
        assert self._vector is not None
        assert self._supi is not None
        if message.cause == MmCause.SYNCH_FAILURE and message.auts is not None:
            try:
                sqn_ms = authentication.resynchronise(
                    self._net, self._supi, self._vector.rand, message.auts
                )
            except AuthenticationError as err:
                raise _Refused(Refusal.AKA_FAILED_AT_UE, err.message) from err
            self._event(EventKind.RESYNCHRONISATION, EventOutcome.SUCCESS, f"SQN_MS {sqn_ms}")
            self._note("5g-aka", f"resynchronised: SQN_MS {sqn_ms}")
            return self._challenge()
        raise _Refused(
            Refusal.AKA_FAILED_AT_UE, f"UE answered AUTHENTICATION FAILURE #{int(message.cause)}"
        )

    # --- security mode and registration ------------------------------------------------------

    def _security_mode(self, *, eap_success: bytes | None = None) -> Output:
        assert self._supi is not None
        assert self._request is not None
        capability = self._request.ue_security_capability
        assert capability is not None
        kamf = keys.kamf(self._kseaf, self._supi, ABBA)
        self._security = SecurityContext.from_kamf(Role.NETWORK, kamf)
        command = m.SecurityModeCommand(
            NasSecurityAlgorithms(CipheringAlgorithm.EA2, IntegrityAlgorithm.IA2),
            NGKSI,
            capability,
            eap_message=eap_success,
            abba=ABBA,
        )
        self.phase = Phase.SECURITY_MODE
        return Output((self._pdu(command, new_context=True),))

    def _security_mode_complete(self, message: m.Message) -> Output:
        self._note("security-mode", "NAS security established (128-NEA2, 128-NIA2)")
        result = RegistrationResult()
        nssai = self._allowed_nssai()
        self.phase = Phase.REGISTERING
        return self._send(m.RegistrationAccept(result, allowed_nssai=nssai))

    def _security_mode_reject(self, message: m.Message) -> Output:
        assert isinstance(message, m.SecurityModeReject)
        raise _Refused(Refusal.EAP_TLS_FAILED, f"UE rejected security mode #{int(message.cause)}")

    def _allowed_nssai(self) -> tuple[SNssai, ...] | None:
        if self._onboarding or self._supi is None:
            return None
        record = self._net.store.get(self._supi)
        sd = int(record.sd, 16) if record.sd else None
        return (SNssai(record.sst, sd),)

    def _registration_complete(self, message: m.Message) -> Output:
        if not self._onboarding:
            self.phase = Phase.REGISTERED
            self._event(EventKind.REGISTRATION, EventOutcome.SUCCESS, "5G AKA, registered")
            self._note("registration", "registered for normal service")
            return Output()
        self.phase = Phase.OFFERED
        self._note("registration", "registered for onboarding services; offer sent")
        return self._send(_transport(provisioning.offer(self._net)))

    # --- the subscription-generation dialogue ------------------------------------------------

    def _dialogue(self, message: m.Message) -> Output:
        assert isinstance(message, m.UlNasTransport)
        payload = d.decode(message.payload_container)
        if isinstance(payload, d.Error):
            raise _Refused(
                Refusal.KEY_CONFIRMATION_FAILED
                if payload.cause is d.DialogueCause.KEY_CONFIRMATION_FAILED
                else Refusal.UNEXPECTED_MESSAGE,
                f"UE ended the dialogue: {payload.text}",
            )
        if self.phase is Phase.OFFERED and isinstance(payload, d.Choice):
            return self._choice(payload)
        if self.phase is Phase.KEY_REQUESTED and isinstance(payload, d.KeyResponse):
            return self._key_response(payload)
        if self.phase is Phase.PROVISIONED and isinstance(payload, d.Ack):
            return self._ack(payload)
        raise UnexpectedMessage(
            f"dialogue {payload.kind.name} is not expected in {self.phase.name}"
        )

    def _choice(self, choice: d.Choice) -> Output:
        try:
            self._service = provisioning.accept(self._net, choice)
        except provisioning.NotAccepted as err:
            raise _Refused(err.refusal, err.message, dialogue_cause=err.cause) from err
        self._network_nonce = self._random(subscription.NONCE_LENGTH)
        self.phase = Phase.KEY_REQUESTED
        self._note("dialogue", f"service {choice.service_type}, plan {choice.plan} accepted")
        return self._send(_transport(d.KeyRequest(self._network_nonce)))

    def _key_response(self, response: d.KeyResponse) -> Output:
        assert self._device is not None
        assert self._service is not None
        try:
            provisioned = provisioning.commit(
                self._net,
                self._device,
                self._service,
                kausf=self._kausf,
                network_nonce=self._network_nonce,
                response=response,
                peer=self._peer,
            )
        except provisioning.NotAccepted as err:
            raise _Refused(
                err.refusal, err.message, dialogue_cause=err.cause, told=err.told
            ) from err
        self._supi = provisioned.message.supi
        self.phase = Phase.PROVISIONED
        verb = provisioned.outcome.value
        self._note("subscription", f"record {verb}: {self._supi}")
        return self._send(_transport(provisioned.message))

    def _ack(self, ack: d.Ack) -> Output:
        if ack.supi != self._supi:
            raise UnexpectedMessage(f"ACK names {ack.supi}, the subscription is {self._supi}")
        self.phase = Phase.DEREGISTERING
        self._note("subscription", "UE stored the subscription; re-registration required")
        return self._send(
            m.DeregistrationRequestUeTerminated(
                DeregistrationType(re_registration_required=True),
                MmCause.ONBOARDING_SERVICES_TERMINATED,
            )
        )

    # --- the end of a connection ---------------------------------------------------------------

    def _deregistration_accept(self, message: m.Message) -> Output:
        self.phase = Phase.CLOSED
        self._note("deregistration", "onboarding complete")
        return Output(close=True)

    def _ue_deregistration(self, message: m.Message) -> Output:
        self.phase = Phase.CLOSED
        self._note("deregistration", "UE de-registered")
        return self._send(m.DeregistrationAcceptUeOriginating(), close=True)

    def _refuse(self, refused: _Refused) -> Output:
        refusal = refused.refusal
        self._log(
            LogRecord(
                self._peer,
                refusal.step,
                "refused",
                f"{refusal.meaning}: {refused.detail}",
                self._imei,
                self._supi,
                int(refused.cause),
            )
        )
        kind = EventKind.ONBOARDING_REFUSED if self._onboarding else EventKind.REGISTRATION_REJECTED
        try:
            self._event(kind, EventOutcome.FAILURE, f"{refusal.name.lower()}: {refused.detail}")
        except DynsubError as err:
            self._note("audit", f"audit event not written: {err.message}", "failed")
        answer = self._answer(refused)
        self.phase = Phase.CLOSED
        return Output(answer, close=True)

    def _answer(self, refused: _Refused) -> tuple[bytes, ...]:
        refusal = refused.refusal
        if refusal.answer is Answer.REGISTRATION_REJECT:
            failure = self._eap.error_response if self._eap is not None else None
            reject = m.RegistrationReject(refused.cause, eap_message=failure)
            return (self._pdu(reject),)
        if refusal.answer is Answer.AUTHENTICATION_REJECT:
            return (self._pdu(m.AuthenticationReject()),)
        if refusal.answer is Answer.STATUS:
            return (self._pdu(m.MmStatus(refused.cause)),)
        if refusal.answer is Answer.DEREGISTRATION and self._security is not None:
            out = []
            if refused.dialogue_cause is not None:
                error = d.Error(refused.dialogue_cause, refused.told)
                out.append(self._pdu(_transport(error)))
            deregister = m.DeregistrationRequestUeTerminated(DeregistrationType(), refused.cause)
            out.append(self._pdu(deregister))
            return tuple(out)
        return ()


def _transport(payload: d.Message) -> m.DlNasTransport:
    return m.DlNasTransport(PayloadContainerType(d.PAYLOAD_CONTAINER_TYPE), d.encode(payload))


def _onboarding_identity(identity: SuciNai) -> tuple[str, str]:
    found = suci.onboarding_identity(identity.nai)
    if found is None:
        raise _Refused(
            Refusal.SUCI_NOT_DECONCEALED, f"{identity.nai!r} is not a dynsub onboarding SUCI"
        )
    return found


def _security_suci(identity: Suci) -> suci.Suci:
    return suci.Suci(
        supi_type=0,
        mcc=identity.mcc,
        mnc=identity.mnc,
        routing_indicator=identity.routing_indicator,
        protection_scheme=int(identity.protection_scheme),
        hn_key_id=identity.home_network_public_key_id,
        scheme_output=identity.scheme_output,
    )


_HANDLERS: dict[tuple[Phase, type], Callable[[CoreSession, m.Message], Output]] = {
    (Phase.IDLE, m.RegistrationRequest): CoreSession._registration_request,
    (Phase.EAP, m.AuthenticationResponse): CoreSession._eap_response,
    (Phase.AKA, m.AuthenticationResponse): CoreSession._aka_response,
    (Phase.AKA, m.AuthenticationFailure): CoreSession._aka_failure,
    (Phase.SECURITY_MODE, m.SecurityModeComplete): CoreSession._security_mode_complete,
    (Phase.SECURITY_MODE, m.SecurityModeReject): CoreSession._security_mode_reject,
    (Phase.REGISTERING, m.RegistrationComplete): CoreSession._registration_complete,
    (Phase.OFFERED, m.UlNasTransport): CoreSession._dialogue,
    (Phase.KEY_REQUESTED, m.UlNasTransport): CoreSession._dialogue,
    (Phase.PROVISIONED, m.UlNasTransport): CoreSession._dialogue,
    (Phase.DEREGISTERING, m.DeregistrationAcceptUeTerminated): CoreSession._deregistration_accept,
    (Phase.REGISTERED, m.DeregistrationRequestUeOriginating): CoreSession._ue_deregistration,
}
