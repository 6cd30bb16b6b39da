"""The SQLite schema, its versions, and how a connection is set up.

``PRAGMA user_version`` holds the schema version. :data:`MIGRATIONS` is the list of steps;
step ``n`` turns version ``n`` into ``n + 1``. Each step runs in one ``BEGIN IMMEDIATE``
transaction together with the version bump, so a crash during an upgrade leaves the old
schema. A store written by a newer dynsub is refused rather than misread.

Durability and concurrency settings (https://sqlite.org/pragma.html):
- WAL journal: readers do not block the writer, and a committed transaction is in the WAL;
- synchronous=FULL: the WAL is fsync-ed at every commit, so a committed record survives
  kill -9 and power loss (NORMAL would only survive kill -9);
- foreign_keys=ON: SQLite leaves them off per connection unless asked;
- busy_timeout: a writer waits for another (thread or process) instead of failing at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from dynsub_cli.errors import StoreError

BUSY_TIMEOUT_MS = 30_000

Migration = tuple[str, ...]

_V1: Migration = (
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL
    )
    """,
    # Every SUPI ever handed out, kept after its subscription is deleted so that it is never
    # given to another device (whose UE would inherit the old one's SQN history).
    """
    CREATE TABLE supi_allocations (
        supi TEXT PRIMARY KEY,
        plmn TEXT NOT NULL,
        msin INTEGER NOT NULL CHECK (typeof(msin) = 'integer' AND msin >= 0),
        allocated_at TEXT NOT NULL,
        UNIQUE (plmn, msin)
    )
    """,
    """
    CREATE TABLE subscriptions (
        supi TEXT PRIMARY KEY REFERENCES supi_allocations (supi),
        imei TEXT NOT NULL CHECK (length(imei) = 15),
        fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64),
        issuer TEXT NOT NULL,
        certificate BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('active', 'suspended', 'replaced')),
        service_type TEXT NOT NULL,
        plan TEXT NOT NULL,
        account TEXT,
        billing TEXT NOT NULL DEFAULT '{}',
        k_sealed BLOB NOT NULL,
        opc_sealed BLOB NOT NULL,
        amf BLOB NOT NULL CHECK (length(amf) = 2),
        sqn INTEGER NOT NULL CHECK (typeof(sqn) = 'integer' AND sqn BETWEEN 0 AND 281474976710655),
        sst INTEGER NOT NULL CHECK (sst BETWEEN 0 AND 255),
        sd TEXT CHECK (sd IS NULL OR length(sd) = 6),
        dnn TEXT NOT NULL,
        ambr_ul INTEGER NOT NULL CHECK (ambr_ul > 0),
        ambr_dl INTEGER NOT NULL CHECK (ambr_dl > 0),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        replaced_by TEXT REFERENCES subscriptions (supi)
    )
    """,
    # One live subscription per device, whatever the retries or concurrent connections:
    # the transaction checks first, and these indexes make a second live row impossible.
    """
    CREATE UNIQUE INDEX subscriptions_live_imei ON subscriptions (imei)
        WHERE state != 'replaced'
    """,
    """
    CREATE UNIQUE INDEX subscriptions_live_fingerprint ON subscriptions (fingerprint)
        WHERE state != 'replaced'
    """,
    "CREATE INDEX subscriptions_imei ON subscriptions (imei)",
    "CREATE INDEX subscriptions_fingerprint ON subscriptions (fingerprint)",
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time TEXT NOT NULL,
        kind TEXT NOT NULL,
        imei TEXT,
        supi TEXT,
        outcome TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        peer TEXT
    )
    """,
    "CREATE INDEX events_time ON events (time)",
    "CREATE INDEX events_imei ON events (imei, id)",
    "CREATE INDEX events_supi ON events (supi, id)",
)

# Version 2 (issue 11): `dynsub store stats` counts from indexes instead of reading the tables
# (the events table grows with every onboarding and registration), and `store list --state`
# pages in SUPI order within a state. Each count is a scan of a small covering index.
_V2: Migration = (
    "CREATE INDEX events_kind_outcome ON events (kind, outcome)",
    "CREATE INDEX subscriptions_state ON subscriptions (state, supi)",
    "CREATE INDEX subscriptions_service_type ON subscriptions (service_type)",
    "CREATE INDEX subscriptions_plan ON subscriptions (plan)",
)

#: Step n turns schema version n into n + 1.
MIGRATIONS: tuple[Migration, ...] = (_V1, _V2)
LATEST = len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the settings above; transactions are managed by the caller.

    ``isolation_level=None`` stops the sqlite3 module from opening transactions on its own:
    every write is an explicit ``BEGIN IMMEDIATE ... COMMIT``.
    """
    try:
        conn = sqlite3.connect(
            path,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{path}: cannot use WAL mode (got {mode}); is it on a network share?")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as err:
        raise StoreError(f"{path}: cannot open the subscription store: {err}") from err
    return conn


def version(conn: sqlite3.Connection) -> int:
    value: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return value


def migrate(
    conn: sqlite3.Connection, where: str, migrations: Sequence[Migration] = MIGRATIONS
) -> int:
    """Bring the schema to ``len(migrations)``; returns the version found before.

    Refuses a schema newer than this code knows. Safe when several processes open the same
    new store at once: the version is read again inside the write lock.
    """
    latest = len(migrations)
    try:
        found = version(conn)
        if found > latest:
            raise StoreError(too_new(where, found, latest))
        if found == latest:
            return found
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = version(conn)
            if found > latest:
                raise StoreError(too_new(where, found, latest))
            for step in range(found, latest):
                for statement in migrations[step]:
                    conn.execute(statement)
            # PRAGMA does not take parameters; the value is an int of our own.
            conn.execute(f"PRAGMA user_version = {latest:d}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as err:
        raise StoreError(f"{where}: cannot upgrade the store schema: {err}") from err
    return found


def too_new(where: str, found: int, latest: int) -> str:
    return (
        f"{where}: the store has schema version {found}, newer than this dynsub understands "
        f"({latest}); upgrade dynsub to open it"
    )
