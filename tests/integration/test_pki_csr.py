"""Issue 14 acceptance 2: `pki mint --csr` signs device requests; the keys stay in devices.

1,000 CSRs made here and one made by `openssl req` are signed in one run: every certificate
verifies (openssl), carries the CSR's public key, and no private key is written. A CSR with a
bad signature, one with an RSA key and one naming an IMEI of another TAC are each refused by
name, listed in the manifest, and do not stop the run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.processes import HANG, dynsub

pytestmark = pytest.mark.slow
COUNT = 1000
OTHER_TAC_IMEI = "990000000000002"  # TAC 99000000: not this PKI's


def _csr(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, common_name: str) -> bytes:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM)


def _spki(der_or_key: x509.Certificate | x509.CertificateSigningRequest) -> bytes:
    return der_or_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class Run:
    work: Path
    csrs: Path
    summary: dict[str, object]
    tac: str


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    work = tmp_path_factory.mktemp("csr")
    info = json.loads(dynsub("pki", "init", "pki", "--json", cwd=work).stdout)
    csrs = work / "csrs"
    csrs.mkdir()
    for number in range(COUNT):
        # One P-384 device on this P-256 PKI: the profile allows it, and the mint's stamp
        # (laid out for P-256 points) must hand it to cryptography's builder instead.
        key = ec.generate_private_key(ec.SECP384R1() if number == 7 else ec.SECP256R1())
        (csrs / f"device-{number:04d}.csr").write_bytes(_csr(key, f"device {number}"))
    subprocess.run(
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(work / "openssl.key"), "-subj", "/CN=openssl device",
         "-out", str(csrs / "openssl.csr")],
        check=True, capture_output=True, timeout=HANG,
    )  # fmt: skip
    good = bytearray(x509.load_pem_x509_csr(_csr(ec.generate_private_key(ec.SECP256R1()), "x"))
                     .public_bytes(serialization.Encoding.DER))  # fmt: skip
    good[-3] ^= 0x01  # inside the signature: no proof of possession any more
    (csrs / "bad-signature.der").write_bytes(bytes(good))
    (csrs / "rsa.csr").write_bytes(_csr(rsa.generate_private_key(65537, 2048), "rsa device"))
    (csrs / "other-tac.csr").write_bytes(
        _csr(ec.generate_private_key(ec.SECP256R1()), OTHER_TAC_IMEI)
    )
    summary = json.loads(
        dynsub("pki", "mint", "--pki", "pki", "--out", "devices", "--csr", csrs,
               "--workers", "2", "--json", cwd=work).stdout
    )  # fmt: skip
    return Run(work, csrs, summary, info["tac"])


def _folders(run: Run) -> list[Path]:
    return sorted(p.parent for p in (run.work / "devices").glob("*/device.pem"))


def test_every_good_csr_got_a_certificate_with_its_own_key(run: Run) -> None:
    assert run.summary["count"] == COUNT + 1
    manifest = json.loads(Path(str(run.summary["manifest_json"])).read_text())
    issued = [d for d in manifest["devices"] if d["status"] == "issued"]
    assert len(issued) == COUNT + 1
    for device in issued:
        csr_path = Path(device["csr"])
        request = x509.load_pem_x509_csr(csr_path.read_bytes())
        cert = x509.load_pem_x509_certificate(
            (run.work / "devices" / device["path"] / "device.pem").read_bytes()
        )
        assert _spki(cert) == _spki(request)
        der = request.public_bytes(serialization.Encoding.DER)
        assert device["csr_sha256"] == hashlib.sha256(der).hexdigest()
        assert device["imei"].startswith(run.tac)


def test_no_private_key_is_written(run: Run) -> None:
    folders = _folders(run)
    assert len(folders) == COUNT + 1
    assert not list((run.work / "devices").rglob("*.key"))
    assert not list((run.work / "devices").rglob("*.p12"))


def test_openssl_verifies_every_certificate(run: Run) -> None:
    pki = run.work / "pki"
    done = subprocess.run(
        ["openssl", "verify", "-x509_strict", "-purpose", "sslclient",
         "-CAfile", str(pki / "root.pem"), "-untrusted", str(pki / "manufacturer.pem"),
         *(str(f / "device.pem") for f in _folders(run))],
        capture_output=True, text=True, timeout=HANG, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(": OK") == COUNT + 1


def test_the_openssl_request_is_signed_and_its_key_matches(run: Run) -> None:
    manifest = json.loads(Path(str(run.summary["manifest_json"])).read_text())
    (entry,) = [d for d in manifest["devices"] if d["csr"].endswith("openssl.csr")]
    cert = run.work / "devices" / entry["path"] / "device.pem"
    modulus = [
        subprocess.run(
            ["openssl", *args], capture_output=True, text=True, timeout=HANG, check=True
        ).stdout
        for args in (
            ["pkey", "-in", str(run.work / "openssl.key"), "-pubout"],
            ["x509", "-in", str(cert), "-pubkey", "-noout"],
        )
    ]
    assert modulus[0] == modulus[1]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bad-signature.der", "signature does not verify: no proof of possession"),
        ("rsa.csr", "key type not allowed (RSAPublicKey"),
        ("other-tac.csr", f"IMEI {OTHER_TAC_IMEI} outside the TAC range"),
    ],
)
def test_each_bad_csr_is_refused_by_name_in_json_and_manifest(
    run: Run, name: str, reason: str
) -> None:
    refused = {Path(r["csr"]).name: r["reason"] for r in run.summary["refused"]}  # type: ignore[attr-defined]
    assert reason in refused[name]
    with Path(str(run.summary["manifest_csv"])).open(newline="") as handle:
        rows = {Path(r["csr"]).name: r for r in csv.DictReader(handle)}
    assert rows[name]["status"] == f"refused: {refused[name]}"
    assert rows[name]["imei"] == ""


def test_without_json_the_refusals_are_on_stderr(run: Run, tmp_path: Path) -> None:
    one = tmp_path / "one"
    one.mkdir()
    (one / "rsa.csr").write_bytes((run.csrs / "rsa.csr").read_bytes())
    (one / "good.csr").write_bytes((run.csrs / "device-0000.csr").read_bytes())
    done = dynsub("pki", "mint", "--pki", run.work / "pki", "--out", tmp_path / "o",
                  "--csr", one, cwd=run.work)  # fmt: skip
    assert f"{one / 'rsa.csr'}: CSR refused: key type not allowed" in done.stderr
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "rsa.csr").write_bytes((run.csrs / "rsa.csr").read_bytes())
    dynsub("pki", "mint", "--pki", run.work / "pki", "--out", tmp_path / "o2",
           "--csr", only_bad, cwd=run.work, expect=3)  # fmt: skip
