"""Test helper: a PKI in a temporary folder, and certificates that break one rule at a time.

Bad certificates are made by the real issuing code from the real profile table with one field
changed (``dataclasses.replace(DEVICE, policies=())``), so a test of a rule cannot pass by
accident of a hand-made certificate.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from dynsub_cli.pki import authority, pem, revocation, verify
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.imei import make_imei
from dynsub_cli.pki.issue import NO_EXPIRY, Issuer, Subject, Template, generate_key
from dynsub_cli.pki.ledger import device_serial
from dynsub_cli.pki.profiles import DEVICE, KeyType, Profile
from dynsub_cli.pki.rules import Rule
from dynsub_cli.pki.signer import KeyFileSigner

TAC = "35000000"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def make_pki(folder: Path, **options: object) -> Pki:
    return authority.init(folder, authority.InitOptions(**options))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Minted:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    imei: str


def device(
    pki: Pki,
    profile: Profile = DEVICE,
    *,
    snr: int = 1,
    imei: str | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime = NO_EXPIRY,
    issuer: Issuer | None = None,
    key_type: KeyType = KeyType.P256,
) -> Minted:
    """A device certificate issued by ``pki``'s manufacturer CA (or ``issuer``)."""
    imei = imei or make_imei(TAC, snr)
    key = generate_key(key_type)
    cert = Template(profile, issuer or pki.manufacturer_issuer()).issue(
        Subject(imei, pki.manufacturer, serial_number=device_serial(TAC, snr), imei=imei),
        key.public_key(),
        not_before=not_before or NOW - dt.timedelta(minutes=5),
        not_after=not_after,
    )
    return Minted(cert, key, imei)


def bad_check_digit(snr: int = 1) -> str:
    good = make_imei(TAC, snr)
    return good[:14] + str((int(good[14]) + 1) % 10)


def operator_issuer(pki: Pki) -> Issuer:
    return Issuer(pem.read_certificate(pki.operator_cert), KeyFileSigner.read(pki.operator_key))


# Each broken rule: how to make the certificate (given the PKI and a second, untrusted PKI),
# and the phrase the refusal must contain; BROKEN_RULE is the rule it must name.
Maker = Callable[[Pki, Pki], Minted]
BROKEN: dict[str, tuple[Maker, str]] = {
    "policy missing": (
        lambda p, _: device(p, dataclasses.replace(DEVICE, policies=())),
        "3GPP device policy missing",
    ),
    "CA:TRUE": (
        lambda p, _: device(p, dataclasses.replace(DEVICE, ca=True)),
        "basicConstraints CA:TRUE on an end-entity certificate",
    ),
    "wrong EKU": (
        lambda p, _: device(
            p,
            dataclasses.replace(DEVICE, extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,)),
        ),
        "extendedKeyUsage lacks clientAuth",
    ),
    "expired": (
        lambda p, _: device(
            p,
            not_before=NOW - dt.timedelta(days=30),
            not_after=NOW - dt.timedelta(days=1),
        ),
        "certificate has expired",
    ),
    "not yet valid": (
        lambda p, _: device(p, not_before=NOW + dt.timedelta(days=1)),
        "not yet valid",
    ),
    "untrusted issuer": (
        lambda p, other: device(p, issuer=other.manufacturer_issuer()),
        "issuer is not a trusted manufacturer CA",
    ),
    "bad IMEI check digit": (
        lambda p, _: device(p, imei=bad_check_digit()),
        "IMEI check digit is wrong",
    ),
}

BROKEN_RULE: dict[str, Rule] = {
    "policy missing": Rule.POLICY_MISSING,
    "CA:TRUE": Rule.BC_CA_ON_END_ENTITY,
    "wrong EKU": Rule.EKU_MISSING,
    "expired": Rule.EXPIRED,
    "not yet valid": Rule.NOT_YET_VALID,
    "untrusted issuer": Rule.UNTRUSTED_MANUFACTURER,
    "bad IMEI check digit": Rule.IMEI_CHECK_DIGIT,
}


def revoked_device(pki: Pki, out: Path) -> tuple[Minted, Path]:
    """A device certificate revoked in ``pki``, and the CRL (written to ``out``) that says so."""
    minted = device(pki, snr=77)
    revocation.revoke(pki, minted.certificate)
    return minted, revocation.write_crl(pki, out).path


def write_pem(path: Path, *certs: x509.Certificate) -> Path:
    path.write_bytes(pem.certificate_bytes(certs))
    return path


def chain_of(pki: Pki, minted: Minted) -> list[x509.Certificate]:
    return [minted.certificate, pki.load_manufacturer()]


def identity(pki: Pki, minted: Minted) -> verify.DeviceIdentity:
    return verify.verify_device(chain_of(pki, minted), [pki.load_root()])
