"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests import postgres


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[postgres.Cluster]:
    """A throwaway PostgreSQL 15 cluster for the whole test session (tests/postgres.py)."""
    with postgres.cluster() as cluster:
        yield cluster
