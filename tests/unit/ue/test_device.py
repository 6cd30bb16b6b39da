"""Loading a device folder: the UE's factory credentials, and what it refuses to load."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynsub_cli.errors import BadInput, FileError
from dynsub_cli.pki import authority, mint
from dynsub_cli.ue import device
from tests.unit.pki.factory import make_pki


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    pki: authority.Pki = make_pki(tmp_path / "pki")
    (minted,) = mint.mint(pki, mint.MintRequest(out=tmp_path / "devices", count=1)).devices
    return tmp_path / "devices" / minted.imei


def test_a_minted_folder_loads(folder: Path) -> None:
    loaded = device.load(folder)
    assert loaded.imei == folder.name
    assert [a.subject.rfc4514_string() for a in loaded.trust_anchors] == [
        "CN=3GPP device ecosystem root,O=3GPP device ecosystem"
    ]


def test_a_private_key_others_can_read_is_refused(folder: Path) -> None:
    key = folder / "device.key"
    key.chmod(0o644)
    with pytest.raises(FileError, match=r"device.key: a secret readable by others \(mode 0644\)"):
        device.load(folder)
    key.chmod(0o600)
    assert device.load(folder).imei == folder.name


def test_a_folder_without_a_device_certificate_is_named(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(FileError, match="no such device folder"):
        device.load(tmp_path / "nowhere")
    (folder / "device.pem").write_bytes((folder / "chain.pem").read_bytes())
    with pytest.raises(BadInput, match="not a device certificate"):
        device.load(folder)
