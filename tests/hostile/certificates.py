"""Test helper: real certificates made malformed on purpose, re-signed so that only the defect
named is wrong (the signature still verifies under the key that signed them)."""

from __future__ import annotations

import base64
import datetime as dt
import textwrap

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

# ecdsa-with-SHA256 AlgorithmIdentifier (RFC 5758 3.2), DER.
_ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
# Placeholder extension OID 2.5.29.99 (DER 06 03 55 1d 63), patched into another 2.5.29.x.
PLACEHOLDER = x509.ObjectIdentifier("2.5.29.99")
_PLACEHOLDER_DER = bytes.fromhex("0603551d63")
SAN_OID_DER = bytes.fromhex("0603551d11")
EC_PUBLIC_KEY_OID_DER = bytes.fromhex("06072a8648ce3d0201")  # id-ecPublicKey (RFC 5480 2.1.1)


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def signed(tbs: bytes, key: ec.EllipticCurvePrivateKey) -> bytes:
    """A Certificate (RFC 5280 4.1) of ``tbs`` signed with ``key``, DER."""
    signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return _tlv(0x30, tbs + _ECDSA_SHA256 + _tlv(0x03, b"\x00" + signature))


def patched(tbs: bytes, old: bytes, new: bytes) -> bytes:
    if tbs.count(old) != 1 or len(old) != len(new):
        raise ValueError(f"cannot patch {old.hex()} in this TBS")
    return tbs.replace(old, new)


def like(
    model: x509.Certificate,
    issuer: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    *,
    drop: type[x509.ExtensionType] | None = None,
    placeholder: bytes | None = None,
) -> x509.Certificate:
    """``model`` re-issued by ``issuer`` with ``key`` (self-signed: the model itself), minus
    the extension ``drop``, plus a placeholder extension holding ``placeholder``."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(model.subject)
        .issuer_name(issuer.subject)
        .public_key(model.public_key())
        .serial_number(model.serial_number)
        .not_valid_before(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        .not_valid_after(model.not_valid_after_utc)
    )
    for ext in model.extensions:
        if drop is None or not isinstance(ext.value, drop):
            builder = builder.add_extension(ext.value, ext.critical)
    if placeholder is not None:
        builder = builder.add_extension(x509.UnrecognizedExtension(PLACEHOLDER, placeholder), False)
    return builder.sign(key, hashes.SHA256())


def with_extension_as(
    cert: x509.Certificate, oid_der: bytes, key: ec.EllipticCurvePrivateKey
) -> bytes:
    """The placeholder extension of ``cert`` turned into ``oid_der``, re-signed: DER."""
    return signed(patched(cert.tbs_certificate_bytes, _PLACEHOLDER_DER, oid_der), key)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem_of(data: bytes) -> bytes:
    body = "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n".encode()
