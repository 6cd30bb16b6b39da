"""IMEI check digits (TS 23.003 Annex B) and the RFC 7254 URN."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynsub_cli.errors import BadInput
from dynsub_cli.pki.imei import (
    check_imei,
    imei_urn,
    is_valid_imei,
    luhn_digit,
    make_imei,
    parse_imei_urn,
    split,
)


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("49015420323751", "8"),  # worked example of the Wikipedia IMEI article
        ("35209900176148", "1"),  # 35-209900-176148-1, same article
        ("7992739871", "3"),  # the classic Luhn example (ISO/IEC 7812 Annex B)
        ("00000000000000", "0"),
    ],
)
def test_luhn_digit_matches_published_examples(digits: str, check: str) -> None:
    assert luhn_digit(digits) == check


def test_make_imei_appends_the_check_digit() -> None:
    assert make_imei("49015420", 323751) == "490154203237518"
    assert make_imei("00100100", 0) == "001001000000007"


@pytest.mark.parametrize(("tac", "snr"), [("1234567", 1), ("1234567a", 1), ("12345678", -1)])
def test_make_imei_refuses_a_bad_tac_or_serial(tac: str, snr: int) -> None:
    with pytest.raises(BadInput):
        make_imei(tac, snr)


def test_make_imei_refuses_a_serial_beyond_six_digits() -> None:
    with pytest.raises(BadInput, match="between 0 and 999999"):
        make_imei("12345678", 1_000_000)


def test_check_imei_names_the_expected_digit() -> None:
    with pytest.raises(BadInput, match="Luhn formula gives 8"):
        check_imei("490154203237519")
    with pytest.raises(BadInput, match="exactly 15 decimal digits"):
        check_imei("49015420323751")
    check_imei("490154203237518")


def test_urn_round_trip() -> None:
    urn = imei_urn("490154203237518")
    assert urn == "urn:gsma:imei:49015420-323751-8"
    assert parse_imei_urn(urn) == "490154203237518"
    assert split("490154203237518") == ("49015420", 323751)


@pytest.mark.parametrize(
    "urn", ["urn:gsma:imei:4901542-0323751-8", "urn:gsma:imei:49015420-323751", "urn:x:1"]
)
def test_malformed_urn_is_refused(urn: str) -> None:
    with pytest.raises(BadInput, match="not an IMEI URN"):
        parse_imei_urn(urn)


def test_luhn_refuses_non_digits() -> None:
    with pytest.raises(BadInput):
        luhn_digit("12a4")
    with pytest.raises(BadInput):
        luhn_digit("١٢٣")  # Arabic-Indic digits are digits to str.isdigit, not to an IMEI


@given(st.from_regex(r"[0-9]{8}", fullmatch=True), st.integers(0, 999_999))
def test_every_made_imei_is_valid(tac: str, snr: int) -> None:
    imei = make_imei(tac, snr)
    assert is_valid_imei(imei)
    assert split(imei) == (tac, snr)


@given(st.from_regex(r"[0-9]{14}", fullmatch=True), st.integers(0, 13), st.integers(1, 9))
def test_changing_one_digit_breaks_the_check(body: str, position: int, delta: int) -> None:
    imei = body + luhn_digit(body)
    changed = str((int(imei[position]) + delta) % 10)
    tampered = imei[:position] + changed + imei[position + 1 :]
    # Luhn detects every single-digit error.
    assert not is_valid_imei(tampered)
