"""What `dynsub pki show` says."""

from __future__ import annotations

import dataclasses

from dynsub_cli.pki import pem
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.describe import describe
from dynsub_cli.pki.oids import DEVICE_POLICY
from dynsub_cli.pki.profiles import DEVICE
from tests.unit.pki.factory import device


def test_a_device(pki: Pki) -> None:
    minted = device(pki, snr=5)
    described = describe(minted.certificate)
    assert described.imei == minted.imei
    assert described.serial == "35000000-000005"
    assert described.profile == "device"
    assert described.broken_rules == ()
    assert described.policies == (f"3GPP device ({DEVICE_POLICY.dotted_string})",)
    assert described.extended_key_usage == ("clientAuth",)
    assert described.key_usage == ("digitalSignature",)
    assert described.basic_constraints == "CA:FALSE"
    assert described.key == "ECDSA P-256"
    assert described.signature_algorithm == "ecdsa-with-SHA256"
    assert described.not_after == "9999-12-31 23:59:59Z"
    assert described.subject_alt_names == (f"URI:urn:gsma:imei:35000000-000005-{minted.imei[-1]}",)
    assert len(described.sha256_fingerprint.split(":")) == 32
    assert len(described.sha1_fingerprint.split(":")) == 20


def test_cas_and_core(pki: Pki) -> None:
    assert describe(pki.load_root()).profile == "root CA"
    manufacturer = describe(pki.load_manufacturer())
    assert manufacturer.profile == "manufacturer CA"
    assert manufacturer.basic_constraints == "CA:TRUE, pathlen:0"
    assert describe(pem.read_certificate(pki.core_cert)).profile == "core"


def test_a_broken_device_names_its_closest_profile(pki: Pki) -> None:
    minted = device(pki, dataclasses.replace(DEVICE, policies=()))
    described = describe(minted.certificate)
    assert described.profile is None
    assert described.closest_profile == "device"
    assert described.broken_rules == ("3GPP device policy missing",)
    assert described.as_dict()["broken_rules"] == ("3GPP device policy missing",)
