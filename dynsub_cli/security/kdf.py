"""The generic key derivation function of TS 33.220 Annex B.2.0.

``derived key = HMAC-SHA-256(Key, S)`` with ``S = FC || P0 || L0 || P1 || L1 || ... ``, where
each ``Li`` is the length of ``Pi`` in octets as a 2-octet big-endian number (B.2.0). Every 5G
key of TS 33.501 Annex A, and dynsub's subscription key, is one call of :func:`kdf` with its own
FC value (a one-octet "function code" that keeps derivations for different purposes apart).
"""

from __future__ import annotations

import hmac
import unicodedata
from enum import IntEnum
from hashlib import sha256

from dynsub_cli.errors import BadInput


class FC(IntEnum):
    """The FC values dynsub uses (TS 33.220 Annex B.2.2 number space; TS 33.501 Annex A)."""

    CK_IK_PRIME = 0x20  # TS 33.402 A.2 (EAP-AKA'): used by the RFC 5448 test vector
    ALGORITHM_KEY = 0x69  # TS 33.501 A.8
    KAUSF = 0x6A  # TS 33.501 A.2 (5G AKA)
    RES_STAR = 0x6B  # TS 33.501 A.4
    KSEAF = 0x6C  # TS 33.501 A.6
    KAMF = 0x6D  # TS 33.501 A.7
    # dynsub's own values, outside 3GPP's allocations: see dynsub_cli.security.subscription.
    DYNSUB_SUBSCRIPTION_KEY = 0xF0
    DYNSUB_KEY_CONFIRMATION = 0xF1


def encode_string(text: str) -> bytes:
    """A character string as a KDF parameter (TS 33.220 B.2.1.2: UTF-8 after NFKC)."""
    return unicodedata.normalize("NFKC", text).encode("utf-8")


def kdf(key: bytes, fc: int, *params: bytes) -> bytes:
    """HMAC-SHA-256(key, FC || P0 || L0 || ...): 32 octets (TS 33.220 B.2.0)."""
    if not 0 <= fc <= 0xFF:
        raise BadInput(f"KDF: FC must be one octet, got {fc:#x}")
    s = bytearray([fc])
    for index, param in enumerate(params):
        if len(param) > 0xFFFF:
            # TS 33.220 B.2.0: Li is two octets, so no parameter may exceed 65535 octets.
            raise BadInput(f"KDF: parameter P{index} is {len(param)} octets; the limit is 65535")
        s += param
        s += len(param).to_bytes(2, "big")
    return hmac.new(key, bytes(s), sha256).digest()
