"""5G AKA on top of MILENAGE (TS 33.501 6.1.3.2, TS 33.102 6.3), both sides, sans-I/O.

Home network (UDM/ARPF + AUSF): :func:`generate_vector` builds the 5G HE AV (RAND, AUTN,
XRES*, KAUSF) and what the AUSF derives from it (HXRES*, KSEAF); :func:`verify_res_star` and
:func:`verify_hres_star` check the UE's answer; :func:`recover_sqn` reads SQN_MS out of an
AUTS after a synchronisation failure.

UE (USIM + ME): :func:`ue_authenticate` checks AUTN (MAC, AMF separation bit, SQN freshness)
and returns RES*, KAUSF, KSEAF and the SQN to store; a stale SQN raises
:class:`~dynsub_cli.errors.SynchronisationFailure` carrying the AUTS (:func:`build_auts`).

SQN freshness (TS 33.102 Annex C) in its simplest conforming form: SQN is a plain 48-bit SEQ
with no IND bits (IND length 0, so the array of Annex C.2.2 has one entry). The UE accepts an
SQN only if it is greater than the highest SQN it accepted so far and at most
:data:`DELTA` = 2^28 above it (Annex C.2.2, the Δ limit against wrap-around attacks). The
home network takes SQN_HE + 1 for each new vector (:func:`next_sqn`) and, after a
resynchronisation, continues from SQN_MS + 1.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

from dynsub_cli.errors import (
    AuthenticationError,
    BadInput,
    MacFailure,
    Non5GAuthentication,
    SynchronisationFailure,
)
from dynsub_cli.security import keys
from dynsub_cli.security._octets import require, xor
from dynsub_cli.security.milenage import f1_f1star, f2345

#: SQN is 48 bits (TS 33.102 6.3.2).
SQN_MAX = (1 << 48) - 1
#: TS 33.102 Annex C.2.2: the UE refuses an SQN more than Δ ahead of the highest accepted.
DELTA = 1 << 28
#: TS 33.102 Annex H / TS 33.501 6.1.3.2: bit 0 of AMF is the separation bit, 1 for 5G/EPS.
AMF_SEPARATION_BIT = 0x8000
#: A usable AMF for 5G AKA: separation bit set, the rest zero.
DEFAULT_AMF = b"\x80\x00"
#: TS 33.102 6.3.3: MAC-S is computed with a dummy AMF of all zeros.
_RESYNC_AMF = b"\x00\x00"


def _sqn_octets(sqn: int) -> bytes:
    if not 0 <= sqn <= SQN_MAX:
        raise BadInput(f"SQN {sqn}: must fit in 48 bits (0..{SQN_MAX})")
    return sqn.to_bytes(6, "big")


def next_sqn(sqn_he: int) -> int:
    """The SQN of the next vector after ``sqn_he`` (SEQ + 1, no IND bits; Annex C.1.2)."""
    if sqn_he >= SQN_MAX:
        raise AuthenticationError(
            "SQN exhausted: the 48-bit sequence number space is used up for this subscriber; "
            "provision a new K"
        )
    return sqn_he + 1


def build_autn(k: bytes, opc: bytes, rand: bytes, sqn: int, amf: bytes) -> bytes:
    """AUTN = (SQN xor AK) || AMF || MAC-A (TS 33.102 6.3.2), 16 octets."""
    sqn_octets = _sqn_octets(sqn)
    mac_a, _ = f1_f1star(k, opc, rand, sqn_octets, amf)
    ak = f2345(k, opc, rand).ak
    return xor(sqn_octets, ak) + amf + mac_a


@dataclass(frozen=True)
class AuthVector:
    """A 5G HE AV plus what the AUSF derives from it (TS 33.501 6.1.3.2 steps 1-5).

    The SEAF gets only (RAND, AUTN, HXRES*); XRES*, KAUSF and KSEAF stay in the home network.
    """

    rand: bytes
    autn: bytes
    hxres_star: bytes
    sqn: int
    xres_star: bytes = field(repr=False)
    kausf: bytes = field(repr=False)
    kseaf: bytes = field(repr=False)


def generate_vector(
    k: bytes,
    opc: bytes,
    sqn: int,
    serving_network: str,
    *,
    amf: bytes = DEFAULT_AMF,
    rand: bytes | None = None,
) -> AuthVector:
    """A fresh 5G AKA vector for ``sqn`` (take it from :func:`next_sqn`). RAND is random
    unless given (for reproducing traces)."""
    require("AMF", amf, 2)
    if not int.from_bytes(amf, "big") & AMF_SEPARATION_BIT:
        # TS 33.501 6.1.3.2 step 1: the ARPF sets the separation bit to 1 for 5G.
        raise BadInput(f"AMF {amf.hex()}: the separation bit (0x8000) must be 1 for 5G AKA")
    the_rand = secrets.token_bytes(16) if rand is None else require("RAND", rand, 16)
    sqn_octets = _sqn_octets(sqn)
    out = f2345(k, opc, the_rand)
    mac_a, _ = f1_f1star(k, opc, the_rand, sqn_octets, amf)
    sqn_xor_ak = xor(sqn_octets, out.ak)
    xres = keys.res_star(out.ck, out.ik, serving_network, the_rand, out.res)
    kausf = keys.kausf_5g_aka(out.ck, out.ik, serving_network, sqn_xor_ak)
    return AuthVector(
        rand=the_rand,
        autn=sqn_xor_ak + amf + mac_a,
        hxres_star=keys.hres_star(the_rand, xres),
        sqn=sqn,
        xres_star=xres,
        kausf=kausf,
        kseaf=keys.kseaf(kausf, serving_network),
    )


@dataclass(frozen=True)
class UeResult:
    """What the UE gets from a successful AUTN check (TS 33.501 6.1.3.2 step 6)."""

    sqn: int  # the new highest accepted SQN: store it
    res_star: bytes = field(repr=False)
    kausf: bytes = field(repr=False)
    kseaf: bytes = field(repr=False)


def build_auts(k: bytes, opc: bytes, rand: bytes, sqn_ms: int) -> bytes:
    """AUTS = (SQN_MS xor AK*) || MAC-S (TS 33.102 6.3.3), 14 octets."""
    sqn_octets = _sqn_octets(sqn_ms)
    _, mac_s = f1_f1star(k, opc, rand, sqn_octets, _RESYNC_AMF)
    return xor(sqn_octets, f2345(k, opc, rand).ak_star) + mac_s


def ue_authenticate(
    k: bytes,
    opc: bytes,
    rand: bytes,
    autn: bytes,
    serving_network: str,
    highest_sqn: int,
) -> UeResult:
    """The USIM/ME side of 5G AKA: check AUTN, derive RES*, KAUSF and KSEAF.

    Raises MacFailure (5GMM cause #20) if MAC-A is wrong, Non5GAuthentication (#26) if the
    AMF separation bit is 0, and SynchronisationFailure (#21, with AUTS) if the SQN is not
    fresh against ``highest_sqn`` (see the module docstring for the rule).
    """
    require("AUTN", autn, 16)
    sqn_xor_ak, amf, mac_a = autn[:6], autn[6:8], autn[8:]
    out = f2345(k, opc, rand)
    sqn_octets = xor(sqn_xor_ak, out.ak)
    expected_mac, _ = f1_f1star(k, opc, rand, sqn_octets, amf)
    if not hmac.compare_digest(expected_mac, mac_a):
        raise MacFailure(
            "5G AKA: MAC failure: AUTN was not made with this subscriber's K and OPc "
            "(wrong keys on one side, or a forged challenge)"
        )
    if not int.from_bytes(amf, "big") & AMF_SEPARATION_BIT:
        raise Non5GAuthentication(
            f"5G AKA: AMF {amf.hex()} has the separation bit 0: not a 5G authentication vector"
        )
    sqn = int.from_bytes(sqn_octets, "big")
    if not highest_sqn < sqn <= highest_sqn + DELTA:
        raise SynchronisationFailure(
            f"5G AKA: SQN {sqn} is not fresh (highest accepted {highest_sqn}, window {DELTA}); "
            "resynchronisation with AUTS",
            build_auts(k, opc, rand, highest_sqn),
        )
    kausf = keys.kausf_5g_aka(out.ck, out.ik, serving_network, sqn_xor_ak)
    return UeResult(
        sqn=sqn,
        res_star=keys.res_star(out.ck, out.ik, serving_network, rand, out.res),
        kausf=kausf,
        kseaf=keys.kseaf(kausf, serving_network),
    )


def recover_sqn(k: bytes, opc: bytes, rand: bytes, auts: bytes) -> int:
    """The home network side of resynchronisation (TS 33.102 6.3.5): SQN_MS from AUTS.

    Verifies MAC-S; raises MacFailure if it is wrong. The caller sets SQN_HE to the value
    returned and makes the next vector with :func:`next_sqn`.
    """
    require("AUTS", auts, 14)
    sqn_octets = xor(auts[:6], f2345(k, opc, rand).ak_star)
    _, expected = f1_f1star(k, opc, rand, sqn_octets, _RESYNC_AMF)
    if not hmac.compare_digest(expected, auts[6:]):
        raise MacFailure(
            "5G AKA resynchronisation: MAC-S in AUTS is wrong (AUTS not made by this "
            "subscriber's USIM for this RAND)"
        )
    return int.from_bytes(sqn_octets, "big")


def verify_res_star(xres_star: bytes, res_star: bytes) -> None:
    """AUSF: the UE's RES* must equal XRES* (TS 33.501 6.1.3.2 step 11)."""
    if not hmac.compare_digest(require("XRES*", xres_star, 16), bytes(res_star)):
        raise AuthenticationError("5G AKA: RES* from the UE does not match XRES*")


def verify_hres_star(hxres_star: bytes, rand: bytes, res_star: bytes) -> None:
    """SEAF: HRES* computed from the UE's RES* must equal HXRES* (TS 33.501 6.1.3.2 step 10)."""
    if len(res_star) != 16:
        raise AuthenticationError(f"5G AKA: RES* must be 16 octets, got {len(res_star)}")
    if not hmac.compare_digest(
        require("HXRES*", hxres_star, 16), keys.hres_star(rand, bytes(res_star))
    ):
        raise AuthenticationError("5G AKA: HRES* of the UE's RES* does not match HXRES*")
