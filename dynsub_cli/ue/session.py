"""The UE's side of the two procedures: onboarding with the factory certificate, and a normal
registration with the generated subscription.

Theory of operation. A procedure object takes NAS PDUs in and gives PDUs out, plus events for
the one who watches (each step as it completes, the subscription when the core has committed
it, the new SQN after 5G AKA). It never touches a socket or a file: the client shell
(ue.client) sends, receives, and writes the state file when an event says so.

``Onboarding``, one connection:

    -> REGISTRATION REQUEST (initial, onboarding SUCI)   <- REGISTRATION REJECT #74
    -> REGISTRATION REQUEST (SNPN onboarding)            <- AUTHENTICATION REQUEST (EAP) ...
    ... EAP-TLS ...                                      <- SECURITY MODE COMMAND (EAP-Success)
    -> SECURITY MODE COMPLETE                            <- REGISTRATION ACCEPT
    -> REGISTRATION COMPLETE                             <- DL NAS TRANSPORT: OFFER
    -> UL NAS TRANSPORT: CHOICE                          <- DL NAS TRANSPORT: KEY_REQUEST
    -> UL NAS TRANSPORT: KEY_RESPONSE                    <- DL NAS TRANSPORT: SUBSCRIPTION
    -> UL NAS TRANSPORT: ACK                             <- DEREGISTRATION REQUEST #93
    -> DEREGISTRATION ACCEPT                                done

``Registration``, one connection:

    -> REGISTRATION REQUEST (initial, SUCI Profile A/B)  <- AUTHENTICATION REQUEST (RAND, AUTN)
    -> AUTHENTICATION RESPONSE (RES*)                    <- SECURITY MODE COMMAND
       (or AUTHENTICATION FAILURE #21 with AUTS, and a new challenge follows)
    -> SECURITY MODE COMPLETE                            <- REGISTRATION ACCEPT
    -> REGISTRATION COMPLETE, DEREGISTRATION REQUEST     <- DEREGISTRATION ACCEPT, done

Every failure raises a DynsubError whose ``step`` names where it happened; a refusal by the
network is ``Rejected`` with its 5GMM cause.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from cryptography import x509

from dynsub_cli.eap.tls import Peer
from dynsub_cli.errors import (
    AuthenticationError,
    DynsubError,
    MacFailure,
    Non5GAuthentication,
    ProtocolError,
    Rejected,
    SynchronisationFailure,
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
    RegistrationType,
    Suci,
    SuciNai,
    UeSecurityCapability,
)
from dynsub_cli.pki import verify
from dynsub_cli.security import aka, keys, subscription, suci
from dynsub_cli.security.nas import Role, SecurityContext, header_type
from dynsub_cli.ue.device import Device
from dynsub_cli.ue.state import HomeNetworkKey, UeState

#: TS 24.501 9.11.3.54: the UE supports 128-NEA0/1/2 and 128-NIA1/2; the core picks NEA2/NIA2.
CAPABILITY = UeSecurityCapability.from_algorithms({0, 1, 2}, {1, 2})


@dataclass(frozen=True, slots=True)
class Step:
    """A step of the procedure completed (for the live display and the --json steps)."""

    name: str
    detail: str


@dataclass(frozen=True, slots=True)
class Output:
    pdus: tuple[bytes, ...] = ()
    steps: tuple[Step, ...] = ()
    done: bool = False


@dataclass(frozen=True, slots=True)
class Choices:
    """What the UE asks for in the dialogue; None takes the core's default."""

    service_type: str | None = None
    plan: str | None = None
    billing: tuple[tuple[str, str], ...] = ()


DEFAULT_CHOICES = Choices()


def cause_text(cause: int) -> str:
    try:
        name = MmCause(cause).name
    except ValueError:
        return f"5GMM cause #{cause}"
    return f"5GMM cause #{cause} ({name.lower().replace('_', ' ')})"


