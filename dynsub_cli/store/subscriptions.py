"""The subscription store: one SQLite file, one record per subscription, an audit trail.

Theory of operation
-------------------
- Every write is one ``BEGIN IMMEDIATE ... COMMIT`` transaction: the write lock is taken
  first, so two writers (threads of the core, or two processes such as the core and
  ``dynsub store suspend``) are serialised by SQLite and each sees the other's committed rows.
  A crash at any point leaves no record or a whole one.
- Onboarding checks the device (by IMEI or certificate fingerprint), applies the
  re-onboarding policy, allocates a SUPI and inserts the record in that one transaction
  (store/onboarding.py, the same for both backends); partial UNIQUE indexes on the live rows
  back the check. A device therefore ends with exactly one live subscription, whatever its
  retries or concurrent connections.
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
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import DeviceAlreadyOnboarded, StoreError
from dynsub_cli.store import health, model, onboarding, rows, schema, sealing
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

_PAGE = 1000  # rows a page of iterate() reads
_MAX_BATCH = 64  # writes one group commit carries at most, so that none waits long
#: Above every event id (SQLite's INTEGER PRIMARY KEY is a signed 64-bit rowid).
_NO_EVENT_ID = 2**63 - 1


class Subscriptions(SubscriptionStore):
    """The repository. Open with :meth:`open`; use as a context manager to close it. The
    methods without a docstring of their own are the SubscriptionStore protocol's
    (store/backend.py)."""

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
        now: Clock = model.utc_now,
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
        sealer.check_store(blob, self._where)

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
        with self._write() as conn:
            result = onboarding.commit(
                _Steps(self, conn, sealer), device, service, secrets, supi_range, policy, amf, peer
            )
        if isinstance(result, DeviceAlreadyOnboarded):
            raise result
        return result

    # --- reads ----------------------------------------------------------------------------

    def _fetch(
        self, conn: sqlite3.Connection, supi: str, sealer: Sealer | None = None
    ) -> Subscription:
        found = conn.execute(rows.BY_SUPI, (supi,)).fetchone()
        if found is None:
            raise rows.missing(supi, self._where)
        return rows.to_subscription(found, sealer)

    def _one(self, query: str, args: tuple[str], reveal: bool) -> Subscription | None:
        with self._lock, self._translate():
            row = self._conn.execute(query, args).fetchone()
            if row is None:
                return None
            return rows.to_subscription(row, self._need_sealer() if reveal else None)

    def iterate(
        self,
        state: State | None = None,
        *,
        reveal_secrets: bool = False,
        after: str = "",
        limit: int | None = None,
    ) -> Iterator[Subscription]:
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
        with self._lock, self._translate():
            if state is None:
                found = self._conn.execute(rows.COUNT).fetchone()
            else:
                found = self._conn.execute(rows.COUNT_IN_STATE, (state.value,)).fetchone()
        return int(found[0])

    def secrets(self, supi: str) -> Secrets:
        secrets = self.get(supi, reveal_secrets=True).secrets
        if secrets is None:  # reveal_secrets=True fills them; a record without is broken
            raise StoreError(f"{self._where}: {supi} has no K and OPc")
        return secrets

    def stats(self) -> Stats:
        with self._read() as conn:
            return rows.stats(conn.execute)

    # --- changes --------------------------------------------------------------------------

    def set_state(
        self, supi: str, state: State, *, reason: str = "", peer: str | None = None
    ) -> Subscription:
        kind = model.state_change(state)
        with self._write() as conn:
            current = self._fetch(conn, supi)
            model.check_changeable(current)
            conn.execute(rows.SET_STATE, (state.value, self._timestamp(), supi))
            self._event(conn, kind, EventOutcome.SUCCESS, current.imei, supi, reason, peer)
            return self._fetch(conn, supi)

    def delete(self, supi: str, *, reason: str = "", peer: str | None = None) -> Subscription:
        with self._write() as conn:
            current = self._fetch(conn, supi)
            conn.execute(rows.UNLINK, (supi,))
            conn.execute(rows.DELETE, (supi,))
            self._event(
                conn, EventKind.DELETED, EventOutcome.SUCCESS, current.imei, supi, reason, peer
            )
            return current

    def start_authentication(self, supi: str) -> Subscription:
        sealer = self._need_sealer()
        with self._write() as conn:
            # BEGIN IMMEDIATE serialises the step: concurrent authentications get different SQNs.
            record = self._fetch(conn, supi, sealer)
            stepped = model.challenged(record)
            if stepped is None:
                return record
            conn.execute(rows.SET_SQN, (stepped.sqn, self._timestamp(), supi))
        return stepped

    def update_sqn(self, supi: str, sqn: int) -> None:
        model.check_sqn(sqn)
        with self._write() as conn:
            if conn.execute(rows.SET_SQN, (sqn, self._timestamp(), supi)).rowcount == 0:
                raise rows.missing(supi, self._where)

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
            rows.INSERT_EVENT, (time, str(kind), imei, supi, str(outcome), reason, peer)
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
        with self._write() as conn:
            return self._event(conn, kind, outcome, imei, supi, reason, peer)

    def iterate_events(
        self, *, imei: str | None = None, supi: str | None = None, limit: int | None = None
    ) -> Iterator[Event]:
        query, args = rows.events_before(imei, supi, "instr")

        def fetch(before: int, size: int) -> builtins.list[tuple[Any, ...]]:
            with self._lock, self._translate():
                cursor = self._conn.cursor()
                cursor.row_factory = None
                return cursor.execute(query, (*args, before, size)).fetchall()

        for row in keyset(fetch, _NO_EVENT_ID, key=first, page=_PAGE, limit=limit):
            yield Event(*row)

    # --- copying (dynsub store copy) --------------------------------------------------------

    def allocations(self) -> Iterator[Allocation]:
        for row in self._pages(rows.ALLOCATIONS_AFTER, ""):
            yield Allocation(row[0], row[1], int(row[2]), row[3])

    def all_events(self) -> Iterator[Event]:
        for row in self._pages(rows.EVENTS_AFTER, 0):
            yield Event(*row)

    def _pages(self, query: str, start: object) -> Iterator[sqlite3.Row]:
        def fetch(after: object, size: int) -> builtins.list[sqlite3.Row]:
            with self._lock, self._translate():
                return self._conn.execute(query, (after, size)).fetchall()

        return keyset(fetch, start, key=first, page=_PAGE)

    def restore(
        self,
        allocations: Iterable[Allocation],
        subscriptions: Iterable[Subscription],
        events: Iterable[Event],
    ) -> None:
        sealer = self._need_sealer()
        with self._write() as conn:
            rows.check_empty(lambda query: conn.execute(query).fetchone(), self._where)
            for statement, batch in rows.restore_batches(
                allocations, subscriptions, events, sealer
            ):
                conn.executemany(statement, batch)


class _Steps:
    """store.onboarding's steps on one write transaction of ``store``."""

    def __init__(self, store: Subscriptions, conn: sqlite3.Connection, sealer: Sealer) -> None:
        self._store, self._conn = store, conn
        self.sealer, self.where = sealer, store._where

    def timestamp(self) -> str:
        return self._store._timestamp()

    def select(self, query: str, params: tuple[object, ...]) -> builtins.list[sqlite3.Row]:
        return self._conn.execute(query, params).fetchall()

    def write(self, statement: str, params: tuple[object, ...]) -> None:
        self._conn.execute(statement, params)


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
