"""dynsub's subscription key K and its key confirmation."""

from __future__ import annotations

import pytest

from dynsub_cli.errors import AuthenticationError, BadInput
from dynsub_cli.security import subscription
from dynsub_cli.security.kdf import FC, encode_string, kdf

KAUSF = bytes(range(32))
NET = bytes(range(100, 116))
UE = bytes(range(200, 216))


def test_both_sides_derive_the_same_16_octet_key() -> None:
    k_network = subscription.derive_subscription_key(KAUSF, NET, UE)
    k_ue = subscription.derive_subscription_key(KAUSF, NET, UE)
    assert k_network == k_ue
    assert len(k_network) == 16


def test_the_key_is_the_documented_derivation() -> None:
    expected = kdf(KAUSF, 0xF0, encode_string("dynsub subscription key v1"), NET, UE)[16:]
    assert subscription.derive_subscription_key(KAUSF, NET, UE) == expected


def test_every_input_changes_the_key() -> None:
    base = subscription.derive_subscription_key(KAUSF, NET, UE)
    other = bytes(16)
    assert subscription.derive_subscription_key(bytes(32), NET, UE) != base
    assert subscription.derive_subscription_key(KAUSF, other, UE) != base
    assert subscription.derive_subscription_key(KAUSF, NET, other) != base
    assert subscription.derive_subscription_key(KAUSF, UE, NET) != base  # order matters


def test_fc_values_are_outside_the_3gpp_allocations_we_know() -> None:
    ts_33_501 = set(range(0x69, 0x7A)) | set(range(0x7B, 0x7E)) | {0x83, 0x84}
    ts_33_220 = set(range(0x01, 0x20))
    for fc in (FC.DYNSUB_SUBSCRIPTION_KEY, FC.DYNSUB_KEY_CONFIRMATION):
        assert fc not in ts_33_501 | ts_33_220
        assert fc not in {int(f) for f in FC if not f.name.startswith("DYNSUB")}


def test_confirmation_verifies_and_refuses_anything_else() -> None:
    k = subscription.derive_subscription_key(KAUSF, NET, UE)
    mac = subscription.key_confirmation(k, NET, UE)
    assert len(mac) == subscription.CONFIRMATION_LENGTH
    subscription.verify_key_confirmation(k, NET, UE, mac)
    with pytest.raises(AuthenticationError, match="key confirmation failed"):
        subscription.verify_key_confirmation(k, NET, UE, mac[:-1] + bytes([mac[-1] ^ 1]))
    wrong_k = subscription.derive_subscription_key(bytes(32), NET, UE)
    with pytest.raises(AuthenticationError):
        subscription.verify_key_confirmation(wrong_k, NET, UE, mac)


def test_the_confirmation_is_not_the_key() -> None:
    k = subscription.derive_subscription_key(KAUSF, NET, UE)
    assert k not in subscription.key_confirmation(k, NET, UE)


def test_nonces_are_fresh_and_checked() -> None:
    assert subscription.new_nonce() != subscription.new_nonce()
    assert len(subscription.new_nonce()) == subscription.NONCE_LENGTH
    with pytest.raises(BadInput, match="network nonce: expected 16 to 64 octets"):
        subscription.derive_subscription_key(KAUSF, bytes(8), UE)
    with pytest.raises(BadInput, match="UE nonce"):
        subscription.key_confirmation(bytes(16), NET, bytes(65))
    with pytest.raises(BadInput, match="KAUSF"):
        subscription.derive_subscription_key(bytes(16), NET, UE)


def test_network_confirmation_binds_k_and_the_supi_and_differs_from_the_ue_mac() -> None:
    k = subscription.derive_subscription_key(KAUSF, NET, UE)
    supi = "imsi-001010000000001"
    mac = subscription.network_confirmation(k, NET, UE, supi)
    assert mac != subscription.key_confirmation(k, NET, UE)  # no reflection of the UE's MAC
    subscription.verify_network_confirmation(k, NET, UE, supi, mac)
    with pytest.raises(AuthenticationError, match="core's key confirmation"):
        subscription.verify_network_confirmation(k, NET, UE, "imsi-001010000000002", mac)
    with pytest.raises(AuthenticationError):
        subscription.verify_network_confirmation(bytes(16), NET, UE, supi, mac)
