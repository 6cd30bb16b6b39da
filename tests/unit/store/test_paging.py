"""store.paging.keyset: pages from a start key, a limit across pages, a short page ends it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dynsub_cli.store.paging import first, keyset

TABLE = [(n, f"row {n}") for n in range(1, 26)]  # keys 1..25


def _fetch(calls: list[tuple[int, int]]) -> Callable[[int, int], list[tuple[int, str]]]:
    def fetch(after: int, size: int) -> list[tuple[int, str]]:
        calls.append((after, size))
        return [row for row in TABLE if row[0] > after][:size]

    return fetch


@pytest.mark.parametrize(
    ("limit", "expected", "queries"),
    [
        (None, 25, [(0, 10), (10, 10), (20, 10)]),  # the short third page ends it
        (20, 20, [(0, 10), (10, 10)]),  # a limit on a page boundary asks no further
        (13, 13, [(0, 10), (10, 3)]),  # the last page asks only for what is left
        (0, 0, []),
    ],
)
def test_pages_follow_the_last_key(
    limit: int | None, expected: int, queries: list[tuple[int, int]]
) -> None:
    calls: list[tuple[int, int]] = []
    found = list(keyset(_fetch(calls), 0, key=first, page=10, limit=limit))
    assert [row[0] for row in found] == list(range(1, expected + 1))
    assert calls == queries


def test_pages_are_read_as_they_are_consumed() -> None:
    calls: list[tuple[int, int]] = []
    rows = keyset(_fetch(calls), 5, key=first, page=10)
    assert next(rows) == (6, "row 6")
    assert calls == [(5, 10)]  # one query so far: the rest is read when asked for
