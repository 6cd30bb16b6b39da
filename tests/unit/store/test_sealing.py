"""Sealing K and OPc: AES-256-GCM bound to the SUPI and the column; key files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dynsub_cli.errors import AlreadyExists, FileError, StoreError
from dynsub_cli.store.sealing import (
    KEY_SIZE,
    Sealer,
    generate_key,
    generate_key_file,
    load_key,
)

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")


def test_seal_and_open_round_trip() -> None:
    sealer = Sealer(generate_key())
    blob = sealer.seal("imsi-001010000000001", "k", K)
    assert K not in blob
    assert sealer.open("imsi-001010000000001", "k", blob) == K


def test_the_same_plaintext_seals_differently_each_time() -> None:
    sealer = Sealer(generate_key())
    assert sealer.seal("imsi-1", "k", K) != sealer.seal("imsi-1", "k", K)


@pytest.mark.parametrize(
    ("supi", "column"), [("imsi-001010000000002", "k"), ("imsi-001010000000001", "opc")]
)
def test_a_ciphertext_moved_to_another_row_or_column_does_not_open(supi: str, column: str) -> None:
    sealer = Sealer(generate_key())
    blob = sealer.seal("imsi-001010000000001", "k", K)
    with pytest.raises(StoreError, match="does not decrypt under the store key"):
        sealer.open(supi, column, blob)


def test_any_flipped_bit_is_detected() -> None:
    sealer = Sealer(generate_key())
    blob = sealer.seal("imsi-1", "k", K)
    for index in range(1, len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(StoreError):
            sealer.open("imsi-1", "k", bytes(tampered))
    with pytest.raises(StoreError, match="not a sealed value"):
        sealer.open("imsi-1", "k", b"\x02" + blob[1:])
    with pytest.raises(StoreError, match="not a sealed value"):
        sealer.open("imsi-1", "k", blob[:20])


def test_another_key_does_not_open() -> None:
    blob = Sealer(generate_key()).seal("imsi-1", "k", K)
    with pytest.raises(StoreError):
        Sealer(generate_key()).open("imsi-1", "k", blob)


def test_key_check() -> None:
    sealer = Sealer(generate_key())
    check = sealer.key_check()
    assert sealer.verify_key_check(check)
    assert not Sealer(generate_key()).verify_key_check(check)


def test_the_key_never_shows_in_repr() -> None:
    key = generate_key()
    assert key.hex() not in repr(Sealer(key))
    assert repr(Sealer(key)) == "Sealer(<key hidden>)"


def test_a_short_key_is_refused() -> None:
    with pytest.raises(StoreError, match="32 bytes"):
        Sealer(b"short")


def test_generate_key_file_is_private_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "store.key"
    key = generate_key_file(path)
    assert len(key) == KEY_SIZE
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert path.read_text() == key.hex() + "\n"
    assert load_key(path) == key
    with pytest.raises(AlreadyExists):
        generate_key_file(path)
    assert generate_key_file(path, overwrite=True) != key


def test_load_key_accepts_raw_bytes(tmp_path: Path) -> None:
    path = tmp_path / "raw.key"
    key = bytes([0x30] * 32)  # 32 raw bytes that happen to be ASCII digits
    path.write_bytes(key)
    path.chmod(0o600)
    assert load_key(path) == key


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"zz" * 32, "expected 64 hex digits"), (b"ab" * 20, "found 40 characters")],
)
def test_load_key_refuses_what_is_not_a_key(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(StoreError, match=message):
        load_key(path)


def test_load_key_refuses_a_key_others_can_read(tmp_path: Path) -> None:
    path = tmp_path / "open.key"
    generate_key_file(path)
    path.chmod(0o640)
    with pytest.raises(FileError, match=r"readable by others \(mode 0640\); run: chmod 600"):
        load_key(path)


def test_load_key_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="store key file not found"):
        load_key(tmp_path / "missing.key")
