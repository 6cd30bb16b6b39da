"""128-NIA2 / 128-NEA2 against TS 33.401 Annex C (tests/vectors/nas_security.json)."""

from __future__ import annotations

from typing import Any

import pytest

from dynsub_cli.errors import BadInput
from dynsub_cli.security.algorithms import nea0, nea2, nia0, nia2
from tests.unit.security._vectors import h, load

DATA = load("nas_security.json")


@pytest.mark.parametrize("v", DATA["nia2"], ids=lambda v: f"eia2-set{v['set']}")
def test_nia2(v: dict[str, Any]) -> None:
    mac = nia2(
        h(v["key"]),
        int(v["count"], 16),
        v["bearer"],
        v["direction"],
        h(v["message"]),
        v["length_bits"],
    )
    assert mac == h(v["mac"])


@pytest.mark.parametrize("v", DATA["nea2"], ids=lambda v: f"eea2-set{v['set']}")
def test_nea2_both_ways(v: dict[str, Any]) -> None:
    args = (h(v["key"]), int(v["count"], 16), v["bearer"], v["direction"])
    assert nea2(*args, h(v["plaintext"]), v["length_bits"]) == h(v["ciphertext"])
    assert nea2(*args, h(v["ciphertext"]), v["length_bits"]) == h(v["plaintext"])


def test_octet_aligned_nia2_is_the_same_with_or_without_a_length() -> None:
    v = next(s for s in DATA["nia2"] if s["set"] == 5)
    args = (h(v["key"]), int(v["count"], 16), v["bearer"], v["direction"], h(v["message"]))
    assert nia2(*args) == nia2(*args, v["length_bits"]) == h(v["mac"])


def test_null_algorithms() -> None:
    assert nea0(b"abc") == b"abc"
    assert nia0() == bytes(4)


@pytest.mark.parametrize(
    ("count", "bearer", "direction", "match"),
    [(1 << 32, 1, 0, "COUNT"), (0, 32, 0, "BEARER"), (0, 1, 2, "DIRECTION")],
)
def test_inputs_are_checked(count: int, bearer: int, direction: int, match: str) -> None:
    with pytest.raises(BadInput, match=match):
        nia2(bytes(16), count, bearer, direction, b"x")


def test_length_must_fit_the_message() -> None:
    with pytest.raises(BadInput, match="LENGTH 17 bits"):
        nea2(bytes(16), 0, 1, 0, b"ab", 17)
    with pytest.raises(BadInput, match="KNASenc"):
        nea2(bytes(15), 0, 1, 0, b"ab")
