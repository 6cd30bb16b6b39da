"""The subscription store in PostgreSQL, shared by several core processes on several hosts.

Theory of operation
-------------------
- The same records, audit trail and sealing as the SQLite store
  (:mod:`dynsub_cli.store.subscriptions`), and the same onboarding and SUPI allocation code
  (store/onboarding.py, store/allocation.py); only the database differs. The store key stays with
  the cores: the database holds K and OPc sealed, never the key.
- Every write is one transaction on a connection of a pool (psycopg_pool). The guarantees hold
  across processes because the database enforces them, not a lock in one process:

  * an onboarding transaction first takes a transaction-scoped advisory lock
    (``pg_advisory_xact_lock``), so onboarding commits of every core take turns, as
    ``BEGIN IMMEDIATE`` makes them in SQLite; inside it, the device check, the policy, the
    SUPI allocation and the insert see every committed onboarding. The lock ends with the
    transaction, also when the core holding it dies (its connection closes).
  * behind that, the constraints: UNIQUE (plmn, msin) and the SUPI primary key (a SUPI is
    never taken twice), the partial UNIQUE indexes on live rows (one live subscription per
    device). A transaction that breaks one is rolled back whole and tried again, and then
    sees the row that won.
  * SQN steps lock the one row (``SELECT ... FOR UPDATE``): two authentications of one SUPI
    through two cores get different SQNs.
- A transaction cut by a crash (of the core or the database) is rolled back by PostgreSQL: no
  record without its K, its allocation and its event.
- A database that is down or restarting raises ServiceUnavailable ("store"): temporary, the
  core answers the UE to try again later. The pool checks a connection before lending it and
  opens new ones by itself once the database is back, so the core needs no restart.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors
from psycopg.rows import dict_row, tuple_row

from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import DeviceAlreadyOnboarded, ServiceUnavailable, StoreError
from dynsub_cli.store import model, onboarding, pg_schema, rows, sealing
from dynsub_cli.store.backend import SubscriptionStore
from dynsub_cli.store.model import (
    Allocation,
    Clock,
    Device,
    Event,
    EventKind,
    EventOutcome,
    OnboardingResult,
    Secrets,
    Service,
    State,
    Stats,
    Subscription,
    SupiRange,
)
from dynsub_cli.store.paging import first, keyset
from dynsub_cli.store.sealing import Sealer

Conn = psycopg.Connection[dict[str, Any]]

#: Connections one core keeps: its worker threads (asyncio.to_thread) each hold one at most.
POOL_SIZE = 8
#: How long a call waits for a connection (the database down or every connection busy) before
#: it is refused as temporary; a UE's timers are longer (TS 24.501 T3510 is 15 s).
WAIT_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5
#: How long the pool keeps retrying one reconnection (backing off 1 s, 2 s, ...) before it
#: starts afresh on the next request: short, so a database back from a restart is found
#: within about this time instead of after a long backoff.
RECONNECT_SECONDS = 2.0
#: Tries of a transaction that lost a race another core's transaction won.
TRIES = 5
_PAGE = 1000
#: Above every event id (a BIGINT identity).
_NO_EVENT_ID = 2**63 - 1
#: Connection refusals that are not temporary: a wrong password, role or database name.
_REFUSED = ("authentication failed", "does not exist", "no password supplied", "not permitted")
_RETRY = (pg_errors.UniqueViolation, pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


@functools.cache
def _pg(query: str) -> str:
    """The shared SQL of :mod:`rows` and :mod:`allocation` with psycopg's placeholders."""
    return query.replace("?", "%s")


