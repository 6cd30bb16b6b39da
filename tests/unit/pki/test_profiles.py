"""The profile table: what is minted from a row passes the check of that row, and each field
of a row, changed at minting, is named by the check of the original row."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dynsub_cli.pki import pem, profiles
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.issue import NO_EXPIRY, Subject, Template, generate_key
from dynsub_cli.pki.oids import DEVICE_POLICY, NETWORK_POLICY
from dynsub_cli.pki.profiles import CORE, DEVICE, MANUFACTURER_CA, KeyType, Usage
from dynsub_cli.pki.rules import Failure, Rule
from tests.unit.pki.factory import bad_check_digit, device


def test_every_certificate_of_a_pki_matches_its_row(pki: Pki) -> None:
    expected = {
        pki.root_cert: profiles.ROOT,
        pki.manufacturer_cert: profiles.MANUFACTURER_CA,
        pki.operator_cert: profiles.OPERATOR_CA,
        pki.core_cert: profiles.CORE,
    }
    for path, profile in expected.items():
        cert = pem.read_certificate(path)
        assert profiles.check(profile, cert) == [], path
        assert profiles.matching(cert) is profile
    assert profiles.check(DEVICE, device(pki).certificate) == []
    assert profiles.matching(device(pki).certificate) is DEVICE


def test_a_device_certificate_carries_the_profile(pki: Pki) -> None:
    cert = device(pki, snr=42).certificate
    ext = cert.extensions
    bc = ext.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical
    assert not bc.value.ca
    ku = ext.get_extension_for_class(x509.KeyUsage)
    assert ku.critical
    assert ku.value.digital_signature
    assert not ku.value.key_cert_sign
    assert list(ext.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    policies = ext.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [DEVICE_POLICY]
    san = ext.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "urn:gsma:imei:35000000-000042-8"
    ]
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "350000000000428"
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == (
        "35000000-000042"
    )
    assert cert.not_valid_after_utc == NO_EXPIRY
    # RFC 5280 4.1.2.5: 9999 is written as GeneralizedTime 99991231235959Z.
    assert b"99991231235959Z" in cert.public_bytes(Encoding.DER)
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = pki.load_manufacturer().extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert aki.key_identifier == ca_ski.value.digest
    assert cert.signature_algorithm_oid == x509.SignatureAlgorithmOID.ECDSA_WITH_SHA256


def test_the_core_certificate_carries_its_profile(pki: Pki) -> None:
    cert = pem.read_certificate(pki.core_cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["ausf.5gc.mnc001.mcc001.3gppnetwork.org"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier for p in policies] == [NETWORK_POLICY]


# One change to the device row per case, and the phrase the unchanged row's check must say.
ONE_RULE_BROKEN = [
    ({"ca": True}, "basicConstraints CA:TRUE on an end-entity certificate"),
    ({"basic_constraints_critical": False}, "basicConstraints not critical"),
    ({"key_usage": frozenset({Usage.KEY_CERT_SIGN})}, "keyUsage lacks digitalSignature"),
    (
        {"key_usage": frozenset({Usage.DIGITAL_SIGNATURE, Usage.CRL_SIGN})},
        "keyUsage has cRLSign, which the profile does not allow",
    ),
    ({"key_usage_critical": False}, "keyUsage not critical"),
    ({"extended_key_usage": ()}, "extendedKeyUsage lacks clientAuth"),
    ({"policies": ()}, "3GPP device policy missing"),
    ({"policies": (NETWORK_POLICY,)}, "3GPP device policy missing"),
    ({"alt_name": profiles.AltName.NONE}, "subjectAltName missing"),
    (
        {"subject": (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME)},
        "subject serialNumber missing",
    ),
    ({"key_identifiers": False}, "subjectKeyIdentifier missing"),
]


@pytest.mark.parametrize(("change", "phrase"), ONE_RULE_BROKEN, ids=[p for _, p in ONE_RULE_BROKEN])
def test_breaking_one_field_of_the_row_is_named(
    pki: Pki, change: dict[str, object], phrase: str
) -> None:
    cert = device(pki, dataclasses.replace(DEVICE, **change)).certificate  # type: ignore[arg-type]
    reasons = [str(failure) for failure in profiles.check(DEVICE, cert)]
    assert any(reason.startswith(phrase) for reason in reasons), reasons


def test_missing_key_identifiers_also_names_the_aki(pki: Pki) -> None:
    cert = device(pki, dataclasses.replace(DEVICE, key_identifiers=False)).certificate
    assert Failure(Rule.AKI_MISSING) in profiles.check(DEVICE, cert)


def test_every_broken_rule_is_listed_not_just_the_first(pki: Pki) -> None:
    broken = dataclasses.replace(DEVICE, ca=True, policies=(), extended_key_usage=())
    reasons = profiles.check(DEVICE, device(pki, broken).certificate)
    assert len(reasons) == 3, reasons


def test_imei_rules(pki: Pki) -> None:
    failures = profiles.check(DEVICE, device(pki, imei=bad_check_digit()).certificate)
    assert [f for f in failures if f.rule is Rule.IMEI_CHECK_DIGIT], failures
    # CN and URN disagree: mint with an IMEI URN for one device and the CN of another.
    template = Template(DEVICE, pki.manufacturer_issuer())
    key = generate_key(KeyType.P256)
    now = dt.datetime.now(dt.UTC)
    cert = template.issue(
        Subject("350000000000014", "M", serial_number="1", imei="350000000000022"),
        key.public_key(),
        not_before=now,
        not_after=NO_EXPIRY,
    )
    assert any(f.rule is Rule.IMEI_CN_MISMATCH for f in profiles.check(DEVICE, cert))


def test_key_type_outside_the_row_is_named(pki: Pki) -> None:
    only_p384 = dataclasses.replace(DEVICE, key_types=frozenset({KeyType.P384}))
    cert = device(pki).certificate
    failures = profiles.check(only_p384, cert)
    assert failures == [
        Failure(Rule.KEY_TYPE, "ECDSA P-256; the device profile allows ECDSA P-384")
    ]
    assert str(failures[0]) == (
        "key type not allowed (ECDSA P-256; the device profile allows ECDSA P-384)"
    )


def test_p384_devices_conform(pki: Pki) -> None:
    assert profiles.check(DEVICE, device(pki, key_type=KeyType.P384).certificate) == []


def test_a_ca_row_names_its_own_rules(pki: Pki) -> None:
    device_cert = device(pki).certificate
    failures = profiles.check(MANUFACTURER_CA, device_cert)
    assert Failure(Rule.BC_END_ENTITY_ON_CA) in failures
    assert "keyUsage lacks keyCertSign" in [str(f) for f in failures]
    assert profiles.check(CORE, device_cert)  # a device is not a core


def test_closest_profile_of_a_broken_device_is_device(pki: Pki) -> None:
    cert = device(pki, dataclasses.replace(DEVICE, policies=())).certificate
    assert profiles.matching(cert) is None
    closest, failures = profiles.closest(cert)
    assert closest is DEVICE
    assert failures == [Failure(Rule.POLICY_MISSING, "3GPP device")]
    assert [str(f) for f in failures] == ["3GPP device policy missing"]
