"""Onboarding with the factory certificate: EAP, security mode, registration for onboarding
services, and the subscription-generation dialogue that commits the record.

Theory of operation. The session starts the engine with the SNPN onboarding REGISTRATION
REQUEST. The engine relays EAP between the UE and the EAP server of the seam (the built-in AUSF
or an AAA server), then applies the device policy (core.policy) to the identity that server
authenticated, takes KAUSF from its keys and runs security mode. Registered for onboarding
services only, the UE is offered service types and plans (core.provisioning); its choice is
checked, K generated on both sides, the record committed in one transaction before the UE
hears of it, and the UE is finally de-registered to come back as an ordinary subscriber.

The transitions (docs/architecture.md shows the same table; a test keeps the two equal):

=============  ================================  =============  ==================
phase          message                           handler        then
=============  ================================  =============  ==================
EAP            AuthenticationResponse            _eap_response  EAP, SECURITY_MODE
SECURITY_MODE  SecurityModeComplete              _secured       REGISTERING
SECURITY_MODE  SecurityModeReject                _not_secured   (refused)
REGISTERING    RegistrationComplete              _registered    OFFERED
OFFERED        Choice                            _choice        KEY_REQUESTED
KEY_REQUESTED  KeyResponse                       _key_response  PROVISIONED
PROVISIONED    Ack                               _ack           DEREGISTERING
OFFERED        Error                             _ue_error      (refused)
KEY_REQUESTED  Error                             _ue_error      (refused)
PROVISIONED    Error                             _ue_error      (refused)
DEREGISTERING  DeregistrationAcceptUeTerminated  _deregistered  DONE
=============  ================================  =============  ==================

(Choice, KeyResponse, Ack and Error are dialogue payloads in UL NAS TRANSPORT.)
"""

from __future__ import annotations

from enum import Enum, auto

from dynsub_cli.core import hooks, policy, provisioning
from dynsub_cli.core.network import Network
from dynsub_cli.core.procedure import (
    ABBA,
    NGKSI,
    Connection,
    Procedure,
    Refused,
    capability_of,
    transition,
)
from dynsub_cli.core.refusals import Refusal, for_certificate
from dynsub_cli.core.server import Output
from dynsub_cli.eap import packet as eap
from dynsub_cli.eap.server import Authenticated, EapServer
from dynsub_cli.errors import CertificateRefused, DecodeError, DynsubError, ServiceUnavailable
from dynsub_cli.nas import dialogue as d
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import MmCause, PayloadContainerType
from dynsub_cli.nas.ies import DeregistrationType, RegistrationResult, UeSecurityCapability
from dynsub_cli.pki.verify import DeviceIdentity
from dynsub_cli.security import keys, subscription
from dynsub_cli.store import EventKind, EventOutcome, Service


class Phase(Enum):
    EAP = auto()
    SECURITY_MODE = auto()
    REGISTERING = auto()
    OFFERED = auto()
    KEY_REQUESTED = auto()
    PROVISIONED = auto()
    DEREGISTERING = auto()
    DONE = auto()


