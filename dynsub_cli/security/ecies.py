"""ECIES for SUPI concealment, Profiles A and B of TS 33.501 Annex C.3.

Both profiles (C.3.4.1, C.3.4.2): ANSI X9.63 KDF with SHA-256 and SharedInfo1 = the ephemeral
public key as sent; the 64 octets of keying data split into an AES-128 key (16), an initial
counter block (16) and an HMAC-SHA-256 key (32); AES-128 in CTR mode; the MAC tag is the 8
most significant octets of HMAC-SHA-256 over the ciphertext (SharedInfo2 empty).

- Profile A: X25519 (RFC 7748); ephemeral public key 32 raw octets, no prefix.
- Profile B: ECDH on secp256r1; ephemeral public key compressed (33 octets, 02/03 prefix).

Scheme output = ephemeral public key || ciphertext || MAC tag (C.3.2).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from hashlib import sha256

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from dynsub_cli.errors import AuthenticationError, BadInput
from dynsub_cli.nas.enums import ProtectionScheme

MAC_LENGTH = 8
_ENC_KEY, _ICB, _MAC_KEY = 16, 16, 32


def eph_public_length(scheme: ProtectionScheme) -> int:
    """Octets of the ephemeral public key in the scheme output (C.3.4.1: 32; C.3.4.2: 33)."""
    return 32 if _ecies(scheme) is ProtectionScheme.PROFILE_A else 33


def _ecies(scheme: int) -> ProtectionScheme:
    if scheme not in (ProtectionScheme.PROFILE_A, ProtectionScheme.PROFILE_B):
        raise BadInput(f"protection scheme {int(scheme)} is not an ECIES profile (A or B)")
    return ProtectionScheme(scheme)


_PrivateKey = x25519.X25519PrivateKey | ec.EllipticCurvePrivateKey


def _load_private(scheme: ProtectionScheme, raw: bytes) -> _PrivateKey:
    scheme = _ecies(scheme)
    if len(raw) != 32:
        raise BadInput(f"{scheme.label} private key: expected 32 octets, got {len(raw)}")
    if scheme is ProtectionScheme.PROFILE_A:
        return x25519.X25519PrivateKey.from_private_bytes(raw)
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError as err:
        raise BadInput(f"Profile B private key: not a valid P-256 scalar ({err})") from err


def _public_bytes(key: _PrivateKey) -> bytes:
    if isinstance(key, x25519.X25519PrivateKey):
        return key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    # C.3.4.2: Profile B uses point compression.
    return key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )


def _raw_private(key: _PrivateKey) -> bytes:
    if isinstance(key, x25519.X25519PrivateKey):
        return key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    return key.private_numbers().private_value.to_bytes(32, "big")


@dataclass(frozen=True)
class HomeNetworkKey:
    """A home network private key for one ECIES profile; ``private_key`` is the raw 32 octets.

    The network's side of the pair. What the UE learns of it (the public key with its key id,
    in the dialogue and the UE's state file) is ``nas.dialogue.HomeNetworkPublicKey``.
    """

    scheme: ProtectionScheme
    private_key: bytes = field(repr=False)
    #: The key loaded once (it also validates early, with a clear message): every SUCI of a
    #: registration is deconcealed with it.
    _loaded: _PrivateKey = field(init=False, repr=False, compare=False)
    _public: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scheme", _ecies(self.scheme))  # an int 1 or 2 is accepted
        loaded = _load_private(self.scheme, self.private_key)
        object.__setattr__(self, "_loaded", loaded)
        object.__setattr__(self, "_public", _public_bytes(loaded))

    @classmethod
    def generate(cls, scheme: ProtectionScheme) -> HomeNetworkKey:
        key: _PrivateKey = (
            x25519.X25519PrivateKey.generate()
            if _ecies(scheme) is ProtectionScheme.PROFILE_A
            else ec.generate_private_key(ec.SECP256R1())
        )
        return cls(scheme, _raw_private(key))

    @property
    def public_key(self) -> bytes:
        """Profile A: 32 raw octets; Profile B: the compressed point (33 octets)."""
        return self._public

    def to_pem(self) -> bytes:
        """PKCS#8 PEM, unencrypted: write it with dynsub_cli.files (0600)."""
        return _load_private(self.scheme, self.private_key).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def from_pem(cls, data: bytes) -> HomeNetworkKey:
        """Load a PKCS#8 PEM written by :meth:`to_pem`; the key type gives the profile."""
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as err:
            raise BadInput(f"home network key: not an unencrypted PEM private key ({err})") from err
        if isinstance(key, x25519.X25519PrivateKey):
            return cls(ProtectionScheme.PROFILE_A, _raw_private(key))
        if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            return cls(ProtectionScheme.PROFILE_B, _raw_private(key))
        raise BadInput(
            "home network key: expected an X25519 (Profile A) or P-256 (Profile B) key, "
            f"got {type(key).__name__}"
        )


