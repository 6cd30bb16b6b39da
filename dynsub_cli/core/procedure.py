"""What the core's procedures share: the connection they run on, their transition tables, and
refusal as control flow.

Each procedure is a small engine (core.onboarding.Onboarding, core.registration.Registration):
a phase, and a table ``TRANSITIONS`` that maps (phase, message type) to the handler and the
phases it may move to. The table is the procedure: :meth:`Procedure.receive` looks the message
up, calls the handler, and checks that the handler moved where the table says it may. A message
the table does not list for the phase is ``UnexpectedMessage``; a refusal is ``Refused``. Both
end in the session (core.session), the one place that answers, logs and audits failures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, ParamSpec, TypeVar

from dynsub_cli.core.network import Network
from dynsub_cli.core.refusals import Refusal
from dynsub_cli.core.server import Output
from dynsub_cli.errors import UnexpectedMessage
from dynsub_cli.nas import dialogue as d
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import CipheringAlgorithm, IntegrityAlgorithm, MmCause
from dynsub_cli.nas.ies import NasSecurityAlgorithms, NgKsi, UeSecurityCapability
from dynsub_cli.security import keys
from dynsub_cli.security.channel import Channel
from dynsub_cli.security.nas import Role, SecurityContext
from dynsub_cli.store import EventOutcome

#: TS 33.501 A.7.1: ABBA 0x0000 (no features yet); both sides put it into KAMF.
ABBA = b"\x00\x00"
#: The ngKSI the core assigns to the security context it establishes.
NGKSI = NgKsi(0)
#: The algorithms the core selects (TS 33.501 5.5.2): the only pair it implements.
ALGORITHMS = NasSecurityAlgorithms(CipheringAlgorithm.EA2, IntegrityAlgorithm.IA2)

T = TypeVar("T")
A = ParamSpec("A")


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
    #: The procedure running (``Procedure.step``), None before one starts: what the metrics
    #: (core.metrics) count onboardings and registrations by.
    procedure: str | None = None
    #: The refusal's name (``Refusal``, lower case) on the line that ends a refused session.
    refusal: str | None = None
    #: How long the step took, for steps that wait on something outside (the hook).
    seconds: float | None = None


class Refused(Exception):
    """Stop the procedure with this refusal (the session answers, logs and audits it)."""

    def __init__(
        self,
        refusal: Refusal,
        detail: str,
        *,
        cause: MmCause | None = None,
        dialogue_cause: d.DialogueCause | None = None,
        told: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.refusal = refusal
        #: The 5GMM cause sent: the table's, unless the fault itself names one.
        self.cause = cause if cause is not None else refusal.cause
        self.detail = detail  # for the log and the audit trail
        self.dialogue_cause = dialogue_cause
        #: What the UE reads in a dialogue ERROR: never the operator's files or settings.
        self.told = told if told is not None else detail


class Connection:
    """One UE's NAS connection as the procedures see it: the network, the NAS channel, who the
    UE is as far as the core knows, and the log and audit trail it writes to."""

    def __init__(
        self,
        network: Network,
        peer: str,
        *,
        log: Callable[[LogRecord], None],
        random: Callable[[int], bytes],
    ) -> None:
        self.network = network
        self.peer = peer
        self.channel = Channel(Role.NETWORK)
        self.random = random
        self._log = log
        #: The device and subscription this connection is about: claimed by the UE until a
        #: procedure has authenticated them (``authenticated``).
        self.imei: str | None = None
        self.supi: str | None = None
        self.authenticated = False
        #: The step name of the procedure running on this connection, once one has started.
        self.procedure: str | None = None

    def note(
        self,
        step: str,
        message: str,
        outcome: str = "ok",
        cause: int | None = None,
        *,
        refusal: str | None = None,
        seconds: float | None = None,
    ) -> None:
        self._log(
            LogRecord(
                self.peer,
                step,
                outcome,
                message,
                self.imei,
                self.supi,
                cause,
                self.procedure,
                refusal,
                seconds,
            )
        )

    async def store(self, call: Callable[A, T], *args: A.args, **kwargs: A.kwargs) -> T:
        """Run one store call in a worker thread: a slow store never stalls other UEs."""
        return await asyncio.to_thread(call, *args, **kwargs)

    async def event(self, kind: str, outcome: EventOutcome, reason: str) -> None:
        """One audit event about this connection's device and subscription.

        Once the UE has authenticated, the event names its device and subscription and is
        committed before the UE hears more. Before, the identity is only the UE's claim: the
        event names no device (so nobody can write refusals into another device's trail), says
        what was claimed, and is written in the background within a budget (core.audit).
        """
        supi = self.supi if self.supi and self.supi.startswith("imsi-") else None
        audit = self.network.audit
        if self.authenticated:
            await audit.write(
                kind, outcome, imei=self.imei, supi=supi, reason=reason, peer=self.peer
            )
            return
        claims = [f"IMEI {self.imei}"] if self.imei else []
        claims += [f"SUPI {supi}"] if supi else []
        if claims:
            reason = f"{reason} (claimed {' and '.join(claims)}, not authenticated)"
        audit.write_soon(kind, outcome, imei=None, supi=None, reason=reason, peer=self.peer)

    def send(self, *messages: m.PlainMessage, close: bool = False) -> Output:
        return Output(tuple(self.channel.seal(message) for message in messages), close)

    def security_mode(
        self,
        kseaf: bytes,
        supi: str,
        capability: UeSecurityCapability,
        *,
        eap_success: bytes | None = None,
    ) -> Output:
        """TS 33.501 6.7.2: KAMF and the NAS keys, then SECURITY MODE COMMAND under them."""
        kamf = keys.kamf(kseaf, supi, ABBA)
        self.channel.secure(SecurityContext.from_kamf(Role.NETWORK, kamf))
        command = m.SecurityModeCommand(
            ALGORITHMS, NGKSI, capability, eap_message=eap_success, abba=ABBA
        )
        return Output((self.channel.seal(command, new_context=True),))


def capability_of(request: m.RegistrationRequest) -> UeSecurityCapability:
    """The UE's security capability, if it has the algorithms the core selects."""
    capability = request.ue_security_capability
    if capability is None or not (
        capability.supports_ea(ALGORITHMS.ciphering)
        and capability.supports_ia(ALGORITHMS.integrity)
    ):
        raise Refused(Refusal.SECURITY_CAPABILITIES, "the UE lacks 128-NEA2/128-NIA2")
    return capability


P = TypeVar("P", bound=Enum)
Handler = Callable[[Any, Any], Awaitable[tuple[Any, Output]]]


@dataclass(frozen=True)
class Transition:
    """What a message does in a phase: the handler that takes it, the phases it may lead to."""

    handler: Handler
    then: frozenset[Enum]


def transition(handler: Handler, *then: Enum) -> Transition:
    return Transition(handler, frozenset(then))


class Procedure:
    """An engine driven by its ``TRANSITIONS`` table; subclasses define phases and handlers."""

    TRANSITIONS: ClassVar[Mapping[tuple[Enum, type], Transition]]
    #: The step named in log lines and refusals while this procedure runs.
    step: ClassVar[str]
    #: The audit kind of a refusal during this procedure.
    refused_kind: ClassVar[str]

    def __init__(self, connection: Connection, phase: Enum) -> None:
        self.connection = connection
        self.phase = phase
        connection.procedure = self.step

    @property
    def settled(self) -> bool:
        """True between procedures' steps where the UE may go away (registered)."""
        return False

    @property
    def eap_failure(self) -> bytes | None:
        """The EAP-Failure a REGISTRATION REJECT carries, for procedures that run EAP."""
        return None

    def received(self, message: m.Message) -> object:
        """What the table is keyed on: the message, or a payload it carries."""
        return message

    async def receive(self, message: m.Message) -> Output:
        key = self.received(message)
        step = self.TRANSITIONS.get((self.phase, type(key)))
        if step is None:
            raise UnexpectedMessage(
                f"{type(key).__name__} is not expected in phase {self.phase.name} of {self.step}"
            )
        phase, out = await step.handler(self, key)
        if phase not in step.then:
            # A handler went where its table row does not lead: our bug, not the UE's.
            raise RuntimeError(
                f"{self.step}: {type(key).__name__} moved {self.phase.name} to {phase.name}, "
                "which the transition table does not allow"
            )
        self.phase = phase
        return out
