"""The subscription store in PostgreSQL, shared by several core processes on several hosts.

Theory of operation
-------------------
- The same records, audit trail and sealing as the SQLite store
  (:mod:`dynsub_cli.store.subscriptions`); only the database differs. The store key stays with
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
import dataclasses
import secrets
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors
from psycopg.rows import dict_row, tuple_row

from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import (
    AlreadyExists,
    DeviceAlreadyOnboarded,
    IssuerMismatch,
    NotFound,
    ServiceUnavailable,
    StoreError,
    SupiRangeExhausted,
)
from dynsub_cli.store import pg_schema, rows
from dynsub_cli.store.model import (
    SQN_MAX,
    Allocation,
    Device,
    Event,
    EventKind,
    EventOutcome,
    OnboardingResult,
    Outcome,
    Secrets,
    Service,
    State,
    Stats,
    Subscription,
    SupiRange,
    next_sqn,
)
from dynsub_cli.store.paging import first, keyset
from dynsub_cli.store.sealing import Sealer

Clock = Callable[[], datetime]
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
_EVENTS = "SELECT id, time, kind, outcome, imei, supi, reason, peer FROM events"
#: Above every event id (a BIGINT identity).
_NO_EVENT_ID = 2**63 - 1
#: Connection refusals that are not temporary: a wrong password, role or database name.
_REFUSED = ("authentication failed", "does not exist", "no password supplied", "not permitted")
#: What `dynsub store stats` counts the trail with: from the events_kind_outcome index.
EVENT_COUNTS = (
    "SELECT kind, outcome, COUNT(*) AS n FROM events GROUP BY kind, outcome ORDER BY kind, outcome"
)
_RETRY = (pg_errors.UniqueViolation, pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


def _pg(query: str) -> str:
    """The shared SQL of :mod:`rows` with psycopg's placeholders."""
    return query.replace("?", "%s")


_BY_SUPI = _pg(rows.BY_SUPI)
_LIVE_BY_IMEI = _pg(rows.LIVE_BY_IMEI)
_LIVE_BY_FINGERPRINT = _pg(rows.LIVE_BY_FINGERPRINT)
_PAGE_ALL = _pg(rows.PAGE)
_PAGE_BY_STATE = _pg(rows.PAGE_BY_STATE)
_LIVE_FOR_DEVICE = _pg(rows.LIVE_FOR_DEVICE)
_COUNT = rows.COUNT
_COUNT_IN_STATE = _pg(rows.COUNT_IN_STATE)
_INSERT = _pg(rows.INSERT)
_UPDATE_SAME = _pg(rows.UPDATE_SAME)
_RESTORE = _pg(rows.RESTORE)
_LINK_REPLACED = _pg(rows.LINK_REPLACED)
_RESTORE_ALLOCATION = _pg(rows.RESTORE_ALLOCATION)
_RESTORE_EVENT = _pg(rows.RESTORE_EVENT)

_HIGHEST = "SELECT MAX(msin) AS m FROM supi_allocations WHERE plmn = %s AND msin BETWEEN %s AND %s"
_TAKEN = "SELECT 1 FROM supi_allocations WHERE plmn = %s AND msin = %s"
_FIRST_HOLE = (
    "SELECT a.msin + 1 AS m FROM supi_allocations AS a "
    "WHERE a.plmn = %s AND a.msin >= %s AND a.msin < %s AND NOT EXISTS ("
    "  SELECT 1 FROM supi_allocations AS b WHERE b.plmn = a.plmn AND b.msin = a.msin + 1"
    ") ORDER BY a.msin LIMIT 1"
)
_RECORD = "INSERT INTO supi_allocations (supi, plmn, msin, allocated_at) VALUES (%s, %s, %s, %s)"


def _utc_now() -> datetime:
    return datetime.now(UTC)


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