def _shared_secret(scheme: ProtectionScheme, private: _PrivateKey, peer_public: bytes) -> bytes:
    try:
        if isinstance(private, x25519.X25519PrivateKey):
            if len(peer_public) != 32:
                raise ValueError(f"expected 32 octets, got {len(peer_public)}")
            return private.exchange(x25519.X25519PublicKey.from_public_bytes(peer_public))
        # Compressed (33) or uncompressed (65) SEC1 encodings are both accepted.
        point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), peer_public)
        return private.exchange(ec.ECDH(), point)
    except ValueError as err:
        raise BadInput(
            f"{_ecies(scheme).label}: bad public key {peer_public.hex()}: {err}"
        ) from err


def _keys(shared: bytes, eph_public: bytes) -> tuple[bytes, bytes, bytes]:
    material = X963KDF(
        algorithm=hashes.SHA256(), length=_ENC_KEY + _ICB + _MAC_KEY, sharedinfo=eph_public
    ).derive(shared)
    return material[:16], material[16:32], material[32:]


def _ctr(key: bytes, icb: bytes, data: bytes) -> bytes:
    # C.3.4.0: the counter increments with NIST SP 800-38A B.1 with m = 32 bits: only the
    # last 32 bits count (with wrap-around), unlike a full 128-bit counter.
    low = int.from_bytes(icb[12:], "big")
    blocks = b"".join(
        icb[:12] + ((low + i) & 0xFFFFFFFF).to_bytes(4, "big") for i in range(-(-len(data) // 16))
    )
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
    stream = encryptor.update(blocks) + encryptor.finalize()
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))


def _mac(mac_key: bytes, ciphertext: bytes) -> bytes:
    return hmac.new(mac_key, ciphertext, sha256).digest()[:MAC_LENGTH]


def encrypt(
    scheme: ProtectionScheme, hn_public: bytes, plaintext: bytes, eph_private: bytes | None = None
) -> bytes:
    """The UE side (C.3.2): scheme output for ``plaintext`` under the home network key.

    ``eph_private`` (raw 32 octets) is only for reproducing test vectors; leave it None.
    """
    eph = (
        _load_private(scheme, eph_private)
        if eph_private is not None
        else _load_private(scheme, HomeNetworkKey.generate(scheme).private_key)
    )
    eph_public = _public_bytes(eph)
    enc_key, icb, mac_key = _keys(_shared_secret(scheme, eph, hn_public), eph_public)
    ciphertext = _ctr(enc_key, icb, plaintext)
    return eph_public + ciphertext + _mac(mac_key, ciphertext)


def decrypt(key: HomeNetworkKey, scheme_output: bytes) -> bytes:
    """The home network side (C.3.3): the scheme input, after checking the MAC tag."""
    head = eph_public_length(key.scheme)
    if len(scheme_output) < head + MAC_LENGTH:
        raise BadInput(
            f"{key.scheme.label} scheme output: {len(scheme_output)} octets is shorter "
            f"than the ephemeral key and MAC tag ({head + MAC_LENGTH})"
        )
    eph_public = scheme_output[:head]
    ciphertext, tag = scheme_output[head:-MAC_LENGTH], scheme_output[-MAC_LENGTH:]
    private = key._loaded
    enc_key, icb, mac_key = _keys(_shared_secret(key.scheme, private, eph_public), eph_public)
    if not hmac.compare_digest(_mac(mac_key, ciphertext), tag):
        raise AuthenticationError(
            f"SUCI deconcealment failed: MAC tag does not verify under the "
            f"{key.scheme.label} home network key (wrong key, or the SUCI was altered)"
        )
    return _ctr(enc_key, icb, ciphertext)


def intermediate_values(
    scheme: ProtectionScheme, eph_private: bytes, hn_public: bytes
) -> dict[str, bytes]:
    """The intermediate values of :func:`encrypt` (shared secret, keys, ICB) as TS 33.501
    Annex C.4 lists them: for checking a trace or an implementation step by step."""
    eph = _load_private(scheme, eph_private)
    eph_public = _public_bytes(eph)
    shared = _shared_secret(scheme, eph, hn_public)
    enc_key, icb, mac_key = _keys(shared, eph_public)
    return {
        "eph_public": eph_public,
        "shared": shared,
        "enc_key": enc_key,
        "icb": icb,
        "mac_key": mac_key,
    }