T = TypeVar("T")


class Procedure(Generic[T]):
    """What both procedures share: NAS security, sending, and the network's refusals."""

    step = "registration"

    def __init__(self) -> None:
        self._security: SecurityContext | None = None
        self._command_pdu = b""
        #: After a failure: the PDU that tells the network why (send it, then close), if any.
        self.error_response: bytes | None = None
        #: A refusal the network has announced but not finished: the dialogue ERROR comes
        #: before the DEREGISTRATION REQUEST that carries its 5GMM cause. If the connection
        #: ends in between, this is what went wrong (the client raises it).
        self.refusal: Rejected | None = None
        self._steps: list[Step] = []
        self._done = False
        self._result: T | None = None

    @property
    def has_result(self) -> bool:
        return self._result is not None

    @property
    def result(self) -> T:
        if self._result is None:
            raise ProtocolError(f"the procedure has not finished (at step {self.step})")
        return self._result

    def receive(self, pdu: bytes) -> Output:
        try:
            return self._handle(self._open(pdu))
        except DynsubError as err:
            if err.step is None:
                err.step = self.step
            raise

    def _handle(self, message: m.Message) -> Output:
        raise NotImplementedError

    def _open(self, pdu: bytes) -> m.Message:
        if self._security is not None and header_type(pdu) != 0:
            return codec.decode(self._security.unprotect(pdu))
        message = codec.decode(pdu)
        if isinstance(message, m.SecurityProtected):
            # TS 24.501 5.4.2.3: SECURITY MODE COMMAND comes integrity protected under the new
            # context, not ciphered. Its content says how to derive that context, so it is
            # read first and its MAC checked as soon as the keys exist (_start_security).
            inner = codec.decode(message.payload)
            if message.header_type != 3 or not isinstance(inner, m.SecurityModeCommand):
                raise ProtocolError(
                    f"{type(inner).__name__} protected with header type "
                    f"{int(message.header_type)} before security mode: refused"
                )
            self._command_pdu = pdu
            return inner
        if self._security is not None and not isinstance(
            message, m.RegistrationReject | m.AuthenticationReject | m.MmStatus
        ):
            # TS 24.501 4.4.4.2: after security mode, only these may come unprotected.
            raise ProtocolError(f"{type(message).__name__} without NAS protection: refused")
        return message

    def _pdu(self, message: m.PlainMessage, *, new_context: bool = False) -> bytes:
        plain = codec.encode(message)
        if self._security is None:
            return plain
        return self._security.protect(plain, new_context=new_context, cipher=True)

    def _out(self, *messages: m.PlainMessage, new_context: bool = False) -> Output:
        steps, self._steps = tuple(self._steps), []
        pdus = tuple(self._pdu(message, new_context=new_context) for message in messages)
        return Output(pdus, steps, self._done)

    def _completed(self, detail: str) -> None:
        self._steps.append(Step(self.step, detail))

    def _refused_by_network(self, message: m.Message) -> None:
        """Raise for the network's refusals; return for anything else."""
        if isinstance(message, m.RegistrationReject):
            raise Rejected(f"the network refused: {cause_text(message.cause)}", message.cause)
        if isinstance(message, m.AuthenticationReject):
            raise Rejected(
                "the network rejected the authentication (AUTHENTICATION REJECT)",
                MmCause.MAC_FAILURE,
            )
        if isinstance(message, m.MmStatus):
            raise ProtocolError(
                f"the network reported a protocol error: {cause_text(message.cause)}"
            )
        if isinstance(message, m.DeregistrationRequestUeTerminated) and (
            message.cause != MmCause.ONBOARDING_SERVICES_TERMINATED
        ):
            cause = (
                message.cause if message.cause is not None else MmCause.PROTOCOL_ERROR_UNSPECIFIED
            )
            raise Rejected(f"the network de-registered the UE: {cause_text(cause)}", cause)

    def _expect(self, message: m.Message, kind: type[m.PlainMessage]) -> None:
        self._refused_by_network(message)
        if not isinstance(message, kind):
            raise UnexpectedMessage(
                f"expected {kind.__name__}, the network sent {type(message).__name__}"
            )

    def _start_security(self, command: m.SecurityModeCommand, kseaf: bytes, supi: str) -> None:
        """TS 33.501 6.7.2: derive KAMF and the NAS keys, then check the command's MAC."""
        if command.selected_algorithms != NasSecurityAlgorithms(
            CipheringAlgorithm.EA2, IntegrityAlgorithm.IA2
        ):
            raise ProtocolError(
                f"the network selected {command.selected_algorithms}; this UE uses "
                "128-NEA2/128-NIA2 only"
            )
        if command.replayed_ue_security_capability != CAPABILITY:
            raise AuthenticationError(
                "SECURITY MODE COMMAND replays other security capabilities than the UE sent "
                "(a bidding-down attempt): refused"
            )
        context = SecurityContext.from_kamf(
            Role.UE, keys.kamf(kseaf, supi, command.abba or b"\x00\x00")
        )
        context.unprotect(self._command_pdu)  # IntegrityError if the keys differ
        self._security = context


