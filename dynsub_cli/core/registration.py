"""Registration of an onboarded UE for normal service: SUCI, 5G AKA, security mode, accept.

Theory of operation. The session starts the engine with an initial REGISTRATION REQUEST whose
SUCI hides an IMSI. The engine deconceals it with the home network keys (TS 33.501 C.3), takes
a fresh vector from the record (one store transaction steps SQN_HE and returns K and OPc), and
challenges the UE (TS 33.501 6.1.3.2). A UE whose SQN is ahead answers with AUTS; the network
resynchronises (TS 33.102 6.3.5) and challenges again. After security mode and REGISTRATION
ACCEPT the UE is registered: ready for service, until it de-registers or goes away.

The transitions (docs/architecture.md shows the same table; a test keeps the two equal):

=============  ==================================  ===============  =============
phase          message                             handler          then
=============  ==================================  ===============  =============
AKA            AuthenticationResponse              _aka_response    SECURITY_MODE
AKA            AuthenticationFailure               _aka_failure     AKA
SECURITY_MODE  SecurityModeComplete                _secured         REGISTERING
SECURITY_MODE  SecurityModeReject                  _not_secured     (refused)
REGISTERING    RegistrationComplete                _registered      REGISTERED
REGISTERED     DeregistrationRequestUeOriginating  _deregistration  DONE
=============  ==================================  ===============  =============
"""

from __future__ import annotations

from enum import Enum, auto

from cryptography import x509

from dynsub_cli.config.core import OnRevocation
from dynsub_cli.core import authentication
from dynsub_cli.core.procedure import (
    ABBA,
    NGKSI,
    Connection,
    Procedure,
    Refused,
    capability_of,
    transition,
)
from dynsub_cli.core.refusals import Refusal
from dynsub_cli.core.server import Output
from dynsub_cli.errors import AuthenticationError, DecodeError, DynsubError, NotFound
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import MmCause, ProtectionScheme
from dynsub_cli.nas.ies import RegistrationResult, SNssai, Suci, UeSecurityCapability
from dynsub_cli.security import aka, suci
from dynsub_cli.store import EventKind, EventOutcome, State, Subscription


class Phase(Enum):
    AKA = auto()
    SECURITY_MODE = auto()
    REGISTERING = auto()
    REGISTERED = auto()
    DONE = auto()


