"""The Signer seam: certificates and CRLs signed through any signer; no CA key to workers."""

from __future__ import annotations

import datetime as dt
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dynsub_cli.errors import PkiError
from dynsub_cli.pki import mint, pem, verify
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.issue import Issuer, Subject, Template
from dynsub_cli.pki.profiles import DEVICE, ROOT, KeyType
from dynsub_cli.pki.signer import KeyFile, KeyFileSigner, Signer, SignerSource, signing_key
from tests.unit.pki.factory import NOW, device


@dataclass(frozen=True)
class Opaque:
    """A signer that, like a token, signs but will not hand its key out."""

    _key: ec.EllipticCurvePrivateKey = field(repr=False)
    calls: list[int] = field(default_factory=list)

    @property
    def key_type(self) -> KeyType:
        return KeyType.P256

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def sign(self, data: bytes) -> bytes:
        self.calls.append(len(data))
        return KeyFileSigner(self._key).sign(data)

    def source(self) -> SignerSource:
        raise PkiError("not in another process")


def test_a_device_signed_through_any_signer_verifies(pki: Pki) -> None:
    opaque = Opaque(pem.read_key(pki.manufacturer_key))
    issuer = Issuer(pki.load_manufacturer(), opaque)
    minted = device(pki, issuer=issuer)
    assert opaque.calls  # the signature came from the signer
    chain = [minted.certificate, pki.load_manufacturer()]
    assert verify.verify_device(chain, [pki.load_root()]).imei == minted.imei
    assert "_key" not in repr(issuer)
    assert "_key" not in repr(opaque)


def test_a_crl_signed_through_any_signer_verifies(pki: Pki) -> None:
    opaque = Opaque(pem.read_key(pki.manufacturer_key))
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.load_manufacturer().subject)
        .last_update(NOW)
        .next_update(NOW + dt.timedelta(days=1))
        .sign(signing_key(opaque), KeyType.P256.hash)
    )
    assert crl.is_signature_valid(opaque.public_key())


def test_what_builders_sign_with_cannot_export_or_use_another_hash(pki: Pki) -> None:
    key = signing_key(Opaque(pem.read_key(pki.manufacturer_key)))
    with pytest.raises(PkiError, match="cannot be exported"):
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    with pytest.raises(PkiError, match="sha256 only"):
        key.sign(b"data", ec.ECDSA(KeyType.P384.hash))


def test_a_template_takes_a_signer_for_a_self_signed_root() -> None:
    root_key: Signer = KeyFileSigner.generate(KeyType.P384)
    root = Template(ROOT, None).issue(
        Subject("root", "test"),
        root_key.public_key(),
        not_before=NOW,
        not_after=NOW + dt.timedelta(days=1),
        self_key=root_key,
    )
    root.verify_directly_issued_by(root)


def test_mint_workers_get_no_ca_key_bytes(pki: Pki, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    setup = mint._setup(pki, mint.MintRequest(out=out), out)
    assert setup.signer == KeyFile(pki.manufacturer_key)
    sent = pickle.dumps(setup)
    key = pem.read_key(pki.manufacturer_key)
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    assert scalar not in sent
    assert pem.key_bytes(key) not in sent
    assert b"PRIVATE KEY" not in sent
    # What a worker opens from it signs like the parent's key.
    opened = setup.signer.open()
    assert opened.public_key() == key.public_key()
    assert isinstance(Template(DEVICE, Issuer(pki.load_manufacturer(), opened)), Template)
