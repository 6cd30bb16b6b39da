"""What certificates and CRLs are signed with: the :class:`Signer` seam.

A CA key may be a file (:class:`KeyFileSigner`, the default) or live in a PKCS#11 token
(:mod:`dynsub_cli.pki.pkcs11`) that never lets it out. Everything that signs — issuing a
certificate, a CRL — goes through a :class:`Signer`, and nothing else of the PKI holds a CA
private key.

cryptography's builders sign with a private-key object and call its ``sign()``;
:func:`signing_key` turns any :class:`Signer` into such an object, so the builders serve every
kind of key alike.

A batch mint signs in worker processes, and a token key cannot be sent to them. So a signer
also gives a :class:`SignerSource`: a small picklable description from which each worker opens
a signer of its own (a key file's path; a token's module, label and key, never the key). Each
worker opening its own token session keeps minting on every core (``benchmarks/mint.py``
measures it against the token's raw signing rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dynsub_cli.errors import PkiError
from dynsub_cli.files import check_private
from dynsub_cli.pki import pem
from dynsub_cli.pki.profiles import KeyType


class Signer(Protocol):
    """A CA key that signs, wherever it is kept."""

    @property
    def key_type(self) -> KeyType:
        """The curve; the signature hash is ``key_type.hash`` (RFC 5480 4: matched strength)."""
        ...

    def public_key(self) -> ec.EllipticCurvePublicKey: ...

    def sign(self, data: bytes) -> bytes:
        """The ECDSA signature (DER Ecdsa-Sig-Value, RFC 3279 2.2.3) of ``data``, hashed with
        ``key_type.hash``."""
        ...

    def source(self) -> SignerSource:
        """How another process opens this same key (see the module docstring)."""
        ...


class SignerSource(Protocol):
    """A picklable way to open a :class:`Signer` in another process."""

    def open(self) -> Signer: ...


# --- the key-file signer -------------------------------------------------------------------


@dataclass(frozen=True)
class KeyFileSigner:
    """A CA key held in memory, read from a 0600 PKCS#8 file (or just generated)."""

    key: ec.EllipticCurvePrivateKey = field(repr=False)
    path: Path | None = None  # where it was read from; None for a key not written yet

    @classmethod
    def generate(cls, key_type: KeyType) -> KeyFileSigner:
        return cls(ec.generate_private_key(key_type.curve))

    @classmethod
    def read(cls, path: Path, what: str = "CA key") -> KeyFileSigner:
        # A CA key is a secret like any other: refused unless it is ours and 0600 (files.py).
        return cls(pem.read_key(check_private(path, what), what), path)

    @property
    def key_type(self) -> KeyType:
        key_type = KeyType.of(self.key)
        if key_type is None:
            raise PkiError(
                f"{self.path or 'the CA key'}: not ECDSA P-256 or P-384; dynsub signs with those"
            )
        return key_type

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.key.public_key()

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(self.key_type.hash))

    def source(self) -> SignerSource:
        if self.path is not None:
            return KeyFile(self.path)  # the worker reads the file itself: no key in the pipe
        return _KeyBytes(pem.key_bytes(self.key))


@dataclass(frozen=True)
class KeyFile:
    """:class:`SignerSource` of a key file."""

    path: Path

    def open(self) -> Signer:
        return KeyFileSigner.read(self.path)


@dataclass(frozen=True)
class _KeyBytes:
    """:class:`SignerSource` of a key that has no file (tests, a PKI being made)."""

    pem_bytes: bytes = field(repr=False)

    def open(self) -> Signer:
        key = serialization.load_pem_private_key(self.pem_bytes, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PkiError("the CA key is not an ECDSA key; dynsub signs with ECDSA only")
        return KeyFileSigner(key)


# --- what cryptography's builders sign with ------------------------------------------------


class _SignerKey(ec.EllipticCurvePrivateKey):
    """A private-key object whose ``sign()`` is the :class:`Signer`'s: what the builders take.

    Only signing is possible; everything that would need the key itself says so.
    """

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._signer.key_type.curve

    @property
    def key_size(self) -> int:
        return self.curve.key_size

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._signer.public_key()

    def sign(
        self,
        data: bytes | bytearray | memoryview,
        signature_algorithm: ec.EllipticCurveSignatureAlgorithm,
    ) -> bytes:
        wanted = self._signer.key_type.hash
        algorithm = getattr(signature_algorithm, "algorithm", None)
        if not isinstance(signature_algorithm, ec.ECDSA) or not isinstance(algorithm, type(wanted)):
            raise PkiError(f"this CA key signs with ECDSA and {wanted.name} only")
        return self._signer.sign(bytes(data))

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        raise PkiError("a CA key is for signing only")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        raise PkiError("this CA key cannot be exported")

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        raise PkiError("this CA key cannot be exported")

    def __copy__(self) -> _SignerKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> _SignerKey:
        return self


def signing_key(signer: Signer) -> ec.EllipticCurvePrivateKey:
    """What to pass to ``CertificateBuilder.sign`` (or a CRL builder's) to sign with ``signer``."""
    if isinstance(signer, KeyFileSigner):
        # The key itself: cryptography then signs without calling back into Python, 8 us of
        # about 170 per device certificate on this project's VMs.
        return signer.key
    return _SignerKey(signer)


def hash_of(signer: Signer) -> hashes.SHA256 | hashes.SHA384:
    """The hash ``signer`` signs with, as the builders' second argument."""
    return signer.key_type.hash
