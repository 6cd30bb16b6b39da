"""SUPI allocation, inside the caller's write transaction.

Every SUPI ever handed out is kept in ``supi_allocations`` (even after its subscription is
deleted), so a SUPI is never given to a second device. A range that is not ``sequential`` draws
MSINs at random, so that a probe of 1, 2, 3 ... finds nothing; when a few draws all hit taken
MSINs (a nearly full range) it falls back to the sequential rule: one above the highest
allocated in the range, and when the top is taken, the lowest free hole (holes appear when the
configured range is moved). The UNIQUE (plmn, msin) constraint backs it: two writers cannot
take one MSIN, and the ``BEGIN IMMEDIATE`` lock means they never try.
"""

from __future__ import annotations

import secrets
import sqlite3

from dynsub_cli.errors import SupiRangeExhausted
from dynsub_cli.store.model import SupiRange

_HIGHEST = "SELECT MAX(msin) FROM supi_allocations WHERE plmn = ? AND msin BETWEEN ? AND ?"
_TAKEN = "SELECT 1 FROM supi_allocations WHERE plmn = ? AND msin = ?"
_FIRST_HOLE = (
    "SELECT a.msin + 1 FROM supi_allocations AS a "
    "WHERE a.plmn = ? AND a.msin >= ? AND a.msin < ? AND NOT EXISTS ("
    "  SELECT 1 FROM supi_allocations AS b WHERE b.plmn = a.plmn AND b.msin = a.msin + 1"
    ") ORDER BY a.msin LIMIT 1"
)
_RECORD = "INSERT INTO supi_allocations (supi, plmn, msin, allocated_at) VALUES (?, ?, ?, ?)"


def allocate(conn: sqlite3.Connection, r: SupiRange, now: str, where: str) -> str:
    """Take the next free SUPI of ``r``; SupiRangeExhausted when there is none."""
    start, end = int(r.msin_start), int(r.msin_end)
    msin: int | None = None if r.sequential else _draw(conn, r.plmn, start, end)
    if msin is not None:
        supi = r.supi(msin)
        conn.execute(_RECORD, (supi, r.plmn, msin, now))
        return supi
    highest = conn.execute(_HIGHEST, (r.plmn, start, end)).fetchone()[0]
    if highest is None:
        msin = start
    elif highest < end:
        msin = highest + 1
    else:
        msin = _first_hole(conn, r.plmn, start, end)
    if msin is None:
        raise SupiRangeExhausted(
            f"{where}: every MSIN from {r.msin_start} to {r.msin_end} is allocated; "
            "widen [supi] msin_start/msin_end in core.toml"
        )
    supi = r.supi(msin)
    conn.execute(_RECORD, (supi, r.plmn, msin, now))
    return supi


def _first_hole(conn: sqlite3.Connection, plmn: str, start: int, end: int) -> int | None:
    if conn.execute(_TAKEN, (plmn, start)).fetchone() is None:
        return start
    row = conn.execute(_FIRST_HOLE, (plmn, start, end)).fetchone()
    return None if row is None else int(row[0])


#: Random draws before a nearly full range falls back to the sequential rule.
_DRAWS = 8


def _draw(conn: sqlite3.Connection, plmn: str, start: int, end: int) -> int | None:
    for _ in range(_DRAWS):
        msin = start + secrets.randbelow(end - start + 1)
        if conn.execute(_TAKEN, (plmn, msin)).fetchone() is None:
            return msin
    return None
