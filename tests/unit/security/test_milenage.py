"""MILENAGE against TS 35.208 test sets (tests/vectors/milenage.json)."""

from __future__ import annotations

from typing import Any

import pytest

from dynsub_cli.errors import BadInput
from dynsub_cli.security.milenage import compute_opc, f1_f1star, f2345, milenage
from tests.unit.security._vectors import h, load

SETS: list[dict[str, Any]] = load("milenage.json")["sets"]


@pytest.mark.parametrize("v", SETS, ids=lambda v: f"set{v['set']}")
def test_ts_35_208_set(v: dict[str, Any]) -> None:
    k, rand = h(v["K"]), h(v["RAND"])
    opc = compute_opc(k, h(v["OP"]))
    assert opc == h(v["OPc"])
    assert f1_f1star(k, opc, rand, h(v["SQN"]), h(v["AMF"])) == (h(v["f1"]), h(v["f1star"]))
    out = f2345(k, opc, rand)
    assert (out.res, out.ck, out.ik, out.ak, out.ak_star) == (
        h(v["f2"]),
        h(v["f3"]),
        h(v["f4"]),
        h(v["f5"]),
        h(v["f5star"]),
    )


@pytest.mark.parametrize("v", SETS, ids=lambda v: f"set{v['set']}")
def test_op_and_opc_give_the_same_result(v: dict[str, Any]) -> None:
    common = {"rand": h(v["RAND"]), "sqn": h(v["SQN"]), "amf": h(v["AMF"])}
    from_op = milenage(h(v["K"]), op=h(v["OP"]), **common)
    from_opc = milenage(h(v["K"]), opc=h(v["OPc"]), **common)
    assert from_op == from_opc
    assert from_op.mac_s == h(v["f1star"])
    assert v["OPc"] not in repr(from_op)  # secrets stay out of repr


def test_exactly_one_of_op_or_opc() -> None:
    with pytest.raises(BadInput, match="exactly one of OP or OPc"):
        milenage(bytes(16), rand=bytes(16), sqn=bytes(6), amf=bytes(2))
    with pytest.raises(BadInput, match="exactly one of OP or OPc"):
        milenage(bytes(16), rand=bytes(16), sqn=bytes(6), amf=bytes(2), op=bytes(16), opc=bytes(16))


def test_lengths_name_the_input() -> None:
    with pytest.raises(BadInput, match="RAND: expected 16 octets"):
        f2345(bytes(16), bytes(16), bytes(15))
    with pytest.raises(BadInput, match="SQN: expected 6 octets"):
        f1_f1star(bytes(16), bytes(16), bytes(16), bytes(5), bytes(2))
