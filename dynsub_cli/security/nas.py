"""The 5G NAS security context: protect and unprotect whole 5GMM PDUs (sans-I/O).

Theory of operation. Each side holds one :class:`SecurityContext` per NAS connection, made
from KAMF (or from KNASenc/KNASint directly) and the algorithms chosen in Security Mode
Command. It counts what it sends (``tx_count``) and remembers the highest COUNT it accepted
(``rx_count``). The UE sends uplink (DIRECTION 0) and receives downlink (DIRECTION 1); the
network the other way round (TS 33.501 6.4.3.1).

Wire format of a security protected 5GS NAS message (TS 24.501 9.1.1, 9.3.1)::

    0x7E | security header type | MAC (4 octets) | sequence number | plain 5GS NAS message
                                                                     (ciphered for types 2, 4)

Security header types (TS 24.501 9.3.1): 1 integrity protected; 2 integrity protected and
ciphered; 3 integrity protected with new 5G NAS security context (SECURITY MODE COMMAND);
4 integrity protected and ciphered with new 5G NAS security context (SECURITY MODE COMPLETE).
The MAC covers sequence number || (ciphered) message (TS 24.501 4.4.3.3); the sequence number
is the 8 least significant bits of the 24-bit NAS COUNT = overflow (16 bits) || SQN (8 bits)
(TS 24.501 4.4.3.1); the algorithms take COUNT = 0x00 || NAS COUNT and BEARER = the NAS
connection identifier, 1 for 3GPP access (TS 33.501 6.4.3.1).

Receiving, the NAS COUNT is estimated from the 8-bit SQN (TS 24.501 4.4.3.1): the overflow of
the highest COUNT accepted, plus one if the SQN is not above that COUNT's SQN. A message whose
MAC fails under the estimate but verifies under an already accepted COUNT is a replay
(ReplayError); any other failure is an IntegrityError. Every COUNT is accepted at most once
(TS 24.501 4.4.3.2).

NEA0 may be selected (lab traces); NIA0 only with ``allow_null_integrity=True``, never by
default (TS 33.501 5.5.2: NIA0 only for unauthenticated emergency sessions). Without a MAC
there is no replay protection either: a repeated message just looks like the next overflow
of the 8-bit sequence number, and is accepted with the COUNT estimated that way.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import Enum

from dynsub_cli.errors import BadInput, DecodeError, IntegrityError, ReplayError, SecurityError
from dynsub_cli.nas.enums import SecurityHeaderType
from dynsub_cli.security import keys
from dynsub_cli.security._octets import require
from dynsub_cli.security.algorithms import Ciphering, Integrity, Nea2, Nia2

#: Extended protocol discriminator of 5GS mobility management (TS 24.007 11.2.3.1.1A).
EPD_5GMM = 0x7E
#: NAS connection identifier for 3GPP access, the BEARER input (TS 33.501 6.4.3.1).
BEARER_3GPP_ACCESS = 1
#: NAS COUNT is 24 bits (TS 24.501 4.4.3.1).
COUNT_MAX = (1 << 24) - 1
_HEADER = 7  # EPD, security header type, MAC (4), sequence number


class Role(Enum):
    """Which end of the NAS connection this context belongs to."""

    UE = "ue"
    NETWORK = "network"

    @property
    def tx_direction(self) -> int:
        return 0 if self is Role.UE else 1  # TS 33.501 6.4.3.1: 0 uplink, 1 downlink


@dataclass(frozen=True)
class Unprotected:
    """What :meth:`SecurityContext.open` found: the plain message and how it was protected."""

    message: bytes
    header_type: SecurityHeaderType
    count: int


class SecurityContext:
    """A current 5G NAS security context for one role; see the module docstring."""

    def __init__(
        self,
        role: Role,
        k_nas_enc: bytes,
        k_nas_int: bytes,
        *,
        ciphering: Ciphering = Ciphering.NEA2,
        integrity: Integrity = Integrity.NIA2,
        allow_null_integrity: bool = False,
        bearer: int = BEARER_3GPP_ACCESS,
    ) -> None:
        self.role = role
        self.ciphering = Ciphering(ciphering)
        self.integrity = Integrity(integrity)
        if self.integrity == Integrity.NIA0 and not allow_null_integrity:
            raise BadInput(
                "NIA0 (no integrity protection) refused: enable it explicitly "
                "(allow_null_integrity) and only for lab traces"
            )
        # The keys live only inside the AES contexts, made once for all the messages.
        self._nea2 = Nea2(require("KNASenc", k_nas_enc, 16))
        self._nia2 = Nia2(require("KNASint", k_nas_int, 16))
        self.bearer = bearer
        #: The NAS COUNT the next :meth:`protect` uses.
        self.tx_count = 0
        #: The highest NAS COUNT accepted by :meth:`unprotect`, None before the first.
        self.rx_count: int | None = None

    @classmethod
    def from_kamf(
        cls,
        role: Role,
        kamf: bytes,
        *,
        ciphering: Ciphering = Ciphering.NEA2,
        integrity: Integrity = Integrity.NIA2,
        allow_null_integrity: bool = False,
    ) -> SecurityContext:
        """A new context with KNASenc/KNASint derived from KAMF (TS 33.501 A.8)."""
        derived = keys.nas_keys(kamf, ciphering, integrity)
        return cls(
            role,
            derived.k_nas_enc,
            derived.k_nas_int,
            ciphering=ciphering,
            integrity=integrity,
            allow_null_integrity=allow_null_integrity,
        )

    def __repr__(self) -> str:  # keys stay out of logs
        return (
            f"SecurityContext(role={self.role.value}, {self.ciphering.name}/"
            f"{self.integrity.name}, tx_count={self.tx_count}, rx_count={self.rx_count})"
        )

    # --- algorithms -----------------------------------------------------------------------

    def _mac(self, count: int, direction: int, data: bytes) -> bytes:
        if self.integrity == Integrity.NIA0:
            return bytes(4)
        return self._nia2(count, self.bearer, direction, data)

    def _cipher(self, count: int, direction: int, data: bytes) -> bytes:
        if self.ciphering == Ciphering.NEA0:
            return bytes(data)
        return self._nea2(count, self.bearer, direction, data)

    # --- sending ----------------------------------------------------------------------------

    def protect(self, plain_pdu: bytes, *, new_context: bool = False, cipher: bool = True) -> bytes:
        """Wrap a plain 5GS NAS message and advance ``tx_count``.

        ``cipher`` and ``new_context`` choose the header type: (False, False) -> 1,
        (True, False) -> 2, (False, True) -> 3 (SECURITY MODE COMMAND), (True, True) -> 4
        (SECURITY MODE COMPLETE).
        """
        if len(plain_pdu) < 2:
            raise BadInput(f"NAS PDU of {len(plain_pdu)} octets is too short to protect")
        if self.tx_count > COUNT_MAX:
            raise SecurityError(
                "NAS COUNT exhausted (2^24 messages): a new NAS security context is needed "
                "(TS 33.501 6.4.3.1); run a new authentication"
            )
        header = {
            (False, False): SecurityHeaderType.INTEGRITY_PROTECTED,
            (True, False): SecurityHeaderType.INTEGRITY_PROTECTED_AND_CIPHERED,
            (False, True): SecurityHeaderType.INTEGRITY_PROTECTED_WITH_NEW_CONTEXT,
            (True, True): SecurityHeaderType.INTEGRITY_PROTECTED_AND_CIPHERED_WITH_NEW_CONTEXT,
        }[(cipher, new_context)]
        count, direction = self.tx_count, self.role.tx_direction
        body = self._cipher(count, direction, plain_pdu) if cipher else bytes(plain_pdu)
        signed = bytes([count & 0xFF]) + body
        self.tx_count += 1
        return bytes([EPD_5GMM, header]) + self._mac(count, direction, signed) + signed

    # --- receiving --------------------------------------------------------------------------

    def _estimate(self, sqn: int) -> tuple[int, list[int]]:
        """(estimated COUNT, earlier COUNTs with this SQN that a replay would carry)."""
        if self.rx_count is None:
            return sqn, []
        overflow = self.rx_count >> 8
        same = (overflow << 8) | sqn
        if same > self.rx_count:
            return same, [c for c in [same - 256] if c >= 0]
        return ((overflow + 1) << 8) | sqn, [c for c in (same, same - 256) if c >= 0]

    def open(self, pdu: bytes) -> Unprotected:
        """Check and unwrap a security protected 5GS NAS message; advance ``rx_count``."""
        if len(pdu) < _HEADER + 1:
            raise DecodeError(f"security protected NAS message of {len(pdu)} octets: too short")
        if pdu[0] != EPD_5GMM:
            raise DecodeError(f"NAS message with EPD {pdu[0]:#04x}: expected 5GMM (0x7e)")
        try:
            header = SecurityHeaderType(pdu[1] & 0x0F)
        except ValueError as err:
            raise DecodeError(f"security header type {pdu[1] & 0x0F} is reserved") from err
        if pdu[1] >> 4:
            raise DecodeError(
                f"NAS message octet 2 = {pdu[1]:#04x}: the spare half octet must be 0"
            )
        if header == SecurityHeaderType.PLAIN:
            raise IntegrityError(
                f"NAS message octet 2 = {pdu[1]:#04x}: not a security protected message "
                "where one is required"
            )
        mac, signed = pdu[2:6], pdu[6:]
        direction = 1 - self.role.tx_direction
        count, earlier = self._estimate(signed[0])
        if count > COUNT_MAX:
            raise ReplayError("NAS COUNT would exceed 2^24: a new security context is needed")
        if not hmac.compare_digest(self._mac(count, direction, signed), mac):
            if self.integrity != Integrity.NIA0 and any(
                hmac.compare_digest(self._mac(old, direction, signed), mac) for old in earlier
            ):
                raise ReplayError(
                    f"NAS message replayed: its COUNT was accepted before (highest accepted "
                    f"{self.rx_count}); dropped (TS 24.501 4.4.3.2)"
                )
            raise IntegrityError(
                f"NAS MAC check failed for COUNT {count} ({self.integrity.name}): the message "
                "was altered or protected with other keys; dropped"
            )
        self.rx_count = count
        body = signed[1:]
        plain = self._cipher(count, direction, body) if header.ciphered else bytes(body)
        return Unprotected(message=plain, header_type=header, count=count)

    def unprotect(self, pdu: bytes) -> bytes:
        """:meth:`open`, returning the plain 5GS NAS message only."""
        return self.open(pdu).message


def header_type(pdu: bytes) -> SecurityHeaderType:
    """The security header type of a 5GMM PDU, without checking anything else."""
    if len(pdu) < 2 or pdu[0] != EPD_5GMM:
        raise DecodeError("not a 5GMM message (EPD 0x7e)")
    try:
        return SecurityHeaderType(pdu[1] & 0x0F)
    except ValueError as err:
        raise DecodeError(f"security header type {pdu[1] & 0x0F} is reserved") from err
