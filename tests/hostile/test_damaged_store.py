"""Issue 9, class 10: a damaged store is never used.

On main before this, a store with bytes flipped past page 1 still served (allocating SUPIs
beside records it could not read), and a zero-byte store file was taken as a new store, so SUPI
numbering restarted and handed out SUPIs that UEs still held. Now the store is checked each
time it opens (quick_check), an empty or foreign file is refused, and the message says how to
recover. The core refuses to serve such a store (exit 8); so do the store commands.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from dynsub_cli.cli import main
from dynsub_cli.errors import ExitCode, StoreError
from dynsub_cli.store import Subscriptions
from tests.bulkstore import core_folder
from tests.flow import make_lab
from tests.processes import dynsub
from tests.unit.store.helpers import KEY, onboard, open_store

SEED = 20261201
FLIPS = 200
PAGE = 4096  # SQLite's default page size


def _store_with(path: Path, records: int) -> list[str]:
    with open_store(path) as store:
        return [onboard(store, n) for n in range(records)]


def test_a_zero_byte_store_file_is_refused_not_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    _store_with(path, 3)
    path.write_bytes(b"")
    with pytest.raises(StoreError) as info:
        open_store(path)
    assert "the store file is empty (0 bytes)" in info.value.message
    assert "restore the store from a backup" in info.value.message
    assert path.stat().st_size == 0  # nothing was written into it


def test_bytes_flipped_past_the_first_page_are_caught_at_open(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    _store_with(path, 300)
    data = bytearray(path.read_bytes())
    assert len(data) > 4 * PAGE, "the store is too small for the test to mean anything"
    rng = random.Random(SEED)
    for offset in rng.sample(range(PAGE, len(data)), FLIPS):
        data[offset] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as info:
        open_store(path)
    assert "the store is damaged" in info.value.message
    assert ".recover" in info.value.message


def _damage_the_subscriptions_table(path: Path) -> None:
    """Overwrite the b-tree page type of the subscriptions table's root page: page 1 (the
    schema) stays whole, so the file opens, and every read of the table meets the damage."""
    with sqlite3.connect(path) as conn:
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'subscriptions'"
        ).fetchone()
    conn.close()
    with path.open("r+b") as file:
        file.seek((root - 1) * PAGE)
        file.write(b"\x00")


def test_a_read_that_meets_a_damaged_page_is_refused_as_damage(tmp_path: Path) -> None:
    """The read commands skip the whole-file quick_check (issue 11); what they read is still
    checked by SQLite page by page, and damage ends the read with the same refusal."""
    path = tmp_path / "s.sqlite"
    _store_with(path, 300)
    _damage_the_subscriptions_table(path)
    with (
        Subscriptions.open(path, KEY, quick_check=False) as store,
        pytest.raises(StoreError) as info,
    ):
        list(store.iterate())
    assert "the store is damaged (database disk image is malformed)" in info.value.message
    assert ".recover" in info.value.message
    with pytest.raises(StoreError, match="the store is damaged \\(quick_check: "):
        Subscriptions.open(path, KEY)


def test_the_store_commands_refuse_a_damaged_table_read_or_checked(tmp_path: Path) -> None:
    config_file, cfg, key = core_folder(tmp_path / "core")
    with Subscriptions.open(cfg.store.path, key) as store:
        for n in range(300):
            onboard(store, n)
    _damage_the_subscriptions_table(cfg.store.path)
    for argv in (["list", "--json"], ["export", "--format", "ndjson"], ["stats"]):
        result = CliRunner().invoke(main, ["store", *argv, "--config", str(config_file)])
        assert result.exit_code == ExitCode.STORE, (argv, result.output)
        assert "the store is damaged" in result.stderr, argv


def test_a_sqlite_file_of_another_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(StoreError, match=r"not a dynsub store \(tables: invoices\)"):
        open_store(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("invoices",)]


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "core.pem"
    path.write_bytes(b"-----BEGIN CERTIFICATE-----\n" + b"A" * 5000)
    with pytest.raises(StoreError, match="not a SQLite database"):
        open_store(path)


def test_cores_creating_a_new_store_at_once_all_open_the_same_one(tmp_path: Path) -> None:
    """A new store is built aside and linked into place, so no core ever sees it empty."""
    path = tmp_path / "s.sqlite"
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        try:
            Subscriptions.open(path, KEY).close()
        except BaseException as err:  # asserted on below
            errors.append(err)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.slow
def test_core_serve_and_store_commands_refuse_a_damaged_store(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    store_file = lab.config().store.path
    config_file = str(lab.config_file)
    # Not served yet: an empty store (exit 0), and no file is made by looking.
    dynsub("store", "stats", "--config", config_file, cwd=tmp_path)
    assert not store_file.exists()
    store_file.write_bytes(b"")
    served = dynsub(
        *("core", "serve", "--config", config_file, "--listen", "127.0.0.1:0"),
        cwd=tmp_path,
        expect=ExitCode.STORE,
    )
    assert "the store file is empty (0 bytes)" in served.stderr
    stats = dynsub("store", "stats", "--config", config_file, cwd=tmp_path, expect=ExitCode.STORE)
    assert "restore the store from a backup" in stats.stderr