class Registration(Procedure):
    step = "registration"
    refused_kind = EventKind.REGISTRATION_REJECTED

    # Set by each challenge for the phases after it.
    _record: Subscription
    _vector: aka.AuthVector

    def __init__(self, connection: Connection, supi: str, capability: UeSecurityCapability) -> None:
        super().__init__(connection, Phase.AKA)
        self._supi = supi
        self._capability = capability

    @classmethod
    async def start(
        cls, connection: Connection, request: m.RegistrationRequest, identity: Suci
    ) -> tuple[Registration, Output]:
        net = connection.network
        if identity.protection_scheme == ProtectionScheme.NULL and net.home_network_keys:
            # TS 33.501 6.12.2: with keys provisioned, a SUPI travels concealed; answering a
            # null-scheme SUCI would tell a prober which SUPIs exist.
            raise Refused(Refusal.NULL_SCHEME, "the SUCI uses the null scheme")
        try:
            supi = suci.deconceal(suci.Suci.from_nas(identity), net.home_network_keys)
        except DynsubError as err:
            raise Refused(Refusal.SUCI_NOT_DECONCEALED, err.message) from err
        connection.supi = supi
        engine = cls(connection, supi, capability_of(request))
        return engine, await engine._challenge()

    @property
    def settled(self) -> bool:
        return self.phase is Phase.REGISTERED

    async def _challenge(self) -> Output:
        conn = self.connection
        net = conn.network
        if not net.challenges.allow(self._supi):
            # Anyone may conceal a SUPI with the public home network key: each challenge
            # steps the subscriber's SQN, so probes of one SUPI are bounded.
            raise Refused(Refusal.CHALLENGES_EXCEEDED, f"{self._supi}: challenge budget spent")
        try:
            record = await conn.store(conn.network.store.start_authentication, self._supi)
        except NotFound as err:
            raise Refused(Refusal.NO_SUBSCRIPTION, f"no subscription for {self._supi}") from err
        conn.imei = record.imei
        if record.state is State.REPLACED:
            raise Refused(
                Refusal.NO_SUBSCRIPTION, f"{self._supi} was replaced by {record.replaced_by}"
            )
        if record.state is State.SUSPENDED:
            raise Refused(Refusal.SUSPENDED, f"{self._supi} is suspended")
        await self._check_revocation(record)
        self._record = record
        self._vector = authentication.vector(conn.network, record, conn.random(16))
        conn.note("5g-aka", "challenge sent")
        request = m.AuthenticationRequest(
            NGKSI, ABBA, rand=self._vector.rand, autn=self._vector.autn
        )
        return conn.send(request)

    async def _check_revocation(self, record: Subscription) -> None:
        """A subscription lives no longer than the certificate it was created with."""
        net = self.connection.network
        if net.config.enrollment.on_revocation is OnRevocation.IGNORE or not net.revokes_any:
            return  # nothing to look up: no certificate to parse on the registration path
        why = net.revocation(x509.load_der_x509_certificate(record.certificate))
        if why is None:
            return
        reason = f"device certificate revoked: {why}"
        await self.connection.store(
            net.store.set_state, self._supi, State.SUSPENDED, reason=reason, peer="core"
        )
        raise Refused(Refusal.SUBSCRIPTION_REVOKED, f"{self._supi}: {reason}")

    async def _aka_response(self, message: m.AuthenticationResponse) -> tuple[Phase, Output]:
        if message.res_star is None:
            raise DecodeError("AUTHENTICATION RESPONSE without RES*")
        try:
            authentication.check_response(self._vector, message.res_star)
        except AuthenticationError as err:
            raise Refused(Refusal.WRONG_RES_STAR, err.message) from err
        conn = self.connection
        conn.authenticated = True
        conn.note("5g-aka", "RES* verified")
        return Phase.SECURITY_MODE, conn.security_mode(
            self._vector.kseaf, self._supi, self._capability
        )

    async def _aka_failure(self, message: m.AuthenticationFailure) -> tuple[Phase, Output]:
        if message.cause != MmCause.SYNCH_FAILURE or message.auts is None:
            raise Refused(
                Refusal.AKA_FAILED_AT_UE,
                f"UE answered AUTHENTICATION FAILURE #{int(message.cause)}",
            )
        try:
            sqn_ms = authentication.recover_sqn(self._record, self._vector.rand, message.auts)
        except AuthenticationError as err:
            raise Refused(Refusal.AKA_FAILED_AT_UE, err.message) from err
        conn = self.connection
        conn.authenticated = True  # AUTS carries MAC-S under K: the UE holds K
        await conn.store(conn.network.store.update_sqn, self._supi, sqn_ms)
        await conn.event(EventKind.RESYNCHRONISATION, EventOutcome.SUCCESS, f"SQN_MS {sqn_ms}")
        conn.note("5g-aka", f"resynchronised: SQN_MS {sqn_ms}")
        return Phase.AKA, await self._challenge()

    async def _secured(self, message: m.SecurityModeComplete) -> tuple[Phase, Output]:
        self.connection.note("security-mode", "NAS security established (128-NEA2, 128-NIA2)")
        record = self._record
        nssai = (SNssai(record.sst, int(record.sd, 16) if record.sd else None),)
        accept = m.RegistrationAccept(RegistrationResult(), allowed_nssai=nssai)
        return Phase.REGISTERING, self.connection.send(accept)

    async def _not_secured(self, message: m.SecurityModeReject) -> tuple[Phase, Output]:
        raise Refused(Refusal.EAP_TLS_FAILED, f"UE rejected security mode #{int(message.cause)}")

    async def _registered(self, message: m.RegistrationComplete) -> tuple[Phase, Output]:
        conn = self.connection
        await conn.event(EventKind.REGISTRATION, EventOutcome.SUCCESS, "5G AKA, registered")
        conn.note("registration", "registered for normal service")
        return Phase.REGISTERED, Output()

    async def _deregistration(
        self, message: m.DeregistrationRequestUeOriginating
    ) -> tuple[Phase, Output]:
        self.connection.note("deregistration", "UE de-registered")
        return Phase.DONE, self.connection.send(m.DeregistrationAcceptUeOriginating(), close=True)


Registration.TRANSITIONS = {
    (Phase.AKA, m.AuthenticationResponse): transition(
        Registration._aka_response, Phase.SECURITY_MODE
    ),
    (Phase.AKA, m.AuthenticationFailure): transition(Registration._aka_failure, Phase.AKA),
    (Phase.SECURITY_MODE, m.SecurityModeComplete): transition(
        Registration._secured, Phase.REGISTERING
    ),
    (Phase.SECURITY_MODE, m.SecurityModeReject): transition(Registration._not_secured),
    (Phase.REGISTERING, m.RegistrationComplete): transition(
        Registration._registered, Phase.REGISTERED
    ),
    (Phase.REGISTERED, m.DeregistrationRequestUeOriginating): transition(
        Registration._deregistration, Phase.DONE
    ),
}
