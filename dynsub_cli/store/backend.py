"""The ``SubscriptionStore`` seam: what the core and the ``dynsub store`` commands need of a store.

The embedded default is :class:`dynsub_cli.store.subscriptions.Subscriptions` (one SQLite file);
another backend (PostgreSQL) is one more module that satisfies this Protocol. Every method is a
short blocking call that is safe to make from several threads at once; the core calls them from
worker threads so that a slow store never stalls the event loop.

Guarantees every backend keeps: each write is one transaction (a crash leaves no record or a
whole one), a device ends with at most one live subscription whatever its concurrent
connections, a SUPI is never allocated twice, K and OPc are sealed under the store key, which
stays with the core, and the audit event of a change is written in the change's transaction.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from typing import Protocol, Self

from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.store import rows
from dynsub_cli.store.model import (
    Allocation,
    Device,
    Event,
    EventKind,
    EventOutcome,
    OnboardingResult,
    Secrets,
    Service,
    State,
    Stats,
    Subscription,
    SupiRange,
)


class SubscriptionStore(Protocol):
    """Records, SUPI allocation, the audit trail and sealed secrets. A backend subclasses it,
    for the methods written here in terms of the others."""

    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- onboarding ---------------------------------------------------------------------

    def create_or_update_from_onboarding(
        self,
        device: Device,
        service: Service,
        secrets: Secrets,
        *,
        supi_range: SupiRange,
        policy: Reonboarding,
        amf: bytes = b"\x80\x00",
        peer: str | None = None,
    ) -> OnboardingResult:
        """Commit a device's subscription under the re-onboarding policy, with its event.

        Raises SupiRangeExhausted, DeviceAlreadyOnboarded (policy refuse)."""
        ...

    # --- registration -------------------------------------------------------------------

    def start_authentication(self, supi: str) -> Subscription:
        """Step the SUPI's SQN for a new vector and return the record with its secrets and
        that SQN, in one transaction (TS 33.102 C.3.2). Only an active record's SQN moves
        (a suspended or replaced one is returned as it is). NotFound if there is no record;
        SqnExhausted when the SQN space is used up."""
        ...

    def update_sqn(self, supi: str, sqn: int) -> None:
        """Set SQN_HE, e.g. to SQN_MS after a resynchronisation (TS 33.102 6.3.5)."""
        ...

    # --- reads --------------------------------------------------------------------------

    #: The store as messages name it: a path, or a URL without its password.
    _where: str

    def _one(self, query: str, args: tuple[str], reveal: bool) -> Subscription | None:
        """The subscription ``query`` (SQL of :mod:`~dynsub_cli.store.rows`, in SQLite's
        placeholders) selects, if any, with its secrets opened when ``reveal``: the one read
        each backend writes, which the lookups below are made of."""
        ...

    def find(self, supi: str, *, reveal_secrets: bool = False) -> Subscription | None:
        return self._one(rows.BY_SUPI, (supi,), reveal_secrets)

    def get(self, supi: str, *, reveal_secrets: bool = False) -> Subscription:
        """The subscription of ``supi``; NotFound if there is none."""
        found = self.find(supi, reveal_secrets=reveal_secrets)
        if found is None:
            raise rows.missing(supi, self._where)
        return found

    def find_by_imei(self, imei: str, *, reveal_secrets: bool = False) -> Subscription | None:
        """The device's live (not replaced) subscription."""
        return self._one(rows.LIVE_BY_IMEI, (imei,), reveal_secrets)

    def find_by_fingerprint(
        self, fingerprint: str, *, reveal_secrets: bool = False
    ) -> Subscription | None:
        return self._one(rows.LIVE_BY_FINGERPRINT, (fingerprint.lower(),), reveal_secrets)

    def iterate(
        self,
        state: State | None = None,
        *,
        reveal_secrets: bool = False,
        after: str = "",
        limit: int | None = None,
    ) -> Iterator[Subscription]:
        """Every subscription (or those in ``state``) in SUPI order, streamed in keyset pages
        (memory stays flat whatever the store's size). ``after``: only the SUPIs that sort
        after it, the last SUPI of the previous page; ``limit``: at most that many."""
        ...

    def count(self, state: State | None = None) -> int:
        """How many subscriptions (in ``state``); from an index, without reading records."""
        ...

    def list(
        self, state: State | None = None, *, reveal_secrets: bool = False
    ) -> builtins.list[Subscription]:
        return builtins.list(self.iterate(state, reveal_secrets=reveal_secrets))

    def secrets(self, supi: str) -> Secrets:
        """K and OPc of ``supi`` in clear."""
        ...

    def stats(self) -> Stats: ...

    # --- changes ------------------------------------------------------------------------

    def set_state(
        self, supi: str, state: State, *, reason: str = "", peer: str | None = None
    ) -> Subscription:
        """Suspend or resume ``supi``, with its event; a replaced record stays replaced."""
        ...

    def delete(self, supi: str, *, reason: str = "", peer: str | None = None) -> Subscription:
        """Remove ``supi``'s record (its SUPI is never allocated again); returns what it was."""
        ...

    # --- audit trail --------------------------------------------------------------------

    def add_event(
        self,
        kind: EventKind | str,
        *,
        outcome: EventOutcome | str,
        imei: str | None = None,
        supi: str | None = None,
        reason: str = "",
        peer: str | None = None,
    ) -> Event: ...

    def events(
        self, *, imei: str | None = None, supi: str | None = None, limit: int = 100
    ) -> builtins.list[Event]:
        """The latest ``limit`` events, newest first."""
        return builtins.list(self.iterate_events(imei=imei, supi=supi, limit=limit))

    def iterate_events(
        self, *, imei: str | None = None, supi: str | None = None, limit: int | None = None
    ) -> Iterator[Event]:
        """As :meth:`events`, streamed in keyset pages; the whole trail when ``limit`` is
        None."""
        ...

    # --- copying between backends (dynsub store copy) -----------------------------------

    def allocations(self) -> Iterator[Allocation]:
        """Every SUPI ever allocated (deleted subscriptions' included), in SUPI order."""
        ...

    def all_events(self) -> Iterator[Event]:
        """The whole audit trail, oldest first, streamed."""
        ...

    def restore(
        self,
        allocations: Iterable[Allocation],
        subscriptions: Iterable[Subscription],
        events: Iterable[Event],
    ) -> None:
        """Fill this empty store with another's contents in one transaction: records read
        with their secrets are sealed again under this store's key; event ids are kept.
        AlreadyExists if the store holds anything."""
        ...
