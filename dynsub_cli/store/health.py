"""Is the file at [store] path a whole dynsub store? Checked every time a SQLite store opens.

A damaged store must not be used: a store file emptied (zero bytes) would be taken as a new
store and restart SUPI numbering, handing out SUPIs that UEs still hold; a store with damaged
pages would allocate SUPIs beside records it cannot read. So an existing file must not be empty,
must be a SQLite database and hold the dynsub tables; each refusal says how to recover.

Whatever may write to the store (the core, ``store suspend``/``resume``/``delete``) and
``store stats``, the command the recovery advice names, first run ``PRAGMA quick_check``
(https://sqlite.org/pragma.html#pragma_quick_check: every page and index, without checking
that index contents match their tables). It reads the whole file: 0.5 s at 100,000
subscriptions, which the read commands (``list``, ``show``, ``export``, ``events``) do not pay
(issue 11: the first page of ``store list`` in under 1 s). They need no check of their own to
be safe: SQLite checks each page it reads, and a damaged one ends the command with the same
refusal (:func:`damaged`), so what they print was read intact.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from dynsub_cli.errors import StoreError

_TABLES = {"meta", "supi_allocations", "subscriptions", "events"}
_SHOWN = 3  # quick_check messages quoted in the error

RECOVER = (
    "stop every core using it, keep a copy of the file, and restore the store from a backup; "
    "without a backup, sqlite3 can salvage what is readable: "
    "sqlite3 BROKEN .recover | sqlite3 NEW, then check NEW with dynsub store stats "
    "before pointing [store] path at it"
)


def check_file(path: Path) -> None:
    """Refuse an empty store file before SQLite opens it (and takes it as a new database).

    Only stat(2): opening and closing the file here would drop every POSIX lock that SQLite
    connections of this process hold on it (fcntl locks belong to the process, and any
    close() releases them), which lets another connection delete a WAL still in use.
    """
    try:
        size = path.stat().st_size
    except OSError as err:
        raise StoreError(f"{path}: cannot read the subscription store: {err.strerror}") from err
    if size == 0:
        raise StoreError(
            f"{path}: the store file is empty (0 bytes), so its subscriptions are lost; it is "
            "not used as a new store, since SUPIs would be handed out again that UEs still "
            f"hold. To recover: {RECOVER}. Only if no UE was ever onboarded: delete the file "
            "and the core creates a new store"
        )


def not_sqlite(where: str) -> StoreError:
    """SQLite said "file is not a database": its header is not SQLite's."""
    return StoreError(
        f"{where}: not a subscription store (not a SQLite database: a file of another "
        "program, or its first page is damaged); check [store] path in core.toml. If it "
        f"was the store: {RECOVER}"
    )


def is_damage(err: sqlite3.Error) -> bool:
    """SQLite found a page it read malformed (SQLITE_CORRUPT, with any extended code)."""
    return err.sqlite_errorcode & 0xFF == sqlite3.SQLITE_CORRUPT


def damaged(where: str, found: str) -> StoreError:
    """The refusal of a damaged store, with what was found and how to recover."""
    return StoreError(f"{where}: the store is damaged ({found}). {RECOVER}")


def check_database(conn: sqlite3.Connection, where: str, *, pages: bool = True) -> None:
    """Refuse a database of another program (tables but no dynsub schema), and with ``pages``
    one whose quick_check finds damage."""
    if pages:
        check_pages(conn, where)
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as err:
        raise damaged(where, str(err)) from err
    foreign = (version == 0 and tables) or (version > 0 and not tables >= _TABLES)
    if foreign:
        listed = ", ".join(sorted(t for t in tables if not t.startswith("sqlite_"))) or "none"
        raise StoreError(
            f"{where}: a SQLite database that is not a dynsub store (tables: {listed}); "
            "check [store] path in core.toml: it names the store file the core created"
        )


def check_pages(conn: sqlite3.Connection, where: str) -> None:
    """Refuse a database in which ``PRAGMA quick_check`` finds damage."""
    try:
        problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as err:
        problems = [str(err)]
    if problems != ["ok"]:
        shown = "; ".join(problems[:_SHOWN])
        more = f" (and {len(problems) - _SHOWN} more)" if len(problems) > _SHOWN else ""
        raise damaged(where, f"quick_check: {shown}{more}")
