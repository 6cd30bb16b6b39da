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
from dynsub_cli.security._octets import require, xor

_R = {1: 64, 2: 0, 3: 32, 4: 64, 5: 96}
_C = {i: c.to_bytes(16, "big") for i, c in {1: 0, 2: 1, 3: 2, 4: 4, 5: 8}.items()}


def _aes(k: bytes, block: bytes) -> bytes:
    # One AES-128 block: ECB on exactly one block is the raw block cipher E_K.
    encryptor = Cipher(algorithms.AES(k), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update(block) + encryptor.finalize()


def _rot(block: bytes, bits: int) -> bytes:
    # TS 35.206 4.1: rot(x, r) cyclically rotates x by r bit positions towards the MSB.
    value = int.from_bytes(block, "big")
    value = ((value << bits) | (value >> (128 - bits))) & ((1 << 128) - 1) if bits else value
    return value.to_bytes(16, "big")


def compute_opc(k: bytes, op: bytes) -> bytes:
    """OPc = E_K(OP) xor OP (TS 35.206 4.1)."""
    require("K", k, 16)
    return xor(_aes(k, require("OP", op, 16)), op)


def _out(k: bytes, opc: bytes, temp: bytes, index: int) -> bytes:
    block = xor(_rot(xor(temp, opc), _R[index]), _C[index])
    return xor(_aes(k, block), opc)


def _temp(k: bytes, opc: bytes, rand: bytes) -> bytes:
    return _aes(k, xor(require("RAND", rand, 16), opc))


def f1_f1star(k: bytes, opc: bytes, rand: bytes, sqn: bytes, amf: bytes) -> tuple[bytes, bytes]:
    """(MAC-A, MAC-S): f1 and f1* of TS 35.206 4.1, 8 octets each."""
    require("K", k, 16)
    require("OPc", opc, 16)
    in1 = (require("SQN", sqn, 6) + require("AMF", amf, 2)) * 2
    temp = _temp(k, opc, rand)
    # OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1) xor c1) xor OPc
    block = xor(xor(temp, _rot(xor(in1, opc), _R[1])), _C[1])
    out1 = xor(_aes(k, block), opc)
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
    require("K", k, 16)
    require("OPc", opc, 16)
    temp = _temp(k, opc, rand)
    out2 = _out(k, opc, temp, 2)
    return Outputs(
        res=out2[8:],
        ck=_out(k, opc, temp, 3),
        ik=_out(k, opc, temp, 4),
        ak=out2[:6],
        ak_star=_out(k, opc, temp, 5)[:6],
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
