"""Every error dynsub raises on purpose, and the exit status each one maps to.

This module is the leaf of the package: it imports nothing from dynsub. The command line has
one catch site (``dynsub_cli.cli.main``) that turns a ``DynsubError`` into its message on
stderr and its ``exit_code``; nothing else in the package prints or exits.

Messages say what failed, on what, and what to try next. Foreign exceptions (OSError,
sqlite3.Error, OpenSSL errors, cryptography's ValueError) are translated at the boundary that
owns them with ``raise SomeError(...) from err``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum, IntEnum
from typing import Protocol


class ExitCode(IntEnum):
    """Exit statuses of the ``dynsub`` command: the single source, documented in man/dynsub.1."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    BAD_INPUT = 3
    CERT_REFUSED = 4
    CONFLICT = 5
    IO = 6
    CONFIG = 7
    STORE = 8
    NETWORK = 9
    PROTOCOL = 10
    AUTH = 11
    REJECTED = 12
    TIMEOUT = 13
    NOT_FOUND = 14
    CHECK_FAILED = 15
    INTERRUPTED = 130


#: What each exit status means, in words: rendered into man/dynsub.1 and README.
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "Success.",
    ExitCode.INTERNAL: "An internal error (a bug): rerun with -v and report the traceback.",
    ExitCode.USAGE: "The command line itself is wrong: unknown option, missing argument.",
    ExitCode.BAD_INPUT: "An input file or value is malformed (bad hex, unreadable PEM, bad IMEI).",
    ExitCode.CERT_REFUSED: "A certificate was checked and refused; every broken rule is named.",
    ExitCode.CONFLICT: "Something already exists and would be overwritten or allocated twice.",
    ExitCode.IO: "A file or folder could not be read or written.",
    ExitCode.CONFIG: "core.toml (or another configuration file) is invalid.",
    ExitCode.STORE: "The subscription store failed or is inconsistent.",
    ExitCode.NETWORK: "The peer could not be reached, or the connection dropped.",
    ExitCode.PROTOCOL: "The peer broke the protocol: malformed PDU, unexpected message, framing.",
    ExitCode.AUTH: "Authentication failed (EAP-TLS, 5G AKA, key confirmation, NAS integrity).",
    ExitCode.REJECTED: "The network refused the procedure with a 5GMM cause, named in the message.",
    ExitCode.TIMEOUT: "The peer went silent or stalled past the configured timeout.",
    ExitCode.NOT_FOUND: "A requested item does not exist (subscriber, device, ledger entry).",
    ExitCode.CHECK_FAILED: "A pass/fail check failed (ue load --max-failure-rate, --max-p99, "
    "--min-rate).",
    ExitCode.INTERRUPTED: "Interrupted by the user (SIGINT); work already committed is kept.",
}


class DynsubError(Exception):
    """Base of every error dynsub raises on purpose. ``str(err)`` is the user-facing message."""

    exit_code: ExitCode = ExitCode.INTERNAL
    #: The procedure step that failed (e.g. "EAP-TLS"), set by the procedure that raised it;
    #: the command line shows it before the message.
    step: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def describe(self) -> str:
        """The message a user reads: the failed step (if known), then what went wrong."""
        return f"{self.step} failed: {self.message}" if self.step else self.message


# --- general -------------------------------------------------------------------------------


class BadInput(DynsubError):
    """A value or file given by the user is malformed."""

    exit_code = ExitCode.BAD_INPUT


class FileError(DynsubError):
    """A file or folder could not be read or written."""

    exit_code = ExitCode.IO


class AlreadyExists(DynsubError):
    """Refusing to overwrite or to allocate something twice."""

    exit_code = ExitCode.CONFLICT


class NotFound(DynsubError):
    """A requested item does not exist."""

    exit_code = ExitCode.NOT_FOUND


class ConfigError(DynsubError):
    """A configuration file is invalid; the message names the file and the key."""

    exit_code = ExitCode.CONFIG


class CheckFailed(DynsubError):
    """A run completed, but a pass/fail limit the user set (for CI) was not met."""

    exit_code = ExitCode.CHECK_FAILED


class Interrupted(DynsubError):
    """The user interrupted a long job; what was committed before is kept."""

    exit_code = ExitCode.INTERRUPTED


# --- pki -----------------------------------------------------------------------------------


class PkiError(DynsubError):
    """A PKI operation failed (CA files, ledger, minting)."""

    exit_code = ExitCode.BAD_INPUT


class TokenError(PkiError):
    """A PKCS#11 token or its module failed (module missing, token absent, a signing error)."""

    exit_code = ExitCode.IO


class TokenLoginFailed(TokenError):
    """The token refused the PIN, or no PIN was given."""

    exit_code = ExitCode.AUTH


class TokenKeyMissing(TokenError):
    """The token, or the CA key named in pki.toml, is not there."""

    exit_code = ExitCode.NOT_FOUND


class RuleFailure(Protocol):
    """One broken rule of a certificate, as :mod:`dynsub_cli.pki.rules` reports it.

    Structural, so that this module stays the leaf: ``dynsub_cli.pki.rules.Failure`` is the
    implementation, ``rule`` a ``dynsub_cli.pki.rules.Rule``; ``str()`` is the reason in words.
    """

    @property
    def rule(self) -> Enum: ...

    @property
    def detail(self) -> str: ...


