"""The minting ledger: every IMEI ever allocated in this PKI, so that none is issued twice.

Why SQLite and not an append-only text file with an fcntl lock: the IMEI is the table's primary
key and ``(tac, snr)`` is UNIQUE, so a duplicate is impossible even if the allocation logic had
a bug; ``BEGIN IMMEDIATE`` serialises two concurrent runs that reserve serials (the second
waits, then allocates after the first); a transaction makes a whole reservation or commit land
or not at all, with no torn last line to repair after a crash; and the questions a rerun asks
("which reservations of dead runs are still open?") are queries rather than scans.

The protocol that keeps the ledger and the device folders in step (see
:mod:`dynsub_cli.pki.mint`):

1. take the run's lock file (:class:`RunLock`, an fcntl lock the kernel drops when the process
   dies, so a rerun can tell a dead run from a live one);
2. ``reserve``: open the run and reserve its serials in one transaction (rows ``reserved``);
3. for each device, its folder is written under a temporary name and renamed into place;
4. ``commit`` moves rows to ``issued`` with the certificate's serial and fingerprint;
5. ``finish_run``. A rerun settles every run left open by a dead process: a reserved IMEI
   whose folder exists is committed from the folder, any other is released (deleted), so no
   ledger entry lacks its files and no device folder lacks its ledger entry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from dynsub_cli.errors import AlreadyExists, BadInput, FileError, PkiError
from dynsub_cli.files import locked
from dynsub_cli.pki.imei import SNR_MAX, make_imei

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    out TEXT NOT NULL,            -- the folder the run writes device folders into
    tac TEXT NOT NULL,
    requested INTEGER NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,                -- NULL while the run is open
    outcome TEXT                  -- done | interrupted | failed | recovered (an open run
                                  -- may already say interrupted: left to the next run)
);
CREATE TABLE IF NOT EXISTS devices (
    imei TEXT PRIMARY KEY,
    tac TEXT NOT NULL,
    snr INTEGER NOT NULL,
    run TEXT NOT NULL REFERENCES runs(id),
    state TEXT NOT NULL CHECK (state IN ('reserved', 'issued')),
    serial TEXT,                  -- the device serial (subject serialNumber)
    certificate_serial TEXT,      -- hex
    fingerprint TEXT,             -- SHA-256 of the DER certificate, hex
    not_after TEXT,               -- ISO 8601, UTC
    UNIQUE (tac, snr)
);
CREATE INDEX IF NOT EXISTS devices_by_run ON devices (run, state);
-- Devices broken on purpose (pki mint --defect): their serials are spent like any other, but
-- they are never good devices, so they are kept apart from the table above.
CREATE TABLE IF NOT EXISTS defects (
    imei TEXT PRIMARY KEY,
    tac TEXT NOT NULL,
    snr INTEGER NOT NULL,
    defect TEXT NOT NULL,
    fingerprint TEXT,             -- NULL until the certificate is made
    made TEXT NOT NULL,
    UNIQUE (tac, snr)
);
"""
_HIGHEST = (
    "SELECT MAX(snr) FROM (SELECT snr FROM devices WHERE tac = ? "
    "UNION ALL SELECT snr FROM defects WHERE tac = ?)"
)
_COMMIT = (
    "UPDATE devices SET state = 'issued', serial = ?, certificate_serial = ?, "
    "fingerprint = ?, not_after = ? WHERE imei = ? AND run = ? AND state = 'reserved'"
)
RESERVE_BATCH = 5_000  # rows per INSERT call of a reservation: tens of ms each
BUSY_TIMEOUT_MS = 60_000  # a concurrent run holds the write lock for one transaction at most


@dataclass(frozen=True)
class Reservation:
    imei: str
    tac: str
    snr: int


@dataclass(frozen=True)
class Issued:
    """One minted device, as the ledger and the manifest record it."""

    imei: str
    serial: str
    certificate_serial: str
    fingerprint: str
    not_after: str


@dataclass(frozen=True)
class Run:
    id: str
    out: Path
    tac: str
    requested: int
    started: str
    finished: str | None
    outcome: str | None


