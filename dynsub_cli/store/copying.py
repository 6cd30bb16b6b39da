"""``dynsub store copy``: one store's contents into another, on any backend, then checked.

Everything moves: every SUPI ever allocated (so none is handed out again), every record with
its state, SQN and times, and the audit trail with its ids. K and OPc are opened with the
source's key and sealed again with the target's (the keys may differ). The copy is one
transaction in the target; afterwards both stores are read side by side and must agree on the
counts, every record, every allocation, every event, and every K and OPc, which must unseal
in the target. All of it streams, so memory stays flat whatever the store's size.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from dynsub_cli.errors import StoreError
from dynsub_cli.store.backend import SubscriptionStore
from dynsub_cli.store.backends import open_at

T = TypeVar("T")


@dataclass(frozen=True)
class Side:
    """One end of a copy: a PostgreSQL URL or a SQLite file, and the key of its secrets."""

    location: str
    key: bytes = field(repr=False)
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class CopyReport:
    source: str
    target: str
    subscriptions: int
    allocations: int
    events: int
    secrets_checked: int


class _Counted(Iterator[T]):
    def __init__(self, items: Iterator[T]) -> None:
        self._items = items
        self.count = 0

    def __next__(self) -> T:
        item = next(self._items)
        self.count += 1
        return item


def copy(source: Side, target: Side) -> CopyReport:
    """Copy ``source`` into the empty store at ``target`` and check the result."""
    with (
        open_at(source.location, source.key, create=False, password=source.password) as src,
        open_at(target.location, target.key, create=True, password=target.password) as dst,
    ):
        allocations = _Counted(src.allocations())
        subscriptions = _Counted(src.iterate(reveal_secrets=True))
        events = _Counted(src.all_events())
        dst.restore(allocations, subscriptions, events)
        checked = verify(src, dst, target.location)
        return CopyReport(
            source.location,
            target.location,
            subscriptions.count,
            allocations.count,
            events.count,
            checked,
        )


def verify(src: SubscriptionStore, dst: SubscriptionStore, where: str) -> int:
    """Both stores hold the same; returns how many records' secrets unsealed in ``dst``."""
    before, after = src.stats(), dst.stats()
    if (before.total, before.allocated_supis, before.events_by_kind) != (
        after.total,
        after.allocated_supis,
        after.events_by_kind,
    ):
        raise _differs(where, f"counts {after} instead of {before}")
    pairs = itertools.zip_longest(src.allocations(), dst.allocations())
    for number, (a, b) in enumerate(pairs):
        if a != b:
            raise _differs(where, f"SUPI allocation {number + 1}: {b} instead of {a}")
    for a, b in itertools.zip_longest(src.all_events(), dst.all_events()):
        if a != b:
            raise _differs(where, f"event {a.id if a else b.id if b else '?'}")
    checked = 0
    records = itertools.zip_longest(
        src.iterate(reveal_secrets=True), dst.iterate(reveal_secrets=True)
    )
    for a, b in records:
        if a is None or b is None or a != b:
            raise _differs(where, f"record {(a or b).supi if (a or b) else '?'}")
        if a.secrets is None or b.secrets is None or a.secrets != b.secrets:
            raise _differs(where, f"{a.supi}: K or OPc")
        checked += 1
    return checked


def _differs(where: str, what: str) -> StoreError:
    return StoreError(
        f"{where}: the copy differs from its source ({what}); do not use it: empty it (or "
        "remove the file) and copy again"
    )
