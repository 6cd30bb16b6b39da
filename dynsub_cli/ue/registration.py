"""A normal registration with the generated subscription, on one connection.

    -> REGISTRATION REQUEST (initial, SUCI Profile A/B)  <- AUTHENTICATION REQUEST (RAND, AUTN)
    -> AUTHENTICATION RESPONSE (RES*)                    <- SECURITY MODE COMMAND
       (or AUTHENTICATION FAILURE #21 with AUTS, and a new challenge follows)
    -> SECURITY MODE COMPLETE                            <- REGISTRATION ACCEPT
    -> REGISTRATION COMPLETE, DEREGISTRATION REQUEST     <- DEREGISTRATION ACCEPT, done

The state moves on with each challenge the UE accepts (its SQN); the shell saves it then.
"""

from __future__ import annotations

from collections.abc import Callable

from dynsub_cli.errors import (
    MacFailure,
    Non5GAuthentication,
    ProtocolError,
    Rejected,
    SynchronisationFailure,
)
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import (
    MmCause,
    RegistrationTypeValue,
)
from dynsub_cli.nas.ies import (
    DeregistrationType,
    RegistrationType,
    Suci,
)
from dynsub_cli.security import aka, keys, suci
from dynsub_cli.ue.procedure import CAPABILITY, Output, Procedure, cause_text
from dynsub_cli.ue.state import UeState


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

    def _refused_by_network(self, message: m.Message) -> None:
        if (
            isinstance(message, m.RegistrationReject)
            and message.cause == MmCause.TEMPORARILY_NOT_AUTHORIZED_FOR_SNPN
        ):
            # The core's signal to start subscription generation (docs/protocol.md 3): the
            # record this state was made for is gone (deleted, or another core).
            raise Rejected(
                f"the network holds no subscription for {self._state_value.supi} and asks for "
                f"subscription generation ({cause_text(message.cause)}): onboard the device "
                "again with `dynsub ue onboard --device DEVICE_FOLDER`",
                message.cause,
            )
        super()._refused_by_network(message)

    def _await_challenge(self, message: m.Message) -> Output:
        if isinstance(message, m.SecurityModeCommand) and self._kseaf:
            return self._security_mode_command(message)
        message = self._expect(message, m.AuthenticationRequest)
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
        except MacFailure as err:
            self.error_response = self._pdu(m.AuthenticationFailure(MmCause.MAC_FAILURE))
            # The usual cause in a trial: the device onboarded again, and the core's
            # re-onboarding policy gave its record a new K that only the newer state file holds.
            raise MacFailure(
                f"{err.message}; if the device has onboarded again since {state.supi}'s state "
                "file was saved, register with the newer state file"
            ) from err
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
