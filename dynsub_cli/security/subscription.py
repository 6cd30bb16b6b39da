"""dynsub's subscription key K, generated on both sides after onboarding, and its confirmation.

The onboarding flow (docs/protocol.md section 2) asks the UE to "generate its security key in
response to a request from the
core network". Neither side sends K: both derive it from KAUSF of the onboarding EAP-TLS run
and two fresh nonces, and the UE proves it holds the same K with a MAC.

Derivations (the TS 33.220 Annex B.2.0 KDF, :func:`dynsub_cli.security.kdf.kdf`):

```
K   = 128 LSB of KDF(KAUSF, FC = 0xF0,
                     P0 = "dynsub subscription key v1", P1 = network nonce, P2 = UE nonce)
MAC = KDF(K, FC = 0xF1,
          P0 = "dynsub key confirmation v1 UE", P1 = network nonce, P2 = UE nonce)  (32 octets)
NET = KDF(K, FC = 0xF1,
          P0 = "dynsub key confirmation v1 network", P1 = network nonce, P2 = UE nonce,
          P3 = SUPI)                                                           (32 octets)
```

Why these choices:

- FC values. TS 33.220 Annex B.2.2 controls the FC number space and hands out values to
  3GPP specifications (TS 33.220 itself: 0x01-0x1F; TS 33.401/33.402 in 0x10-0x2x; TS 33.501
  A.1.2: 0x69-0x79, 0x7B-0x7D, 0x83-0x84). No 3GPP specification uses 0xF0 or 0xF1, and they
  sit at the top of the space, far from every allocation; a derivation with a 3GPP FC can
  therefore never collide with ours, and the label P0 separates ours from anyone else who
  picked the same octet. If 3GPP ever allocates 0xF0/0xF1, the "v1" label keeps the
  derivations apart and a "v2" would move.
- KAUSF as the key: it is the root of the onboarding EAP-TLS session, shared by UE and AUSF
  only (the AMF holds keys below it). K inherits the mutual authentication by certificates.
- Two nonces: the network's makes K fresh for the network even if a UE replays old
  messages; the UE's does the same for the UE. Both travel in clear under NAS security.
- 128 least significant bits, as TS 33.501 A.8 takes algorithm keys: Milenage wants 16 octets.
- The MAC label names the sender (UE), so a MAC can never be reflected as a network proof, and
  it is keyed with K itself, so a valid MAC shows K (not only KAUSF) was derived correctly.
  The core compares it with :func:`hmac.compare_digest` before committing the record.
- NET is the network's answer, sent with the subscription: it shows the UE that the core
  derived the same K, and binds the SUPI the core allocated to that K.
"""

from __future__ import annotations

import hmac
import secrets

from dynsub_cli.errors import AuthenticationError, BadInput
from dynsub_cli.security._octets import require
from dynsub_cli.security.kdf import FC, encode_string, kdf

#: Octets in a nonce this module makes; received nonces may be 16 to 64 octets.
NONCE_LENGTH = 16
#: Octets of the key confirmation MAC.
CONFIRMATION_LENGTH = 32

_KEY_LABEL = encode_string("dynsub subscription key v1")
_CONFIRMATION_LABEL = encode_string("dynsub key confirmation v1 UE")
_NETWORK_LABEL = encode_string("dynsub key confirmation v1 network")


def new_nonce() -> bytes:
    """A fresh random nonce of :data:`NONCE_LENGTH` octets (from the OS CSPRNG)."""
    return secrets.token_bytes(NONCE_LENGTH)


def _nonce(name: str, value: bytes) -> bytes:
    if not 16 <= len(value) <= 64:
        raise BadInput(f"{name}: expected 16 to 64 octets, got {len(value)}")
    return bytes(value)


def derive_subscription_key(kausf: bytes, network_nonce: bytes, ue_nonce: bytes) -> bytes:
    """The long-term subscription key K (16 octets), the same on both sides."""
    out = kdf(
        require("KAUSF", kausf, 32),
        FC.DYNSUB_SUBSCRIPTION_KEY,
        _KEY_LABEL,
        _nonce("network nonce", network_nonce),
        _nonce("UE nonce", ue_nonce),
    )
    return out[16:]


def _confirmation(
    k: bytes, label: bytes, network_nonce: bytes, ue_nonce: bytes, *extra: bytes
) -> bytes:
    return kdf(
        require("K", k, 16),
        FC.DYNSUB_KEY_CONFIRMATION,
        label,
        _nonce("network nonce", network_nonce),
        _nonce("UE nonce", ue_nonce),
        *extra,
    )


def key_confirmation(k: bytes, network_nonce: bytes, ue_nonce: bytes) -> bytes:
    """The MAC the UE sends to prove it derived K (32 octets)."""
    return _confirmation(k, _CONFIRMATION_LABEL, network_nonce, ue_nonce)


def verify_key_confirmation(k: bytes, network_nonce: bytes, ue_nonce: bytes, mac: bytes) -> None:
    """Check the UE's key confirmation; raise AuthenticationError if it does not match."""
    expected = key_confirmation(k, network_nonce, ue_nonce)
    if not hmac.compare_digest(expected, bytes(mac)):
        raise AuthenticationError(
            "key confirmation failed: the UE's MAC does not match the subscription key derived "
            "by the network (different KAUSF or nonces); the subscription is not created"
        )


def network_confirmation(k: bytes, network_nonce: bytes, ue_nonce: bytes, supi: str) -> bytes:
    """The MAC the core sends with the subscription: same K, and this SUPI (32 octets)."""
    return _confirmation(k, _NETWORK_LABEL, network_nonce, ue_nonce, encode_string(supi))


def verify_network_confirmation(
    k: bytes, network_nonce: bytes, ue_nonce: bytes, supi: str, mac: bytes
) -> None:
    """The UE's check of the core's MAC; AuthenticationError if the core's K differs."""
    expected = network_confirmation(k, network_nonce, ue_nonce, supi)
    if not hmac.compare_digest(expected, bytes(mac)):
        raise AuthenticationError(
            "the core's key confirmation does not match the key this UE derived: the "
            "subscription is not stored (onboard again)"
        )