class PostgresSubscriptions:
    """The repository over one database. Open with :meth:`open`; a context manager."""

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
        now: Clock = _utc_now,
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

    def __enter__(self) -> PostgresSubscriptions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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
        if row is None or not sealer.verify_key_check(bytes(row["value"])):
            raise StoreError(
                f"{self._where}: the store key does not open this store; check [store] key_file "
                "in core.toml (the key that created the store is needed)"
            )

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
        now = self._now()
        if now.tzinfo is None:
            raise ValueError("the store's clock must return timezone-aware datetimes")
        return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _need_sealer(self) -> Sealer:
        if self._sealer is None:
            raise StoreError(f"{self._where}: opened without the store key; K and OPc are sealed")
        return self._sealer

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
        """As :meth:`Subscriptions.create_or_update_from_onboarding`, across processes."""
        sealer = self._need_sealer()
        if len(amf) != 2:
            raise ValueError("AMF is 2 bytes")
        for attempt in range(TRIES):
            try:
                return self._onboard(
                    device, service, secrets, sealer, supi_range, policy, amf, peer
                )
            except StoreError as err:
                if attempt == TRIES - 1 or not isinstance(err.__cause__, _RETRY):
                    raise
        raise StoreError(f"{self._where}: onboarding of {device.imei} kept losing races")

    def _onboard(
        self,
        device: Device,
        service: Service,
        secrets: Secrets,
        sealer: Sealer,
        supi_range: SupiRange,
        policy: Reonboarding,
        amf: bytes,
        peer: str | None,
    ) -> OnboardingResult:
        refused: str | None = None
        with self._write() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (pg_schema.LOCK_ONBOARDING,))
            existing = self._live_record(conn, device)
            now = self._timestamp()
            if existing is None:
                supi = self._allocate(conn, supi_range, now)
                conn.execute(
                    _INSERT,
                    rows.insert_params(
                        supi, device, service, secrets, sealer, amf, State.ACTIVE, now
                    ),
                )
                result = OnboardingResult(self._fetch(conn, supi), Outcome.CREATED)
                kind = EventKind.SUBSCRIPTION_CREATED
            elif policy is Reonboarding.REFUSE:
                refused = existing["supi"]
                self._event(
                    conn,
                    EventKind.ONBOARDING_REFUSED,
                    EventOutcome.FAILURE,
                    device.imei,
                    refused,
                    "already onboarded; re-onboarding policy is refuse",
                    peer,
                )
            elif policy is Reonboarding.SAME_RECORD:
                supi = existing["supi"]
                conn.execute(
                    _UPDATE_SAME,
                    rows.update_params(supi, device, service, secrets, sealer, amf, now),
                )
                result = OnboardingResult(self._fetch(conn, supi), Outcome.UPDATED)
                kind = EventKind.SUBSCRIPTION_UPDATED
            else:
                old = existing["supi"]
                conn.execute(
                    "UPDATE subscriptions SET state = 'replaced', updated_at = %s WHERE supi = %s",
                    (now, old),
                )
                supi = self._allocate(conn, supi_range, now)
                state = State(existing["state"])
                conn.execute(
                    _INSERT,
                    rows.insert_params(supi, device, service, secrets, sealer, amf, state, now),
                )
                conn.execute(_LINK_REPLACED, (supi, old))
                result = OnboardingResult(self._fetch(conn, supi), Outcome.REPLACED, old)
                kind = EventKind.SUBSCRIPTION_REPLACED
            if refused is None:
                reason = "" if result.previous_supi is None else f"replaces {result.previous_supi}"
                self._event(conn, kind, EventOutcome.SUCCESS, device.imei, supi, reason, peer)
        if refused is not None:
            raise DeviceAlreadyOnboarded(
                f"device {device.imei} already has subscription {refused}; the re-onboarding "
                "policy is refuse (core.toml [enrollment] reonboarding)",
                refused,
            )
        return result

    def _allocate(self, conn: Conn, r: SupiRange, now: str) -> str:
        """As :func:`allocation.allocate`: at random unless sequential, else (or when the
        draws hit taken MSINs) one above the highest, then the lowest hole."""
        start, end = int(r.msin_start), int(r.msin_end)
        if not r.sequential:
            for _ in range(8):  # random draws (SUPIs not enumerable), then the rule below
                drawn = start + secrets.randbelow(end - start + 1)
                if conn.execute(_TAKEN, (r.plmn, drawn)).fetchone() is None:
                    supi = r.supi(drawn)
                    conn.execute(_RECORD, (supi, r.plmn, drawn, now))
                    return supi
        row = conn.execute(_HIGHEST, (r.plmn, start, end)).fetchone()
        highest = None if row is None else row["m"]
        msin: int | None
        if highest is None:
            msin = start
        elif highest < end:
            msin = int(highest) + 1
        elif conn.execute(_TAKEN, (r.plmn, start)).fetchone() is None:
            msin = start
        else:
            hole = conn.execute(_FIRST_HOLE, (r.plmn, start, end)).fetchone()
            msin = None if hole is None else int(hole["m"])
        if msin is None:
            raise SupiRangeExhausted(
                f"{self._where}: every MSIN from {r.msin_start} to {r.msin_end} is allocated; "
                "widen [supi] msin_start/msin_end in core.toml"
            )
        supi = r.supi(msin)
        conn.execute(_RECORD, (supi, r.plmn, msin, now))
        return supi

    def _live_record(self, conn: Conn, device: Device) -> dict[str, Any] | None:
        live = conn.execute(_LIVE_FOR_DEVICE, (device.imei, device.fingerprint)).fetchall()
        if len(live) > 1:
            found = ", ".join(row["supi"] for row in live)
            raise StoreError(
                f"{self._where}: device {device.imei} matches several live subscriptions "
                f"({found}) by IMEI and by certificate; resolve with dynsub store delete"
            )
        if live and live[0]["issuer"] != device.issuer:
            raise IssuerMismatch(
                f"device {device.imei} has subscription {live[0]['supi']} under "
                f"{live[0]['issuer']}, not under {device.issuer}"
            )
        return live[0] if live else None

    # --- reads ----------------------------------------------------------------------------

    def _fetch(self, conn: Conn, supi: str) -> Subscription:
        found = conn.execute(_BY_SUPI, (supi,)).fetchone()
        if found is None:
            raise NotFound(f"{supi}: no such subscription in {self._where}")
        return rows.to_subscription(found, None)

    def _one(self, query: str, args: tuple[str], reveal: bool) -> Subscription | None:
        sealer = self._need_sealer() if reveal else None
        with self._read() as conn:
            row = conn.execute(query, args).fetchone()
        return None if row is None else rows.to_subscription(row, sealer)

    def find(self, supi: str, *, reveal_secrets: bool = False) -> Subscription | None:
        return self._one(_BY_SUPI, (supi,), reveal_secrets)

    def get(self, supi: str, *, reveal_secrets: bool = False) -> Subscription:
        found = self.find(supi, reveal_secrets=reveal_secrets)
        if found is None:
            raise NotFound(f"{supi}: no such subscription in {self._where}")
        return found

    def find_by_imei(self, imei: str, *, reveal_secrets: bool = False) -> Subscription | None:
        return self._one(_LIVE_BY_IMEI, (imei,), reveal_secrets)

    def find_by_fingerprint(
        self, fingerprint: str, *, reveal_secrets: bool = False
    ) -> Subscription | None:
        return self._one(_LIVE_BY_FINGERPRINT, (fingerprint.lower(),), reveal_secrets)

    def list(
        self, state: State | None = None, *, reveal_secrets: bool = False
    ) -> builtins.list[Subscription]:
        return builtins.list(self.iterate(state, reveal_secrets=reveal_secrets))

    def iterate(
        self,
        state: State | None = None,
        *,
        reveal_secrets: bool = False,
        after: str = "",
        limit: int | None = None,
    ) -> Iterator[Subscription]:
        """Keyset pages in SUPI order; no connection is held between pages. ``after`` and
        ``limit`` as for :meth:`Subscriptions.iterate`."""
        sealer = self._need_sealer() if reveal_secrets else None

        def fetch(start: str, size: int) -> builtins.list[tuple[Any, ...]]:
            with self._read() as conn:
                cur = conn.cursor(row_factory=tuple_row)
                if state is None:
                    return cur.execute(_PAGE_ALL, (start, size)).fetchall()
                return cur.execute(_PAGE_BY_STATE, (state.value, start, size)).fetchall()

        for row in keyset(fetch, after, key=first, page=_PAGE, limit=limit):
            yield rows.to_subscription(row, sealer)

    def count(self, state: State | None = None) -> int:
        with self._read() as conn:
            cur = conn.cursor(row_factory=tuple_row)
            if state is None:
                found = cur.execute(_COUNT).fetchone()
            else:
                found = cur.execute(_COUNT_IN_STATE, (state.value,)).fetchone()
        return 0 if found is None else int(found[0])

    def secrets(self, supi: str) -> Secrets:
        found = self.get(supi, reveal_secrets=True).secrets
        if found is None:  # get(reveal_secrets=True) always opens them
            raise StoreError(f"{supi}: secrets were not read")
        return found

    def stats(self) -> Stats:
        with self._read(snapshot=True) as conn:
            by_kind: dict[str, dict[str, int]] = {}
            for row in conn.execute(EVENT_COUNTS):
                by_kind.setdefault(row["kind"], {})[row["outcome"]] = row["n"]
            counts: dict[str, dict[str, int]] = {}
            for column, query in rows.COUNT_BY.items():
                counts[column] = {r[column]: r["count"] for r in conn.execute(query)}
            total = conn.execute("SELECT COUNT(*) AS n FROM subscriptions").fetchone()
            allocated = conn.execute("SELECT COUNT(*) AS n FROM supi_allocations").fetchone()
        return Stats(
            total=0 if total is None else total["n"],
            by_state=counts["state"],
            by_service_type=counts["service_type"],
            by_plan=counts["plan"],
            events_by_kind=by_kind,
            allocated_supis=0 if allocated is None else allocated["n"],
        )

    # --- changes --------------------------------------------------------------------------

    def set_state(
        self, supi: str, state: State, *, reason: str = "", peer: str | None = None
    ) -> Subscription:
        if state is State.REPLACED:
            raise ValueError("a record is replaced by onboarding, not by set_state")
        kind = EventKind.SUSPENDED if state is State.SUSPENDED else EventKind.RESUMED
        with self._write() as conn:
            current = self._fetch_for_update(conn, supi)
            if current.state is State.REPLACED:
                raise StoreError(
                    f"{supi}: replaced by {current.replaced_by}; change that subscription instead"
                )
            conn.execute(
                "UPDATE subscriptions SET state = %s, updated_at = %s WHERE supi = %s",
                (state.value, self._timestamp(), supi),
            )
            self._event(conn, kind, EventOutcome.SUCCESS, current.imei, supi, reason, peer)
            return self._fetch(conn, supi)

    def _fetch_for_update(self, conn: Conn, supi: str) -> Subscription:
        found = conn.execute(f"{_BY_SUPI} FOR UPDATE", (supi,)).fetchone()
        if found is None:
            raise NotFound(f"{supi}: no such subscription in {self._where}")
        return rows.to_subscription(found, None)

    def delete(self, supi: str, *, reason: str = "", peer: str | None = None) -> Subscription:
        with self._write() as conn:
            current = self._fetch_for_update(conn, supi)
            conn.execute(
                "UPDATE subscriptions SET replaced_by = NULL WHERE replaced_by = %s", (supi,)
            )
            conn.execute("DELETE FROM subscriptions WHERE supi = %s", (supi,))
            self._event(
                conn, EventKind.DELETED, EventOutcome.SUCCESS, current.imei, supi, reason, peer
            )
            return current

    def start_authentication(self, supi: str) -> Subscription:
        sealer = self._need_sealer()
        with self._write() as conn:
            # TS 33.102 C.3.2: SEQ steps under the row's lock (SQN += 2^5), so concurrent
            # authentications of one SUPI get different SQNs.
            row = conn.execute(f"{_BY_SUPI} FOR UPDATE", (supi,)).fetchone()
            if row is None:
                raise NotFound(f"{supi}: no such subscription in {self._where}")
            record = rows.to_subscription(row, sealer)
            if record.state is not State.ACTIVE:
                return record  # no challenge follows, so SQN_HE stays where it is
            sqn = next_sqn(record)
            conn.execute(
                "UPDATE subscriptions SET sqn = %s, updated_at = %s WHERE supi = %s",
                (sqn, self._timestamp(), supi),
            )
        return dataclasses.replace(record, sqn=sqn)

    def update_sqn(self, supi: str, sqn: int) -> None:
        if not 0 <= sqn <= SQN_MAX:
            raise ValueError(f"SQN is 48 bits, got {sqn}")
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE subscriptions SET sqn = %s, updated_at = %s WHERE supi = %s",
                (sqn, self._timestamp(), supi),
            ).rowcount
            if changed == 0:
                raise NotFound(f"{supi}: no such subscription in {self._where}")

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
            "INSERT INTO events (time, kind, imei, supi, outcome, reason, peer) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
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

    def events(
        self, *, imei: str | None = None, supi: str | None = None, limit: int = 100
    ) -> builtins.list[Event]:
        return builtins.list(self.iterate_events(imei=imei, supi=supi, limit=limit))

    def iterate_events(
        self, *, imei: str | None = None, supi: str | None = None, limit: int | None = None
    ) -> Iterator[Event]:
        clauses: builtins.list[str] = []
        args: builtins.list[object] = []
        for column, value in (("imei", imei), ("supi", supi)):
            if value is None:
                continue
            # As the SQLite store: the events naming it, and the claims of it (named none).
            clauses.append(f"({column} = %s OR ({column} IS NULL AND strpos(reason, %s) > 0))")
            args += [value, f"{column.upper()} {value}"]
        where = " AND ".join([*clauses, "id < %s"])
        query = f"{_EVENTS} WHERE {where} ORDER BY id DESC LIMIT %s"

        def fetch(before: int, size: int) -> builtins.list[tuple[Any, ...]]:
            with self._read() as conn:
                cur = conn.cursor(row_factory=tuple_row)
                return cur.execute(query, (*args, before, size)).fetchall()

        for row in keyset(fetch, _NO_EVENT_ID, key=first, page=_PAGE, limit=limit):
            yield Event(*row)

    # --- copying (dynsub store copy) --------------------------------------------------------

    def allocations(self) -> Iterator[Allocation]:
        def fetch(after: str, size: int) -> builtins.list[Any]:
            with self._read() as conn:
                return conn.execute(
                    "SELECT supi, plmn, msin, allocated_at FROM supi_allocations "
                    "WHERE supi > %s ORDER BY supi LIMIT %s",
                    (after, size),
                ).fetchall()

        for row in keyset(fetch, "", key=lambda row: row["supi"], page=_PAGE):
            yield Allocation(row["supi"], row["plmn"], int(row["msin"]), row["allocated_at"])

    def all_events(self) -> Iterator[Event]:
        def fetch(after: int, size: int) -> builtins.list[Any]:
            with self._read() as conn:
                return conn.execute(
                    f"{_EVENTS} WHERE id > %s ORDER BY id LIMIT %s", (after, size)
                ).fetchall()

        for row in keyset(fetch, 0, key=lambda row: int(row["id"]), page=_PAGE):
            yield _to_event(row)

    def restore(
        self,
        allocations: Iterable[Allocation],
        subscriptions: Iterable[Subscription],
        events: Iterable[Event],
    ) -> None:
        """Fill an empty store with another store's contents, in one transaction."""
        sealer = self._need_sealer()
        with self._write() as conn:
            conn.execute("LOCK TABLE supi_allocations, subscriptions, events IN EXCLUSIVE MODE")
            for table, query in rows.ANY_ROW.items():
                if conn.execute(query).fetchone() is not None:
                    raise AlreadyExists(
                        f"{self._where}: the store is not empty ({table}); copy into a new store"
                    )
            with conn.cursor() as cur:
                cur.executemany(
                    _RESTORE_ALLOCATION,
                    ((a.supi, a.plmn, a.msin, a.allocated_at) for a in allocations),
                )
                links: builtins.list[tuple[str, str]] = []

                def params(subs: Iterable[Subscription]) -> Iterator[tuple[object, ...]]:
                    for sub in subs:
                        if sub.replaced_by is not None:
                            links.append((sub.replaced_by, sub.supi))
                        yield rows.restore_params(sub, sealer)

                cur.executemany(_RESTORE, params(subscriptions))
                cur.executemany(_LINK_REPLACED, links)
                cur.executemany(
                    _RESTORE_EVENT,
                    (
                        (e.id, e.time, e.kind, e.imei, e.supi, e.outcome, e.reason, e.peer)
                        for e in events
                    ),
                )
            # The identity goes on above the copied ids, so new events sort after them.
            conn.execute(
                "SELECT setval(pg_get_serial_sequence('events', 'id'), "
                "COALESCE((SELECT MAX(id) FROM events), 0) + 1, false)"
            )


def _to_event(row: dict[str, Any]) -> Event:
    return Event(
        int(row["id"]),
        row["time"],
        row["kind"],
        row["outcome"],
        row["imei"],
        row["supi"],
        row["reason"],
        row["peer"],
    )


def _server_says(text: str) -> str:
    # libpq: 'connection failed: connection to server at "h", port p failed: FATAL:  why'
    return text.rsplit("failed: ", 1)[-1].replace("FATAL:  ", "").strip()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
