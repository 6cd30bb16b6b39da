"""The TS 33.220 Annex B.2.0 KDF."""

from __future__ import annotations

import hmac
from hashlib import sha256

import pytest

from dynsub_cli.errors import BadInput
from dynsub_cli.security.kdf import FC, encode_string, kdf
from tests.unit.security._vectors import h, load


def test_rfc5448_test_case_1() -> None:
    v = load("kdf.json")
    params = [h(p) for p in v["params"]]
    assert kdf(h(v["key"]), int(v["fc"], 16), *params) == h(v["output"])


def test_s_is_fc_then_each_parameter_with_a_two_octet_length() -> None:
    key = bytes(range(32))
    s = b"\x6c" + b"ab" + b"\x00\x02" + b"" + b"\x00\x00" + b"x" * 300 + b"\x01\x2c"
    assert kdf(key, 0x6C, b"ab", b"", b"x" * 300) == hmac.new(key, s, sha256).digest()


def test_fc_must_be_one_octet() -> None:
    with pytest.raises(BadInput, match="FC must be one octet"):
        kdf(b"k", 0x100)


def test_a_parameter_longer_than_65535_octets_is_refused() -> None:
    with pytest.raises(BadInput, match="P1 is 65536 octets"):
        kdf(b"k", FC.KAUSF, b"", bytes(65536))


def test_strings_are_utf8_after_nfkc() -> None:
    # TS 33.220 B.2.1.2: a compatibility character normalises before encoding.
    assert encode_string("\ufb01") == b"fi"
    assert encode_string("5G:mnc001") == b"5G:mnc001"