class Onboarding(Procedure):
    step = "onboarding"
    refused_kind = EventKind.ONBOARDING_REFUSED

    # Set by the handler of one phase for the phases after it (the table orders them).
    _device: DeviceIdentity
    _kausf: bytes
    _service: Service
    _network_nonce: bytes

    def __init__(
        self, connection: Connection, eap_server: EapServer, capability: UeSecurityCapability
    ) -> None:
        super().__init__(connection, Phase.EAP)
        self._eap = eap_server
        self._capability = capability
        self._failure: bytes | None = None

    @classmethod
    async def start(
        cls, connection: Connection, request: m.RegistrationRequest, nai: str
    ) -> tuple[Onboarding, Output]:
        """Take the onboarding REGISTRATION REQUEST of the device ``connection.imei``."""
        capability = capability_of(request)
        eap_server = connection.network.eap_server(nai, connection.peer)
        engine = cls(connection, eap_server, capability)
        first = await engine._eap.start()
        await connection.event(EventKind.ONBOARDING_ATTEMPT, EventOutcome.SUCCESS, "EAP started")
        connection.note("eap-tls", "onboarding: EAP-TLS started")
        return engine, connection.send(m.AuthenticationRequest(NGKSI, ABBA, eap_message=first))

    @property
    def eap_failure(self) -> bytes | None:
        return self._failure or self._eap.failure

    def received(self, message: m.Message) -> object:
        if isinstance(message, m.UlNasTransport):
            if message.payload_container_type != d.PAYLOAD_CONTAINER_TYPE:
                raise DecodeError(
                    f"UL NAS TRANSPORT with payload container type "
                    f"{int(message.payload_container_type)}, not the dialogue's"
                )
            return d.decode(message.payload_container)
        return message

    # --- EAP and security mode ----------------------------------------------------------

    async def _eap_response(self, message: m.AuthenticationResponse) -> tuple[Phase, Output]:
        if message.eap_message is None:
            raise DecodeError("AUTHENTICATION RESPONSE without an EAP message")
        try:
            step = await self._eap.receive(message.eap_message)
        except CertificateRefused as err:
            raise Refused(for_certificate(err), err.message) from err
        except ServiceUnavailable:
            raise
        except DynsubError as err:
            raise Refused(Refusal.EAP_TLS_FAILED, err.message) from err
        conn = self.connection
        if step.result is None:
            request = m.AuthenticationRequest(NGKSI, ABBA, eap_message=step.packet)
            return Phase.EAP, conn.send(request)
        await self._admit(step.result, step.packet)
        conn.note("eap-tls", f"device {conn.imei} authenticated ({step.result.description})")
        kseaf = keys.kseaf(step.result.kausf, conn.network.serving_network)
        self._device = step.result.identity
        self._kausf = step.result.kausf
        out = conn.security_mode(kseaf, conn.supi or "", self._capability, eap_success=step.packet)
        return Phase.SECURITY_MODE, out

    async def _admit(self, result: Authenticated, success: bytes) -> None:
        # RFC 3748 4.2: the EAP-Failure that replaces the Success answers the same response.
        self._failure = eap.failure(eap.decode(success).identifier)
        await policy.admit(self.connection, result.identity)
        self.connection.authenticated = True

    async def _secured(self, message: m.SecurityModeComplete) -> tuple[Phase, Output]:
        self.connection.note("security-mode", "NAS security established (128-NEA2, 128-NIA2)")
        # Registered for onboarding services only: no allowed NSSAI (TS 23.501 5.30.2.10.2).
        return Phase.REGISTERING, self.connection.send(m.RegistrationAccept(RegistrationResult()))

    async def _not_secured(self, message: m.SecurityModeReject) -> tuple[Phase, Output]:
        raise Refused(Refusal.EAP_TLS_FAILED, f"UE rejected security mode #{int(message.cause)}")

    async def _registered(self, message: m.RegistrationComplete) -> tuple[Phase, Output]:
        self.connection.note("registration", "registered for onboarding services; offer sent")
        return Phase.OFFERED, self.connection.send(_transport(provisioning.offer(self._net)))

    # --- the subscription-generation dialogue -------------------------------------------

    @property
    def _net(self) -> Network:
        return self.connection.network

    async def _choice(self, choice: d.Choice) -> tuple[Phase, Output]:
        try:
            self._service = provisioning.accept(self._net, choice)
        except provisioning.NotAccepted as err:
            raise Refused(err.refusal, err.message, dialogue_cause=err.cause) from err
        if self._net.onboarding_hook is not None:  # the operator's say, before the commit
            self._service = await hooks.consult(
                self.connection, self._net.onboarding_hook, self._device, choice, self._service
            )
        self._network_nonce = self.connection.random(subscription.NONCE_LENGTH)
        self.connection.note(
            "dialogue", f"service {choice.service_type}, plan {choice.plan} accepted"
        )
        return Phase.KEY_REQUESTED, self.connection.send(
            _transport(d.KeyRequest(self._network_nonce))
        )

    async def _key_response(self, response: d.KeyResponse) -> tuple[Phase, Output]:
        conn = self.connection
        try:
            provisioned = await conn.store(
                provisioning.commit,
                self._net,
                self._device,
                self._service,
                kausf=self._kausf,
                network_nonce=self._network_nonce,
                response=response,
                peer=conn.peer,
            )
        except provisioning.NotAccepted as err:
            raise Refused(
                err.refusal, err.message, dialogue_cause=err.cause, told=err.told
            ) from err
        conn.supi = provisioned.message.supi
        conn.note("subscription", f"record {provisioned.outcome.value}: {conn.supi}")
        return Phase.PROVISIONED, conn.send(_transport(provisioned.message))

    async def _ack(self, ack: d.Ack) -> tuple[Phase, Output]:
        conn = self.connection
        if ack.supi != conn.supi:
            raise Refused(
                Refusal.UNEXPECTED_MESSAGE, f"ACK names {ack.supi}, the subscription is {conn.supi}"
            )
        conn.note("subscription", "UE stored the subscription; re-registration required")
        return Phase.DEREGISTERING, conn.send(
            m.DeregistrationRequestUeTerminated(
                DeregistrationType(re_registration_required=True),
                MmCause.ONBOARDING_SERVICES_TERMINATED,
            )
        )

    async def _ue_error(self, error: d.Error) -> tuple[Phase, Output]:
        refusal = (
            Refusal.KEY_CONFIRMATION_FAILED
            if error.cause is d.DialogueCause.KEY_CONFIRMATION_FAILED
            else Refusal.UNEXPECTED_MESSAGE
        )
        raise Refused(refusal, f"UE ended the dialogue: {error.text}")

    async def _deregistered(
        self, message: m.DeregistrationAcceptUeTerminated
    ) -> tuple[Phase, Output]:
        self.connection.note("deregistration", "onboarding complete")
        return Phase.DONE, Output(close=True)


def _transport(payload: d.Message) -> m.DlNasTransport:
    return m.DlNasTransport(PayloadContainerType(d.PAYLOAD_CONTAINER_TYPE), d.encode(payload))


Onboarding.TRANSITIONS = {
    (Phase.EAP, m.AuthenticationResponse): transition(
        Onboarding._eap_response, Phase.EAP, Phase.SECURITY_MODE
    ),
    (Phase.SECURITY_MODE, m.SecurityModeComplete): transition(
        Onboarding._secured, Phase.REGISTERING
    ),
    (Phase.SECURITY_MODE, m.SecurityModeReject): transition(Onboarding._not_secured),
    (Phase.REGISTERING, m.RegistrationComplete): transition(Onboarding._registered, Phase.OFFERED),
    (Phase.OFFERED, d.Choice): transition(Onboarding._choice, Phase.KEY_REQUESTED),
    (Phase.KEY_REQUESTED, d.KeyResponse): transition(Onboarding._key_response, Phase.PROVISIONED),
    (Phase.PROVISIONED, d.Ack): transition(Onboarding._ack, Phase.DEREGISTERING),
    (Phase.OFFERED, d.Error): transition(Onboarding._ue_error),
    (Phase.KEY_REQUESTED, d.Error): transition(Onboarding._ue_error),
    (Phase.PROVISIONED, d.Error): transition(Onboarding._ue_error),
    (Phase.DEREGISTERING, m.DeregistrationAcceptUeTerminated): transition(
        Onboarding._deregistered, Phase.DONE
    ),
}
