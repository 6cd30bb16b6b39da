"""SUPI allocation, inside the caller's write transaction: one rule for both backends.

Every SUPI ever handed out is kept in ``supi_allocations`` (even after its subscription is
deleted), so a SUPI is never given to a second device. A range that is not ``sequential`` draws
MSINs at random, so that a probe of 1, 2, 3 ... finds nothing; when a few draws all hit taken
MSINs (a nearly full range) it falls back to the sequential rule: one above the highest
allocated in the range, and when the top is taken, the lowest free hole (holes appear when the
configured range is moved). The UNIQUE (plmn, msin) constraint backs it: two writers cannot
take one MSIN, and the backend's lock (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's onboarding
advisory lock) means they never try. The statements are SQLite's; PostgreSQL swaps the
placeholders, as for :mod:`rows`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Protocol

from dynsub_cli.errors import SupiRangeExhausted
from dynsub_cli.store.model import SupiRange

#: (plmn, start, end) -> the highest MSIN allocated in [start, end], or NULL.
HIGHEST = "SELECT MAX(msin) FROM supi_allocations WHERE plmn = ? AND msin BETWEEN ? AND ?"
#: (plmn, msin) -> a row if that MSIN is taken.
TAKEN = "SELECT 1 FROM supi_allocations WHERE plmn = ? AND msin = ?"
#: (plmn, start, end) -> the lowest free MSIN just above a taken one, or no row.
FIRST_HOLE = (
    "SELECT a.msin + 1 FROM supi_allocations AS a "
    "WHERE a.plmn = ? AND a.msin >= ? AND a.msin < ? AND NOT EXISTS ("
    "  SELECT 1 FROM supi_allocations AS b WHERE b.plmn = a.plmn AND b.msin = a.msin + 1"
    ") ORDER BY a.msin LIMIT 1"
)
#: (supi, plmn, msin, allocated_at)
RECORD = "INSERT INTO supi_allocations (supi, plmn, msin, allocated_at) VALUES (?, ?, ?, ?)"

#: Random draws before a nearly full range falls back to the sequential rule.
_DRAWS = 8


class Ledger(Protocol):
    """The caller's write transaction, running statements through its backend's driver."""

    def select(self, query: str, params: tuple[object, ...]) -> Sequence[Sequence[Any]]:
        """The rows ``query`` returns, each a sequence of its columns."""
        ...

    def write(self, statement: str, params: tuple[object, ...]) -> None: ...


def allocate(ledger: Ledger, r: SupiRange, now: str, where: str) -> str:
    """Take the next free SUPI of ``r``; SupiRangeExhausted when there is none."""
    start, end = int(r.msin_start), int(r.msin_end)
    msin = None if r.sequential else _draw(ledger, r.plmn, start, end)
    if msin is None:
        highest = _value(ledger, HIGHEST, (r.plmn, start, end))
        if highest is None:
            msin = start
        elif int(highest) < end:
            msin = int(highest) + 1
        elif _value(ledger, TAKEN, (r.plmn, start)) is None:
            msin = start
        else:
            hole = _value(ledger, FIRST_HOLE, (r.plmn, start, end))
            msin = None if hole is None else int(hole)
    if msin is None:
        raise SupiRangeExhausted(
            f"{where}: every MSIN from {r.msin_start} to {r.msin_end} is allocated; "
            "widen [supi] msin_start/msin_end in core.toml"
        )
    supi = r.supi(msin)
    ledger.write(RECORD, (supi, r.plmn, msin, now))
    return supi


def _value(ledger: Ledger, query: str, params: tuple[object, ...]) -> Any:
    """The first column of the first row of ``query``; None without a row."""
    found = ledger.select(query, params)
    return found[0][0] if found else None


def _draw(ledger: Ledger, plmn: str, start: int, end: int) -> int | None:
    for _ in range(_DRAWS):
        msin = start + secrets.randbelow(end - start + 1)
        if _value(ledger, TAKEN, (plmn, msin)) is None:
            return msin
    return None
