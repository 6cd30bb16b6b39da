"""Certificates from anyone: decoded in full before any rule reads them, or refused by rule.

cryptography decodes a certificate lazily. ``load_der_x509_certificate`` checks the outer
structure only; the names, the extensions and the public key are decoded when first read, and
then raise ``ValueError``, ``DuplicateExtension``, ``UnsupportedGeneralNameType`` or
``UnsupportedAlgorithm`` from wherever that happens to be. A UE can present any bytes, so a
certificate from outside is decoded here once, in full, and whatever does not decode becomes a
:class:`~dynsub_cli.pki.rules.Failure` (:attr:`Rule.MALFORMED`, or :attr:`Rule.KEY_TYPE` for a
key algorithm nobody supports). After :func:`failures` returns nothing, every field the profile
and the chain checks read decodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes

from dynsub_cli.errors import CertificateRefused
from dynsub_cli.pki.pem import DECODE_ERRORS
from dynsub_cli.pki.rules import Failure, Rule

# Every lazily decoded part the checks read, in the order a reader of the DER meets them.
_PARTS: tuple[tuple[str, Callable[[x509.Certificate], object]], ...] = (
    ("serial number", lambda c: c.serial_number),
    ("signature algorithm", lambda c: c.signature_algorithm_oid),
    ("issuer", lambda c: c.issuer.rfc4514_string()),
    ("validity", lambda c: (c.not_valid_before_utc, c.not_valid_after_utc)),
    ("subject", lambda c: c.subject.rfc4514_string()),
    ("extensions", lambda c: [ext.value for ext in c.extensions]),
)


def _reason(err: Exception) -> str:
    # The Rust parser's messages name the ASN.1 location; the first line is enough for people.
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:200]


def failures(cert: x509.Certificate) -> list[Failure]:
    """What of ``cert`` does not decode; empty when every part does."""
    for part, read in _PARTS:
        try:
            read(cert)
        except DECODE_ERRORS as err:
            return [Failure(Rule.MALFORMED, f"{part}: {_reason(err)}")]
    try:
        cert.public_key()
    except UnsupportedAlgorithm as err:
        return [Failure(Rule.KEY_TYPE, f"{_reason(err)}; dynsub profiles allow ECDSA only")]
    except DECODE_ERRORS as err:
        return [Failure(Rule.MALFORMED, f"public key: {_reason(err)}")]
    return []


def label(cert: x509.Certificate) -> str:
    """A name for a certificate whose subject may not decode: the subject, else its digest."""
    try:
        return cert.subject.rfc4514_string() or _digest_label(cert)
    except DECODE_ERRORS:
        return _digest_label(cert)


def _digest_label(cert: x509.Certificate) -> str:
    return f"certificate sha256:{cert.fingerprint(hashes.SHA256()).hex()[:16]}"


def from_der(data: bytes, source: str = "peer") -> x509.Certificate:
    """One DER certificate from outside, decoded in full, or CertificateRefused (MALFORMED)."""
    try:
        cert = x509.load_der_x509_certificate(data)
    except DECODE_ERRORS as err:
        raise CertificateRefused(source, [Failure(Rule.MALFORMED, _reason(err))]) from None
    broken = failures(cert)
    if broken:
        raise CertificateRefused(f"{source} ({label(cert)})", broken)
    return cert


def chain_from_der(ders: Sequence[bytes], source: str = "peer") -> list[x509.Certificate]:
    """A presented chain (leaf first) as DER, each decoded in full (see :func:`from_der`)."""
    return [from_der(der, source) for der in ders]
