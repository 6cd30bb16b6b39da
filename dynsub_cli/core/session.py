"""The core's side of one NAS connection: picks the procedure, and is where every failure ends.

Theory of operation. A session takes NAS PDUs in (``receive``) and gives PDUs out, with whether
to close the connection (:class:`~dynsub_cli.core.procedure.Output`); it touches no socket or
file, and reaches the store and the EAP server only through the seams in ``Network``. The first
REGISTRATION REQUEST chooses what the connection is for:

- *initial* with the device's onboarding SUCI (a NAI, null scheme): there is no subscription
  yet, so the core answers REGISTRATION REJECT #74, the documented signal to start subscription
  generation, and waits for the onboarding request on the same connection (INVITED);
- *SNPN onboarding* (type 5) with that SUCI: the onboarding engine (core.onboarding);
- *initial* with a SUCI of an IMSI: the registration engine (core.registration).

The session then hands each message to that engine. Every failure, a refusal the engine raised
or any error it did not expect, ends in :meth:`CoreSession._refuse`: the UE gets an answer (the
refusal table's, core.refusals), the core writes one log line and one audit event, and the
session is over; the core goes on serving everyone else.

"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from enum import Enum, auto

from dynsub_cli.core import policy
from dynsub_cli.core.network import Network
from dynsub_cli.core.onboarding import Onboarding
from dynsub_cli.core.procedure import Connection, LogRecord, Procedure, Refused
from dynsub_cli.core.refusals import Answer, Refusal, for_error
from dynsub_cli.core.registration import Registration
from dynsub_cli.core.server import Output
from dynsub_cli.errors import (
    DynsubError,
    NetworkError,
    UnexpectedMessage,
)
from dynsub_cli.nas import dialogue as d
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import PayloadContainerType, RegistrationTypeValue, SecurityHeaderType
from dynsub_cli.nas.ies import DeregistrationType, Suci, SuciNai
from dynsub_cli.security import suci
from dynsub_cli.security.nas import header_type
from dynsub_cli.store import EventKind, EventOutcome


class Phase(Enum):
    IDLE = auto()
    INVITED = auto()  # told to start subscription generation; the onboarding request is next
    PROCEDURE = auto()
    CLOSED = auto()


class CoreSession:
    def __init__(
        self,
        network: Network,
        peer: str,
        *,
        log: Callable[[LogRecord], None] = lambda record: None,
        random: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._conn = Connection(network, peer, log=log, random=random)
        self._procedure: Procedure | None = None
        self.phase = Phase.IDLE

    @property
    def network(self) -> Network:
        return self._conn.network

    # --- the interface of core.server.Session ------------------------------------------

    async def receive(self, pdu: bytes) -> Output:
        if self.phase is Phase.CLOSED:
            return Output(close=True)
        try:
            message = self._open(pdu)
            if self._procedure is None:
                return await self._first(message)
            out = await self._procedure.receive(message)
        except Refused as refused:
            return await self._refuse(refused)
        except Exception as err:
            return await self._refuse(_refused_for(err))
        if out.close:
            self.phase = Phase.CLOSED
        return out

    async def fail(self, problem: DynsubError) -> Output:
        """The transport failed (timeout, bad frame, connection lost): log, audit, answer."""
        settled = self._procedure is None or self._procedure.settled
        if isinstance(problem, NetworkError) and settled and self.phase is not Phase.INVITED:
            # Between procedures a UE may simply go away.
            self.phase = Phase.CLOSED
            return Output(close=True)
        refused = _refused_for(problem)
        if refused.refusal is Refusal.INTERNAL_ERROR and isinstance(problem, NetworkError):
            refused = Refused(Refusal.CONNECTION_LOST, problem.message)
        return await self._refuse(refused)

    # --- the first message: which procedure this connection is for ----------------------

    def _open(self, pdu: bytes) -> m.Message:
        channel = self._conn.channel
        if channel.secured and header_type(pdu) is SecurityHeaderType.PLAIN:
            raise Refused(Refusal.NOT_PROTECTED, "plain NAS message after security mode")
        message = channel.open(pdu)
        if isinstance(message, m.SecurityProtected):
            raise UnexpectedMessage("a protected NAS message before security mode")
        return message

    async def _first(self, message: m.Message) -> Output:
        if not isinstance(message, m.RegistrationRequest):
            raise UnexpectedMessage(
                f"{type(message).__name__} is not expected in phase {self.phase.name}"
            )
        conn = self._conn
        kind = message.registration_type.value
        identity = message.mobile_identity
        onboarding = kind in (RegistrationTypeValue.INITIAL, RegistrationTypeValue.SNPN_ONBOARDING)
        if isinstance(identity, SuciNai) and onboarding:
            if kind is RegistrationTypeValue.INITIAL and self.phase is not Phase.IDLE:
                raise UnexpectedMessage("a second initial REGISTRATION REQUEST on one connection")
            conn.imei, conn.supi = _onboarding_identity(identity)
            await policy.check_reonboarding(conn)
            if kind is RegistrationTypeValue.INITIAL:
                return await self._invite()
            self._procedure, out = await Onboarding.start(conn, message, identity.nai)
        elif isinstance(identity, Suci) and kind is RegistrationTypeValue.INITIAL:
            self._procedure, out = await Registration.start(conn, message, identity)
        else:
            raise Refused(
                Refusal.SUCI_NOT_DECONCEALED,
                f"registration type {kind.name} with identity {type(identity).__name__} "
                "is not served",
            )
        self.phase = Phase.PROCEDURE
        return out

    async def _invite(self) -> Output:
        """No subscription for this identity: tell the UE to start subscription generation."""
        conn = self._conn
        await conn.event(EventKind.REGISTRATION_REJECTED, EventOutcome.FAILURE, "no subscription")
        conn.note("registration", "no subscription record: start subscription generation")
        self.phase = Phase.INVITED
        # The connection stays open for the onboarding registration that follows.
        return conn.send(m.RegistrationReject(Refusal.NO_SUBSCRIPTION.cause))

    # --- the end of every failure -------------------------------------------------------

    async def _refuse(self, refused: Refused) -> Output:
        conn = self._conn
        refusal = refused.refusal
        self.phase = Phase.CLOSED
        conn.note(
            refusal.step,
            f"{refusal.meaning}: {refused.detail}",
            "refused",
            int(refused.cause),
            refusal=refusal.name.lower(),
        )
        procedure = self._procedure
        kind = procedure.refused_kind if procedure is not None else EventKind.REGISTRATION_REJECTED
        try:
            await conn.event(
                kind, EventOutcome.FAILURE, f"{refusal.name.lower()}: {refused.detail}"
            )
        except Exception as err:
            conn.note("audit", f"audit event not written: {_describe(err)}", "failed")
        try:
            return Output(self._answer(refused), close=True)
        except Exception as err:
            conn.note("answer", f"no answer sent: {_describe(err)}", "failed")
            return Output(close=True)

    def _answer(self, refused: Refused) -> tuple[bytes, ...]:
        conn = self._conn
        answer = refused.refusal.answer
        registered = self._procedure is not None and conn.channel.secured
        if answer is Answer.ABORT:
            answer = Answer.DEREGISTRATION if registered else Answer.REGISTRATION_REJECT
        if answer is Answer.REGISTRATION_REJECT:
            failure = self._procedure.eap_failure if self._procedure is not None else None
            return conn.send(m.RegistrationReject(refused.cause, eap_message=failure)).pdus
        if answer is Answer.AUTHENTICATION_REJECT:
            return conn.send(m.AuthenticationReject()).pdus
        if answer is Answer.STATUS:
            return conn.send(m.MmStatus(refused.cause)).pdus
        if answer is Answer.DEREGISTRATION and conn.channel.secured:
            out: list[m.PlainMessage] = []
            if refused.dialogue_cause is not None:
                error = d.Error(refused.dialogue_cause, refused.told)
                out.append(
                    m.DlNasTransport(
                        PayloadContainerType(d.PAYLOAD_CONTAINER_TYPE), d.encode(error)
                    )
                )
            out.append(m.DeregistrationRequestUeTerminated(DeregistrationType(), refused.cause))
            return conn.send(*out).pdus
        return ()


def _refused_for(err: BaseException) -> Refused:
    refusal, cause = for_error(err)
    return Refused(refusal, _describe(err), cause=cause)


def _describe(err: BaseException) -> str:
    if isinstance(err, DynsubError):
        return err.message
    # Not ours: name the exception so the one log line says what broke, without a traceback.
    return f"{type(err).__name__}: {err}"


def _onboarding_identity(identity: SuciNai) -> tuple[str, str]:
    found = suci.onboarding_identity(identity.nai)
    if found is None:
        raise Refused(
            Refusal.SUCI_NOT_DECONCEALED, f"{identity.nai!r} is not a dynsub onboarding SUCI"
        )
    return found