def device_serial(tac: str, snr: int) -> str:
    """The device serial put in the subject serialNumber: TAC and SNR, the IMEI's 14 digits."""
    return f"{tac}-{snr:06d}"


def _commit_values(d: Issued, run: str) -> tuple[str, str, str, str, str, str]:
    return (d.serial, d.certificate_serial, d.fingerprint, d.not_after, d.imei, run)


def _opening_lock(path: Path) -> contextlib.AbstractContextManager[None]:
    """Serialise opening the ledger: two processes switching a new SQLite file to WAL at
    once can get "database is locked" without SQLite's busy handler being consulted."""
    return locked(path, "ledger")


def iso_utc(when: dt.datetime) -> str:
    """How the ledger and the manifest write a time: ISO 8601, UTC, to the second."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc_now() -> str:
    return iso_utc(dt.datetime.now(dt.UTC))


class RunLock:
    """An exclusive fcntl lock on ``folder/<run>.lock``, held for as long as the run lives.

    The kernel releases it when the process exits in any way, so :meth:`is_held` tells a
    rerun whether the process of an open run is still alive.
    """

    def __init__(self, folder: Path, run: str) -> None:
        self.path = folder / f"{run}.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            self.path.parent.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise FileError(f"{self.path}: cannot create run lock: {err.strerror}") from err
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._taken(fd)

    def try_acquire(self) -> bool:
        """Take the lock unless another process holds it; True when taken."""
        try:
            self.path.parent.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as err:
            raise FileError(f"{self.path}: cannot open run lock: {err.strerror}") from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._taken(fd)
        return True

    def _taken(self, fd: int) -> None:
        self._fd = fd
        # An flock belongs to the open file, which a forked child (a mint worker) shares
        # through its copy of the descriptor: the child closes its copy, so that the lock
        # still goes when this process dies, however long a worker lingers (is_held).
        os.register_at_fork(after_in_child=self._close_in_child)

    def _close_in_child(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def release(self) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None

    @staticmethod
    def is_held(folder: Path, run: str) -> bool:
        """True while the process that owns ``run`` is alive (it holds the lock)."""
        path = folder / f"{run}.lock"
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops our lock if we got it
        return False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class Ledger:
    """The SQLite ledger file; one instance per process, used from one thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.locks = path.parent / "runs"
        try:
            with _opening_lock(path):
                self._open(path)
        except sqlite3.Error as err:
            raise PkiError(f"{path}: cannot open the minting ledger: {err}") from err

    def _open(self, path: Path) -> None:
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives a process crash; only a power cut may lose the
        # last transactions, which the next run's settle step then redoes from the folders.
        # Reservations are the exception (see reserve): they are synced before minting starts.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        with self._transaction():
            # One statement at a time: executescript() would commit our transaction.
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION:
                raise PkiError(
                    f"{path}: ledger schema {version}; this dynsub knows {SCHEMA_VERSION}"
                )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self, *, durable: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock first, so read-then-write cannot race.

        ``durable``: the commit is on disk before this returns (WAL synced), power cut or not.
        """
        if durable:
            self._db.execute("PRAGMA synchronous=FULL")  # not allowed inside a transaction
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        finally:
            if durable:
                self._db.execute("PRAGMA synchronous=NORMAL")

    # --- runs --------------------------------------------------------------------------------

    def finish_run(self, run: str, outcome: str) -> None:
        with self._guard(), self._transaction() as db:
            db.execute(
                "UPDATE runs SET finished = ?, outcome = ? WHERE id = ?",
                (_utc_now(), outcome, run),
            )

    def open_runs(self) -> list[Run]:
        with self._guard():
            rows = self._db.execute(
                "SELECT id, out, tac, requested, started, finished, outcome FROM runs "
                "WHERE finished IS NULL ORDER BY started"
            ).fetchall()
        return [Run(r[0], Path(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def dead_runs(self) -> list[Run]:
        """Open runs whose process is gone: what a rerun must settle."""
        return [run for run in self.open_runs() if not RunLock.is_held(self.locks, run.id)]

    # --- allocation --------------------------------------------------------------------------

    def reserve(
        self, run: str, out: Path, tac: str, count: int, first_snr: int | None
    ) -> list[Reservation]:
        """Open ``run`` and reserve ``count`` consecutive serials of ``tac`` for it, atomically.

        ``first_snr=None`` starts after the highest serial ever allocated in ``tac``. An
        explicit range that overlaps an allocated serial is refused, naming the next free one.

        The reservation is on disk before any certificate is signed: were it lost in a power
        cut, the next run would allocate these IMEIs again while folders made under them
        survive (in another output folder nothing would even collide).
        """
        if count < 1:
            raise BadInput(f"`count` {count}: mint at least one device", parameter="count")
        with self._guard(), self._transaction(durable=True) as db:
            highest = db.execute(_HIGHEST, (tac, tac)).fetchone()
            next_free = 0 if highest[0] is None else highest[0] + 1
            first = next_free if first_snr is None else first_snr
            last = first + count - 1
            if first < 0 or last > SNR_MAX:
                left = max(0, SNR_MAX + 1 - first)
                raise BadInput(
                    f"TAC {tac}: serials {first}..{last} do not fit in 6 digits; "
                    f"{left} serial(s) left from {first}; use another `tac`",
                    parameter="tac",
                )
            taken, lowest = db.execute(
                "SELECT COUNT(*), MIN(snr) FROM (SELECT tac, snr FROM devices UNION ALL "
                "SELECT tac, snr FROM defects) WHERE tac = ? AND snr BETWEEN ? AND ?",
                (tac, first, last),
            ).fetchone()
            if taken:
                raise AlreadyExists(
                    f"TAC {tac}: {taken} of serials {first:06d}..{last:06d} already allocated "
                    f"(first {lowest:06d}, IMEI {make_imei(tac, lowest)}); IMEIs are never "
                    f"issued twice. The next free serial is {next_free:06d}: rerun without "
                    "`first_snr` to continue after the highest",
                    parameter="first_snr",
                )
            reservations = [
                Reservation(make_imei(tac, snr), tac, snr) for snr in range(first, last + 1)
            ]
            db.execute(
                "INSERT INTO runs (id, out, tac, requested, started) VALUES (?, ?, ?, ?, ?)",
                (run, str(out), tac, count, _utc_now()),
            )
            rows = [(r.imei, r.tac, r.snr, run) for r in reservations]
            # In batches, still one transaction: Python acts on Ctrl-C only between calls, and
            # one executemany of 200,000 rows ran for seconds (a Ctrl-C then rolls back).
            for start in range(0, len(rows), RESERVE_BATCH):
                db.executemany(
                    "INSERT INTO devices (imei, tac, snr, run, state) "
                    "VALUES (?, ?, ?, ?, 'reserved')",
                    rows[start : start + RESERVE_BATCH],
                )
        return reservations

    def allocate_defects(self, tac: str, count: int, defect: str) -> list[Reservation]:
        """Spend ``count`` serials of ``tac`` on devices broken on purpose (never good ones)."""
        with self._guard(), self._transaction(durable=True) as db:
            highest = db.execute(_HIGHEST, (tac, tac)).fetchone()
            first = 0 if highest[0] is None else highest[0] + 1
            if first + count - 1 > SNR_MAX:
                raise BadInput(
                    f"TAC {tac}: no {count} serial(s) left; use another `tac`", parameter="tac"
                )
            found = [
                Reservation(make_imei(tac, snr), tac, snr) for snr in range(first, first + count)
            ]
            db.executemany(
                "INSERT INTO defects (imei, tac, snr, defect, made) VALUES (?, ?, ?, ?, ?)",
                [(r.imei, r.tac, r.snr, defect, _utc_now()) for r in found],
            )
        return found

    def record_defect(self, imei: str, fingerprint: str) -> None:
        with self._guard(), self._transaction() as db:
            db.execute("UPDATE defects SET fingerprint = ? WHERE imei = ?", (fingerprint, imei))

    def defect_of(self, imei: str) -> str | None:
        """The defect a device was minted with, or None for a device that is not one."""
        with self._guard():
            row = self._db.execute("SELECT defect FROM defects WHERE imei = ?", (imei,)).fetchone()
        return None if row is None else str(row[0])

    def commit(self, run: str, issued: Sequence[Issued]) -> None:
        """Record minted devices; their folders are in place before this is called."""
        with self._guard(), self._transaction() as db:
            db.executemany(_COMMIT, [_commit_values(d, run) for d in issued])

    def settle(self, run: str, found: Sequence[Issued]) -> int:
        """Commit ``found`` and release every other reservation of ``run``; returns how many
        were released. One transaction and one DELETE, whatever the count: a run stopped early
        in a batch of 200,000 leaves nearly all of them reserved, and a statement per IMEI
        made settling it take minutes."""
        with self._guard(), self._transaction() as db:
            db.executemany(_COMMIT, [_commit_values(d, run) for d in found])
            cursor = db.execute("DELETE FROM devices WHERE run = ? AND state = 'reserved'", (run,))
            return cursor.rowcount

    def mark_interrupted(self, run: str) -> None:
        """Record that ``run`` was stopped by the user and left for the next run to settle: it
        stays open (``finished`` NULL) so that the next run's recovery finds it, and keeps
        ``interrupted`` as its outcome when settled."""
        with self._guard(), self._transaction() as db:
            db.execute("UPDATE runs SET outcome = 'interrupted' WHERE id = ?", (run,))

    def release(self, run: str, imeis: Sequence[str]) -> None:
        """Give back reserved serials that were never minted (no folder was renamed in)."""
        with self._guard(), self._transaction() as db:
            db.executemany(
                "DELETE FROM devices WHERE imei = ? AND run = ? AND state = 'reserved'",
                [(imei, run) for imei in imeis],
            )

    # --- queries -----------------------------------------------------------------------------

    def reserved_among(self, run: str, names: Sequence[str]) -> set[str]:
        """Which of ``names`` are IMEIs ``run`` still holds reserved.

        Asked of the names found on disk rather than by listing the reservations: a run
        stopped early in a batch of 200,000 holds nearly all of them, with nothing on disk.
        """
        found: set[str] = set()
        batch = 500  # well under SQLite's limit of host parameters per statement
        with self._guard():
            for start in range(0, len(names), batch):
                part = names[start : start + batch]
                marks = ",".join("?" * len(part))  # placeholders only: the values are bound
                rows = self._db.execute(
                    "SELECT imei FROM devices WHERE run = ? AND state = 'reserved' "  # noqa: S608
                    f"AND imei IN ({marks})",
                    (run, *part),
                ).fetchall()
                found.update(row[0] for row in rows)
        return found

    def reserved(self, run: str) -> list[Reservation]:
        with self._guard():
            rows = self._db.execute(
                "SELECT imei, tac, snr FROM devices WHERE run = ? AND state = 'reserved' "
                "ORDER BY snr",
                (run,),
            ).fetchall()
        return [Reservation(*row) for row in rows]

    def issued(self, run: str | None = None) -> list[Issued]:
        query = (
            "SELECT imei, serial, certificate_serial, fingerprint, not_after FROM devices "
            "WHERE state = 'issued'"
        )
        with self._guard():
            if run is None:
                rows = self._db.execute(query + " ORDER BY tac, snr").fetchall()
            else:
                rows = self._db.execute(query + " AND run = ? ORDER BY snr", (run,)).fetchall()
        return [Issued(*row) for row in rows]

    def find(self, imei: str) -> tuple[str, str] | None:
        """(state, run) of ``imei``, or None when it was never allocated."""
        with self._guard():
            row = self._db.execute(
                "SELECT state, run FROM devices WHERE imei = ?", (imei,)
            ).fetchone()
        return None if row is None else (row[0], row[1])

    def counts(self) -> dict[str, int]:
        with self._guard():
            rows = self._db.execute("SELECT state, COUNT(*) FROM devices GROUP BY state").fetchall()
        return {state: count for state, count in rows}

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as err:
            raise PkiError(f"{self.path}: minting ledger: {err}") from err
