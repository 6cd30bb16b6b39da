"""Devices wrong on purpose, for production-line QA and CI: ``dynsub pki mint --defect NAME``.

Each :class:`Defect` breaks exactly one rule of the device profile or of verification, and
names that :class:`~dynsub_cli.pki.rules.Rule`: ``pki verify`` and the core must refuse the
device for that rule and no other. The certificate is made by the same issuing code as a good
device, from the profile table with one field changed, so the defect is the only difference.

A defect device spends a serial of the TAC like any other (its IMEI is never reused), but the
ledger keeps it apart from the good devices (table ``defects``). Its folder holds the usual
files plus ``DEFECT`` (the defect and the rule, one line each); the manifest has the columns
``defect`` and ``rule``.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from dynsub_cli.errors import BadInput
from dynsub_cli.files import make_private_dir, write_atomic
from dynsub_cli.pki import device_folder, pem, revocation
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.imei import check_tac, luhn_digit, make_imei
from dynsub_cli.pki.issue import NO_EXPIRY, Issuer, Subject, Template
from dynsub_cli.pki.ledger import Ledger, Reservation, device_serial
from dynsub_cli.pki.profiles import DEVICE, MANUFACTURER_CA, ROOT, Profile
from dynsub_cli.pki.rules import Rule
from dynsub_cli.pki.signer import KeyFileSigner

MARKER = "DEFECT"
MISMATCH_TAC = "99999999"


class Defect(StrEnum):
    """What is wrong with the device; the value is what ``--defect`` takes."""

    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    NO_DEVICE_POLICY = "no-device-policy"
    WRONG_EKU = "wrong-eku"
    CA_TRUE = "ca-true"
    BAD_IMEI_CHECK_DIGIT = "bad-imei-check-digit"
    IMEI_CN_MISMATCH = "imei-cn-mismatch"
    UNTRUSTED_CA = "untrusted-ca"
    WRONG_KEY_TYPE = "wrong-key-type"
    REVOKED = "revoked"

    @property
    def rule(self) -> Rule:
        """The one rule a device with this defect breaks."""
        return _RULES[self]


_RULES = {
    Defect.EXPIRED: Rule.EXPIRED,
    Defect.NOT_YET_VALID: Rule.NOT_YET_VALID,
    Defect.NO_DEVICE_POLICY: Rule.POLICY_MISSING,
    Defect.WRONG_EKU: Rule.EKU_MISSING,
    Defect.CA_TRUE: Rule.BC_CA_ON_END_ENTITY,
    Defect.BAD_IMEI_CHECK_DIGIT: Rule.IMEI_CHECK_DIGIT,
    Defect.IMEI_CN_MISMATCH: Rule.IMEI_CN_MISMATCH,
    Defect.UNTRUSTED_CA: Rule.UNTRUSTED_MANUFACTURER,
    Defect.WRONG_KEY_TYPE: Rule.KEY_TYPE,
    Defect.REVOKED: Rule.REVOKED,
}

#: The one change to the device row each profile defect makes.
_PROFILES: dict[Defect, Profile] = {
    Defect.NO_DEVICE_POLICY: dataclasses.replace(DEVICE, policies=()),
    # serverAuth instead of clientAuth: a core's purpose on a device (RFC 5280 4.2.1.12).
    Defect.WRONG_EKU: dataclasses.replace(
        DEVICE, extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,)
    ),
    Defect.CA_TRUE: dataclasses.replace(DEVICE, ca=True),
}


@dataclass(frozen=True)
class Made:
    imei: str
    folder: Path
    fingerprint: str


@dataclass(frozen=True)
class DefectRun:
    defect: Defect
    devices: tuple[Made, ...]
    manifest_csv: Path
    manifest_json: Path
    crl: Path | None  # the CRL written for revoked devices


def _rogue_issuer(pki: Pki, now: dt.datetime) -> Issuer:
    """A manufacturer CA under a root nobody trusts: same names, other keys."""
    root_key = KeyFileSigner.generate(pki.key_type)
    root = Template(ROOT, None).issue(
        Subject("untrusted root (dynsub defect)", pki.manufacturer),
        root_key.public_key(),
        not_before=now,
        not_after=now + dt.timedelta(days=3650),
        self_key=root_key,
    )
    ca_key = KeyFileSigner.generate(pki.key_type)
    ca = Template(MANUFACTURER_CA, Issuer(root, root_key)).issue(
        # Not the real CA's name: a CRL of the real CA must not seem to speak about it.
        Subject(f"{pki.manufacturer} CA (untrusted)", pki.manufacturer),
        ca_key.public_key(),
        not_before=now,
        not_after=now + dt.timedelta(days=3650),
    )
    return Issuer(ca, ca_key)


def _certificate(
    defect: Defect, template: Template, pki: Pki, item: Reservation, now: dt.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    # P-521 is ECDSA, so TLS still works, but no row of the profile table allows it.
    curve = ec.SECP521R1() if defect is Defect.WRONG_KEY_TYPE else pki.key_type.curve
    key = ec.generate_private_key(curve)
    imei = item.imei
    common_name = imei
    if defect is Defect.BAD_IMEI_CHECK_DIGIT:
        imei = common_name = imei[:14] + str((int(luhn_digit(imei[:14])) + 1) % 10)
    elif defect is Defect.IMEI_CN_MISMATCH:
        # Another valid IMEI in the CN, of a TAC no PKI of dynsub allocates from: the SAN says
        # one device, the subject another, and no real device is named.
        common_name = make_imei(MISMATCH_TAC, item.snr)
    not_before, not_after = now - dt.timedelta(minutes=5), NO_EXPIRY
    if defect is Defect.EXPIRED:
        not_before, not_after = now - dt.timedelta(days=30), now - dt.timedelta(days=1)
    elif defect is Defect.NOT_YET_VALID:
        not_before = now + dt.timedelta(days=30)
    subject = Subject(
        common_name,
        pki.manufacturer,
        serial_number=device_serial(item.tac, item.snr),
        imei=imei,
    )
    cert = template.issue(subject, key.public_key(), not_before=not_before, not_after=not_after)
    return cert, key


def mint(
    pki: Pki,
    defect: Defect,
    out: Path,
    *,
    count: int = 1,
    tac: str | None = None,
    now: dt.datetime | None = None,
) -> DefectRun:
    """Mint ``count`` devices that break exactly ``defect.rule``, into ``out``."""
    if count < 1:
        raise BadInput(f"`count` {count}: mint at least one device", parameter="count")
    tac = pki.own_tac(tac)
    check_tac(tac)
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    out = out.absolute()
    make_private_dir(out)
    issuer = _rogue_issuer(pki, now) if defect is Defect.UNTRUSTED_CA else pki.manufacturer_issuer()
    template = Template(_PROFILES.get(defect, DEVICE), issuer)
    chain_file = device_folder.shared_copy(
        out, device_folder.CHAIN, issuer.certificate.public_bytes(pem.PEM)
    )
    trust_file = device_folder.shared_copy(
        out, device_folder.TRUST, pem.certificate_bytes([pki.load_root()])
    )
    made: list[Made] = []
    with Ledger(pki.ledger) as ledger:
        for item in ledger.allocate_defects(tac, count, defect.value):
            cert, key = _certificate(defect, template, pki, item, now)
            cert_pem = cert.public_bytes(pem.PEM)
            partial = device_folder.partial(out, item.imei)
            device_folder.write_partial(
                partial,
                cert_pem,
                pem.key_bytes(key),
                None,
                chain_file=str(chain_file),
                trust_file=str(trust_file),
            )
            write_atomic(Path(partial) / MARKER, f"{defect.value}\n{defect.rule.value}\n".encode())
            device_folder.place(out, item.imei)
            fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
            ledger.record_defect(item.imei, fingerprint)
            if defect is Defect.REVOKED:
                revocation.revoke(pki, cert, now=now)
            made.append(Made(item.imei, out / item.imei, fingerprint))
    crl = revocation.write_crl(pki, now=now).path if defect is Defect.REVOKED else None
    csv_path, json_path = _manifest(out, defect, made, now)
    return DefectRun(defect, tuple(made), csv_path, json_path, crl)


def _manifest(out: Path, defect: Defect, made: list[Made], now: dt.datetime) -> tuple[Path, Path]:
    stem = out / f"manifest-defect-{defect.value}-{now:%Y%m%dT%H%M%SZ}"
    rows = [
        {
            "imei": m.imei,
            "sha256_fingerprint": m.fingerprint,
            "path": m.imei,
            "defect": defect.value,
            "rule": defect.rule.value,
        }
        for m in made
    ]
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    csv_path, json_path = stem.with_suffix(".csv"), stem.with_suffix(".json")
    write_atomic(csv_path, text.getvalue().encode("utf-8"))
    document = {"defect": defect.value, "rule": defect.rule.value, "devices": rows}
    write_atomic(json_path, (json.dumps(document, indent=1) + "\n").encode("utf-8"))
    return csv_path, json_path