def describe(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    try:
        parts = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "postgresql://(unparsable URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = str(parts.get("host") or "localhost")
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname') or ''}"


class PostgresSubscriptions(SubscriptionStore):
    """The repository over one database. Open with :meth:`open`; a context manager. The methods
    are the SubscriptionStore protocol's (store/backend.py)."""

    def __init__(
        self, pool: psycopg_pool.ConnectionPool[Conn], where: str, sealer: Sealer | None, now: Clock
    ) -> None:
        self._pool = pool
        self._where = where
        self._sealer = sealer
        self._now = now

    # --- lifecycle ------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str,
        key: bytes | None,
        *,
        password: str | None = None,
        now: Clock = model.utc_now,
        create: bool = True,
        pool_size: int = POOL_SIZE,
        wait_seconds: float = WAIT_SECONDS,
    ) -> PostgresSubscriptions:
        """Connect to the store at ``url`` (and with ``create``, create or upgrade its schema).

        ``password``: from [store] password_file; without it libpq's own sources apply
        (PGPASSWORD, ~/.pgpass, PGPASSFILE). ``key`` as for the SQLite store.
        """
        where = describe(url)
        kwargs: dict[str, Any] = {
            "row_factory": dict_row,
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": "dynsub",
        }
        if password is not None:
            kwargs["password"] = password
        try:
            pool: psycopg_pool.ConnectionPool[Conn] = psycopg_pool.ConnectionPool(
                url,
                connection_class=psycopg.Connection[dict[str, Any]],
                kwargs=kwargs,
                min_size=1,
                max_size=max(1, pool_size),
                open=False,
                check=psycopg_pool.ConnectionPool.check_connection,
                timeout=wait_seconds,
                reconnect_timeout=RECONNECT_SECONDS,
                name="dynsub-store",
            )
        except psycopg.ProgrammingError as err:
            raise StoreError(f"{where}: not a PostgreSQL URL: {err}") from err
        store = cls(pool, where, Sealer(key) if key is not None else None, now)
        try:
            store._prepare(url, kwargs, create)
            pool.open(wait=False)
            if key is not None:
                store._check_key()
        except BaseException:
            pool.close()
            raise
        return store

    def _prepare(self, url: str, kwargs: dict[str, Any], create: bool) -> None:
        """Connect once outside the pool, so that a refusal says why (a pool only retries),
        and create or upgrade the schema."""
        try:
            conn = psycopg.connect(url, **kwargs)
        except psycopg.ProgrammingError as err:
            raise StoreError(f"{self._where}: not a PostgreSQL URL: {_first_line(err)}") from err
        except psycopg.OperationalError as err:
            text = _first_line(err)
            if any(words in text for words in _REFUSED):
                raise StoreError(
                    f"{self._where}: the database refused the store: {_server_says(text)} "
                    "(check [store] url and password_file in core.toml)"
                ) from err
            raise ServiceUnavailable(
                f"{self._where}: cannot reach the database: {_server_says(text)}", "store"
            ) from err
        with self._translate(), conn:
            found = pg_schema.version(conn)
            conn.rollback()
            if found is None and not create:
                raise StoreError(
                    f"{self._where}: no subscription store in this database yet; a core "
                    "creates it when it first serves (check [store] url in core.toml)"
                )
            if found != pg_schema.LATEST:
                pg_schema.migrate(conn, self._where)

    def close(self) -> None:
        self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresSubscriptions({self._where!r})"

    def _check_key(self) -> None:
        sealer = self._need_sealer()
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('key_check', %s) ON CONFLICT DO NOTHING",
                (sealer.key_check(),),
            )
            row = conn.execute("SELECT value FROM meta WHERE key = 'key_check'").fetchone()
        sealer.check_store(None if row is None else bytes(row["value"]), self._where)

    # --- transactions ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as err:
            # The server is down, restarting, or out of reach: temporary, and the pool
            # reconnects by itself. Anything the transaction wrote was rolled back.
            raise ServiceUnavailable(
                f"{self._where}: the database did not answer ({_first_line(err)}); "
                "nothing was written, try again",
                "store",
            ) from err
        except psycopg.Error as err:
            raise StoreError(f"{self._where}: {_first_line(err)}") from err

    @contextlib.contextmanager
    def _write(self) -> Iterator[Conn]:
        """One transaction: all of it is committed, or none of it."""
        with self._translate(), self._pool.connection() as conn, conn.transaction():
            yield conn

    @contextlib.contextmanager
    def _read(self, *, snapshot: bool = False) -> Iterator[Conn]:
        with self._translate(), self._pool.connection() as conn, conn.transaction():
            if snapshot:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield conn

    def _timestamp(self) -> str:
        return model.timestamp(self._now())

    def _need_sealer(self) -> Sealer:
        return sealing.required(self._sealer, self._where)

    # --- onboarding -----------------------------------------------------------------------

    def create_or_update_from_onboarding(
        self,
        device: Device,
        service: Service,
        secrets: Secrets,
        *,
        supi_range: SupiRange,
        policy: Reonboarding,
        amf: bytes = b"\x80\x00",
        peer: str | None = None,
    ) -> OnboardingResult:
        sealer = self._need_sealer()
        model.check_amf(amf)
        request = (device, service, secrets, supi_range, policy, amf, peer)
        for attempt in range(TRIES):
            try:
                with self._write() as conn:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (pg_schema.LOCK_ONBOARDING,))
                    result = onboarding.commit(_Steps(self, conn, sealer), *request)
            except StoreError as err:
                if attempt == TRIES - 1 or not isinstance(err.__cause__, _RETRY):
                    raise
                continue
            if isinstance(result, DeviceAlreadyOnboarded):
                raise result
            return result
        raise StoreError(f"{self._where}: onboarding of {device.imei} kept losing races")

    # --- reads ----------------------------------------------------------------------------

    def _fetch(
        self, conn: Conn, supi: str, sealer: Sealer | None = None, *, lock: bool = False
    ) -> Subscription:
        """``lock``: SELECT ... FOR UPDATE, so that the row's change waits for no other."""
        query = f"{_pg(rows.BY_SUPI)} FOR UPDATE" if lock else _pg(rows.BY_SUPI)
        found = conn.execute(query, (supi,)).fetchone()
        if found is None:
            raise rows.missing(supi, self._where)
        return rows.to_subscription(found, sealer)

    def _one(self, query: str, args: tuple[str], reveal: bool) -> Subscription | None:
        sealer = self._need_sealer() if reveal else None
        with self._read() as conn:
            row = conn.execute(_pg(query), args).fetchone()
        return None if row is None else rows.to_subscription(row, sealer)

    def iterate(
        self,
        state: State | None = None,
        *,
        reveal_secrets: bool = False,
        after: str = "",
        limit: int | None = None,
    ) -> Iterator[Subscription]:
        sealer = self._need_sealer() if reveal_secrets else None
        if state is None:
            pages = self._pages(rows.PAGE, (), after, limit)
        else:
            pages = self._pages(rows.PAGE_BY_STATE, (state.value,), after, limit)
        for row in pages:
            yield rows.to_subscription(row, sealer)

    def _pages(
        self, query: str, args: tuple[object, ...], start: object, limit: int | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of ``query`` (args, then after and limit) in keyset pages, as tuples; no
        connection is held between pages."""

        def fetch(after: object, size: int) -> builtins.list[tuple[Any, ...]]:
            with self._read() as conn:
                cur = conn.cursor(row_factory=tuple_row)
                return cur.execute(_pg(query), (*args, after, size)).fetchall()

        return keyset(fetch, start, key=first, page=_PAGE, limit=limit)

    def count(self, state: State | None = None) -> int:
        with self._read() as conn:
            cur = conn.cursor(row_factory=tuple_row)
            if state is None:
                found = cur.execute(rows.COUNT).fetchone()
            else:
                found = cur.execute(_pg(rows.COUNT_IN_STATE), (state.value,)).fetchone()
        return 0 if found is None else int(found[0])

    def secrets(self, supi: str) -> Secrets:
        found = self.get(supi, reveal_secrets=True).secrets
        if found is None:  # get(reveal_secrets=True) always opens them
            raise StoreError(f"{supi}: secrets were not read")
        return found

    def stats(self) -> Stats:
        with self._read(snapshot=True) as conn:
            return rows.stats(conn.cursor(row_factory=tuple_row).execute)

    # --- changes --------------------------------------------------------------------------

    def set_state(
        self, supi: str, state: State, *, reason: str = "", peer: str | None = None
    ) -> Subscription:
        kind = model.state_change(state)
        with self._write() as conn:
            current = self._fetch(conn, supi, lock=True)
            model.check_changeable(current)
            conn.execute(_pg(rows.SET_STATE), (state.value, self._timestamp(), supi))
            self._event(conn, kind, EventOutcome.SUCCESS, current.imei, supi, reason, peer)
            return self._fetch(conn, supi)

    def delete(self, supi: str, *, reason: str = "", peer: str | None = None) -> Subscription:
        with self._write() as conn:
            current = self._fetch(conn, supi, lock=True)
            conn.execute(_pg(rows.UNLINK), (supi,))
            conn.execute(_pg(rows.DELETE), (supi,))
            self._event(
                conn, EventKind.DELETED, EventOutcome.SUCCESS, current.imei, supi, reason, peer
            )
            return current

    def start_authentication(self, supi: str) -> Subscription:
        sealer = self._need_sealer()
        with self._write() as conn:
            # SEQ steps under the row's lock, so concurrent authentications of one SUPI
            # (through several cores) get different SQNs.
            record = self._fetch(conn, supi, sealer, lock=True)
            stepped = model.challenged(record)
            if stepped is None:
                return record
            conn.execute(_pg(rows.SET_SQN), (stepped.sqn, self._timestamp(), supi))
        return stepped

    def update_sqn(self, supi: str, sqn: int) -> None:
        model.check_sqn(sqn)
        with self._write() as conn:
            if conn.execute(_pg(rows.SET_SQN), (sqn, self._timestamp(), supi)).rowcount == 0:
                raise rows.missing(supi, self._where)

    # --- audit trail ----------------------------------------------------------------------

    def _event(
        self,
        conn: Conn,
        kind: str,
        outcome: str,
        imei: str | None,
        supi: str | None,
        reason: str,
        peer: str | None,
    ) -> Event:
        time = self._timestamp()
        row = conn.execute(
            f"{_pg(rows.INSERT_EVENT)} RETURNING id",
            (time, str(kind), imei, supi, str(outcome), reason, peer),
        ).fetchone()
        if row is None:
            raise StoreError(f"{self._where}: the event was not written")
        return Event(int(row["id"]), time, str(kind), str(outcome), imei, supi, reason, peer)

    def add_event(
        self,
        kind: EventKind | str,
        *,
        outcome: EventOutcome | str,
        imei: str | None = None,
        supi: str | None = None,
        reason: str = "",
        peer: str | None = None,
    ) -> Event:
        with self._write() as conn:
            return self._event(conn, kind, outcome, imei, supi, reason, peer)

    def iterate_events(
        self, *, imei: str | None = None, supi: str | None = None, limit: int | None = None
    ) -> Iterator[Event]:
        query, args = rows.events_before(imei, supi, "strpos")
        for row in self._pages(query, tuple(args), _NO_EVENT_ID, limit):
            yield Event(*row)

    # --- copying (dynsub store copy) --------------------------------------------------------

    def allocations(self) -> Iterator[Allocation]:
        for row in self._pages(rows.ALLOCATIONS_AFTER, (), ""):
            yield Allocation(row[0], row[1], int(row[2]), row[3])

    def all_events(self) -> Iterator[Event]:
        for row in self._pages(rows.EVENTS_AFTER, (), 0):
            yield Event(*row)

    def restore(
        self,
        allocations: Iterable[Allocation],
        subscriptions: Iterable[Subscription],
        events: Iterable[Event],
    ) -> None:
        sealer = self._need_sealer()
        with self._write() as conn:
            conn.execute("LOCK TABLE supi_allocations, subscriptions, events IN EXCLUSIVE MODE")
            rows.check_empty(lambda query: conn.execute(query).fetchone(), self._where)
            with conn.cursor() as cur:
                for statement, batch in rows.restore_batches(
                    allocations, subscriptions, events, sealer
                ):
                    cur.executemany(_pg(statement), batch)
            # The identity goes on above the copied ids, so new events sort after them.
            conn.execute(
                "SELECT setval(pg_get_serial_sequence('events', 'id'), "
                "COALESCE((SELECT MAX(id) FROM events), 0) + 1, false)"
            )


class _Steps:
    """store.onboarding's steps on one transaction of ``store``, in psycopg's placeholders."""

    def __init__(self, store: PostgresSubscriptions, conn: Conn, sealer: Sealer) -> None:
        self._store, self._conn = store, conn
        self.sealer, self.where = sealer, store._where

    def timestamp(self) -> str:
        return self._store._timestamp()

    def select(self, query: str, params: tuple[object, ...]) -> builtins.list[tuple[Any, ...]]:
        return self._conn.cursor(row_factory=tuple_row).execute(_pg(query), params).fetchall()

    def write(self, statement: str, params: tuple[object, ...]) -> None:
        self._conn.execute(_pg(statement), params)


def _server_says(text: str) -> str:
    # libpq: 'connection failed: connection to server at "h", port p failed: FATAL:  why'
    return text.rsplit("failed: ", 1)[-1].replace("FATAL:  ", "").strip()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
