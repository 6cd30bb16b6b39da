"""The subscription store: one SQLite file, one record per subscription, an audit trail.

Theory of operation
-------------------
- Every write is one ``BEGIN IMMEDIATE ... COMMIT`` transaction: the write lock is taken
  first, so two writers (threads of the core, or two processes such as the core and
  ``dynsub store suspend``) are serialised by SQLite and each sees the other's committed rows.
  A crash at any point leaves no record or a whole one.
- Onboarding checks the device (by IMEI or certificate fingerprint), applies the
  re-onboarding policy, allocates a SUPI and inserts the record in that one transaction;
  partial UNIQUE indexes on the live rows back the check. A device therefore ends with exactly
  one live subscription, whatever its retries or concurrent connections.
- Threads: one :class:`Subscriptions` holds one connection guarded by a lock, so it may be
  shared by the worker threads of ``asyncio.to_thread``; every method is a short blocking call.
- Group commit: writes that arrive while another is running join its transaction (each in a
  savepoint of its own, so one that fails takes nothing else with it) and the last of them
  commits; every write returns only once the COMMIT that carries it is on disk. Under load one
  fsync serves many writes; alone, a write commits at once as before.
- K and OPc are sealed (:mod:`dynsub_cli.store.sealing`) and opened only when a caller asks
  (``reveal_secrets=True``, :meth:`Subscriptions.secrets`).
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import (
    AlreadyExists,
    DeviceAlreadyOnboarded,
    IssuerMismatch,
    NotFound,
    StoreError,
)
from dynsub_cli.store import allocation, health, rows, schema
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

EVENT_COUNTS = (
    "SELECT kind, outcome, COUNT(*) FROM events GROUP BY kind, outcome ORDER BY kind, outcome"
)
ALLOCATED = "SELECT COUNT(*) FROM supi_allocations"
_PAGE = 1000  # rows a page of iterate() reads
_MAX_BATCH = 64  # writes one group commit carries at most, so that none waits long
_EVENTS = "SELECT id, time, kind, outcome, imei, supi, reason, peer FROM events"
#: Above every event id (SQLite's INTEGER PRIMARY KEY is a signed 64-bit rowid).
_NO_EVENT_ID = 2**63 - 1


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Subscriptions:
    """The repository. Open with :meth:`open`; use as a context manager to close it."""

    def __init__(
        self, conn: sqlite3.Connection, where: str, sealer: Sealer | None, now: Clock
    ) -> None:
        self._conn = conn
        self._conn.row_factory = sqlite3.Row
        self._where = where
        self._sealer = sealer
        self._now = now
        self._lock = threading.RLock()
        # Group commit (see the module docstring): the writers waiting for the connection,
        # the number of the open transaction and of the last one ended, and how it ended.
        self._queued = 0
        self._queued_lock = threading.Lock()
        self._batch = 0
        self._batch_writes = 0
        self._ended = 0
        self._failures: dict[int, BaseException] = {}
        self._batch_ended = threading.Condition(self._lock)

    # --- lifecycle ------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        key: bytes | None,
        *,
        now: Clock = _utc_now,
        create: bool = True,
        missing_ok: bool = False,
        quick_check: bool = True,
    ) -> Subscriptions:
        """Open (and with ``create``, create or upgrade) the store at ``path``.

        ``key`` is the 32-byte store key (``sealing.load_key``); without it the store opens
        read-mostly: nothing that needs K or OPc works. A wrong key is refused here.
        ``missing_ok`` (with ``create=False``): a store not created yet opens as an empty
        store in memory, for the read commands on a core that has not served yet.

        An existing file must be a whole dynsub store: an empty file, a file of another
        program and a damaged database (``PRAGMA quick_check``) are refused, since using them
        would restart SUPI numbering or hand out SUPIs UEs still hold (issue: damaged store).
        ``quick_check=False`` skips reading the whole file first, for a command that only
        reads: a damaged page it reads is refused as it is met (store/health.py).
        """
        where = str(path)
        if not path.exists():
            if not create:
                if missing_ok:
                    return cls._empty(where, key, now)
                raise StoreError(
                    f"{path}: no subscription store here; the core creates it when it first "
                    "serves (check [store] path in core.toml)"
                )
            _create_new(path)
        health.check_file(path)
        try:
            conn = schema.connect(path)
        except StoreError as err:
            if isinstance(err.__cause__, sqlite3.DatabaseError) and "not a database" in str(
                err.__cause__
            ):
                raise health.not_sqlite(where) from err
            raise
        try:
            health.check_database(conn, where, pages=quick_check)
            schema.migrate(conn, where)
            store = cls(conn, where, Sealer(key) if key is not None else None, now)
            if key is not None:
                store._check_key()
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _empty(cls, where: str, key: bytes | None, now: Clock) -> Subscriptions:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        schema.migrate(conn, where)
        return cls(conn, where, Sealer(key) if key is not None else None, now)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Subscriptions:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Subscriptions({self._where!r})"

    def _check_key(self) -> None:
        sealer = self._need_sealer()
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('key_check', ?)",
                (sealer.key_check(),),
            )
            blob = conn.execute("SELECT value FROM meta WHERE key = 'key_check'").fetchone()[0]
        if not sealer.verify_key_check(blob):
            raise StoreError(
                f"{self._where}: the store key does not open this store; check [store] key_file "
                "in core.toml (the key that created the store is needed)"
            )

    # --- transactions ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write: all of it is committed, or none of it; on disk when this returns."""
        with self._queued_lock:
            self._queued += 1
        with self._lock, self._translate():
            with self._queued_lock:
                self._queued -= 1
            conn = self._conn
            if not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
                self._batch += 1
                self._batch_writes = 0
            batch = self._batch
            self._batch_writes += 1
            conn.execute("SAVEPOINT write")
            try:
                yield conn
                conn.execute("RELEASE write")
            except BaseException as err:
                self._undo(batch, err)
                raise
            finally:
                self._end_batch_unless_joined(batch)
        with self._batch_ended:
            while self._ended < batch:
                self._batch_ended.wait()
            failure = self._failures.get(batch)
        if failure is not None:
            raise StoreError(f"{self._where}: the commit failed: {failure}") from failure

    def _undo(self, batch: int, err: BaseException) -> None:
        """Roll one failed write back to its savepoint; the batch's other writes stay."""
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK TO write")
            self._conn.execute("RELEASE write")
        else:  # SQLite rolled the whole transaction back (I/O error, disk full)
            self._failures[batch] = err

    def _end_batch_unless_joined(self, batch: int) -> None:
        """Commit now, unless another writer waits to join this transaction (it commits)."""
        with self._queued_lock:
            joined = self._queued > 0 and self._batch_writes < _MAX_BATCH
        if joined and self._conn.in_transaction and batch not in self._failures:
            return
        try:
            if self._conn.in_transaction:
                self._conn.execute("COMMIT")
        except BaseException as err:
            self._failures[batch] = err
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        finally:
            self._ended = batch
            while len(self._failures) > 100:  # waiters read theirs at once; keep a few
                del self._failures[min(self._failures)]
            self._batch_ended.notify_all()

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for reads that take several statements."""
        with self._lock, self._translate():
            if self._conn.in_transaction:  # a group commit's transaction, between writers
                yield self._conn
                return
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as err:
            if health.is_damage(err):
                raise health.damaged(self._where, str(err)) from err
            raise StoreError(f"{self._where}: {err}") from err

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
        """Commit the subscription of a device that has just proven it holds K.

        - no live record for the device: allocate a SUPI, insert (Outcome.CREATED);
        - ``same-record``: keep the SUPI and state, replace K/OPc, certificate and service,
          restart the SQN at 0 (the UE derived a new K, so its SQN history starts again);
        - ``new-record``: mark the old record "replaced", allocate a new SUPI, keep the old
          record's state (a suspension survives re-onboarding);
        - ``refuse``: record the refusal, raise DeviceAlreadyOnboarded.

        Raises SupiRangeExhausted when no MSIN is left. The audit event is written in the
        same transaction as the record.
        """
        sealer = self._need_sealer()
        if len(amf) != 2:
            raise ValueError("AMF is 2 bytes")
        refused: str | None = None
        with self._write() as conn:
            existing = self._live_record(conn, device)
            now = self._timestamp()
            if existing is None:
                supi = allocation.allocate(conn, supi_range, now, self._where)
                rows.insert(conn, supi, device, service, secrets, sealer, amf, State.ACTIVE, now)
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
                rows.update_same_record(conn, supi, device, service, secrets, sealer, amf, now)
                result = OnboardingResult(self._fetch(conn, supi), Outcome.UPDATED)
                kind = EventKind.SUBSCRIPTION_UPDATED
            else:
                old = existing["supi"]
                conn.execute(
                    "UPDATE subscriptions SET state = 'replaced', updated_at = ? WHERE supi = ?",
                    (now, old),
                )
                supi = allocation.allocate(conn, supi_range, now, self._where)
                state = State(existing["state"])
                rows.insert(conn, supi, device, service, secrets, sealer, amf, state, now)
                conn.execute("UPDATE subscriptions SET replaced_by = ? WHERE supi = ?", (supi, old))
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

    def _live_record(self, conn: sqlite3.Connection, device: Device) -> sqlite3.Row | None:
        live = conn.execute(rows.LIVE_FOR_DEVICE, (device.imei, device.fingerprint)).fetchall()
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

    def _fetch(self, conn: sqlite3.Connection, supi: str) -> Subscription:
        found = conn.execute(rows.BY_SUPI, (supi,)).fetchone()
        if found is None:
            raise NotFound(f"{supi}: no such subscription in {self._where}")
        return rows.to_subscription(found, None)

    def _one(self, query: str, args: tuple[str], reveal: bool) -> Subscription | None:
        with self._lock, self._translate():
            row = self._conn.execute(query, args).fetchone()
            if row is None:
                return None
            return rows.to_subscription(row, self._need_sealer() if reveal else None)

    def find(self, supi: str, *, reveal_secrets: bool = False) -> Subscription | None:
        return self._one(rows.BY_SUPI, (supi,), reveal_secrets)

    def get(self, supi: str, *, reveal_secrets: bool = False) -> Subscription:
        """The subscription of ``supi``; NotFound if there is none."""
        found = self.find(supi, reveal_secrets=reveal_secrets)
        if found is None:
            raise NotFound(f"{supi}: no such subscription in {self._where}")
        return found

    def find_by_imei(self, imei: str, *, reveal_secrets: bool = False) -> Subscription | None:
        """The device's live (not replaced) subscription."""
        return self._one(rows.LIVE_BY_IMEI, (imei,), reveal_secrets)

    def find_by_fingerprint(
        self, fingerprint: str, *, reveal_secrets: bool = False
    ) -> Subscription | None:
        """The live subscription onboarded with this certificate (SHA-256, hex)."""
        return self._one(rows.LIVE_BY_FINGERPRINT, (fingerprint.lower(),), reveal_secrets)

    def list(
        self, state: State | None = None, *, reveal_secrets: bool = False
    ) -> builtins.list[Subscription]:
        """Every subscription (or those in ``state``), in SUPI order."""
        return builtins.list(self.iterate(state, reveal_secrets=reveal_secrets))

    def iterate(
        self,
        state: State | None = None,
        *,
        reveal_secrets: bool = False,
        after: str = "",
        limit: int | None = None,
    ) -> Iterator[Subscription]:
        """Every subscription (or those in ``state``) in SUPI order, a page at a time, so that
        memory stays flat however large the store is and no lock is held between pages.

        ``after``: only SUPIs that sort after this one (the key of the previous page's last
        record); ``limit``: at most this many."""
        sealer = self._need_sealer() if reveal_secrets else None

        def fetch(start: str, size: int) -> builtins.list[tuple[Any, ...]]:
            with self._lock, self._translate():
                # Plain tuples: to_subscription reads by position (see rows.to_subscription).
                cursor = self._conn.cursor()
                cursor.row_factory = None
                if state is None:
                    return cursor.execute(rows.PAGE, (start, size)).fetchall()
                return cursor.execute(rows.PAGE_BY_STATE, (state.value, start, size)).fetchall()

        for row in keyset(fetch, after, key=first, page=_PAGE, limit=limit):
            yield rows.to_subscription(row, sealer)

    def count(self, state: State | None = None) -> int:
        """How many subscriptions there are (in ``state``), from an index."""
        with self._lock, self._translate():
            if state is None:
                found = self._conn.execute(rows.COUNT).fetchone()
            else:
                found = self._conn.execute(rows.COUNT_IN_STATE, (state.value,)).fetchone()
        return int(found[0])

    def secrets(self, supi: str) -> Secrets:
        """K and OPc of ``supi`` in clear (for 5G AKA)."""
        secrets = self.get(supi, reveal_secrets=True).secrets
        if secrets is None:  # reveal_secrets=True fills them; a record without is broken
            raise StoreError(f"{self._where}: {supi} has no K and OPc")
        return secrets

    # --- changes --------------------------------------------------------------------------

    def set_state(
        self, supi: str, state: State, *, reason: str = "", peer: str | None = None
    ) -> Subscription:
        """Suspend or resume ``supi`` (and record it); a replaced record stays replaced."""
        if state is State.REPLACED:
            raise ValueError("a record is replaced by onboarding, not by set_state")
        kind = EventKind.SUSPENDED if state is State.SUSPENDED else EventKind.RESUMED
        with self._write() as conn:
            current = self._fetch(conn, supi)
            if current.state is State.REPLACED:
                raise StoreError(
                    f"{supi}: replaced by {current.replaced_by}; change that subscription instead"
                )
            conn.execute(
                "UPDATE subscriptions SET state = ?, updated_at = ? WHERE supi = ?",
                (state.value, self._timestamp(), supi),
            )
            self._event(conn, kind, EventOutcome.SUCCESS, current.imei, supi, reason, peer)
            return self._fetch(conn, supi)

    def delete(self, supi: str, *, reason: str = "", peer: str | None = None) -> Subscription:
        """Remove ``supi``'s record (its SUPI is never reallocated); returns what was removed."""
        with self._write() as conn:
            current = self._fetch(conn, supi)
            conn.execute(
                "UPDATE subscriptions SET replaced_by = NULL WHERE replaced_by = ?", (supi,)
            )
            conn.execute("DELETE FROM subscriptions WHERE supi = ?", (supi,))
            self._event(
                conn, EventKind.DELETED, EventOutcome.SUCCESS, current.imei, supi, reason, peer
            )
            return current

    def start_authentication(self, supi: str) -> Subscription:
        """Step SQN_HE for a new vector and return the record with it and its secrets.

        TS 33.102 C.3.2: SQN = SEQ || IND; the network increments SEQ (:func:`next_sqn`) in one
        transaction, so two concurrent authentications of one SUPI get different SQNs. Only an
        active record's SQN moves: a suspended or replaced one is returned as it is.
        """
        sealer = self._need_sealer()
        with self._write() as conn:
            row = conn.execute(rows.BY_SUPI, (supi,)).fetchone()
            if row is None:
                raise NotFound(f"{supi}: no such subscription in {self._where}")
            record = rows.to_subscription(row, sealer)
            if record.state is not State.ACTIVE:
                return record  # no challenge follows, so SQN_HE stays where it is
            sqn = next_sqn(record)
            conn.execute(
                "UPDATE subscriptions SET sqn = ?, updated_at = ? WHERE supi = ?",
                (sqn, self._timestamp(), supi),
            )
        return dataclasses.replace(record, sqn=sqn)

    def update_sqn(self, supi: str, sqn: int) -> None:
        """Set the network's SQN, e.g. to SQN_MS after a resynchronisation (TS 33.102 6.3.5)."""
        if not 0 <= sqn <= SQN_MAX:
            raise ValueError(f"SQN is 48 bits, got {sqn}")
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE subscriptions SET sqn = ?, updated_at = ? WHERE supi = ?",
                (sqn, self._timestamp(), supi),
            ).rowcount
            if changed == 0:
                raise NotFound(f"{supi}: no such subscription in {self._where}")

    # --- audit trail ----------------------------------------------------------------------

    def _event(
        self,
        conn: sqlite3.Connection,
        kind: str,
        outcome: str,
        imei: str | None,
        supi: str | None,
        reason: str,
        peer: str | None,
    ) -> Event:
        time = self._timestamp()
        cursor = conn.execute(
            "INSERT INTO events (time, kind, imei, supi, outcome, reason, peer) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (time, str(kind), imei, supi, str(outcome), reason, peer),
        )
        return Event(cursor.lastrowid or 0, time, str(kind), str(outcome), imei, supi, reason, peer)

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
        """Append one entry to the audit trail (onboarding attempts, registrations, ...)."""
        with self._write() as conn:
            return self._event(conn, kind, outcome, imei, supi, reason, peer)

    def events(
        self, *, imei: str | None = None, supi: str | None = None, limit: int = 100
    ) -> builtins.list[Event]:
        """The latest ``limit`` events, newest first, optionally for one device or SUPI (with
        the unauthenticated claims of it, which name no device: ``imei``/``supi`` None)."""
        return builtins.list(self.iterate_events(imei=imei, supi=supi, limit=limit))

    def iterate_events(
        self, *, imei: str | None = None, supi: str | None = None, limit: int | None = None
    ) -> Iterator[Event]:
        """As :meth:`events`, streamed a page at a time; every event when ``limit`` is None."""
        clauses: builtins.list[str] = []
        args: builtins.list[str] = []
        for column, value in (("imei", imei), ("supi", supi)):
            if value is None:
                continue
            # The events that name it, and those of connections that only claimed it: the
            # core writes those unnamed, the claim in the reason (core.procedure).
            clauses.append(f"({column} = ? OR ({column} IS NULL AND instr(reason, ?) > 0))")
            args += [value, f"{column.upper()} {value}"]
        query = f"{_EVENTS} WHERE {' AND '.join([*clauses, 'id < ?'])} ORDER BY id DESC LIMIT ?"

        def fetch(before: int, size: int) -> builtins.list[tuple[Any, ...]]:
            with self._lock, self._translate():
                cursor = self._conn.cursor()
                cursor.row_factory = None
                return cursor.execute(query, (*args, before, size)).fetchall()

        for row in keyset(fetch, _NO_EVENT_ID, key=first, page=_PAGE, limit=limit):
            yield Event(*row)

    def stats(self) -> Stats:
        with self._read() as conn:
            by_kind: dict[str, dict[str, int]] = {}
            for kind, outcome, count in conn.execute(EVENT_COUNTS):
                by_kind.setdefault(kind, {})[outcome] = count
            counts = {
                column: {row[0]: row[1] for row in conn.execute(query)}
                for column, query in rows.COUNT_BY.items()
            }
            return Stats(
                total=conn.execute("SELECT COUNT(*) FROM subscriptions").fetchone()[0],
                by_state=counts["state"],
                by_service_type=counts["service_type"],
                by_plan=counts["plan"],
                events_by_kind=by_kind,
                allocated_supis=conn.execute(ALLOCATED).fetchone()[0],
            )

    # --- copying (dynsub store copy) --------------------------------------------------------

    def allocations(self) -> Iterator[Allocation]:
        """Every SUPI ever allocated, in SUPI order, streamed."""

        def fetch(after: str, size: int) -> builtins.list[sqlite3.Row]:
            with self._lock, self._translate():
                return self._conn.execute(
                    "SELECT supi, plmn, msin, allocated_at FROM supi_allocations "
                    "WHERE supi > ? ORDER BY supi LIMIT ?",
                    (after, size),
                ).fetchall()

        for row in keyset(fetch, "", key=first, page=_PAGE):
            yield Allocation(row[0], row[1], int(row[2]), row[3])

    def all_events(self) -> Iterator[Event]:
        """The whole audit trail, oldest first, streamed."""

        def fetch(after: int, size: int) -> builtins.list[sqlite3.Row]:
            with self._lock, self._translate():
                return self._conn.execute(
                    f"{_EVENTS} WHERE id > ? ORDER BY id LIMIT ?", (after, size)
                ).fetchall()

        for row in keyset(fetch, 0, key=first, page=_PAGE):
            yield Event(*row)

    def restore(
        self,
        allocations: Iterable[Allocation],
        subscriptions: Iterable[Subscription],
        events: Iterable[Event],
    ) -> None:
        """Fill an empty store with another store's contents, in one transaction.

        The subscriptions must have been read with their secrets; they are sealed again under
        this store's key. Raises AlreadyExists if this store holds anything.
        """
        sealer = self._need_sealer()
        with self._write() as conn:
            for table, query in rows.ANY_ROW.items():
                if conn.execute(query).fetchone() is not None:
                    raise AlreadyExists(
                        f"{self._where}: the store is not empty ({table}); copy into a new store"
                    )
            conn.executemany(
                rows.RESTORE_ALLOCATION,
                ((a.supi, a.plmn, a.msin, a.allocated_at) for a in allocations),
            )
            links: builtins.list[tuple[str, str]] = []

            def params(subs: Iterable[Subscription]) -> Iterator[tuple[object, ...]]:
                for sub in subs:
                    if sub.replaced_by is not None:
                        links.append((sub.replaced_by, sub.supi))
                    yield rows.restore_params(sub, sealer)

            conn.executemany(rows.RESTORE, params(subscriptions))
            conn.executemany(rows.LINK_REPLACED, links)
            conn.executemany(
                rows.RESTORE_EVENT,
                (
                    (e.id, e.time, e.kind, e.imei, e.supi, e.outcome, e.reason, e.peer)
                    for e in events
                ),
            )


def _create_new(path: Path) -> None:
    """Create a new store at ``path``: built aside and linked into place whole.

    An empty file at ``path`` is refused later as damaged, so a new store never appears there
    half made: it is created in a private temporary file (0600; SQLite copies the mode to the
    -wal and -shm files), given its schema, and linked to ``path`` only if nothing is there
    yet. Two cores that start at once on a new store both end up opening the same one.
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        conn = schema.connect(temporary)
        try:
            schema.migrate(conn, str(path))
        finally:
            conn.close()  # checkpoints the WAL into the file and removes it
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    except OSError as err:
        raise StoreError(f"{path}: cannot create the subscription store: {err.strerror}") from err
    finally:
        for leftover in (temporary, *(Path(f"{temporary}{s}") for s in ("-wal", "-shm"))):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
