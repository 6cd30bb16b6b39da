"""What one side of EAP-TLS presents: its certificate, the chain to send, and its private key.

Trust anchors are not here: deciding whether the other side's chain is acceptable is the job
of the verifier the caller hands to ``eap.tls.Peer`` / ``eap.tls.Authenticator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from dynsub_cli.errors import BadInput

#: The key types TLS 1.3 can sign CertificateVerify with (RFC 8446 4.2.3).
PrivateKey = (
    ec.EllipticCurvePrivateKey
    | rsa.RSAPrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)

_PUBLIC = serialization.PublicFormat.SubjectPublicKeyInfo


@dataclass(frozen=True, eq=False)  # eq=False: never compare private keys by value
class Credentials:
    """A leaf certificate, the intermediates to send after it (not the root), and its key."""

    certificate: x509.Certificate
    private_key: PrivateKey = field(repr=False)
    chain: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, PrivateKey):
            raise BadInput(
                f"{type(self.private_key).__name__} cannot sign TLS 1.3 handshakes: "
                "use an ECDSA, RSA, Ed25519 or Ed448 key"
            )
        mine = self.private_key.public_key().public_bytes(serialization.Encoding.DER, _PUBLIC)
        theirs = self.certificate.public_key().public_bytes(serialization.Encoding.DER, _PUBLIC)
        if mine != theirs:
            subject = self.certificate.subject.rfc4514_string()
            raise BadInput(f"{subject}: the private key does not match the certificate")

    @classmethod
    def from_pem(
        cls,
        certificate: bytes,
        private_key: bytes,
        *,
        chain: bytes | Sequence[x509.Certificate] = (),
        password: bytes | None = None,
    ) -> Credentials:
        """Load from PEM: ``certificate`` may hold the leaf followed by its intermediates."""
        try:
            certs = x509.load_pem_x509_certificates(certificate)
            extra = (
                x509.load_pem_x509_certificates(chain) if isinstance(chain, bytes) else list(chain)
            )
        except ValueError as err:
            raise BadInput(f"certificate PEM does not load: {err}; expected PEM blocks") from err
        try:
            key = serialization.load_pem_private_key(private_key, password)
        except (ValueError, TypeError) as err:
            raise BadInput(
                f"private key PEM does not load: {err}; check the file and its password"
            ) from err
        if not isinstance(key, PrivateKey):
            raise BadInput(f"{type(key).__name__} cannot sign TLS 1.3 handshakes")
        return cls(certs[0], key, (*certs[1:], *extra))
