"""core.toml [store]: a SQLite path, or a PostgreSQL URL whose password is kept out of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynsub_cli import config
from tests.unit.config.test_core import MINIMAL, _error, _load

SQLITE = 'path = "store.sqlite"\n'


def _with_store(table: str) -> str:
    return MINIMAL.replace(SQLITE, table)


def test_a_postgresql_url_with_a_password_file(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path,
        _with_store('url = "postgresql://dynsub@db:5432/dynsub"\npassword_file = "pg-password"\n'),
    )
    assert cfg.store.url == "postgresql://dynsub@db:5432/dynsub"
    assert cfg.store.location == cfg.store.url
    assert cfg.store.password_file == tmp_path / "pg-password"
    assert cfg.store.password_file in cfg.secret_files()  # checked for 0600 like the others
    # Written back as it was read.
    (tmp_path / "again").mkdir()
    again = config.load(config.write(cfg, tmp_path / "again" / "core.toml")).store
    assert (again.url, again.password_file) == (cfg.store.url, cfg.store.password_file)


def test_the_sqlite_store_is_still_the_default(tmp_path: Path) -> None:
    cfg = _load(tmp_path, MINIMAL)
    assert (cfg.store.url, cfg.store.password_file) == (None, None)
    assert cfg.store.location == str(tmp_path / "store.sqlite")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('url = "postgresql://dynsub:secret@db/dynsub"\n', "holds a password"),
        ('url = "postgresql://db/dynsub?password=secret"\n', "holds a password"),
        ('url = "mysql://db/dynsub"\n', "must be a postgresql:// URL"),
        ('path = "s.sqlite"\nurl = "postgresql://db/d"\n', "not both"),
        ('path = "s.sqlite"\npassword_file = "pw"\n', "is for a PostgreSQL store"),
        ("", "missing key 'path' (the SQLite store file) or 'url' (PostgreSQL)"),
    ],
)
def test_bad_store_tables_are_refused(tmp_path: Path, table: str, message: str) -> None:
    text = _error(tmp_path, _with_store(table))
    assert "[store]" in text
    assert message in text
    assert "secret" not in text.replace("secrets", "")
