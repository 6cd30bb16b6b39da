"""Revoking device certificates and publishing the CRL.

``DIR/revoked.toml`` is the revocation list of the PKI: one entry per revoked certificate
(serial, IMEI, date, optional reason) plus the number of the last CRL issued. ``dynsub pki
revoke`` adds to it; ``dynsub pki crl`` turns it into a CRL (RFC 5280 section 5) signed by the
manufacturer CA, with a CRL number that only grows (5.2.3), the authority key identifier (5.2.1)
and a nextUpdate (5.1.2.5). Read-modify-write of the file happens under an fcntl lock so two
commands cannot lose each other's entry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import tomli_w
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from dynsub_cli.errors import AlreadyExists, BadInput, ConfigError
from dynsub_cli.files import locked, write_atomic
from dynsub_cli.pki import pem, profiles
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.constants import DEFAULT_CRL_DAYS
from dynsub_cli.pki.signer import signing_key


class Reason(StrEnum):
    """RFC 5280 5.3.1 reason codes that make sense for a device certificate."""

    KEY_COMPROMISE = "keyCompromise"
    AFFILIATION_CHANGED = "affiliationChanged"
    SUPERSEDED = "superseded"
    CESSATION_OF_OPERATION = "cessationOfOperation"

    @property
    def flag(self) -> x509.ReasonFlags:
        return {
            Reason.KEY_COMPROMISE: x509.ReasonFlags.key_compromise,
            Reason.AFFILIATION_CHANGED: x509.ReasonFlags.affiliation_changed,
            Reason.SUPERSEDED: x509.ReasonFlags.superseded,
            Reason.CESSATION_OF_OPERATION: x509.ReasonFlags.cessation_of_operation,
        }[self]


@dataclass(frozen=True)
class Revoked:
    serial: int
    imei: str
    date: dt.datetime
    reason: Reason | None


@dataclass(frozen=True)
class RevocationList:
    crl_number: int  # the number of the last CRL issued; 0 before the first
    entries: tuple[Revoked, ...]


@dataclass(frozen=True)
class CrlWritten:
    path: Path
    number: int
    entries: int
    next_update: dt.datetime


def _locked(pki: Pki) -> contextlib.AbstractContextManager[None]:
    return locked(pki.revocations, "revocation list")


def load(pki: Pki) -> RevocationList:
    """The revocation list; empty when nothing was ever revoked."""
    path = pki.revocations
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return RevocationList(0, ())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ConfigError(f"{path}: cannot read the revocation list: {err}") from err
    try:
        entries = tuple(
            Revoked(
                serial=int(item["serial"], 16),
                imei=str(item["imei"]),
                date=dt.datetime.fromisoformat(item["date"]),
                reason=Reason(item["reason"]) if "reason" in item else None,
            )
            for item in data.get("revoked", [])
        )
        return RevocationList(int(data.get("crl_number", 0)), entries)
    except (KeyError, ValueError, TypeError) as err:
        raise ConfigError(f"{path}: malformed entry in the revocation list: {err}") from err


def _save(pki: Pki, revocations: RevocationList) -> None:
    document: dict[str, Any] = {
        "crl_number": revocations.crl_number,
        "revoked": [
            {
                "serial": format(entry.serial, "x"),
                "imei": entry.imei,
                "date": entry.date.isoformat(),
                **({"reason": entry.reason.value} if entry.reason else {}),
            }
            for entry in revocations.entries
        ],
    }
    write_atomic(pki.revocations, tomli_w.dumps(document).encode("utf-8"))


def revoke(
    pki: Pki,
    cert: x509.Certificate,
    *,
    reason: Reason | None = None,
    now: dt.datetime | None = None,
) -> Revoked:
    """Add ``cert`` to the revocation list; it must have been issued by this manufacturer CA."""
    manufacturer = pki.load_manufacturer()
    try:
        if cert.issuer != manufacturer.subject:
            raise ValueError("issuer name differs")
        cert.verify_directly_issued_by(manufacturer)
    except (ValueError, TypeError, InvalidSignature) as err:
        raise BadInput(
            f"{cert.subject.rfc4514_string()}: not issued by this PKI's manufacturer CA "
            f"({manufacturer.subject.rfc4514_string()}); only its own devices can be revoked here"
        ) from err
    entry = Revoked(
        serial=cert.serial_number,
        imei=profiles.imei_of(cert) or "",
        date=(now or dt.datetime.now(dt.UTC)).replace(microsecond=0),
        reason=reason,
    )
    with _locked(pki):
        current = load(pki)
        if any(item.serial == entry.serial for item in current.entries):
            raise AlreadyExists(
                f"certificate {entry.serial:x} (IMEI {entry.imei}) is already revoked"
            )
        _save(pki, RevocationList(current.crl_number, (*current.entries, entry)))
    return entry


def write_crl(
    pki: Pki,
    out: Path | None = None,
    *,
    days: int = DEFAULT_CRL_DAYS,
    now: dt.datetime | None = None,
) -> CrlWritten:
    """Sign a CRL of every revoked certificate with the manufacturer CA and write it (PEM)."""
    if days < 1:
        raise BadInput(
            f"`days` {days}: the CRL must be valid for at least one day", parameter="days"
        )
    issuer = pki.manufacturer_issuer()
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    next_update = now + dt.timedelta(days=days)
    with _locked(pki):
        current = load(pki)
        number = current.crl_number + 1  # RFC 5280 5.2.3: monotonically increasing
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.certificate.subject)
            .last_update(now)
            .next_update(next_update)
            .add_extension(x509.CRLNumber(number), critical=False)
        )
        try:
            ski = issuer.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)
        except x509.ExtensionNotFound:
            aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.signer.public_key())
        builder = builder.add_extension(aki, critical=False)  # RFC 5280 5.2.1: MUST include
        for entry in current.entries:
            revoked = (
                x509.RevokedCertificateBuilder()
                .serial_number(entry.serial)
                .revocation_date(entry.date)
            )
            if entry.reason is not None:
                revoked = revoked.add_extension(x509.CRLReason(entry.reason.flag), critical=False)
            builder = builder.add_revoked_certificate(revoked.build())
        crl = builder.sign(signing_key(issuer.signer), issuer.hash)
        target = out if out is not None else pki.crl
        write_atomic(target, crl.public_bytes(pem.PEM))
        _save(pki, RevocationList(number, current.entries))
    return CrlWritten(target, number, len(current.entries), next_update)
