"""128-NEA2 and 128-NIA2 (AES-CTR and AES-CMAC; TS 33.501 D.2/D.3, TS 33.401 Annex B),
and the null algorithms NEA0/NIA0.

Inputs as TS 33.401 B.1/B.2 name them: KEY (128 bits), COUNT (32 bits), BEARER (5 bits),
DIRECTION (1 bit: 0 uplink, 1 downlink), the message and its LENGTH in bits. NAS messages
are whole octets; ``length_bits`` exists so the bit-oriented conformance data of TS 33.401
Annex C can be checked too (unused trailing bits are taken as zero, as Annex C prints them).
"""

from __future__ import annotations

from enum import IntEnum

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from dynsub_cli.errors import BadInput
from dynsub_cli.security._octets import require


class Ciphering(IntEnum):
    """NAS ciphering algorithm identities (TS 33.501 5.11.1.1; TS 24.501 9.11.3.34)."""

    NEA0 = 0
    NEA2 = 2


class Integrity(IntEnum):
    """NAS integrity algorithm identities (TS 33.501 5.11.1.2; TS 24.501 9.11.3.34)."""

    NIA0 = 0
    NIA2 = 2


def _check(count: int, bearer: int, direction: int) -> None:
    if not 0 <= count <= 0xFFFFFFFF:
        raise BadInput(f"COUNT {count}: must fit in 32 bits")
    if not 0 <= bearer <= 0x1F:
        raise BadInput(f"BEARER {bearer}: must fit in 5 bits")
    if direction not in (0, 1):
        raise BadInput(f"DIRECTION {direction}: must be 0 (uplink) or 1 (downlink)")


def _prefix(count: int, bearer: int, direction: int) -> bytes:
    # TS 33.401 B.1.3 / B.2.3: COUNT[0..31] || BEARER[0..4] || DIRECTION || 0^26.
    return count.to_bytes(4, "big") + bytes([(bearer << 3) | (direction << 2), 0, 0, 0])