class CertificateRefused(DynsubError):
    """A certificate was checked and refused, naming every broken rule.

    ``failures`` are the broken rules; ``rules`` is what code decides on (never the text);
    ``reasons`` the same failures in words, for people.
    """

    exit_code = ExitCode.CERT_REFUSED

    def __init__(self, subject: str, failures: Sequence[RuleFailure]) -> None:
        self.subject = subject
        self.failures: tuple[RuleFailure, ...] = tuple(failures)
        self.rules: frozenset[Enum] = frozenset(f.rule for f in self.failures)
        self.reasons: tuple[str, ...] = tuple(str(f) for f in self.failures)
        super().__init__(f"{subject}: not accepted: " + "; ".join(self.reasons))


# --- protocol ------------------------------------------------------------------------------


class ProtocolError(DynsubError):
    """A protocol rule was broken (by us or the peer)."""

    exit_code = ExitCode.PROTOCOL


class DecodeError(ProtocolError):
    """Bytes that do not decode: a malformed NAS PDU, EAP packet, frame or payload.

    The codecs raise this and only this for bad input (never IndexError or struct.error).
    """


class FrameTooLarge(DecodeError):
    """A length prefix announced a frame larger than the reader accepts."""


class UnexpectedMessage(ProtocolError):
    """A well-formed message arrived in a state that does not allow it."""


class NasDecodeError(DecodeError):
    """A NAS-5GS PDU that does not decode.

    ``cause`` is the 5GMM cause value (TS 24.501 9.11.3.2) a receiver answers with in a 5GMM
    STATUS message (#96 invalid mandatory information, #97 message type non-existent, ...);
    ``offset`` is the octet of the PDU where decoding stopped.
    """

    def __init__(self, message: str, *, cause: int, offset: int) -> None:
        super().__init__(message)
        self.cause = cause
        self.offset = offset


class EncodeError(ProtocolError):
    """A message we were asked to send cannot be encoded: a field is outside its range.

    This is our side's mistake, never the peer's: the message says which field and why.
    """


# --- security ------------------------------------------------------------------------------


class SecurityError(DynsubError):
    """A cryptographic check failed."""

    exit_code = ExitCode.AUTH


class IntegrityError(SecurityError):
    """A NAS MAC (or another integrity check) did not verify."""


class ReplayError(SecurityError):
    """A NAS COUNT was seen before (or is too old): the message is a replay."""


class AuthenticationError(SecurityError):
    """Mutual authentication failed (EAP-TLS, 5G AKA, key confirmation); the message says why."""


class SynchronisationFailure(SecurityError):
    """5G AKA: the SQN is out of range; ``auts`` carries the resynchronisation token."""

    def __init__(self, message: str, auts: bytes) -> None:
        super().__init__(message)
        self.auts = auts


class MacFailure(AuthenticationError):
    """5G AKA: the MAC in AUTN (or MAC-S in AUTS) is wrong (TS 24.501 5GMM cause #20)."""


class Non5GAuthentication(AuthenticationError):
    """5G AKA: the AMF separation bit of AUTN is 0 (TS 33.501 6.1.3.2; 5GMM cause #26)."""


# --- store ---------------------------------------------------------------------------------


class StoreError(DynsubError):
    """The subscription store failed (SQLite error, schema mismatch, bad store key)."""

    exit_code = ExitCode.STORE


class SupiRangeExhausted(StoreError):
    """Every MSIN of the configured range is allocated; the core answers with a 5GMM cause."""


class SqnExhausted(StoreError):
    """A subscription's 48-bit SQN has no room for another vector: it needs a new K."""


class IssuerMismatch(StoreError):
    """The device's live subscription was created under another issuer (manufacturer CA)."""

    exit_code = ExitCode.CONFLICT


class DeviceAlreadyOnboarded(StoreError):
    """The re-onboarding policy is "refuse" and the device already has a subscription."""

    exit_code = ExitCode.CONFLICT

    def __init__(self, message: str, supi: str) -> None:
        super().__init__(message)
        self.supi = supi


# --- network / procedures -------------------------------------------------------------------


class NetworkError(DynsubError):
    """The peer could not be reached or the connection dropped."""

    exit_code = ExitCode.NETWORK


class ServiceUnavailable(NetworkError):
    """A system the core relies on (the AAA server, the database) did not answer in time.

    Temporary: the core answers the UE with a cause that says to try again later, and keeps
    serving; ``service`` names the system ("AAA server", "store").
    """

    def __init__(self, message: str, service: str) -> None:
        super().__init__(message)
        self.service = service


class PeerTimeout(DynsubError):
    """The peer was silent or stalled past the timeout."""

    exit_code = ExitCode.TIMEOUT


class Rejected(DynsubError):
    """The network refused a procedure with a 5GMM cause."""

    exit_code = ExitCode.REJECTED

    def __init__(self, message: str, cause: int) -> None:
        super().__init__(message)
        self.cause = cause
