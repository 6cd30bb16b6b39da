"""Issue 14 acceptance 1: CA keys in a PKCS#11 token (SoftHSM2), every command through it.

`pki init` generates the manufacturer CA key inside a token made for this module; `pki mint`
signs 1,000 devices through it with two workers (each opens its own session), `openssl verify`
accepts them; `core init` and `pki crl` sign CRLs through it that `openssl crl` verifies; a
device minted so onboards against `core serve`; the key is non-extractable; and each token
problem (wrong PIN, no PIN, module missing, key missing) exits with its documented status.
"""

from __future__ import annotations

import json
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pkcs11
import pytest

from dynsub_cli.errors import ExitCode
from dynsub_cli.pki import authority, hsm
from tests.processes import HANG, dynsub, served_core
from tests.token import PIN, Token, softhsm_token

pytestmark = pytest.mark.slow
COUNT = 1000


@dataclass(frozen=True)
class World:
    work: Path
    token: Token
    pki: Path
    devices: Path
    minted: dict[str, object]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    work = tmp_path_factory.mktemp("token")
    with softhsm_token(work / "hsm") as token:
        dynsub(
            "pki", "init", "pki", "--pkcs11-token", token.label,
            "--pkcs11-pin-file", token.pin_file, cwd=work,
        )  # fmt: skip
        minted = json.loads(
            dynsub("pki", "mint", "--pki", "pki", "--out", "devices", "--count", str(COUNT),
                   "--workers", "2", "--json", cwd=work).stdout
        )  # fmt: skip
        yield World(work, token, work / "pki", work / "devices", minted)


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, timeout=HANG, check=False
    )


def test_pki_toml_names_the_key_by_uri_and_no_key_file_exists(world: World) -> None:
    config = tomllib.loads((world.pki / "pki.toml").read_text())
    uri = config["keys"]["manufacturer"]
    key = hsm.TokenKey.parse(uri)
    assert (key.token, key.module, key.pin_file) == (
        world.token.label,
        hsm.SOFTHSM_MODULE,
        world.token.pin_file,
    )
    assert not (world.pki / "manufacturer.key").exists()
    assert (world.pki / "root.key").exists()  # only the manufacturer key was asked for
    assert PIN not in (world.pki / "pki.toml").read_text()


def test_the_key_is_non_extractable(world: World) -> None:
    signer = authority.load(world.pki).manufacturer_signer()
    assert isinstance(signer, hsm.Pkcs11Signer)
    assert signer.extractable is False
    session = hsm.session(signer.token_key)
    private = session.get_key(
        object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=signer.token_key.label
    )
    assert private[pkcs11.Attribute.NEVER_EXTRACTABLE] is True
    with pytest.raises(pkcs11.PKCS11Error):  # CKR_ATTRIBUTE_SENSITIVE
        private[pkcs11.Attribute.VALUE]


def test_openssl_verifies_every_device_minted_through_the_token(world: World) -> None:
    assert world.minted["count"] == COUNT
    certs = sorted(world.devices.glob("*/device.pem"))
    assert len(certs) == COUNT
    done = _openssl(
        "verify", "-x509_strict", "-purpose", "sslclient",
        "-CAfile", world.pki / "root.pem", "-untrusted", world.pki / "manufacturer.pem", *certs,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == COUNT
    assert len(list(world.devices.glob("*/device.key"))) == COUNT  # keys made on the host


def test_core_init_revoke_and_crl_sign_through_the_token_and_a_device_onboards(
    world: World,
) -> None:
    work = world.work
    dynsub("core", "init", "core", "--pki", "pki", cwd=work)  # writes the first CRL: token
    first = _openssl(
        "crl", "-in", world.pki / "crl.pem", "-CAfile", world.pki / "manufacturer.pem", "-noout"
    )
    assert "verify OK" in first.stdout + first.stderr
    devices = sorted(p.parent for p in world.devices.glob("*/device.pem"))
    good, bad = devices[0], devices[1]
    with served_core(work / "core" / "core.toml", cwd=work) as core:
        onboarded = json.loads(
            dynsub("ue", "onboard", "--device", good, "--core", core.address,
                   "--state", work / "ue.toml", "--json", cwd=work).stdout
        )  # fmt: skip
        assert onboarded["supi"]
    dynsub("pki", "revoke", bad / "device.pem", "--pki", "pki", cwd=work)
    dynsub("pki", "crl", "--pki", "pki", cwd=work)
    crl = _openssl(
        "crl", "-in", world.pki / "crl.pem", "-CAfile", world.pki / "manufacturer.pem",
        "-noout", "-text",
    )  # fmt: skip
    assert "verify OK" in crl.stdout + crl.stderr
    assert "CRL Number" in crl.stdout
    refused = dynsub(
        "pki", "verify", bad / "device.pem", "--pki", "pki", "--crl", world.pki / "crl.pem",
        "--json", cwd=work, expect=ExitCode.CERT_REFUSED,
    )  # fmt: skip
    assert json.loads(refused.stdout)["rules"] == ["revoked"]


def _with_config(world: World, tmp: Path, replace: tuple[str, str]) -> Path:
    """A copy of the PKI's pki.toml with one text replaced, in a folder of its own."""
    folder = tmp / "pki"
    folder.mkdir()
    for item in world.pki.iterdir():
        if item.is_file() and item.name != "pki.toml":
            (folder / item.name).symlink_to(item)
    text = (world.pki / "pki.toml").read_text()
    assert replace[0] in text
    (folder / "pki.toml").write_text(text.replace(*replace))
    return folder


def test_a_wrong_pin_is_named_and_exits_auth(world: World, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong-pin"
    wrong.write_text("000000\n")
    wrong.chmod(0o600)
    folder = _with_config(world, tmp_path, (str(world.token.pin_file), str(wrong)))
    result = dynsub("pki", "crl", "--pki", folder, "--out", tmp_path / "c.pem", cwd=tmp_path,
                    expect=ExitCode.AUTH)  # fmt: skip
    assert f"token {world.token.label!r}: the PIN is wrong" in result.stderr


def test_no_pin_at_all_is_named_and_exits_auth(world: World, tmp_path: Path) -> None:
    folder = _with_config(world, tmp_path, (f"&pin-source=file:{world.token.pin_file}", ""))
    result = dynsub("pki", "crl", "--pki", folder, "--out", tmp_path / "c.pem", cwd=tmp_path,
                    expect=ExitCode.AUTH)  # fmt: skip
    assert "set DYNSUB_PKCS11_PIN" in result.stderr


def test_a_missing_module_is_named_and_exits_io(world: World, tmp_path: Path) -> None:
    folder = _with_config(world, tmp_path, (hsm.SOFTHSM_MODULE, "/nonexistent/libpkcs11.so"))
    result = dynsub("pki", "mint", "--pki", folder, "--out", tmp_path / "o", cwd=tmp_path,
                    expect=ExitCode.IO)  # fmt: skip
    assert "PKCS#11 module /nonexistent/libpkcs11.so: not found" in result.stderr


def test_a_missing_key_is_named_and_exits_not_found(world: World, tmp_path: Path) -> None:
    folder = _with_config(
        world, tmp_path, ("object=dynsub%20manufacturer%20CA%20", "object=gone%20")
    )
    result = dynsub("pki", "crl", "--pki", folder, "--out", tmp_path / "c.pem", cwd=tmp_path,
                    expect=ExitCode.NOT_FOUND)  # fmt: skip
    assert "no such key pair in the token" in result.stderr
