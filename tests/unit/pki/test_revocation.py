"""The revocation list and the CRL (RFC 5280 section 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509

from dynsub_cli.errors import AlreadyExists, BadInput
from dynsub_cli.pki import pem, revocation
from dynsub_cli.pki.authority import Pki
from tests.unit.pki.factory import device


def test_revoke_then_crl(pki: Pki, tmp_path: Path) -> None:
    one, two = device(pki, snr=1), device(pki, snr=2)
    entry = revocation.revoke(pki, one.certificate, reason=revocation.Reason.KEY_COMPROMISE)
    assert entry.imei == one.imei
    assert entry.serial == one.certificate.serial_number
    revocation.revoke(pki, two.certificate)
    written = revocation.write_crl(pki, days=3)
    assert written.path == pki.crl
    assert written.number == 1
    assert written.entries == 2

    crl = pem.read_crl(pki.crl)
    maker = pki.load_manufacturer()
    assert crl.issuer == maker.subject
    assert crl.is_signature_valid(maker.public_key())  # type: ignore[arg-type]
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 1
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = maker.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert crl.next_update_utc is not None
    assert (crl.next_update_utc - crl.last_update_utc).days == 3
    first = crl.get_revoked_certificate_by_serial_number(one.certificate.serial_number)
    assert first is not None
    reason = first.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.key_compromise
    second = crl.get_revoked_certificate_by_serial_number(two.certificate.serial_number)
    assert second is not None
    assert len(second.extensions) == 0

    again = revocation.write_crl(pki, tmp_path / "next.pem")
    assert again.number == 2  # RFC 5280 5.2.3: CRL numbers only grow
    assert revocation.load(pki).crl_number == 2


def test_revoking_twice_is_a_conflict(pki: Pki) -> None:
    minted = device(pki)
    revocation.revoke(pki, minted.certificate)
    with pytest.raises(AlreadyExists, match="already revoked"):
        revocation.revoke(pki, minted.certificate)
    assert len(revocation.load(pki).entries) == 1


def test_a_foreign_certificate_cannot_be_revoked_here(pki: Pki, other_pki: Pki) -> None:
    with pytest.raises(BadInput, match="not issued by this PKI's manufacturer CA"):
        revocation.revoke(pki, device(other_pki).certificate)
    assert revocation.load(pki).entries == ()


def test_an_empty_crl(pki: Pki) -> None:
    written = revocation.write_crl(pki)
    assert written.entries == 0
    assert len(pem.read_crl(written.path)) == 0


def test_the_crl_days_must_be_positive(pki: Pki) -> None:
    with pytest.raises(BadInput, match="at least one day"):
        revocation.write_crl(pki, days=0)
