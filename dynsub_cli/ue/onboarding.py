"""Onboarding with the factory certificate: the UE's side of the seed flow, on one connection.

    -> REGISTRATION REQUEST (initial, onboarding SUCI)   <- REGISTRATION REJECT #74
    -> REGISTRATION REQUEST (SNPN onboarding)            <- AUTHENTICATION REQUEST (EAP) ...
    ... EAP-TLS ...                                      <- SECURITY MODE COMMAND (EAP-Success)
    -> SECURITY MODE COMPLETE                            <- REGISTRATION ACCEPT
    -> REGISTRATION COMPLETE                             <- DL NAS TRANSPORT: OFFER
    -> UL NAS TRANSPORT: CHOICE                          <- DL NAS TRANSPORT: KEY_REQUEST
    -> UL NAS TRANSPORT: KEY_RESPONSE                    <- DL NAS TRANSPORT: SUBSCRIPTION
    -> UL NAS TRANSPORT: ACK                             <- DEREGISTRATION REQUEST #93
    -> DEREGISTRATION ACCEPT                                done

The result, the UE state, exists once the SUBSCRIPTION arrived and the core's key
confirmation checked out: the shell saves it before the ACK leaves.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509

from dynsub_cli.eap.tls import Peer
from dynsub_cli.errors import (
    AuthenticationError,
    DynsubError,
    IntegrityError,
    ProtocolError,
    Rejected,
    UnexpectedMessage,
)
from dynsub_cli.nas import dialogue as d
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import (
    MmCause,
    PayloadContainerType,
    RegistrationTypeValue,
)
from dynsub_cli.nas.ies import (
    RegistrationType,
    SuciNai,
)
from dynsub_cli.pki import verify
from dynsub_cli.security import keys, subscription, suci
from dynsub_cli.ue.device import Device
from dynsub_cli.ue.procedure import CAPABILITY, Output, Procedure, cause_text
from dynsub_cli.ue.state import UeState


@dataclass(frozen=True, slots=True)
class Choices:
    """What the UE asks for in the dialogue; None takes the core's default."""

    service_type: str | None = None
    plan: str | None = None
    billing: tuple[tuple[str, str], ...] = ()


DEFAULT_CHOICES = Choices()


class Onboarding(Procedure[UeState]):
    def __init__(
        self,
        device: Device,
        choices: Choices = DEFAULT_CHOICES,
        *,
        verify_core: Callable[[Sequence[x509.Certificate]], None] | None = None,
        random: Callable[[int], bytes] = secrets.token_bytes,
        keylog: Callable[[bytes], None] | None = None,
    ) -> None:
        """``keylog`` receives the TLS secrets as NSS key log lines, for Wireshark to decrypt
        the EAP-TLS exchange; None (the default) keeps them in memory only."""
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
            keylog=keylog,
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
        message = self._expect(message, m.AuthenticationRequest)
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
        if response is None:
            raise ProtocolError("EAP-Success inside AUTHENTICATION REQUEST (TS 24.501 5.4.1.2)")
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
        serving_network = keys.serving_network_name(*_plmn_of(result.peer_chain[0]))
        # docs/protocol.md "KAUSF": EMSK[0:32] from the built-in AUSF (TS 33.501 B.2.1.1),
        # MSK[0:32] from an AAA server (I.2.2.2.2 step 14); the command's MAC says which.
        candidates = (result.kausf, result.msk[:32])
        for kausf in candidates:
            try:
                self._start_security(command, keys.kseaf(kausf, serving_network), self._supi)
            except IntegrityError:
                if kausf is candidates[-1]:
                    raise
                continue
            self._kausf = kausf
            break
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
                    f"the network refused: {payload.text}",
                    MmCause.PROTOCOL_ERROR_UNSPECIFIED,
                    # The core names the billing fields; what to give is ours to say.
                    parameter=(
                        "billing"
                        if payload.cause is d.DialogueCause.MISSING_BILLING_INFORMATION
                        else None
                    ),
                )
                self.refusal.step = self.step
                self._state = self._await_refusal_cause
                return None
            return payload
        self._refused_by_network(message)
        raise UnexpectedMessage(
            f"expected DL NAS TRANSPORT, the network sent {type(message).__name__}"
        )

    def _await_refusal_cause(self, message: m.Message) -> Output:
        refusal = self.refusal
        if refusal is None:
            raise ProtocolError("no dialogue ERROR to report")
        if isinstance(message, m.DeregistrationRequestUeTerminated) and message.cause is not None:
            raise Rejected(
                f"{refusal.message}; de-registered with {cause_text(message.cause)}",
                message.cause,
                parameter=refusal.parameter,
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
            home_network_keys=sub.home_network_keys,
            allowed_nssai=tuple(
                (s.sst, None if s.sd is None else f"{s.sd:06x}") for s in sub.allowed_nssai
            ),
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
