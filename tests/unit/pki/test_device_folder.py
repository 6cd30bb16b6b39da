"""A device folder: written whole or not at all, put in place once, read back as a ledger row."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dynsub_cli.errors import FileError
from dynsub_cli.pki import device_folder, mint, pem
from dynsub_cli.pki.authority import Pki

IMEI = "001001000000007"


def _shared(out: Path, pki: Pki) -> tuple[str, str]:
    chain = device_folder.shared_copy(out, device_folder.CHAIN, b"chain")
    trust = device_folder.shared_copy(
        out, device_folder.TRUST, pki.load_root().public_bytes(pem.PEM)
    )
    return str(chain), str(trust)


def test_a_folder_is_written_under_its_partial_name_then_put_in_place(
    pki: Pki, tmp_path: Path
) -> None:
    chain, trust = _shared(tmp_path, pki)
    partial = device_folder.partial(tmp_path, IMEI)
    device_folder.write_partial(
        partial, b"cert", b"key", b"p12", chain_file=chain, trust_file=trust
    )
    assert not (tmp_path / IMEI).exists()
    assert device_folder.partial_imei(Path(partial)) == IMEI

    device_folder.place(tmp_path, IMEI)
    folder = tmp_path / IMEI
    assert not Path(partial).exists()
    assert (folder / "device.pem").read_bytes() == b"cert"
    assert stat.S_IMODE((folder / "device.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((folder / "device.p12").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    # chain.pem and trust.pem are the run's one read-only copy, not new files.
    assert os.path.samefile(folder / "chain.pem", chain)
    assert os.path.samefile(folder / "trust.pem", trust)
    assert stat.S_IMODE(Path(chain).stat().st_mode) == 0o444


def test_a_leftover_partial_folder_is_replaced(pki: Pki, tmp_path: Path) -> None:
    chain, trust = _shared(tmp_path, pki)
    partial = Path(device_folder.partial(tmp_path, IMEI))
    partial.mkdir()
    (partial / "stale").write_bytes(b"from an earlier attempt")
    device_folder.write_partial(
        str(partial), b"cert", b"key", None, chain_file=chain, trust_file=trust
    )
    assert sorted(p.name for p in partial.iterdir()) == [
        "chain.pem",
        "device.key",
        "device.pem",
        "trust.pem",
    ]


def test_a_failed_write_leaves_nothing(pki: Pki, tmp_path: Path) -> None:
    _, trust = _shared(tmp_path, pki)
    partial = device_folder.partial(tmp_path, IMEI)
    with pytest.raises(FileNotFoundError):
        device_folder.write_partial(
            partial, b"cert", b"key", None, chain_file=str(tmp_path / "gone"), trust_file=trust
        )
    assert not Path(partial).exists()


def test_placing_over_an_existing_folder_is_refused_by_name(pki: Pki, tmp_path: Path) -> None:
    chain, trust = _shared(tmp_path, pki)
    (tmp_path / IMEI).mkdir()
    (tmp_path / IMEI / "something").write_bytes(b"not ours")
    device_folder.write_partial(
        device_folder.partial(tmp_path, IMEI),
        b"cert",
        b"key",
        None,
        chain_file=chain,
        trust_file=trust,
    )
    with pytest.raises(FileError, match=f"{IMEI}: cannot put the device folder in place"):
        device_folder.place(tmp_path, IMEI)


def test_read_issued_gives_the_row_of_a_real_device_and_none_otherwise(
    pki: Pki, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (minted,) = mint.mint(pki, mint.MintRequest(out=out, count=1)).devices
    assert device_folder.read_issued(out / minted.imei, minted.imei) == minted
    # Another IMEI's folder, a folder without a certificate, a certificate that is not one.
    assert device_folder.read_issued(out / minted.imei, "001001000009991") is None
    assert device_folder.read_issued(tmp_path, minted.imei) is None
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "device.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nAAAA\n")
    assert device_folder.read_issued(garbage, minted.imei) is None
