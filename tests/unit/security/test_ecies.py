"""ECIES Profiles A and B against TS 33.501 Annex C.4, step by step."""

from __future__ import annotations

from typing import Any

import pytest

from dynsub_cli.errors import AuthenticationError, BadInput
from dynsub_cli.nas.enums import ProtectionScheme
from dynsub_cli.security.ecies import (
    HomeNetworkKey,
    decrypt,
    encrypt,
    eph_public_length,
    intermediate_values,
)
from tests.unit.security._vectors import h, load

SUCI = load("suci.json")
CASES = [
    ("profile_a_imsi", ProtectionScheme.PROFILE_A),
    ("profile_a_nai", ProtectionScheme.PROFILE_A),
    ("profile_b_imsi", ProtectionScheme.PROFILE_B),
    ("profile_b_nai", ProtectionScheme.PROFILE_B),
]


def _output(v: dict[str, Any]) -> bytes:
    return h(v["eph_public"]) + h(v["ciphertext"]) + h(v["mac"])


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_intermediate_values(name: str, profile: ProtectionScheme) -> None:
    v = SUCI[name]
    got = intermediate_values(profile, h(v["eph_private"]), h(v["hn_public"]))
    assert got["eph_public"] == h(v["eph_public"])
    assert got["shared"] == h(v["shared"])
    assert got["enc_key"] == h(v["enc_key"])
    assert got["mac_key"] == h(v["mac_key"])
    if "icb" in v:
        assert got["icb"] == h(v["icb"])


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_encrypt_gives_the_published_scheme_output(name: str, profile: ProtectionScheme) -> None:
    v = SUCI[name]
    out = encrypt(profile, h(v["hn_public"]), h(v["plaintext"]), h(v["eph_private"]))
    assert out == _output(v)
    if "scheme_output" in v:
        assert out == h(v["scheme_output"])


@pytest.mark.parametrize(("name", "profile"), CASES)
def test_decrypt_recovers_the_scheme_input(name: str, profile: ProtectionScheme) -> None:
    v = SUCI[name]
    key = HomeNetworkKey(profile, h(v["hn_private"]))
    assert key.public_key == h(v["hn_public"])
    assert decrypt(key, _output(v)) == h(v["plaintext"])


def test_profile_b_accepts_an_uncompressed_home_network_key() -> None:
    v = SUCI["profile_b_imsi"]
    out = encrypt(
        ProtectionScheme.PROFILE_B,
        h(v["hn_public_uncompressed"]),
        h(v["plaintext"]),
        h(v["eph_private"]),
    )
    assert out == h(v["scheme_output"])


@pytest.mark.parametrize("profile", [ProtectionScheme.PROFILE_A, ProtectionScheme.PROFILE_B])
def test_pem_round_trip(profile: ProtectionScheme) -> None:
    key = HomeNetworkKey.generate(profile)
    assert HomeNetworkKey.from_pem(key.to_pem()) == key
    assert len(key.public_key) == eph_public_length(profile)
    assert key.private_key.hex() not in repr(key)


def test_a_flipped_bit_fails_the_mac() -> None:
    v = SUCI["profile_a_imsi"]
    out = bytearray(_output(v))
    out[33] ^= 0x01
    with pytest.raises(AuthenticationError, match="MAC tag does not verify"):
        decrypt(HomeNetworkKey(ProtectionScheme.PROFILE_A, h(v["hn_private"])), bytes(out))


def test_bad_keys_and_outputs_are_bad_input() -> None:
    with pytest.raises(BadInput, match="expected 32 octets"):
        HomeNetworkKey(ProtectionScheme.PROFILE_A, bytes(31))
    with pytest.raises(BadInput, match="P-256"):
        HomeNetworkKey(ProtectionScheme.PROFILE_B, b"\xff" * 32)
    with pytest.raises(BadInput, match="bad public key"):
        encrypt(ProtectionScheme.PROFILE_B, b"\x02" + b"\xff" * 32, b"x")
    with pytest.raises(BadInput, match="shorter than"):
        decrypt(HomeNetworkKey.generate(ProtectionScheme.PROFILE_B), bytes(40))
    with pytest.raises(BadInput, match="not an unencrypted PEM"):
        HomeNetworkKey.from_pem(b"not pem")


def test_ctr_counter_wraps_in_its_last_32_bits() -> None:
    # C.3.4.0: m = 32. With ICB ending in ffffffff the second block's counter must wrap to
    # 00000000 without carrying into bit 32; a 128-bit counter would differ.
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from dynsub_cli.security import ecies

    key, icb = bytes(16), bytes(12) + b"\xff\xff\xff\xff"
    data = bytes(32)
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305
    expected = enc.update(icb + bytes(12) + bytes(4)) + enc.finalize()
    assert ecies._ctr(key, icb, data) == expected
