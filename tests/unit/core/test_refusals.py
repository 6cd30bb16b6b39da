"""The table of refusals (core/refusals.py): certificate reasons map to the right refusal, the
rows are distinct, and docs/protocol.md lists every one."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynsub_cli.core.refusals import Answer, Refusal, for_certificate
from dynsub_cli.errors import CertificateRefused
from dynsub_cli.nas.enums import MmCause
from dynsub_cli.pki import pem, verify
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.rules import Failure, Rule
from tests.unit.pki import factory

PROTOCOL_MD = Path(__file__).parents[3] / "docs" / "protocol.md"


def refused(*rules: Rule) -> CertificateRefused:
    return CertificateRefused("device 001001000000007", [Failure(r, "detail") for r in rules])


@pytest.mark.parametrize(
    ("rule", "refusal"),
    [
        (Rule.REVOKED, Refusal.CERTIFICATE_REVOKED),
        (Rule.UNTRUSTED_MANUFACTURER, Refusal.UNTRUSTED_MANUFACTURER),
        (Rule.CHAIN, Refusal.UNTRUSTED_MANUFACTURER),
        (Rule.POLICY_MISSING, Refusal.DEVICE_POLICY_MISSING),
        (Rule.EXPIRED, Refusal.CERTIFICATE_EXPIRED),
        (Rule.NOT_YET_VALID, Refusal.CERTIFICATE_EXPIRED),
        (Rule.IMEI_CHECK_DIGIT, Refusal.CERTIFICATE_INVALID),
        (Rule.BC_CA_ON_END_ENTITY, Refusal.CERTIFICATE_INVALID),
        (Rule.EKU_MISSING, Refusal.CERTIFICATE_INVALID),
        (Rule.MALFORMED, Refusal.CERTIFICATE_INVALID),
    ],
)
def test_each_rule_maps_to_its_refusal(rule: Rule, refusal: Refusal) -> None:
    assert for_certificate(refused(rule)) is refusal


def test_the_most_telling_rule_wins() -> None:
    # Revoked and expired is reported as revoked; a profile breach does not hide either.
    both = refused(Rule.EXPIRED, Rule.REVOKED, Rule.IMEI_CHECK_DIGIT)
    assert for_certificate(both) is Refusal.CERTIFICATE_REVOKED
    assert for_certificate(refused(Rule.KU_MISSING, Rule.EXPIRED)) is Refusal.CERTIFICATE_EXPIRED


#: Every phrase the refusal table once searched the reason text for.
PHRASES = [
    "Unrevoked Devices Ltd",
    "revoked",
    "issuer is not a trusted manufacturer CA",
    "chain does not verify",
    "lacks policy 3GPP device",
    "certificate has expired",
    "not yet valid",
]


@pytest.mark.parametrize("name", PHRASES)
def test_names_that_read_like_reasons_do_not_change_the_refusal(tmp_path: Path, name: str) -> None:
    # A device of an untrusted manufacturer whose CA and device carry the phrase in their
    # names is refused as untrusted, not as whatever the words say (it used to be #3 revoked).
    trusted = factory.make_pki(tmp_path / "trusted")
    rogue = factory.make_pki(tmp_path / "rogue", manufacturer=name)
    minted = factory.device(rogue)
    with pytest.raises(CertificateRefused) as err:
        verify.verify_device(factory.chain_of(rogue, minted), [trusted.load_root()])
    assert any(name in reason for reason in err.value.reasons)
    assert for_certificate(err.value) is Refusal.UNTRUSTED_MANUFACTURER


@pytest.fixture(scope="module")
def pkis(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pki, Pki]:
    tmp = tmp_path_factory.mktemp("pkis")
    return factory.make_pki(tmp / "pki"), factory.make_pki(tmp / "other", manufacturer="Rogue")


EXPECTED = {
    "policy missing": Refusal.DEVICE_POLICY_MISSING,
    "CA:TRUE": Refusal.CERTIFICATE_INVALID,
    "wrong EKU": Refusal.CERTIFICATE_INVALID,
    "expired": Refusal.CERTIFICATE_EXPIRED,
    "not yet valid": Refusal.CERTIFICATE_EXPIRED,
    "untrusted issuer": Refusal.UNTRUSTED_MANUFACTURER,
    "bad IMEI check digit": Refusal.CERTIFICATE_INVALID,
}


@pytest.mark.parametrize("broken", list(factory.BROKEN))
def test_a_real_refusal_of_each_broken_rule_maps(pkis: tuple[Pki, Pki], broken: str) -> None:
    # The phrases come from the verifier itself, on a certificate with that one rule broken.
    pki, other = pkis
    make, phrase = factory.BROKEN[broken]
    minted = make(pki, other)
    with pytest.raises(CertificateRefused) as err:
        verify.verify_device(factory.chain_of(pki, minted), [pki.load_root()])
    assert any(phrase in reason for reason in err.value.reasons)
    assert for_certificate(err.value) is EXPECTED[broken]


def test_a_revoked_certificate_maps_to_revoked(pkis: tuple[Pki, Pki], tmp_path: Path) -> None:
    pki, _ = pkis
    minted, crl = factory.revoked_device(pki, tmp_path / "crl.pem")
    with pytest.raises(CertificateRefused) as err:
        verify.verify_device(
            factory.chain_of(pki, minted), [pki.load_root()], crls=[pem.read_crl(crl)]
        )
    assert for_certificate(err.value) is Refusal.CERTIFICATE_REVOKED


def test_every_refusal_is_its_own_row() -> None:
    rows = [(r.step, r.meaning) for r in Refusal]
    assert len(set(rows)) == len(rows)
    assert len({r.meaning for r in Refusal}) == len(rows)


def test_every_answer_follows_the_spec_where_it_has_one() -> None:
    # TS 24.501 5.4.1.3.7: a wrong RES* gets AUTHENTICATION REJECT; clause 7: a malformed or
    # unexpected message gets 5GMM STATUS; 5.5.1.2.5: registration refusals a REJECT.
    assert Refusal.WRONG_RES_STAR.answer is Answer.AUTHENTICATION_REJECT
    assert {r for r in Refusal if r.step == "protocol"} == {
        Refusal.MALFORMED,
        Refusal.UNEXPECTED_MESSAGE,
    }
    assert all(r.answer is Answer.STATUS for r in Refusal if r.step == "protocol")
    assert all(
        r.answer is Answer.REGISTRATION_REJECT
        for r in Refusal
        if r.step in ("registration", "certificate")
    )
    # #74 is the signal to start onboarding: nothing else may use it.
    assert [r for r in Refusal if r.cause == MmCause.TEMPORARILY_NOT_AUTHORIZED_FOR_SNPN] == [
        Refusal.NO_SUBSCRIPTION
    ]
