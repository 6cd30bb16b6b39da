"""The values the store hands out and takes in: frozen, and secrets kept out of every repr;
and the rules on them that both backends apply (times, SQN steps, state changes)."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from dynsub_cli.errors import SqnExhausted, StoreError

# Defined there so that `dynsub store --help` can offer them without importing the store.
from dynsub_cli.store.constants import State as State

#: TS 33.102 6.3.2 / C.1.2: SQN is 48 bits; the network steps SEQ, leaving the 5 IND bits.
SQN_BITS = 48
SQN_MAX = (1 << SQN_BITS) - 1
IND_BITS = 5
SQN_STEP = 1 << IND_BITS

#: Where a store takes its times from (tests hand it a clock of their own).
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(now: datetime) -> str:
    """The store's form of a time: ISO-8601 UTC with microseconds."""
    if now.tzinfo is None:
        raise ValueError("the store's clock must return timezone-aware datetimes")
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Outcome(StrEnum):
    """What :meth:`Subscriptions.create_or_update_from_onboarding` did."""

    CREATED = "created"
    UPDATED = "updated"  # same-record: same SUPI, new K/OPc, SQN back to 0
    REPLACED = "replaced"  # new-record: the old record was retired, a new SUPI allocated


class EventKind(StrEnum):
    """The audit trail's vocabulary; the core may add others as free text."""

    ONBOARDING_ATTEMPT = "onboarding_attempt"
    ONBOARDING_REFUSED = "onboarding_refused"
    SUBSCRIPTION_CREATED = "subscription_created"
    SUBSCRIPTION_UPDATED = "subscription_updated"
    SUBSCRIPTION_REPLACED = "subscription_replaced"
    REGISTRATION = "registration"
    REGISTRATION_REJECTED = "registration_rejected"
    RESYNCHRONISATION = "resynchronisation"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    DELETED = "deleted"


class EventOutcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True, eq=False)
class Secrets:
    """K and OPc in clear. Compared in constant time; never shown in a repr."""

    k: bytes = field(repr=False)
    opc: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.k) != 16 or len(self.opc) != 16:
            raise ValueError("K and OPc are 16 bytes each (TS 35.206)")

    def __repr__(self) -> str:
        return "Secrets(<hidden>)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secrets):
            return NotImplemented
        return hmac.compare_digest(self.k + self.opc, other.k + other.opc)


@dataclass(frozen=True)
class Device:
    """Who onboards: from the certificate the core checked during EAP-TLS."""

    imei: str
    fingerprint: str  # SHA-256 of the DER certificate, lower-case hex
    issuer: str  # the issuer's distinguished name, RFC 4514 string
    certificate: bytes = field(repr=False)  # DER

    def __post_init__(self) -> None:
        if not (len(self.imei) == 15 and self.imei.isascii() and self.imei.isdigit()):
            raise ValueError(f"not an IMEI (15 digits): {self.imei!r}")
        if len(self.fingerprint) != 64 or self.fingerprint != self.fingerprint.lower():
            raise ValueError("the fingerprint is a SHA-256 in lower-case hex (64 digits)")
        int(self.fingerprint, 16)


@dataclass(frozen=True)
class Service:
    """What was agreed during the subscription dialogue."""

    service_type: str
    plan: str
    sst: int
    ambr_ul: int  # bit/s
    ambr_dl: int  # bit/s
    sd: str | None = None  # 6 hex digits
    dnn: str = "internet"  # the data network of the subscription's default session
    account: str | None = None
    billing: Mapping[str, str] = field(default_factory=dict)  # every billing field supplied


