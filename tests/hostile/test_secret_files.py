"""Issue 9, class 9: a secret must be its user's own, whoever made it and whatever it guards.

Before this test, the 0600 rule checked only the mode: a store key, a UE state file or a device
key at 0600 but owned by another user (who can read it and chmod it open at will) was used; the
manufacturer CA key was read with no rule at all (0644 was fine); and `--tls-keylog` appended
the EAP-TLS secrets to an existing file that anyone could read. The tests run as root, so a file
is handed to another user with os.chown, as an administrator would by mistake.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from dynsub_cli.cli import main
from dynsub_cli.errors import ExitCode, FileError
from dynsub_cli.files import exposure, read_secret, write_secret
from dynsub_cli.pki import authority
from dynsub_cli.store.sealing import generate_key_file, load_key
from dynsub_cli.ue import state
from tests.flow import make_pki
from tests.unit.ue.test_state import STATE

OTHER_UID = 4242  # no such user needs to exist: the file is only "not ours"


def _given_away(path: Path) -> Path:
    os.chown(path, OTHER_UID, -1)
    assert path.stat().st_uid == OTHER_UID
    return path


def test_the_tests_can_give_a_file_to_another_user() -> None:
    """These tests must be able to fail: they need os.chown, i.e. root (as CI runs them)."""
    assert os.geteuid() == 0


def test_a_0600_secret_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "k"
    write_secret(secret, b"K")
    assert exposure(secret) is None
    _given_away(secret)
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    problem = exposure(secret)
    assert problem is not None
    assert f"owned by another user (uid {OTHER_UID}" in problem
    with pytest.raises(FileError, match=rf"chown {os.geteuid()} .*\(test key\)$"):
        read_secret(secret, "test key")


def test_a_store_key_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    key = tmp_path / "store.key"
    generate_key_file(key)
    load_key(key)
    _given_away(key)
    with pytest.raises(FileError, match="owned by another user"):
        load_key(key)


def test_a_state_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ue.toml"
    state.save(path, STATE)
    _given_away(path)
    with pytest.raises(FileError, match="owned by another user"):
        state.load(path)


@pytest.mark.parametrize("damage", ["mode 0644", "another owner"])
def test_a_manufacturer_ca_key_follows_the_rule_when_minting(tmp_path: Path, damage: str) -> None:
    pki = authority.init(tmp_path / "pki", authority.InitOptions())
    if damage == "mode 0644":
        pki.manufacturer_key.chmod(0o644)
    else:
        _given_away(pki.manufacturer_key)
    result = CliRunner().invoke(
        main, ["pki", "mint", "--pki", str(pki.root), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == ExitCode.IO, result.output
    assert f"{pki.manufacturer_key}: a secret " in result.stderr
    assert "(manufacturer CA key)" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("ca", ["root", "manufacturer", "operator"])
def test_every_ca_key_is_read_with_the_rule(tmp_path: Path, ca: str) -> None:
    pki = authority.init(tmp_path / "pki", authority.InitOptions())
    path: Path = getattr(pki, f"{ca}_key")
    pki.signer(ca)
    path.chmod(0o640)
    with pytest.raises(FileError, match=rf"mode 0640\); run: chmod 600 .* \({ca} CA key\)"):
        pki.signer(ca)


@pytest.mark.parametrize("damage", ["mode 0644", "another owner"])
def test_an_open_tls_key_log_gets_no_secrets(tmp_path: Path, damage: str) -> None:
    """The key log gives, with a capture, KAUSF and from it the NAS keys, OPc and K: onboarding
    refuses to append to one that others may read, before it connects anywhere."""
    device = make_pki(tmp_path / "pki", 1)[0]
    keylog = tmp_path / "keys.log"
    keylog.write_bytes(b"")
    if damage == "mode 0644":
        keylog.chmod(0o644)
    else:
        keylog.chmod(0o600)
        _given_away(keylog)
    result = CliRunner().invoke(
        main,
        [
            "ue",
            "onboard",
            "--device",
            str(device),
            "--core",
            "127.0.0.1:1",
            "--state",
            str(tmp_path / "ue.toml"),
            "--tls-keylog",
            str(keylog),
        ],
    )
    assert result.exit_code == ExitCode.IO, result.output
    assert f"{keylog}: a secret " in result.stderr
    assert "(TLS key log)" in result.stderr
    assert keylog.read_bytes() == b""


def test_the_key_log_is_said_to_be_as_secret_as_k() -> None:
    result = CliRunner().invoke(main, ["ue", "onboard", "--help"], env={"COLUMNS": "200"})
    assert "as secret as K" in " ".join(result.output.split())
    docs = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
    assert "Keep that file as secret as K itself" in docs.read_text(encoding="utf-8")
