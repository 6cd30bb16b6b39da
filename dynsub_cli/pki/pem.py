"""Reading and writing PEM: certificates, keys and CRLs, with errors that name the file."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dynsub_cli.errors import BadInput
from dynsub_cli.files import read_bytes

PEM = serialization.Encoding.PEM

#: What cryptography raises for bytes that do not decode (some of its classes are no ValueError).
DECODE_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
    x509.InvalidVersion,
)


def certificates_from(data: bytes, source: str) -> list[x509.Certificate]:
    """Every certificate in ``data`` (PEM, or one DER certificate), in order."""
    try:
        if b"-----BEGIN" in data:
            found = x509.load_pem_x509_certificates(data)
        else:
            found = [x509.load_der_x509_certificate(data)]
    except DECODE_ERRORS as err:
        raise BadInput(f"{source}: not a PEM or DER certificate ({err})") from err
    if not found:
        raise BadInput(f"{source}: holds no certificate")
    return found


def read_certificates(path: Path, what: str = "certificate") -> list[x509.Certificate]:
    return certificates_from(read_bytes(path, what), str(path))


def read_certificate(path: Path, what: str = "certificate") -> x509.Certificate:
    """The first certificate in ``path``."""
    return read_certificates(path, what)[0]


def read_key(path: Path, what: str = "private key") -> ec.EllipticCurvePrivateKey:
    data = read_bytes(path, what)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise BadInput(f"{path}: not an unencrypted PEM private key ({err})") from err
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise BadInput(f"{path}: {type(key).__name__}; dynsub uses ECDSA keys only")
    return key


def read_crl(path: Path) -> x509.CertificateRevocationList:
    """A CRL, decoded in full here: cryptography decodes its parts lazily, and a part that
    does not decode must fail now, naming the file, not later inside a verification."""
    data = read_bytes(path, "CRL")
    try:
        if b"-----BEGIN" in data:
            crl = x509.load_pem_x509_crl(data)
        else:
            crl = x509.load_der_x509_crl(data)
        crl.issuer.rfc4514_string()
        _ = crl.next_update_utc, crl.last_update_utc, crl.signature_algorithm_oid
        _ = [ext.value for ext in crl.extensions]
        for entry in crl:
            _ = entry.serial_number, entry.revocation_date_utc, list(entry.extensions)
    except DECODE_ERRORS as err:
        raise BadInput(f"{path}: not a PEM or DER CRL ({err})") from err
    return crl


def certificate_bytes(certs: Sequence[x509.Certificate]) -> bytes:
    return b"".join(cert.public_bytes(PEM) for cert in certs)


def key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    """PKCS#8 PEM, unencrypted: the file itself is the protection (0600)."""
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