@dataclass(frozen=True)
class SupiRange:
    """Where new SUPIs come from: ``imsi-<plmn><msin>`` for msin in [start, end]."""

    plmn: str  # MCC + MNC digits
    msin_start: str
    msin_end: str
    #: False: MSINs drawn at random from the free ones, so SUPIs cannot be enumerated.
    sequential: bool = True

    def __post_init__(self) -> None:
        ok = self.plmn.isdigit() and self.msin_start.isdigit() and self.msin_end.isdigit()
        if not ok or len(self.msin_start) != len(self.msin_end):
            raise ValueError(f"not a SUPI range: {self}")
        if int(self.msin_start) > int(self.msin_end):
            raise ValueError(f"empty SUPI range: {self}")

    @property
    def width(self) -> int:
        return len(self.msin_start)

    def supi(self, msin: int) -> str:
        return f"imsi-{self.plmn}{msin:0{self.width}d}"


@dataclass(frozen=True)
class Subscription:
    supi: str
    imei: str
    fingerprint: str
    issuer: str
    certificate: bytes = field(repr=False)  # DER
    state: State
    service_type: str
    plan: str
    account: str | None
    billing: Mapping[str, str]
    amf: bytes
    sqn: int  # the highest SQN the network has used (TS 33.102 6.3.2 SQN_HN)
    sst: int
    sd: str | None
    dnn: str
    ambr_ul: int
    ambr_dl: int
    created: str  # ISO-8601 UTC
    updated: str
    replaced_by: str | None = None
    #: Only filled when asked for (``reveal_secrets=True``).
    secrets: Secrets | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class OnboardingResult:
    subscription: Subscription
    outcome: Outcome
    previous_supi: str | None = None  # new-record: the SUPI that was replaced


@dataclass(frozen=True)
class Event:
    id: int
    time: str
    kind: str
    outcome: str
    imei: str | None = None
    supi: str | None = None
    reason: str = ""
    peer: str | None = None


@dataclass(frozen=True)
class Allocation:
    """One SUPI ever handed out (kept after its subscription is deleted, so never reused)."""

    supi: str
    plmn: str
    msin: int
    allocated_at: str  # ISO-8601 UTC


@dataclass(frozen=True)
class Stats:
    total: int
    by_state: Mapping[str, int]
    by_service_type: Mapping[str, int]
    by_plan: Mapping[str, int]
    events_by_kind: Mapping[str, Mapping[str, int]]  # kind -> outcome -> count
    allocated_supis: int  # SUPIs ever handed out, deleted subscriptions included


def next_sqn(record: Subscription) -> int:
    """The SQN of ``record``'s next challenge: TS 33.102 C.3.2, SQN = SEQ || IND and the
    network increments SEQ (SQN += 2^5). Raises SqnExhausted past 48 bits."""
    sqn = record.sqn + SQN_STEP
    if sqn > SQN_MAX:
        raise SqnExhausted(f"{record.supi}: SQN space exhausted; the subscriber needs a new K")
    return sqn


def challenged(record: Subscription) -> Subscription | None:
    """``record`` with the SQN of its next challenge (:func:`next_sqn`); None when it is not
    active: no challenge follows, so SQN_HE stays where it is."""
    if record.state is not State.ACTIVE:
        return None
    return replace(record, sqn=next_sqn(record))


def check_amf(amf: bytes) -> None:
    if len(amf) != 2:
        raise ValueError("AMF is 2 bytes")


def check_sqn(sqn: int) -> None:
    if not 0 <= sqn <= SQN_MAX:
        raise ValueError(f"SQN is 48 bits, got {sqn}")


def state_change(state: State) -> EventKind:
    """The event of setting a record to ``state`` (suspend or resume)."""
    if state is State.REPLACED:
        raise ValueError("a record is replaced by onboarding, not by set_state")
    return EventKind.SUSPENDED if state is State.SUSPENDED else EventKind.RESUMED


def check_changeable(record: Subscription) -> None:
    """A replaced record stays replaced: its state is changed through its successor."""
    if record.state is State.REPLACED:
        raise StoreError(
            f"{record.supi}: replaced by {record.replaced_by}; change that subscription instead"
        )
