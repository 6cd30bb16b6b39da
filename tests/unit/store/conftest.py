"""The store's tests run against both backends: SQLite (a file) and PostgreSQL (a database of
the session's throwaway cluster, tests/postgres.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import Cluster
from tests.unit.store.helpers import AnyStore, open_location

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a new store of the backend goes: a SQLite path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "s.sqlite")
    cluster: Cluster = request.getfixturevalue("pg_cluster")
    return cluster.url(cluster.new_database(), password=True)


@pytest.fixture
def store(location: str) -> Iterator[AnyStore]:
    with open_location(location) as opened:
        yield opened
