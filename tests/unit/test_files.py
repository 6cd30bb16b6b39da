"""files.py: atomic writes, private secrets, and checks made before work that must not be lost."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dynsub_cli.errors import AlreadyExists, FileError
from dynsub_cli.files import (
    check_writable,
    exposure,
    make_private_dir,
    read_secret,
    write_atomic,
    write_secret,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_atomic_replaces_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "f"
    write_atomic(target, b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert _mode(target) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_write_atomic_without_overwrite_refuses_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "f"
    write_atomic(target, b"first", overwrite=False)
    with pytest.raises(AlreadyExists, match="refusing to overwrite"):
        write_atomic(target, b"second", overwrite=False)
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]


def test_a_secret_is_private_and_read_back(tmp_path: Path) -> None:
    secret = tmp_path / "k"
    write_secret(secret, b"K")
    assert _mode(secret) == 0o600
    assert exposure(secret) is None
    assert read_secret(secret, "test key") == b"K"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_a_secret_others_may_read_or_change_is_refused(tmp_path: Path, mode: int) -> None:
    secret = tmp_path / "k"
    write_secret(secret, b"K")
    secret.chmod(mode)
    with pytest.raises(FileError, match=rf"mode {mode:04o}\); run: chmod 600 .*\(test key\)"):
        read_secret(secret, "test key")


def test_a_missing_secret_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="test key not found"):
        read_secret(tmp_path / "nothing", "test key")


def test_check_writable_accepts_a_writable_folder_and_leaves_nothing(tmp_path: Path) -> None:
    check_writable(tmp_path / "state.toml", "state file")
    assert list(tmp_path.iterdir()) == []


def test_check_writable_names_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="no such folder for the state file; create it first"):
        check_writable(tmp_path / "missing" / "state.toml", "state file")
    with pytest.raises(FileError, match="is a folder; give the state file a file name"):
        check_writable(tmp_path, "state file")


def test_make_private_dir(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    make_private_dir(folder)
    assert _mode(folder) == 0o700
