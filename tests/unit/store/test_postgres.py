"""What only the PostgreSQL backend has: its schema versions, a database it does not own,
what the database holds at rest, and a server that goes away and comes back."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from dynsub_cli.config import StoreConfig
from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import ExitCode, FileError, ServiceUnavailable, StoreError
from dynsub_cli.store import Secrets, pg_schema, rows
from dynsub_cli.store.backends import open_store
from dynsub_cli.store.postgres import PostgresSubscriptions, describe
from dynsub_cli.store.sealing import generate_key_file
from tests import postgres
from tests.postgres import Cluster
from tests.unit.store.helpers import KEY, RANGE, device, onboard, open_location, service


@pytest.fixture
def database(pg_cluster: Cluster) -> str:
    return pg_cluster.new_database()


def test_a_new_database_gets_the_latest_schema(pg_cluster: Cluster, database: str) -> None:
    with open_location(pg_cluster.url(database, password=True)):
        pass
    with pg_cluster.admin(database) as conn:
        assert pg_schema.version(conn) == pg_schema.LATEST
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        }
    assert tables == {"dynsub_schema", "meta", "supi_allocations", "subscriptions", "events"}


def test_several_cores_starting_at_once_create_the_schema_once(
    pg_cluster: Cluster, database: str
) -> None:
    url = pg_cluster.url(database, password=True)
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        try:
            open_location(url).close()
        except BaseException as err:  # asserted on below
            errors.append(err)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_location(url) as store:
        assert onboard(store, 1) == "imsi-001010000000001"


def test_a_newer_schema_is_refused(pg_cluster: Cluster, database: str) -> None:
    url = pg_cluster.url(database, password=True)
    open_location(url).close()
    with pg_cluster.admin(database) as conn:
        conn.execute("UPDATE dynsub_schema SET version = %s", (pg_schema.LATEST + 1,))
    with pytest.raises(StoreError, match="newer than this dynsub understands"):
        open_location(url)


def test_a_database_of_another_program_is_refused(pg_cluster: Cluster, database: str) -> None:
    with pg_cluster.admin(database) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER)")
        conn.execute(f"ALTER TABLE invoices OWNER TO {postgres.ROLE}")
    with pytest.raises(StoreError, match=r"tables that are not a dynsub store \(invoices\)"):
        open_location(pg_cluster.url(database, password=True))


def test_without_create_an_empty_database_is_no_store(pg_cluster: Cluster, database: str) -> None:
    url = pg_cluster.url(database, password=True)
    with pytest.raises(StoreError, match="no subscription store in this database yet"):
        PostgresSubscriptions.open(url, KEY, create=False)
    with pg_cluster.admin(database) as conn:
        assert pg_schema.version(conn) is None


def test_the_database_holds_neither_k_nor_opc(pg_cluster: Cluster, database: str) -> None:
    secrets = Secrets(k=bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc"), opc=b"O" * 16)
    with open_location(pg_cluster.url(database, password=True)) as store:
        store.create_or_update_from_onboarding(
            device(1), service(), secrets, supi_range=RANGE, policy=Reonboarding.SAME_RECORD
        )
    with pg_cluster.admin(database) as conn:
        dump = " ".join(
            str(row[0]) for row in conn.execute("SELECT t::text FROM subscriptions AS t")
        )
        meta = " ".join(str(row[0]) for row in conn.execute("SELECT t::text FROM meta AS t"))
    assert device(1).imei in dump  # the record is there ...
    for secret in (secrets.k, secrets.opc, KEY):
        assert secret.hex() not in dump + meta  # ... but neither K, OPc nor the store key
    assert "O" * 16 not in dump


def test_tampering_with_a_sealed_column_is_detected(pg_cluster: Cluster, database: str) -> None:
    url = pg_cluster.url(database, password=True)
    with open_location(url) as store:
        a, b = onboard(store, 1), onboard(store, 2)
    with pg_cluster.admin(database) as conn:
        conn.execute(
            "UPDATE subscriptions SET k_sealed = "
            "(SELECT k_sealed FROM subscriptions WHERE supi = %s) WHERE supi = %s",
            (b, a),
        )
    with open_location(url) as store:
        assert store.get(a).supi == a
        with pytest.raises(StoreError, match=f"{a}: k does not decrypt under the store key"):
            store.get(a, reveal_secrets=True)


def test_the_password_never_shows(pg_cluster: Cluster, database: str) -> None:
    url = pg_cluster.url(database, password=True)
    assert postgres.PASSWORD not in describe(url)
    with open_location(url) as store:
        assert postgres.PASSWORD not in repr(store)
    with pytest.raises(StoreError) as info:
        open_location(url.replace(postgres.PASSWORD, "wrong"))
    assert postgres.PASSWORD not in info.value.message
    assert "wrong" not in info.value.message


def test_core_toml_store_settings_with_a_password_file(
    pg_cluster: Cluster, database: str, tmp_path: Path
) -> None:
    key_file = tmp_path / "store.key"
    generate_key_file(key_file)
    password_file = tmp_path / "pg-password"
    password_file.write_text(postgres.PASSWORD + "\n")
    settings = StoreConfig(
        path=tmp_path / "unused.sqlite",
        key_file=key_file,
        url=pg_cluster.url(database),
        password_file=password_file,
    )
    password_file.chmod(0o644)
    with pytest.raises(FileError, match="pg-password"):
        open_store(settings)
    password_file.chmod(0o600)
    with open_store(settings) as store:
        assert store.stats().total == 0
    assert not (tmp_path / "unused.sqlite").exists()


def test_a_database_that_is_down_is_temporary_and_comes_back() -> None:
    """The server stops under an open store: ServiceUnavailable, then the same store object
    works again once the server is back (the pool reconnects; no restart of the core)."""
    with postgres.cluster() as own:
        url = own.url(own.new_database(), password=True)
        with PostgresSubscriptions.open(url, KEY, wait_seconds=1) as store:
            first = onboard(store, 1)
            own.stop()
            with pytest.raises(ServiceUnavailable) as info:
                onboard(store, 2)
            assert info.value.service == "store"
            assert info.value.exit_code == ExitCode.NETWORK
            assert "nothing was written, try again" in info.value.message
            with pytest.raises(ServiceUnavailable):
                store.get(first)
            own.start()
            assert onboard(store, 2) == "imsi-001010000000002"
            assert store.stats().total == 2
        own.stop()
        with pytest.raises(ServiceUnavailable):
            open_location(url)


def test_a_connection_cut_in_a_transaction_leaves_nothing(
    pg_cluster: Cluster, database: str
) -> None:
    """The server ends the backend that is inside an onboarding transaction (as a crash of
    the core or a failover would): the transaction is rolled back whole."""
    url = pg_cluster.url(database, password=True)
    with open_location(url) as store:
        onboard(store, 1)
        with psycopg.connect(url, autocommit=True) as holder:
            # Hold the onboarding lock so that the store's transaction waits inside, after its
            # first statement; then terminate that backend.
            holder.execute("BEGIN")
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (pg_schema.LOCK_ONBOARDING,))
            outcome: list[BaseException | str] = []
            worker = threading.Thread(
                target=lambda: outcome.append(_attempt(lambda: onboard(store, 2)))
            )
            worker.start()
            with pg_cluster.admin(database) as admin:
                for _ in range(500):
                    waiting = admin.execute(
                        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = %s",
                        (postgres.DATABASE,),
                    ).fetchall()
                    if waiting:
                        break
                    threading.Event().wait(0.01)
                assert waiting, "the onboarding never waited for the lock"
                admin.execute("SELECT pg_terminate_backend(%s)", (waiting[0][0],))
            worker.join(timeout=30)
            holder.execute("ROLLBACK")
        assert len(outcome) == 1, outcome
        assert isinstance(outcome[0], ServiceUnavailable), outcome
        stats = store.stats()
        assert (stats.total, stats.allocated_supis) == (1, 1)
        assert onboard(store, 2) == "imsi-001010000000002"


def _attempt(job: object) -> BaseException | str:
    try:
        return str(job())  # type: ignore[operator]
    except BaseException as err:  # the test asserts on it
        return err


def test_stats_counts_can_come_from_indexes(pg_cluster: Cluster, database: str) -> None:
    """Issue 11: each count of `store stats` has an index that answers it alone (an index-only
    scan). Sequential scans are turned off here because on a table of a few rows the planner
    rightly prefers them; on a large store it picks the index by itself."""
    with open_location(pg_cluster.url(database, password=True)) as store:
        onboard(store, 1)
    with pg_cluster.admin(database) as conn:
        conn.execute("SET enable_seqscan = off")
        queries = {"events_kind_outcome": rows.EVENT_COUNTS}
        queries.update({f"subscriptions_{c}": q for c, q in rows.COUNT_BY.items()})
        for index, query in queries.items():
            plan = "\n".join(str(row[0]) for row in conn.execute(f"EXPLAIN {query}"))
            assert f"Index Only Scan using {index} on" in plan, plan
            assert "Seq Scan" not in plan, plan
