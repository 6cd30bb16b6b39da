"""Group commit in the SQLite store: writers that meet share one COMMIT, each is on disk when it
returns, and one that fails takes nothing of the others with it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from dynsub_cli.errors import NotFound
from dynsub_cli.store import EventKind, EventOutcome
from dynsub_cli.store.subscriptions import Subscriptions
from tests.unit.store.helpers import onboard, open_store

WRITERS = 16
WRITES = 25


def _commits(store: Subscriptions) -> list[str]:
    """The COMMIT statements the store's connection runs, as SQLite traces them."""
    seen: list[str] = []
    store._conn.set_trace_callback(
        lambda statement: seen.append(statement) if statement == "COMMIT" else None
    )
    return seen


def _in_parallel(count: int, work: Callable[[int], None]) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            work(index)
        except BaseException as err:  # asserted on by the caller
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _other_connection_counts(path: Path) -> int:
    with sqlite3.connect(path) as other:
        count: int = other.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        return count


def test_concurrent_writers_share_commits_and_each_is_committed_on_return(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite"
    with open_store(path) as store:
        commits = _commits(store)
        returned: list[int] = []

        def work(index: int) -> None:
            for n in range(WRITES):
                store.add_event(EventKind.REGISTRATION, outcome=EventOutcome.SUCCESS, reason=f"{n}")
                # Returned: so another connection (another process) already sees it.
                returned.append(_other_connection_counts(path))
                if n % 5 == 0:  # reads meet a group's open transaction between writers
                    store.stats()

        assert _in_parallel(WRITERS, work) == []
        writes = WRITERS * WRITES
        assert _other_connection_counts(path) == writes
        # Every write saw at least itself from outside once it had returned.
        assert min(returned) >= 1
        # Writers met: fewer commits than writes (alone, each write would be one).
        assert len(commits) < writes


def test_a_lone_writer_commits_at_once(tmp_path: Path) -> None:
    with open_store(tmp_path / "s.sqlite") as store:
        commits = _commits(store)
        for n in range(5):
            store.add_event(EventKind.REGISTRATION, outcome=EventOutcome.SUCCESS, reason=f"{n}")
        assert len(commits) == 5


def test_a_failing_write_in_a_batch_takes_nothing_of_the_others_with_it(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with open_store(path) as store:
        supis = [onboard(store, n) for n in range(WRITERS)]

        def work(index: int) -> None:
            for n in range(WRITES):
                if index % 2:
                    store.update_sqn("imsi-001019999999999", n)  # no such record: NotFound
                else:
                    store.update_sqn(supis[index], 32 * (n + 1))

        errors = _in_parallel(WRITERS, work)
        assert len(errors) == WRITERS // 2
        assert all(isinstance(err, NotFound) for err in errors)
        with sqlite3.connect(path) as other:
            sqns = dict(other.execute("SELECT supi, sqn FROM subscriptions").fetchall())
        assert [sqns[supis[i]] for i in range(0, WRITERS, 2)] == [32 * WRITES] * (WRITERS // 2)
