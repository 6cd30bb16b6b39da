"""Accepting and refusing chains: every rule named, all at once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509

from dynsub_cli.errors import CertificateRefused
from dynsub_cli.pki import pem, revocation, verify
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.profiles import DEVICE
from dynsub_cli.pki.rules import Rule
from tests.unit.pki.factory import (
    BROKEN,
    BROKEN_RULE,
    NOW,
    TAC,
    chain_of,
    device,
    operator_issuer,
    revoked_device,
)


def _refusal(
    pki: Pki,
    chain: list[x509.Certificate],
    crls: tuple[x509.CertificateRevocationList, ...] = (),
) -> tuple[str, ...]:
    with pytest.raises(CertificateRefused) as caught:
        verify.verify_device(chain, [pki.load_root()], crls=crls)
    return caught.value.reasons


def test_a_good_device_gives_its_identity(pki: Pki) -> None:
    minted = device(pki, snr=9)
    identity = verify.verify_device(chain_of(pki, minted), [pki.load_root()])
    assert identity.imei == minted.imei
    assert identity.serial == f"{TAC}-000009"
    assert identity.manufacturer == pki.manufacturer
    assert identity.issuer == pki.load_manufacturer().subject.rfc4514_string()
    assert identity.fingerprint == verify.fingerprint(minted.certificate)
    assert identity.certificate == minted.certificate


def test_a_chain_as_a_tls_peer_sends_it_root_included(pki: Pki) -> None:
    minted = device(pki)
    chain = [*chain_of(pki, minted), pki.load_root()]
    assert verify.verify_device(chain, [pki.load_root()]).imei == minted.imei


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_each_broken_rule_is_named(pki: Pki, other_pki: Pki, rule: str) -> None:
    make, phrase = BROKEN[rule]
    named = BROKEN_RULE[rule]
    minted = make(pki, other_pki)
    chain = [minted.certificate, pki.load_manufacturer()]
    if rule == "untrusted issuer":
        chain = [minted.certificate, other_pki.load_manufacturer()]
    with pytest.raises(CertificateRefused) as caught:
        verify.verify_device(chain, [pki.load_root()])
    reasons = caught.value.reasons
    assert any(reason.startswith(phrase) for reason in reasons), reasons
    # No invented second reason: the rule broken is the only one named.
    assert len(reasons) == 1, reasons
    assert caught.value.rules == {named}


def test_all_broken_rules_are_named_together(pki: Pki) -> None:
    broken = dataclasses.replace(DEVICE, ca=True, policies=())
    minted = device(
        pki, broken, not_after=NOW - dt.timedelta(days=1), not_before=NOW.replace(year=NOW.year - 1)
    )
    reasons = _refusal(pki, chain_of(pki, minted))
    joined = " | ".join(reasons)
    for phrase in (
        "basicConstraints CA:TRUE on an end-entity certificate",
        "3GPP device policy missing",
        "certificate has expired",
    ):
        assert phrase in joined


def test_a_device_signed_by_the_operator_ca_is_not_from_a_manufacturer(pki: Pki) -> None:
    minted = device(pki, issuer=operator_issuer(pki))
    reasons = _refusal(pki, [minted.certificate, pem.read_certificate(pki.operator_cert)])
    assert reasons == ("issuer is not a trusted manufacturer CA (3GPP device policy missing)",)


def test_a_missing_intermediate_is_named(pki: Pki) -> None:
    reasons = _refusal(pki, [device(pki).certificate])
    assert len(reasons) == 1
    assert reasons[0].startswith(Rule.UNTRUSTED_MANUFACTURER.phrase)
    assert "no presented CA certificate signed it" in reasons[0]


def test_no_certificate_at_all() -> None:
    with pytest.raises(CertificateRefused, match="no certificate presented"):
        verify.verify_device([], [])


def test_revoked_by_crl(pki: Pki, tmp_path: Path) -> None:
    minted, crl_path = revoked_device(pki, tmp_path / "crl.pem")
    crl = pem.read_crl(crl_path)
    reasons = _refusal(pki, chain_of(pki, minted), (crl,))
    assert len(reasons) == 1
    assert reasons[0].startswith("revoked (CRL #1 of")
    # Another device of the same CA is not affected by the CRL.
    other = device(pki, snr=78)
    verify.verify_device(chain_of(pki, other), [pki.load_root()], crls=[crl])


def test_a_crl_signed_by_someone_else_is_refused(pki: Pki, other_pki: Pki, tmp_path: Path) -> None:
    minted = device(pki)
    # A CRL claiming to be from our manufacturer CA, signed with the other PKI's key.
    forged = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.load_manufacturer().subject)
        .last_update(NOW)
        .next_update(NOW + dt.timedelta(days=1))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(minted.certificate.serial_number)
            .revocation_date(NOW)
            .build()
        )
        .sign(pem.read_key(other_pki.manufacturer_key), other_pki.manufacturer_issuer().hash)
    )
    reasons = _refusal(pki, chain_of(pki, minted), (forged,))
    assert reasons == (f"CRL signature does not verify (CRL of '{pki.manufacturer} CA')",)


def test_a_stale_crl_is_named(pki: Pki, tmp_path: Path) -> None:
    minted = device(pki)
    written = revocation.write_crl(pki, tmp_path / "old.pem", now=NOW - dt.timedelta(days=30))
    reasons = _refusal(pki, chain_of(pki, minted), (pem.read_crl(written.path),))
    assert len(reasons) == 1
    assert reasons[0].startswith(Rule.CRL_STALE.phrase)


def test_verify_at_a_given_time(pki: Pki) -> None:
    minted = device(pki, not_after=NOW + dt.timedelta(days=10))
    later = NOW + dt.timedelta(days=11)
    with pytest.raises(CertificateRefused, match="certificate has expired"):
        verify.verify_device(chain_of(pki, minted), [pki.load_root()], now=later)


def test_verify_core(pki: Pki) -> None:
    core = pem.read_certificate(pki.core_cert)
    chain = [core, *pem.read_certificates(pki.core_chain)]
    verify.verify_core(chain, [pki.load_root()], dns_name=pki.core_dns_name)
    verify.verify_core(chain, [pki.load_root()])
    with pytest.raises(CertificateRefused) as caught:
        verify.verify_core(chain, [pki.load_root()], dns_name="ausf.5gc.mnc099.mcc999.example")
    assert caught.value.rules == {Rule.DNS_MISMATCH}
    assert caught.value.reasons[0].startswith("DNS name not in subjectAltName")


def test_a_device_certificate_is_not_a_core(pki: Pki) -> None:
    with pytest.raises(CertificateRefused) as caught:
        verify.verify_core(chain_of(pki, device(pki)), [pki.load_root()])
    joined = " | ".join(caught.value.reasons)
    assert "extendedKeyUsage lacks serverAuth" in joined
    assert "3GPP network policy missing" in joined
    assert "issuer is not a trusted operator CA" in joined
    assert {Rule.EKU_MISSING, Rule.POLICY_MISSING, Rule.UNTRUSTED_OPERATOR} <= caught.value.rules


def test_the_refusal_message_names_the_device(pki: Pki) -> None:
    minted = device(pki, dataclasses.replace(DEVICE, policies=()))
    with pytest.raises(CertificateRefused) as caught:
        verify.verify_device(chain_of(pki, minted), [pki.load_root()])
    assert caught.value.message == (
        f"device {minted.imei}: not accepted: 3GPP device policy missing"
    )