# --- onboarding ---------------------------------------------------------------------------


class Onboarding(Procedure[UeState]):
    def __init__(
        self,
        device: Device,
        choices: Choices = DEFAULT_CHOICES,
        *,
        verify_core: Callable[[Sequence[x509.Certificate]], None] | None = None,
        random: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        super().__init__()
        self._device = device
        self._choices = choices
        self._random = random
        onboarding = suci.onboarding_suci(device.imei)
        self._identity = SuciNai(onboarding.to_nai())
        self._supi = suci.deconceal(onboarding, {})
        anchors = device.trust_anchors
        self._peer: Peer[None] = Peer(
            device.credentials,
            verify_core or (lambda chain: verify.verify_core(chain, anchors)),
        )
        self._kausf = b""
        self._ue_nonce = b""
        self._k = b""
        self._network_nonce = b""
        self._state = self._await_reject

    def start(self) -> Output:
        self.step = "registration"
        return self._out(self._request(RegistrationTypeValue.INITIAL))

    def _request(self, kind: RegistrationTypeValue) -> m.RegistrationRequest:
        return m.RegistrationRequest(
            RegistrationType(kind), self._identity, ue_security_capability=CAPABILITY
        )

    def _handle(self, message: m.Message) -> Output:
        return self._state(message)

    def _await_reject(self, message: m.Message) -> Output:
        if not (
            isinstance(message, m.RegistrationReject)
            and message.cause == MmCause.TEMPORARILY_NOT_AUTHORIZED_FOR_SNPN
        ):
            self._refused_by_network(message)
            raise UnexpectedMessage(
                f"expected REGISTRATION REJECT #74, the network sent {type(message).__name__}"
            )
        self._completed("no subscription: the network asks for subscription generation (#74)")
        self.step = "EAP-TLS"
        self._state = self._eap
        return self._out(self._request(RegistrationTypeValue.SNPN_ONBOARDING))

    def _eap(self, message: m.Message) -> Output:
        if isinstance(message, m.SecurityModeCommand):
            return self._security_mode_command(message)
        if isinstance(message, m.RegistrationReject) and message.eap_message is not None:
            raise Rejected(
                f"{self._eap_verdict(message.eap_message)}; REGISTRATION REJECT with "
                f"{cause_text(message.cause)}",
                message.cause,
            )
        self._expect(message, m.AuthenticationRequest)
        assert isinstance(message, m.AuthenticationRequest)
        if message.eap_message is None:
            raise ProtocolError("AUTHENTICATION REQUEST without an EAP message (expected EAP-TLS)")
        try:
            response = self._peer.receive(message.eap_message)
        except DynsubError:
            if self._peer.error_response is not None:
                # The TLS alert, so that the core learns why the UE gave up.
                alert = m.AuthenticationResponse(eap_message=self._peer.error_response)
                self.error_response = self._pdu(alert)
            raise
        assert response is not None
        return self._out(m.AuthenticationResponse(eap_message=response))

    def _eap_verdict(self, eap_message: bytes) -> str:
        """What the EAP-Failure of a REGISTRATION REJECT means at this point of EAP-TLS.

        TS 24.501 8.2.9.4: the reject of an EAP-based authentication carries the EAP server's
        EAP-Failure. Without it the UE could only print a bare 5GMM cause; the EAP peer knows
        whether the server refused after receiving our certificate (the usual case: the
        certificate, the IMEI or the enrollment policy) or broke off the handshake earlier.
        """
        try:
            self._peer.receive(eap_message)
        except DynsubError as err:
            return err.message
        return "the network refused the onboarding registration"

    def _security_mode_command(self, command: m.SecurityModeCommand) -> Output:
        if command.eap_message is None:
            raise ProtocolError("SECURITY MODE COMMAND without EAP-Success")
        self._peer.receive(command.eap_message)  # refuses EAP-Success without the indication
        result = self._peer.result
        self._completed(f"mutual certificate authentication ({result.tls_version})")
        self.step = "security mode"
        self._kausf = result.kausf
        serving_network = keys.serving_network_name(*_plmn_of(result.peer_chain[0]))
        self._start_security(command, keys.kseaf(self._kausf, serving_network), self._supi)
        self._completed("NAS security: 128-NEA2, 128-NIA2")
        self.step = "registration"
        self._state = self._await_accept
        return self._out(m.SecurityModeComplete(), new_context=True)

    def _await_accept(self, message: m.Message) -> Output:
        self._expect(message, m.RegistrationAccept)
        self._completed("registered for onboarding services")
        self.step = "dialogue"
        self._state = self._await_offer
        return self._out(m.RegistrationComplete())

    def _payload(self, message: m.Message) -> d.Message | None:
        """The dialogue message in a DL NAS TRANSPORT; None after an ERROR (wait for the rest)."""
        if isinstance(message, m.DlNasTransport):
            payload = d.decode(message.payload_container)
            if isinstance(payload, d.Error):
                # docs/protocol.md: an ERROR says why in words; the DEREGISTRATION REQUEST
                # that follows says it as a 5GMM cause. Report both, so read on.
                self.refusal = Rejected(
                    f"the network refused: {payload.text}", MmCause.PROTOCOL_ERROR_UNSPECIFIED
                )
                self.refusal.step = self.step
                self._state = self._await_refusal_cause
                return None
            return payload
        self._expect(message, m.DlNasTransport)
        raise AssertionError("unreachable")

    def _await_refusal_cause(self, message: m.Message) -> Output:
        refusal = self.refusal
        assert refusal is not None
        if isinstance(message, m.DeregistrationRequestUeTerminated) and message.cause is not None:
            raise Rejected(
                f"{refusal.message}; de-registered with {cause_text(message.cause)}",
                message.cause,
            )
        raise refusal

    def _await_offer(self, message: m.Message) -> Output:
        offer = self._payload(message)
        if offer is None:
            return self._out()
        if not isinstance(offer, d.Offer):
            raise UnexpectedMessage(f"expected the OFFER, got {offer.kind.name}")
        choice = d.Choice(
            self._choices.service_type or offer.default_service_type,
            self._choices.plan or offer.default_plan,
            self._choices.billing,
        )
        self._completed(f"offer received; chose service {choice.service_type}, plan {choice.plan}")
        self._state = self._await_key_request
        return self._out(_transport(choice))

    def _await_key_request(self, message: m.Message) -> Output:
        request = self._payload(message)
        if request is None:
            return self._out()
        if not isinstance(request, d.KeyRequest):
            raise UnexpectedMessage(f"expected KEY_REQUEST, got {request.kind.name}")
        self.step = "key generation"
        self._network_nonce = request.network_nonce
        self._ue_nonce = self._random(subscription.NONCE_LENGTH)
        self._k = subscription.derive_subscription_key(
            self._kausf, self._network_nonce, self._ue_nonce
        )
        confirmation = subscription.key_confirmation(self._k, self._network_nonce, self._ue_nonce)
        self._completed("subscription key K generated; confirmation sent")
        self._state = self._await_subscription
        return self._out(_transport(d.KeyResponse(self._ue_nonce, confirmation)))

    def _await_subscription(self, message: m.Message) -> Output:
        sub = self._payload(message)
        if sub is None:
            return self._out()
        if not isinstance(sub, d.Subscription):
            raise UnexpectedMessage(f"expected SUBSCRIPTION, got {sub.kind.name}")
        subscription.verify_network_confirmation(
            self._k, self._network_nonce, self._ue_nonce, sub.supi, sub.confirmation
        )
        self._result = UeState(
            supi=sub.supi,
            imei=self._device.imei,
            mcc=sub.mcc,
            mnc=sub.mnc,
            routing_indicator=sub.routing_indicator,
            k=self._k,
            opc=sub.opc,
            amf=sub.amf,
            sqn_ms=0,
            home_network_keys=tuple(
                HomeNetworkKey(k.scheme, k.key_id, k.public_key) for k in sub.home_network_keys
            ),
            allowed_nssai=tuple((s.sst, s.sd.hex() if s.sd else None) for s in sub.allowed_nssai),
            ambr_uplink_bps=sub.ambr_uplink_bps,
            ambr_downlink_bps=sub.ambr_downlink_bps,
            service_type=sub.service_type,
            plan=sub.plan,
        )
        self.step = "subscription"
        self._completed(f"subscription {sub.supi} received; the core committed the record")
        self._state = self._await_deregistration
        return self._out(_transport(d.Ack(sub.supi)))

    def _await_deregistration(self, message: m.Message) -> Output:
        self._expect(message, m.DeregistrationRequestUeTerminated)
        self.step = "deregistration"
        self._completed("onboarding services terminated (#93): re-registration required")
        self._done = True
        return self._out(m.DeregistrationAcceptUeTerminated())


def _transport(payload: d.Message) -> m.UlNasTransport:
    return m.UlNasTransport(PayloadContainerType(d.PAYLOAD_CONTAINER_TYPE), d.encode(payload))


_CORE_NAME = re.compile(
    r"[a-z0-9.-]*\.5gc\.mnc(?P<mnc>[0-9]{3})\.mcc(?P<mcc>[0-9]{3})\.3gppnetwork\.org"
)


def _plmn_of(core: x509.Certificate) -> tuple[str, str]:
    """MCC and MNC of the network, from the core certificate's 3GPP DNS name (TS 23.003 28.2).

    The UE learns the serving network from the certificate it has just authenticated: there
    is no broadcast channel on this transport, and the name is what the operator CA vouches
    for. A 2-digit MNC is written with a leading zero in the name; the serving network name
    (TS 24.501 9.12.1) pads it the same way, so either reading derives the same key.
    """
    try:
        names = core.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as err:
        raise AuthenticationError("the core's certificate has no subjectAltName") from err
    for name in names.get_values_for_type(x509.DNSName):
        found = _CORE_NAME.fullmatch(name)
        if found:
            return found["mcc"], found["mnc"]
    raise AuthenticationError(
        "the core's certificate names no 3GPP network (…5gc.mncNNN.mccNNN.3gppnetwork.org)"
    )


# --- normal registration -------------------------------------------------------------------


class Registration(Procedure[UeState]):
    """A normal registration with the generated subscription; the result is the updated state
    (SQN), which the shell saves as soon as 5G AKA has accepted a new SQN."""

    def __init__(self, state: UeState, *, random: Callable[[int], bytes] | None = None) -> None:
        super().__init__()
        self._state_value = state
        key = state.preferred_key()
        if key is None:
            raise ProtocolError("the state file holds no home network key to conceal the SUPI")
        concealed = suci.conceal(
            state.supi,
            scheme=suci.Scheme(key.scheme),
            hn_public_key=key.public_key,
            hn_key_id=key.key_id,
            routing_indicator=state.routing_indicator,
            mnc_length=len(state.mnc),
            **({"eph_private_key": random(32)} if random is not None else {}),
        )
        self._identity = Suci(
            concealed.mcc,
            concealed.mnc,
            concealed.routing_indicator,
            concealed.protection_scheme,
            concealed.hn_key_id,
            concealed.scheme_output,
        )
        self._serving_network = keys.serving_network_name(state.mcc, state.mnc)
        self._kseaf = b""
        self._handler: Callable[[m.Message], Output] = self._await_challenge

    @property
    def state(self) -> UeState:
        """The UE state as it stands now (the SQN moves on with every accepted challenge)."""
        return self._state_value

    def start(self) -> Output:
        self.step = "registration"
        request = m.RegistrationRequest(
            RegistrationType(RegistrationTypeValue.INITIAL),
            self._identity,
            ue_security_capability=CAPABILITY,
        )
        return self._out(request)

    def _handle(self, message: m.Message) -> Output:
        return self._handler(message)

    def _await_challenge(self, message: m.Message) -> Output:
        if isinstance(message, m.SecurityModeCommand) and self._kseaf:
            return self._security_mode_command(message)
        self._expect(message, m.AuthenticationRequest)
        assert isinstance(message, m.AuthenticationRequest)
        if message.rand is None or message.autn is None:
            raise ProtocolError("AUTHENTICATION REQUEST without RAND/AUTN (expected 5G AKA)")
        self.step = "5G AKA"
        state = self._state_value
        try:
            result = aka.ue_authenticate(
                state.k, state.opc, message.rand, message.autn, self._serving_network, state.sqn_ms
            )
        except SynchronisationFailure as err:
            self._completed("SQN out of range: resynchronisation requested (AUTS)")
            return self._out(m.AuthenticationFailure(MmCause.SYNCH_FAILURE, auts=err.auts))
        except MacFailure:
            self.error_response = self._pdu(m.AuthenticationFailure(MmCause.MAC_FAILURE))
            raise
        except Non5GAuthentication:
            self.error_response = self._pdu(
                m.AuthenticationFailure(MmCause.NON_5G_AUTHENTICATION_UNACCEPTABLE)
            )
            raise
        self._state_value = state.with_sqn(result.sqn)
        self._kseaf = result.kseaf
        self._completed(f"network authenticated (SQN {result.sqn}); RES* sent")
        return self._out(m.AuthenticationResponse(res_star=result.res_star))

    def _security_mode_command(self, command: m.SecurityModeCommand) -> Output:
        self.step = "security mode"
        self._start_security(command, self._kseaf, self._state_value.supi)
        self._completed("NAS security: 128-NEA2, 128-NIA2")
        self.step = "registration"
        self._handler = self._await_accept
        return self._out(m.SecurityModeComplete(), new_context=True)

    def _await_accept(self, message: m.Message) -> Output:
        self._expect(message, m.RegistrationAccept)
        self._completed("registered: ready for service")
        self._result = self._state_value
        self.step = "deregistration"
        self._handler = self._await_deregistration_accept
        return self._out(
            m.RegistrationComplete(),
            m.DeregistrationRequestUeOriginating(DeregistrationType(), self._identity),
        )

    def _await_deregistration_accept(self, message: m.Message) -> Output:
        self._expect(message, m.DeregistrationAcceptUeOriginating)
        self._completed("de-registered")
        self._done = True
        return self._out()
