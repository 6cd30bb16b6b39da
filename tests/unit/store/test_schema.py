"""Schema versions and migrations; connection settings that make commits durable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dynsub_cli.errors import StoreError
from dynsub_cli.store import rows, schema
from dynsub_cli.store.subscriptions import Subscriptions
from tests.unit.store.helpers import KEY, onboard, open_store


def test_a_new_store_is_at_the_latest_version_with_durable_settings(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with open_store(path):
        pass
    conn = schema.connect(path)
    assert schema.version(conn) == schema.LATEST
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == schema.BUSY_TIMEOUT_MS
    conn.close()


def test_the_store_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with open_store(path):
        pass
    assert path.stat().st_mode & 0o777 == 0o600


def test_reopening_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with open_store(path) as store:
        supi = onboard(store, 1)
    with open_store(path) as store:
        assert store.get(supi).imei.startswith("35693803")


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with open_store(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    conn.close()
    with pytest.raises(StoreError) as info:
        open_store(path)
    assert info.value.message == (
        f"{path}: the store has schema version {schema.LATEST + 1}, newer than this dynsub "
        f"understands ({schema.LATEST}); upgrade dynsub to open it"
    )


def test_migrations_step_an_old_store_up_and_keep_its_rows(tmp_path: Path) -> None:
    v1 = ("CREATE TABLE t (a INTEGER)", "INSERT INTO t VALUES (7)")
    v2 = ("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'",)
    conn = schema.connect(tmp_path / "m.sqlite")
    assert schema.migrate(conn, "m", [v1]) == 0
    assert schema.version(conn) == 1
    assert schema.migrate(conn, "m", [v1, v2]) == 1
    assert schema.version(conn) == 2
    assert conn.execute("SELECT a, b FROM t").fetchall() == [(7, "x")]
    assert schema.migrate(conn, "m", [v1, v2]) == 2  # nothing left to do


def test_a_failing_migration_leaves_the_old_version_and_schema(tmp_path: Path) -> None:
    v1 = ("CREATE TABLE t (a INTEGER)",)
    broken = ("CREATE TABLE u (a INTEGER)", "THIS IS NOT SQL")
    conn = schema.connect(tmp_path / "m.sqlite")
    schema.migrate(conn, "m", [v1])
    with pytest.raises(StoreError, match="cannot upgrade the store schema"):
        schema.migrate(conn, "m", [v1, broken])
    assert schema.version(conn) == 1
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert "u" not in tables


def test_opening_a_missing_store_without_create(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no subscription store here"):
        Subscriptions.open(tmp_path / "none.sqlite", KEY, create=False)
    assert not (tmp_path / "none.sqlite").exists()


def test_a_file_that_is_not_sqlite_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=str(path)):
        open_store(path)


def _plan(conn: sqlite3.Connection, query: str) -> list[str]:
    return [str(row[3]) for row in conn.execute(f"EXPLAIN QUERY PLAN {query}")]


def test_stats_counts_come_from_indexes_not_the_tables(tmp_path: Path) -> None:
    """Issue 11: `store stats` reads small covering indexes, never the events table (which
    grows with every onboarding and registration) or the records with their certificates."""
    path = tmp_path / "s.sqlite"
    with open_store(path) as store:
        onboard(store, 1)
    conn = schema.connect(path)
    assert _plan(conn, rows.EVENT_COUNTS) == [
        "SCAN events USING COVERING INDEX events_kind_outcome"
    ]
    for column, query in rows.COUNT_BY.items():
        assert _plan(conn, query) == [
            f"SCAN subscriptions USING COVERING INDEX subscriptions_{column}"
        ]
    assert _plan(conn, rows.COUNT_IN_STATE.replace("?", "'active'")) == [
        "SEARCH subscriptions USING COVERING INDEX subscriptions_state (state=?)"
    ]
    conn.close()


def test_a_version_1_store_is_upgraded_with_the_indexes_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite"
    with open_store(path) as store:
        supi = onboard(store, 1)
    conn = schema.connect(path)
    for name in ("events_kind_outcome", "subscriptions_state", "subscriptions_plan"):
        conn.execute(f"DROP INDEX {name}")
    conn.execute("DROP INDEX subscriptions_service_type")
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with open_store(path) as store:
        assert store.get(supi).supi == supi
        assert store.stats().total == 1
    conn = schema.connect(path)
    assert schema.version(conn) == schema.LATEST == 2
    indexes = {
        row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    assert {"events_kind_outcome", "subscriptions_state", "subscriptions_plan"} <= indexes
    conn.close()