def _bits(message: bytes, length_bits: int | None) -> tuple[bytes, int]:
    if length_bits is None:
        return bytes(message), 8 * len(message)
    if not 0 <= length_bits <= 8 * len(message) or len(message) != -(-length_bits // 8):
        raise BadInput(f"LENGTH {length_bits} bits does not fit a message of {len(message)} octets")
    out = bytearray(message)
    if length_bits % 8:
        out[-1] &= (0xFF << (8 - length_bits % 8)) & 0xFF
    return bytes(out), length_bits


def nea2(
    key: bytes,
    count: int,
    bearer: int,
    direction: int,
    message: bytes,
    length_bits: int | None = None,
) -> bytes:
    """128-NEA2: AES-128 in CTR mode with T1 = COUNT||BEARER||DIRECTION||0^26||0^64.

    The same call ciphers and deciphers. Trailing bits beyond ``length_bits`` come out zero.
    """
    _check(count, bearer, direction)
    data, length = _bits(message, length_bits)
    icb = _prefix(count, bearer, direction) + bytes(8)
    encryptor = Cipher(algorithms.AES(require("KNASenc", key, 16)), modes.CTR(icb)).encryptor()
    out, _ = _bits(encryptor.update(data) + encryptor.finalize(), length)
    return out


def _cmac_bits(key: bytes, data: bytes, length_bits: int) -> bytes:
    """AES-CMAC over a bit string (NIST SP 800-38B), for non-octet-aligned test data.

    NAS never needs this (its messages are octets, and those go through ``CMAC`` of
    ``cryptography``); it exists so the bit-length sets of TS 33.401 C.2 can be checked.
    """

    def encrypt(block: bytes) -> bytes:
        enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
        return enc.update(block) + enc.finalize()

    def double(block: bytes) -> bytes:
        value = int.from_bytes(block, "big") << 1
        if value >> 128:
            value = (value & ((1 << 128) - 1)) ^ 0x87
        return value.to_bytes(16, "big")

    k1 = double(encrypt(bytes(16)))
    k2 = double(k1)
    n = max(1, -(-length_bits // 128))
    last_bits = length_bits - 128 * (n - 1)
    padded = bytearray(data[16 * (n - 1) :].ljust(16, b"\x00"))
    if last_bits == 128:
        last = bytes(a ^ b for a, b in zip(padded, k1, strict=True))
    else:
        padded[last_bits // 8] |= 0x80 >> (last_bits % 8)
        last = bytes(a ^ b for a, b in zip(padded, k2, strict=True))
    state = bytes(16)
    for i in range(n - 1):
        block = data[16 * i : 16 * (i + 1)]
        state = encrypt(bytes(a ^ b for a, b in zip(state, block, strict=True)))
    return encrypt(bytes(a ^ b for a, b in zip(state, last, strict=True)))


def nia2(
    key: bytes,
    count: int,
    bearer: int,
    direction: int,
    message: bytes,
    length_bits: int | None = None,
) -> bytes:
    """128-NIA2: the 32 most significant bits of AES-CMAC over COUNT||BEARER||DIRECTION||
    0^26||MESSAGE (TS 33.401 B.2.3). Returns the 4-octet MAC."""
    _check(count, bearer, direction)
    data, length = _bits(message, length_bits)
    require("KNASint", key, 16)
    prefixed = _prefix(count, bearer, direction) + data
    if length % 8 == 0:
        cmac = CMAC(algorithms.AES(key))
        cmac.update(prefixed)
        return cmac.finalize()[:4]
    return _cmac_bits(key, prefixed, 64 + length)[:4]


class Nea2:
    """128-NEA2 under one KNASenc, for whole-octet messages: the AES context is made once.

    CTR mode is E_K of successive counter blocks XORed with the message; one ECB context
    computes E_K of any blocks (ECB keeps no state between blocks), so a security context
    ciphers each of its messages without building a cipher object per message. The counter
    block starts at T1 = COUNT||BEARER||DIRECTION||0^26||0^64 and is incremented as a 128-bit
    integer (TS 33.401 B.1.3; NIST SP 800-38A), as :func:`nea2` does.
    """

    def __init__(self, key: bytes) -> None:
        aes = algorithms.AES(require("KNASenc", key, 16))
        self._blocks = Cipher(aes, modes.ECB()).encryptor()  # noqa: S305

    def __call__(self, count: int, bearer: int, direction: int, message: bytes) -> bytes:
        _check(count, bearer, direction)
        if not message:
            return b""
        # T1 as an integer: COUNT (32) || BEARER (5) || DIRECTION (1) || 0^26 || 0^64.
        t1 = (count << 96) | (bearer << 91) | (direction << 90)
        counters = b"".join(
            [((t1 + i) & _MASK_128).to_bytes(16, "big") for i in range(-(-len(message) // 16))]
        )
        stream = self._blocks.update(counters)[: len(message)]
        return (int.from_bytes(message, "big") ^ int.from_bytes(stream, "big")).to_bytes(
            len(message), "big"
        )


class Nia2:
    """128-NIA2 under one KNASint, for whole-octet messages: the CMAC key schedule is made
    once and copied for each message (cryptography's ``CMAC.copy``)."""

    def __init__(self, key: bytes) -> None:
        self._keyed = CMAC(algorithms.AES(require("KNASint", key, 16)))

    def __call__(self, count: int, bearer: int, direction: int, message: bytes) -> bytes:
        _check(count, bearer, direction)
        cmac = self._keyed.copy()
        cmac.update(_prefix(count, bearer, direction) + message)
        return cmac.finalize()[:4]


_MASK_128 = (1 << 128) - 1


def nea0(message: bytes) -> bytes:
    """NEA0, the null ciphering algorithm: the message unchanged (TS 33.501 D.1)."""
    return bytes(message)


def nia0() -> bytes:
    """NIA0, the null integrity algorithm: a MAC of 32 zero bits (TS 33.501 D.3.1)."""
    return bytes(4)
