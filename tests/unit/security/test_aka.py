"""5G AKA: vectors, the UE's AUTN check, resynchronisation and the RES* checks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsub_cli.errors import (
    AuthenticationError,
    BadInput,
    MacFailure,
    Non5GAuthentication,
    SynchronisationFailure,
)
from dynsub_cli.security import aka, keys
from dynsub_cli.security.milenage import f2345
from tests.unit.security._vectors import h, load

SETS: list[dict[str, Any]] = load("milenage.json")["sets"]
K = h("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = h("cd63cb71954a9f4e48a5994e37a02baf")
SNN = keys.serving_network_name("001", "01")


@pytest.mark.parametrize("v", SETS, ids=lambda v: f"set{v['set']}")
def test_autn_is_sqn_xor_ak_amf_mac_a(v: dict[str, Any]) -> None:
    sqn = int(v["SQN"], 16)
    autn = aka.build_autn(h(v["K"]), h(v["OPc"]), h(v["RAND"]), sqn, h(v["AMF"]))
    sqn_xor_ak = bytes(a ^ b for a, b in zip(h(v["SQN"]), h(v["f5"]), strict=True))
    assert autn == sqn_xor_ak + h(v["AMF"]) + h(v["f1"])


def test_set_19_autn_is_the_rfc_5448_autn() -> None:
    v = next(s for s in SETS if s["set"] == 19)
    autn = aka.build_autn(h(v["K"]), h(v["OPc"]), h(v["RAND"]), int(v["SQN"], 16), h(v["AMF"]))
    assert autn[:6] == h(load("kdf.json")["params"][1])


def test_vector_and_ue_agree() -> None:
    av = aka.generate_vector(K, OPC, 33, SNN)
    ue = aka.ue_authenticate(K, OPC, av.rand, av.autn, SNN, highest_sqn=32)
    assert ue.sqn == 33
    assert ue.res_star == av.xres_star
    assert (ue.kausf, ue.kseaf) == (av.kausf, av.kseaf)
    aka.verify_res_star(av.xres_star, ue.res_star)
    aka.verify_hres_star(av.hxres_star, av.rand, ue.res_star)
    assert av.kausf.hex() not in repr(av)
    assert av.xres_star.hex() not in repr(av)


def test_vector_parts_follow_annex_a() -> None:
    rand = bytes(range(16))
    av = aka.generate_vector(K, OPC, 5, SNN, rand=rand)
    out = f2345(K, OPC, rand)
    assert av.xres_star == keys.res_star(out.ck, out.ik, SNN, rand, out.res)
    assert av.kausf == keys.kausf_5g_aka(out.ck, out.ik, SNN, av.autn[:6])
    assert av.kseaf == keys.kseaf(av.kausf, SNN)
    assert av.hxres_star == keys.hres_star(rand, av.xres_star)
    assert av.autn[6:8] == aka.DEFAULT_AMF


def test_wrong_key_is_a_mac_failure() -> None:
    av = aka.generate_vector(K, OPC, 1, SNN)
    with pytest.raises(MacFailure, match="MAC failure"):
        aka.ue_authenticate(bytes(16), OPC, av.rand, av.autn, SNN, highest_sqn=0)


def test_tampered_autn_is_a_mac_failure() -> None:
    av = aka.generate_vector(K, OPC, 1, SNN)
    autn = bytearray(av.autn)
    autn[7] ^= 0x01  # the AMF is covered by MAC-A
    with pytest.raises(MacFailure):
        aka.ue_authenticate(K, OPC, av.rand, bytes(autn), SNN, highest_sqn=0)


def test_separation_bit_zero_is_refused_on_both_sides() -> None:
    with pytest.raises(BadInput, match="separation bit"):
        aka.generate_vector(K, OPC, 1, SNN, amf=b"\x00\x00")
    rand = bytes(16)
    autn = aka.build_autn(K, OPC, rand, 1, b"\x00\x00")
    with pytest.raises(Non5GAuthentication, match="separation bit 0"):
        aka.ue_authenticate(K, OPC, rand, autn, SNN, highest_sqn=0)


@pytest.mark.parametrize(("sqn", "highest"), [(10, 10), (9, 10), (10 + aka.DELTA + 1, 10)])
def test_stale_or_too_far_sqn_gives_auts_and_the_network_recovers_sqn_ms(
    sqn: int, highest: int
) -> None:
    av = aka.generate_vector(K, OPC, sqn, SNN)
    with pytest.raises(SynchronisationFailure) as caught:
        aka.ue_authenticate(K, OPC, av.rand, av.autn, SNN, highest_sqn=highest)
    auts = caught.value.auts
    assert auts == aka.build_auts(K, OPC, av.rand, highest)
    assert aka.recover_sqn(K, OPC, av.rand, auts) == highest
    fresh = aka.generate_vector(K, OPC, aka.next_sqn(highest), SNN)
    assert aka.ue_authenticate(K, OPC, fresh.rand, fresh.autn, SNN, highest).sqn == highest + 1


def test_auts_uses_ak_star_and_mac_s_with_amf_zero() -> None:
    v = next(s for s in SETS if s["set"] == 1)
    auts = aka.build_auts(h(v["K"]), h(v["OPc"]), h(v["RAND"]), 7)
    from dynsub_cli.security.milenage import f1_f1star

    _, mac_s = f1_f1star(h(v["K"]), h(v["OPc"]), h(v["RAND"]), (7).to_bytes(6, "big"), bytes(2))
    assert auts[:6] == bytes(
        a ^ b for a, b in zip((7).to_bytes(6, "big"), h(v["f5star"]), strict=True)
    )
    assert auts[6:] == mac_s


def test_a_forged_auts_is_refused() -> None:
    auts = bytearray(aka.build_auts(K, OPC, bytes(16), 99))
    auts[-1] ^= 0x80
    with pytest.raises(MacFailure, match="MAC-S"):
        aka.recover_sqn(K, OPC, bytes(16), bytes(auts))


def test_res_star_mismatches_are_authentication_errors() -> None:
    av = aka.generate_vector(K, OPC, 1, SNN)
    wrong = bytes(16)
    with pytest.raises(AuthenticationError, match="XRES"):
        aka.verify_res_star(av.xres_star, wrong)
    with pytest.raises(AuthenticationError, match="HXRES"):
        aka.verify_hres_star(av.hxres_star, av.rand, wrong)
    with pytest.raises(AuthenticationError, match="16 octets"):
        aka.verify_hres_star(av.hxres_star, av.rand, b"short")


def test_sqn_bounds() -> None:
    with pytest.raises(AuthenticationError, match="exhausted"):
        aka.next_sqn(aka.SQN_MAX)
    with pytest.raises(BadInput, match="48 bits"):
        aka.build_autn(K, OPC, bytes(16), aka.SQN_MAX + 1, aka.DEFAULT_AMF)


@settings(max_examples=30, deadline=None)
@given(highest=st.integers(0, aka.SQN_MAX - aka.DELTA), step=st.integers(1, aka.DELTA))
def test_any_fresh_sqn_within_the_window_is_accepted(highest: int, step: int) -> None:
    av = aka.generate_vector(K, OPC, highest + step, SNN)
    assert aka.ue_authenticate(K, OPC, av.rand, av.autn, SNN, highest).sqn == highest + step
