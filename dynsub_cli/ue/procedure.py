"""What the UE's procedures share: NAS security, sending, and the network's refusals.

Theory of operation. A procedure object (ue.onboarding.Onboarding, ue.registration.Registration)
takes NAS PDUs in and gives PDUs out, plus the steps it completed for the one who watches, and
its result when it has one. It never touches a socket or a file: the client shell (ue.client)
sends, receives, and writes the state file when the procedure says it may.

Every failure raises a DynsubError whose ``step`` names where it happened; a refusal by the
network is ``Rejected`` with its 5GMM cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from dynsub_cli.errors import (
    AuthenticationError,
    DynsubError,
    ProtocolError,
    Rejected,
    UnexpectedMessage,
)
from dynsub_cli.nas import codec
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import (
    CipheringAlgorithm,
    IntegrityAlgorithm,
    MmCause,
)
from dynsub_cli.nas.ies import (
    NasSecurityAlgorithms,
    UeSecurityCapability,
)
from dynsub_cli.security import keys
from dynsub_cli.security.channel import Channel, Plaintext
from dynsub_cli.security.nas import Role, SecurityContext, SecurityHeaderType, header_type

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


def cause_text(cause: int) -> str:
    try:
        name = MmCause(cause).name
    except ValueError:
        return f"5GMM cause #{cause}"
    return f"5GMM cause #{cause} ({name.lower().replace('_', ' ')})"


T = TypeVar("T")
M = TypeVar("M", bound=m.PlainMessage)


class Procedure(Generic[T]):
    """What both procedures share: NAS security, sending, and the network's refusals."""

    step = "registration"

    def __init__(self) -> None:
        self._channel = Channel(Role.UE)
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
        #: Told (protected PDU, its plaintext) for every PDU NAS security protects or opens,
        #: so that a trace can show what no capture can (ue.trace); nothing by default.

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

    @property
    def on_plaintext(self) -> Plaintext | None:
        """Called with (protected PDU, its plaintext) for every protected message, both ways,
        for the plaintext trace (ue.trace); None keeps them to the procedure."""
        return self._channel.on_plaintext

    @on_plaintext.setter
    def on_plaintext(self, tap: Plaintext | None) -> None:
        self._channel.on_plaintext = tap

    def _open(self, pdu: bytes) -> m.Message:
        message = self._channel.open(pdu)
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
        if (
            self._channel.secured
            and header_type(pdu) is SecurityHeaderType.PLAIN
            and not isinstance(message, m.RegistrationReject | m.AuthenticationReject | m.MmStatus)
        ):
            # TS 24.501 4.4.4.2: after security mode, only these may come unprotected.
            raise ProtocolError(f"{type(message).__name__} without NAS protection: refused")
        return message

    def _pdu(self, message: m.PlainMessage, *, new_context: bool = False) -> bytes:
        return self._channel.seal(message, new_context=new_context)

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

    def _expect(self, message: m.Message, kind: type[M]) -> M:
        """``message`` as a ``kind``; the network's refusal, or UnexpectedMessage, if not."""
        self._refused_by_network(message)
        if not isinstance(message, kind):
            raise UnexpectedMessage(
                f"expected {kind.__name__}, the network sent {type(message).__name__}"
            )
        return message

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
        self._channel.secure(context)
