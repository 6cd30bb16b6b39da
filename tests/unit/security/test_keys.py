"""The TS 33.501 Annex A key hierarchy: each derivation against its clause, built by hand."""

from __future__ import annotations

import hmac
from hashlib import sha256

import pytest

from dynsub_cli.errors import BadInput
from dynsub_cli.security import keys

CK = bytes(range(16))
IK = bytes(range(16, 32))
RAND = bytes(range(32, 48))
SNN = "5G:mnc001.mcc001.3gppnetwork.org"


def _kdf(key: bytes, s: bytes) -> bytes:
    return hmac.new(key, s, sha256).digest()


def _lv(value: bytes) -> bytes:
    return value + len(value).to_bytes(2, "big")


def test_serving_network_name_pads_a_two_digit_mnc() -> None:
    assert keys.serving_network_name("001", "01") == SNN
    assert keys.serving_network_name("208", "093") == "5G:mnc093.mcc208.3gppnetwork.org"


@pytest.mark.parametrize(("mcc", "mnc"), [("01", "01"), ("001", "1"), ("00a", "01")])
def test_serving_network_name_refuses_bad_digits(mcc: str, mnc: str) -> None:
    with pytest.raises(BadInput):
        keys.serving_network_name(mcc, mnc)


def test_kausf_5g_aka_is_a2() -> None:
    sqn_xor_ak = bytes.fromhex("bb52e91c747a")
    expected = _kdf(CK + IK, b"\x6a" + _lv(SNN.encode()) + _lv(sqn_xor_ak))
    assert keys.kausf_5g_aka(CK, IK, SNN, sqn_xor_ak) == expected


def test_res_star_is_a4_128_least_significant_bits() -> None:
    res = bytes(8)
    full = _kdf(CK + IK, b"\x6b" + _lv(SNN.encode()) + _lv(RAND) + _lv(res))
    assert keys.res_star(CK, IK, SNN, RAND, res) == full[16:]


def test_hres_star_is_a5() -> None:
    rs = bytes(range(100, 116))
    assert keys.hres_star(RAND, rs) == sha256(RAND + rs).digest()[16:]


def test_kseaf_is_a6() -> None:
    kausf = bytes(range(32))
    assert keys.kseaf(kausf, SNN) == _kdf(kausf, b"\x6c" + _lv(SNN.encode()))


def test_kamf_is_a7_with_the_imsi_digits_and_abba() -> None:
    kseaf = bytes(range(32))
    expected = _kdf(kseaf, b"\x6d" + _lv(b"001010123456789") + _lv(b"\x00\x00"))
    assert keys.kamf(kseaf, "imsi-001010123456789") == expected
    assert keys.kamf(kseaf, "001010123456789") == expected


def test_kamf_with_a_nai_supi_uses_the_whole_nai() -> None:
    kseaf = bytes(range(32))
    expected = _kdf(kseaf, b"\x6d" + _lv(b"user@example.org") + _lv(b"\x00\x01"))
    assert keys.kamf(kseaf, "nai-user@example.org", b"\x00\x01") == expected


def test_nas_keys_are_a8_with_the_type_distinguishers() -> None:
    kamf = bytes(range(32))
    derived = keys.nas_keys(kamf, 2, 2)
    assert derived.k_nas_enc == _kdf(kamf, b"\x69" + _lv(b"\x01") + _lv(b"\x02"))[16:]
    assert derived.k_nas_int == _kdf(kamf, b"\x69" + _lv(b"\x02") + _lv(b"\x02"))[16:]
    assert derived.k_nas_int.hex() not in repr(derived)


def test_kausf_eap_tls_is_the_most_significant_256_bits_of_emsk() -> None:
    emsk = bytes(range(64))
    assert keys.kausf_eap_tls(emsk) == emsk[:32]
    with pytest.raises(BadInput, match="EMSK"):
        keys.kausf_eap_tls(bytes(31))


@pytest.mark.parametrize("supi", ["imsi-12", "nai-", "not a supi", "imsi-0010101234567890"])
def test_bad_supis_are_refused(supi: str) -> None:
    with pytest.raises(BadInput, match="SUPI"):
        keys.supi_kdf_string(supi)


def test_lengths_are_checked_with_the_name_of_the_input() -> None:
    with pytest.raises(BadInput, match="CK: expected 16 octets"):
        keys.kausf_5g_aka(CK[:15], IK, SNN, bytes(6))
    with pytest.raises(BadInput, match="algorithm identity 16"):
        keys.algorithm_key(bytes(32), keys.AlgorithmType.N_NAS_ENC, 16)
    with pytest.raises(BadInput, match="ABBA"):
        keys.kamf(bytes(32), "imsi-001010000000001", b"")
