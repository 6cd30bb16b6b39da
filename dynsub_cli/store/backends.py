"""The one place that picks a store backend: SQLite for a path, PostgreSQL for a URL.

The core (``core.assembly.open_store``) and the ``dynsub store`` commands open their store here,
from core.toml's [store] (anything with its four fields: ``config.StoreConfig``). The
PostgreSQL backend is imported only when a URL asks for it, so the embedded SQLite store needs
no database driver (``pip install 'dynsub[postgresql]'`` adds it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from dynsub_cli.errors import ConfigError, StoreError
from dynsub_cli.files import read_secret
from dynsub_cli.store.backend import SubscriptionStore
from dynsub_cli.store.sealing import load_key
from dynsub_cli.store.subscriptions import Subscriptions

URL_PREFIXES = ("postgresql://", "postgres://")


class StoreSettings(Protocol):
    """What the factory reads of core.toml's [store]."""

    @property
    def path(self) -> Path: ...

    @property
    def key_file(self) -> Path: ...

    @property
    def url(self) -> str | None: ...

    @property
    def password_file(self) -> Path | None: ...


def is_url(location: str) -> bool:
    return location.startswith(URL_PREFIXES)


def open_store(
    settings: StoreSettings,
    *,
    create: bool = True,
    missing_ok: bool = False,
    reading: bool = False,
) -> SubscriptionStore:
    """The store [store] names, opened with its key (K and OPc are sealed under it).

    ``create``: create (or upgrade) it when missing, as the core does when it serves.
    ``missing_ok`` (without ``create``): a SQLite store not created yet reads as empty.
    ``reading``: for a command that only reads, which skips SQLite's whole-file quick_check
    (store/health.py says why that is safe).
    """
    key = load_key(settings.key_file)
    if settings.url is None:
        return Subscriptions.open(
            settings.path, key, create=create, missing_ok=missing_ok, quick_check=not reading
        )
    password = None
    if settings.password_file is not None:
        password = read_password(settings.password_file)
    return open_at(settings.url, key, create=create, password=password)


def open_at(
    location: str, key: bytes | None, *, create: bool = True, password: str | None = None
) -> SubscriptionStore:
    """The store at a PostgreSQL URL or a SQLite file path."""
    if not is_url(location):
        return Subscriptions.open(Path(location), key, create=create)
    try:
        from dynsub_cli.store.postgres import PostgresSubscriptions
    except ImportError as err:
        raise StoreError(
            f"{location}: a PostgreSQL store needs psycopg: pip install 'dynsub[postgresql]'"
        ) from err
    return PostgresSubscriptions.open(location, key, create=create, password=password)


def read_password(path: Path) -> str:
    """The first line of a password file that only its owner may read (like ~/.pgpass)."""
    data = read_secret(path, "store password file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: the store password file is not UTF-8 text") from err
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise ConfigError(f"{path}: the store password file is empty; write the password in it")
    return lines[0]
