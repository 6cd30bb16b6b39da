"""Reads that stream (issue 11): keyset pages of records and events, counts, on both backends.

The page size is made 2 here (the module constant the backends read at each call), so that
a handful of records crosses several page boundaries."""

from __future__ import annotations

import pytest

from dynsub_cli.store import State, postgres, subscriptions
from dynsub_cli.store.model import EventKind, EventOutcome
from tests.unit.store.helpers import AnyStore, onboard, open_location


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subscriptions, "_PAGE", 2)
    monkeypatch.setattr(postgres, "_PAGE", 2)


def _supis(found: object) -> list[str]:
    return [s.supi for s in found]  # type: ignore[attr-defined]


def test_pages_by_after_and_limit_cover_every_record_once(store: AnyStore) -> None:
    supis = [onboard(store, n) for n in range(1, 8)]
    assert _supis(store.iterate()) == supis
    pages: list[list[str]] = []
    after = ""
    while True:
        page = _supis(store.iterate(after=after, limit=3))
        if not page:
            break
        pages.append(page)
        after = page[-1]
    assert pages == [supis[0:3], supis[3:6], supis[6:7]]
    assert _supis(store.iterate(after=supis[1], limit=1)) == [supis[2]]
    assert _supis(store.iterate(after=supis[-1])) == []
    assert _supis(store.iterate(limit=100)) == supis


def test_pages_within_a_state(store: AnyStore) -> None:
    supis = [onboard(store, n) for n in range(1, 7)]
    for supi in supis[1::2]:
        store.set_state(supi, State.SUSPENDED)
    suspended = supis[1::2]
    assert _supis(store.iterate(State.SUSPENDED)) == suspended
    assert _supis(store.iterate(State.SUSPENDED, after=suspended[0], limit=1)) == [suspended[1]]
    assert store.count() == 6
    assert store.count(State.SUSPENDED) == 3
    assert store.count(State.REPLACED) == 0


def test_records_are_read_a_page_at_a_time(location: str) -> None:
    """A record committed while a listing is under way, after the page being read, is still
    listed: the pages are read as the listing goes, not all at once up front."""
    with open_location(location) as store, open_location(location) as other:
        first = [onboard(store, n) for n in range(1, 4)]
        listing = store.iterate()
        assert next(listing).supi == first[0]
        late = onboard(other, 4)
        assert [s.supi for s in listing] == [*first[1:], late]


def test_events_stream_newest_first_in_pages(store: AnyStore) -> None:
    supi = onboard(store, 1)
    for n in range(5):
        store.add_event(EventKind.REGISTRATION, outcome=EventOutcome.SUCCESS, supi=supi)
        store.add_event(EventKind.REGISTRATION, outcome=EventOutcome.FAILURE, reason=str(n))
    every = list(store.iterate_events())
    assert len(every) == 11
    assert [e.id for e in every] == sorted((e.id for e in every), reverse=True)
    assert every[-1].kind == "subscription_created"
    assert list(store.iterate_events(limit=3)) == every[:3]
    assert store.events(limit=5) == every[:5]
    mine = list(store.iterate_events(supi=supi))
    assert len(mine) == 6
    assert all(e.supi == supi for e in mine)
    assert list(store.iterate_events(supi=supi, limit=4)) == mine[:4]
