"""Keyset paging, as both store backends read long tables.

A listing reads one page at a time, each page a short query that starts after the last key
the previous page ended on (``WHERE key > ? ORDER BY key LIMIT ?``, or ``<`` newest first).
Memory stays flat however large the table is, and no lock or connection is held between
pages, so a long listing never holds up the core's writes; a record committed meanwhile
appears if its key comes later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

K = TypeVar("K")
R = TypeVar("R")


def keyset(
    fetch: Callable[[K, int], Sequence[R]],
    start: K,
    *,
    key: Callable[[R], K],
    page: int,
    limit: int | None = None,
) -> Iterator[R]:
    """The rows ``fetch(after, size)`` returns, page after page from ``start``, at most
    ``limit`` of them (every one when None); ``key`` is where the next page starts."""
    after, left = start, limit
    while left is None or left > 0:
        size = page if left is None else min(page, left)
        found = fetch(after, size)
        yield from found
        if len(found) < size:
            return
        after = key(found[-1])
        if left is not None:
            left -= len(found)


def first(row: Any) -> Any:
    """A row's first column: the key both backends read their pages by."""
    return row[0]
