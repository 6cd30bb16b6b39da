"""OpenSSL accepts what dynsub mints and refuses what it revokes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dynsub_cli.pki import authority, mint, pem, revocation
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.profiles import KeyType


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )


@pytest.fixture(params=[KeyType.P256, KeyType.P384], ids=lambda k: k.value)
def pki(request: pytest.FixtureRequest, tmp_path: Path) -> Pki:
    return authority.init(tmp_path / "pki", authority.InitOptions(key_type=request.param))


@pytest.fixture
def devices(pki: Pki, tmp_path: Path) -> list[Path]:
    result = mint.mint(pki, mint.MintRequest(out=tmp_path / "out", count=20, workers=2))
    return [tmp_path / "out" / d.imei for d in result.devices]


def test_openssl_verify_accepts_every_minted_device(pki: Pki, devices: list[Path]) -> None:
    certs = [folder / "device.pem" for folder in devices]
    done = openssl("verify", "-CAfile", pki.root_cert, "-untrusted", pki.manufacturer_cert, *certs)
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.count(": OK") == len(certs)
    # Also with the files the device itself ships, and for the TLS client purpose.
    folder = devices[0]
    done = openssl(
        "verify",
        "-purpose",
        "sslclient",
        "-CAfile",
        folder / "trust.pem",
        "-untrusted",
        folder / "chain.pem",
        folder / "device.pem",
    )
    assert done.returncode == 0, done.stderr + done.stdout


def test_openssl_verify_accepts_the_core_for_its_name(pki: Pki) -> None:
    done = openssl(
        "verify",
        "-purpose",
        "sslserver",
        "-verify_hostname",
        pki.core_dns_name,
        "-CAfile",
        pki.root_cert,
        "-untrusted",
        pki.core_chain,
        pki.core_cert,
    )
    assert done.returncode == 0, done.stderr + done.stdout


def test_openssl_reads_the_key_and_the_device_profile(devices: list[Path]) -> None:
    folder = devices[0]
    key = openssl("pkey", "-in", folder / "device.key", "-pubout")
    cert = openssl("x509", "-in", folder / "device.pem", "-noout", "-pubkey")
    assert key.returncode == 0
    assert key.stdout == cert.stdout
    text = openssl("x509", "-in", folder / "device.pem", "-noout", "-text").stdout
    assert "CA:FALSE" in text
    assert "Digital Signature" in text
    assert "TLS Web Client Authentication" in text
    assert f"URI:urn:gsma:imei:{folder.name[:8]}-{folder.name[8:14]}-{folder.name[14]}" in text
    assert "Not After : Dec 31 23:59:59 9999 GMT" in text


def test_openssl_checks_the_crl_and_rejects_a_revoked_device(
    pki: Pki, devices: list[Path], tmp_path: Path
) -> None:
    revoked, kept = devices[0], devices[1]
    revocation.revoke(pki, pem.read_certificate(revoked / "device.pem"))
    crl = revocation.write_crl(pki, tmp_path / "crl.pem").path

    done = openssl("crl", "-in", crl, "-noout", "-verify", "-CAfile", pki.manufacturer_cert)
    assert done.returncode == 0, done.stderr
    assert "verify OK" in done.stderr + done.stdout
    text = openssl("crl", "-in", crl, "-noout", "-text").stdout
    assert "X509v3 CRL Number" in text
    assert "X509v3 Authority Key Identifier" in text

    def crl_check(device: Path) -> subprocess.CompletedProcess[str]:
        return openssl(
            "verify",
            "-crl_check",
            "-CAfile",
            pki.root_cert,
            "-untrusted",
            pki.manufacturer_cert,
            "-CRLfile",
            crl,
            device / "device.pem",
        )

    rejected = crl_check(revoked)
    assert rejected.returncode != 0
    assert "certificate revoked" in rejected.stderr + rejected.stdout
    accepted = crl_check(kept)
    assert accepted.returncode == 0, accepted.stderr + accepted.stdout


def test_openssl_opens_the_p12(pki: Pki, tmp_path: Path) -> None:
    result = mint.mint(
        pki,
        mint.MintRequest(out=tmp_path / "p12", count=1, workers=1, p12_password=b"pw"),
    )
    bundle = tmp_path / "p12" / result.devices[0].imei / "device.p12"
    done = openssl("pkcs12", "-in", bundle, "-passin", "pass:pw", "-nokeys", "-info")
    assert done.returncode == 0, done.stderr
    assert f"CN = {result.devices[0].imei}" in done.stdout
