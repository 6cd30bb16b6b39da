from __future__ import annotations

from pathlib import Path

import pytest

from dynsub_cli.pki.authority import Pki
from tests.unit.pki.factory import make_pki


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def other_pki(tmp_path: Path) -> Pki:
    """A second, unrelated PKI: its CAs are not trusted by ``pki``."""
    return make_pki(tmp_path / "other", manufacturer="Rogue Devices Ltd")
