"""MILENAGE, the example 3GPP authentication and key generation functions (TS 35.206).

The kernel is AES-128 (TS 35.206 clause 4.1) with the operator variant OPc. The rotation and
constant parameters are the ones TS 35.206 clause 4.1 fixes:
r1 = 64, r2 = 0, r3 = 32, r4 = 64, r5 = 96 bits; c1 = 0, c2 = 1, c3 = 2, c4 = 4, c5 = 8 (as
128-bit numbers, i.e. only the last bit(s) set).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from dynsub_cli.errors import BadInput
from dynsub_cli.security._octets import require

_R = {1: 64, 2: 0, 3: 32, 4: 64, 5: 96}
_C = {1: 0, 2: 1, 3: 2, 4: 4, 5: 8}
_MASK = (1 << 128) - 1


class _Kernel:
    """E_K, the AES-128 block cipher under one K (TS 35.206 4.1), on 128-bit integers: one
    ECB context serves every block of a computation (ECB keeps no state between blocks)."""

    def __init__(self, k: bytes) -> None:
        self._encrypt = Cipher(algorithms.AES(k), modes.ECB()).encryptor().update  # noqa: S305

    def __call__(self, block: int) -> int:
        return int.from_bytes(self._encrypt(block.to_bytes(16, "big")), "big")


def _rot(value: int, bits: int) -> int:
    # TS 35.206 4.1: rot(x, r) cyclically rotates x by r bit positions towards the MSB.
    return ((value << bits) | (value >> (128 - bits))) & _MASK if bits else value


def _int(value: bytes) -> int:
    return int.from_bytes(value, "big")


def _octets(value: int, length: int = 16) -> bytes:
    return value.to_bytes(16, "big")[:length]


def compute_opc(k: bytes, op: bytes) -> bytes:
    """OPc = E_K(OP) xor OP (TS 35.206 4.1)."""
    require("K", k, 16)
    the_op = _int(require("OP", op, 16))
    return _octets(_Kernel(k)(the_op) ^ the_op)


def _out(e_k: _Kernel, opc: int, temp: int, index: int) -> int:
    # OUTi = E_K(rot(TEMP xor OPc, ri) xor ci) xor OPc, for i = 2..5
    return e_k(_rot(temp ^ opc, _R[index]) ^ _C[index]) ^ opc


def f1_f1star(k: bytes, opc: bytes, rand: bytes, sqn: bytes, amf: bytes) -> tuple[bytes, bytes]:
    """(MAC-A, MAC-S): f1 and f1* of TS 35.206 4.1, 8 octets each."""
    e_k = _Kernel(require("K", k, 16))
    the_opc = _int(require("OPc", opc, 16))
    in1 = _int((require("SQN", sqn, 6) + require("AMF", amf, 2)) * 2)
    temp = e_k(_int(require("RAND", rand, 16)) ^ the_opc)
    # OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1) xor c1) xor OPc
    out1 = _octets(e_k(temp ^ _rot(in1 ^ the_opc, _R[1]) ^ _C[1]) ^ the_opc)
    return out1[:8], out1[8:]


@dataclass(frozen=True)
class Outputs:
    """f2..f5* for one RAND: RES, CK, IK, AK, AK* (secrets: hidden from repr)."""

    res: bytes = field(repr=False)
    ck: bytes = field(repr=False)
    ik: bytes = field(repr=False)
    ak: bytes = field(repr=False)
    ak_star: bytes = field(repr=False)


def f2345(k: bytes, opc: bytes, rand: bytes) -> Outputs:
    """f2 (RES), f3 (CK), f4 (IK), f5 (AK) and f5* (AK*) of TS 35.206 4.1."""
    e_k = _Kernel(require("K", k, 16))
    the_opc = _int(require("OPc", opc, 16))
    temp = e_k(_int(require("RAND", rand, 16)) ^ the_opc)
    out2 = _octets(_out(e_k, the_opc, temp, 2))
    return Outputs(
        res=out2[8:],
        ck=_octets(_out(e_k, the_opc, temp, 3)),
        ik=_octets(_out(e_k, the_opc, temp, 4)),
        ak=out2[:6],
        ak_star=_octets(_out(e_k, the_opc, temp, 5), 6),
    )


@dataclass(frozen=True)
class Result:
    """Every MILENAGE output for one input set, as ``dynsub crypto milenage`` shows it."""

    opc: bytes = field(repr=False)
    mac_a: bytes
    mac_s: bytes
    res: bytes = field(repr=False)
    ck: bytes = field(repr=False)
    ik: bytes = field(repr=False)
    ak: bytes = field(repr=False)
    ak_star: bytes = field(repr=False)


def milenage(
    k: bytes,
    *,
    rand: bytes,
    sqn: bytes,
    amf: bytes,
    op: bytes | None = None,
    opc: bytes | None = None,
) -> Result:
    """All of f1..f5* and OPc. Give exactly one of ``op`` or ``opc``."""
    if (op is None) == (opc is None):
        raise BadInput("Milenage: give exactly one of OP or OPc")
    the_opc = compute_opc(k, op) if op is not None else require("OPc", opc or b"", 16)
    mac_a, mac_s = f1_f1star(k, the_opc, rand, sqn, amf)
    outputs = f2345(k, the_opc, rand)
    return Result(
        opc=the_opc,
        mac_a=mac_a,
        mac_s=mac_s,
        res=outputs.res,
        ck=outputs.ck,
        ik=outputs.ik,
        ak=outputs.ak,
        ak_star=outputs.ak_star,
    )
