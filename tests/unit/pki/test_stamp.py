"""Stamped device certificates are byte for byte the ones cryptography's builder makes."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsub_cli.errors import PkiError
from dynsub_cli.files import pem_certificate
from dynsub_cli.pki import pem
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.imei import make_imei, split
from dynsub_cli.pki.issue import Subject, Template, generate_key
from dynsub_cli.pki.ledger import device_serial
from dynsub_cli.pki.profiles import CORE, DEVICE, KeyType
from dynsub_cli.pki.stamp import SERIAL_OCTETS, Stamp, fields, new_serial, point
from tests.unit.pki.factory import make_pki

NOT_BEFORE = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2036, 11, 1, tzinfo=dt.UTC)


def _subject(pki: Pki, imei: str) -> Subject:
    tac, snr = split(imei)
    return Subject(imei, pki.manufacturer, serial_number=device_serial(tac, snr), imei=imei)


def _stamp(pki: Pki) -> tuple[Stamp, Template]:
    template = Template(DEVICE, pki.manufacturer_issuer())
    samples = tuple(
        (_subject(pki, make_imei("35693803", snr)), generate_key(pki.key_type).public_key())
        for snr in (1, 2)
    )
    stamp = Stamp.make(template, samples, not_before=NOT_BEFORE, not_after=NOT_AFTER)
    assert stamp is not None
    return stamp, template


@pytest.fixture(scope="module")
def stamped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Pki, Stamp, Template]:
    pki = make_pki(tmp_path_factory.mktemp("stamp") / "pki")
    return pki, *_stamp(pki)


@settings(max_examples=40, deadline=None)
@given(tac=st.from_regex(r"[0-9]{8}", fullmatch=True), snr=st.integers(0, 999_999))
def test_the_tbs_is_the_builders_for_any_device(
    stamped: tuple[Pki, Stamp, Template], tac: str, snr: int
) -> None:
    pki, stamp, template = stamped
    subject = _subject(pki, make_imei(tac, snr))
    public_key = generate_key(pki.key_type).public_key()
    serial = new_serial()
    built = template.issue(
        subject, public_key, not_before=NOT_BEFORE, not_after=NOT_AFTER, serial_number=serial
    )
    assert stamp.tbs(fields(subject, point(public_key), serial)) == built.tbs_certificate_bytes


def test_a_stamped_certificate_is_signed_by_the_ca_and_reads_back_whole(
    stamped: tuple[Pki, Stamp, Template],
) -> None:
    pki, stamp, _ = stamped
    imei = make_imei("35693803", 4242)
    key = generate_key(pki.key_type)
    prepared = stamp.prepare(_subject(pki, imei), key.public_key())
    assert prepared is not None
    tbs, serial = prepared
    der = stamp.signed(tbs, pki.manufacturer_issuer().signer.sign(tbs))
    cert = x509.load_der_x509_certificate(der)
    cert.verify_directly_issued_by(pki.manufacturer_issuer().certificate)
    assert cert.serial_number == serial
    assert cert.public_key() == key.public_key()
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == imei
    assert cert.public_bytes(serialization.Encoding.DER) == der
    assert pem_certificate(der) == cert.public_bytes(pem.PEM)


def test_a_field_of_another_length_is_not_stamped(stamped: tuple[Pki, Stamp, Template]) -> None:
    pki, stamp, _ = stamped
    p384 = generate_key(KeyType.P384).public_key()
    subject = _subject(pki, make_imei("35693803", 1))
    assert stamp.prepare(subject, p384) is None  # the builder signs this one
    with pytest.raises(PkiError, match="point is 97 octets, not 65"):
        stamp.tbs(fields(subject, point(p384), new_serial()))


def test_no_stamp_for_a_profile_without_the_imei_fields(pki: Pki) -> None:
    template = Template(CORE, pki.manufacturer_issuer())
    samples = tuple(
        (_subject(pki, make_imei("35693803", snr)), generate_key(pki.key_type).public_key())
        for snr in (1, 2)
    )
    assert Stamp.make(template, samples, not_before=NOT_BEFORE, not_after=NOT_AFTER) is None


def test_serials_are_twenty_positive_octets_without_a_leading_zero() -> None:
    for _ in range(2000):
        octets = new_serial().to_bytes(SERIAL_OCTETS, "big")
        assert 0x40 <= octets[0] <= 0x7F
