"""128-NIA2 / 128-NEA2 against TS 33.401 Annex C (tests/vectors/nas_security.json)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsub_cli.errors import BadInput
from dynsub_cli.security.algorithms import Nea2, Nia2, nea0, nea2, nia0, nia2
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


# --- the keyed forms a NAS security context uses (AES contexts made once per key) --------


def _first_bits(data: bytes, length_bits: int) -> bytes:
    """The first ``length_bits`` of ``data``, the rest zero (how Annex C prints its data)."""
    out = bytearray(data)
    if length_bits % 8:
        out[-1] &= (0xFF << (8 - length_bits % 8)) & 0xFF
    return bytes(out)


@pytest.mark.parametrize("v", DATA["nea2"], ids=lambda v: f"eea2-set{v['set']}")
def test_keyed_nea2_meets_the_annex_c_sets(v: dict[str, Any]) -> None:
    # The sets are bit strings; the keyed form ciphers whole octets, and the bits beyond
    # LENGTH are the keystream's: the first LENGTH bits must be the set's.
    keyed = Nea2(h(v["key"]))
    args = (int(v["count"], 16), v["bearer"], v["direction"])
    for given_, expected in ((v["plaintext"], v["ciphertext"]), (v["ciphertext"], v["plaintext"])):
        out = keyed(*args, h(given_))  # the same context twice
        assert _first_bits(out, v["length_bits"]) == h(expected)


@pytest.mark.parametrize(
    "v", [v for v in DATA["nia2"] if v["length_bits"] % 8 == 0], ids=lambda v: f"set{v['set']}"
)
def test_keyed_nia2_meets_the_annex_c_sets(v: dict[str, Any]) -> None:
    keyed = Nia2(h(v["key"]))
    args = (int(v["count"], 16), v["bearer"], v["direction"], h(v["message"]))
    assert keyed(*args) == keyed(*args) == h(v["mac"])


@settings(max_examples=300, deadline=None)
@given(
    key=st.binary(min_size=16, max_size=16),
    count=st.integers(0, 0xFFFFFFFF),
    bearer=st.integers(0, 0x1F),
    direction=st.integers(0, 1),
    messages=st.lists(st.binary(max_size=300), min_size=1, max_size=4),
)
def test_keyed_forms_agree_with_the_reference_on_any_octets(
    key: bytes, count: int, bearer: int, direction: int, messages: list[bytes]
) -> None:
    cipher, mac = Nea2(key), Nia2(key)
    for message in messages:  # one context, many messages, as a security context uses it
        assert cipher(count, bearer, direction, message) == nea2(
            key, count, bearer, direction, message
        )
        assert mac(count, bearer, direction, message) == nia2(
            key, count, bearer, direction, message
        )
