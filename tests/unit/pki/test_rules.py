"""Refusals by rule: what decides is the Rule, never the words (issue 8).

The names of CAs and devices are chosen by whoever made them, so every phrase of the reason
table is used as a name here: the rule named must still be the rule broken.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509

from dynsub_cli.errors import CertificateRefused
from dynsub_cli.pki import pem, revocation, verify
from dynsub_cli.pki.rules import Failure, Rule
from tests.unit.pki.factory import NOW, chain_of, device, make_pki

#: Every phrase of the table, filled in where it takes a detail: the names an attacker picks.
PHRASES = [rule.words("3GPP device") if "{}" in rule.phrase else rule.phrase for rule in Rule]
NAMES = [*PHRASES, "Unrevoked Devices Ltd", "Expired Ltd (revoked)"]


def _rules(
    chain: list[x509.Certificate], root: x509.Certificate, **kw: object
) -> frozenset[object]:
    with pytest.raises(CertificateRefused) as caught:
        verify.verify_device(chain, [root], **kw)  # type: ignore[arg-type]
    return frozenset(caught.value.rules)


def test_every_rule_has_words_and_a_stable_distinct_value() -> None:
    assert len({rule.value for rule in Rule}) == len(Rule)
    assert len({rule.phrase for rule in Rule}) == len(Rule)
    assert str(Failure(Rule.REVOKED, "CRL #1")) == "revoked (CRL #1)"
    assert str(Failure(Rule.NO_CERTIFICATE)) == "no certificate presented"
    assert str(Failure(Rule.POLICY_MISSING, "3GPP device")) == "3GPP device policy missing"


def test_a_refusal_carries_failures_rules_and_words() -> None:
    failures = [Failure(Rule.EXPIRED, "notAfter x"), Failure(Rule.REVOKED, "CRL #2")]
    err = CertificateRefused("device 1", failures)
    assert err.failures == tuple(failures)
    assert err.rules == {Rule.EXPIRED, Rule.REVOKED}
    assert err.reasons == ("certificate has expired (notAfter x)", "revoked (CRL #2)")
    assert (
        str(err) == "device 1: not accepted: certificate has expired (notAfter x); revoked (CRL #2)"
    )


@pytest.mark.parametrize("name", NAMES)
def test_an_untrusted_manufacturer_named_with_a_phrase_is_untrusted(
    tmp_path: Path, name: str
) -> None:
    trusted = make_pki(tmp_path / "trusted")
    rogue = make_pki(tmp_path / "rogue", manufacturer=name)
    minted = device(rogue)
    chain = [minted.certificate, rogue.load_manufacturer()]
    assert _rules(chain, trusted.load_root()) == {Rule.UNTRUSTED_MANUFACTURER}


@pytest.mark.parametrize("name", NAMES)
def test_a_trusted_manufacturer_named_with_a_phrase_gets_the_rule_broken(
    tmp_path: Path, name: str
) -> None:
    pki = make_pki(tmp_path / "pki", manufacturer=name)
    root = pki.load_root()
    good = device(pki, snr=1)
    assert verify.verify_device(chain_of(pki, good), [root]).imei == good.imei
    expired = device(pki, snr=2, not_before=NOW - dt.timedelta(days=9), not_after=NOW)
    later = NOW + dt.timedelta(days=1)
    assert _rules(chain_of(pki, expired), root, now=later) == {Rule.EXPIRED}
    revoked = device(pki, snr=3)
    revocation.revoke(pki, revoked.certificate)
    crl = pem.read_crl(revocation.write_crl(pki, tmp_path / "crl.pem").path)
    assert _rules(chain_of(pki, revoked), root, crls=[crl]) == {Rule.REVOKED}
    # The good device is not revoked by a CRL whose issuer is named "revoked".
    verify.verify_device(chain_of(pki, good), [root], crls=[crl])
