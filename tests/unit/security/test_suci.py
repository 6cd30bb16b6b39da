"""SUCI conceal/deconceal, string and NAI forms, against TS 33.501 Annex C.4."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsub_cli.errors import AuthenticationError, BadInput
from dynsub_cli.nas.enums import ProtectionScheme
from dynsub_cli.security import suci
from dynsub_cli.security.ecies import HomeNetworkKey
from tests.unit.security._vectors import h, load

V = load("suci.json")
IMSI = "imsi-274012001002086"  # C.4: MCC|MNC 274012 (MNC 012), MSIN 001002086
NAI = "nai-verylongusername1@3gpp.com"


def test_null_scheme_imsi_c421() -> None:
    v = V["null_scheme_imsi"]
    s = suci.conceal(IMSI, scheme=ProtectionScheme.NULL, mnc_length=3)
    assert s.scheme_output == h(v["scheme_output"]) == h(v["scheme_input"])
    assert (s.mcc + s.mnc, suci.bcd_decode(s.scheme_output)) == (v["mcc_mnc"], v["msin"])
    assert suci.deconceal(s, {}) == IMSI


def test_null_scheme_nai_c422() -> None:
    v = V["null_scheme_nai"]
    s = suci.conceal(NAI, scheme=ProtectionScheme.NULL)
    assert s.scheme_output == h(v["scheme_input"])
    assert s.to_nai().split(".")[-2].startswith(v["scheme_output_text"])
    assert s.to_nai() == f"type1.rid0.schid0.{v['scheme_output_text']}@3gpp.com"
    assert suci.deconceal(s, {}) == NAI


@pytest.mark.parametrize(
    ("case", "supi", "scheme"),
    [
        ("profile_a_imsi", IMSI, ProtectionScheme.PROFILE_A),
        ("profile_a_nai", NAI, ProtectionScheme.PROFILE_A),
        ("profile_b_imsi", IMSI, ProtectionScheme.PROFILE_B),
        ("profile_b_nai", NAI, ProtectionScheme.PROFILE_B),
    ],
)
def test_published_profiles(case: str, supi: str, scheme: ProtectionScheme) -> None:
    v = V[case]
    s = suci.conceal(
        supi,
        scheme=scheme,
        hn_public_key=h(v["hn_public"]),
        hn_key_id=1,
        mnc_length=3,
        eph_private_key=h(v["eph_private"]),
    )
    if "scheme_output" in v:
        assert s.scheme_output == h(v["scheme_output"])
    else:  # C.4.3.2 / C.4.4.2 print the NAI form of the scheme output
        assert f".{v['scheme_output_text'].lower()}@" in s.to_nai()
    key = HomeNetworkKey(
        ProtectionScheme.PROFILE_A
        if scheme == ProtectionScheme.PROFILE_A
        else ProtectionScheme.PROFILE_B,
        h(v["hn_private"]),
    )
    assert suci.deconceal(s, {1: key}) == supi
    assert suci.parse(s.to_string()) == s


def test_string_form_follows_ts_29_503() -> None:
    s = suci.conceal(IMSI, scheme=ProtectionScheme.NULL, mnc_length=3, routing_indicator="0000")
    assert s.to_string() == "suci-0-274-012-0000-0-0-001002086"
    v = V["profile_a_imsi"]
    a = suci.conceal(
        "imsi-001010000000001",
        scheme=ProtectionScheme.PROFILE_A,
        hn_public_key=h(v["hn_public"]),
        hn_key_id=7,
        routing_indicator="678",
    )
    assert str(a) == f"suci-0-001-01-678-1-7-{a.scheme_output.hex()}"
    assert a.to_nai().startswith("type0.rid678.schid1.hnkey7.ecckey")
    assert a.to_nai().endswith("@5gc.mnc001.mcc001.3gppnetwork.org")


def test_parse_a_realm_with_hyphens() -> None:
    s = suci.parse("suci-1-my-realm.example-1.org-12-0-0-user-name")
    assert (s.realm, s.routing_indicator, s.scheme_output) == (
        "my-realm.example-1.org",
        "12",
        b"user-name",
    )
    assert suci.deconceal(s, {}) == "nai-user-name@my-realm.example-1.org"


@pytest.mark.parametrize(
    "text",
    [
        "suci-0-001-01-0000-1-1-zz",
        "suci-0-001-01-00000-0-0-123",
        "suci-2-001-01-0000-0-0-1",
        "imsi-001010000000001",
        "suci-0-001-01-0000-0-1-0123",  # null scheme with key id 1
        "suci-0-001-01-0000-3-1-00",  # scheme 3 unsupported
    ],
)
def test_bad_suci_strings(text: str) -> None:
    with pytest.raises(BadInput):
        suci.parse(text)


def test_deconceal_errors_say_what_is_wrong() -> None:
    a_key, b_key = (
        HomeNetworkKey.generate(ProtectionScheme.PROFILE_A),
        HomeNetworkKey.generate(ProtectionScheme.PROFILE_B),
    )
    s = suci.conceal(
        IMSI, scheme=ProtectionScheme.PROFILE_A, hn_public_key=a_key.public_key, hn_key_id=3
    )
    with pytest.raises(BadInput, match=r"key id 3, which is not configured \(known ids: 1\)"):
        suci.deconceal(s, {1: a_key})
    with pytest.raises(BadInput, match="Profile B key"):
        suci.deconceal(s, {3: b_key})
    with pytest.raises(AuthenticationError):
        suci.deconceal(s, {3: HomeNetworkKey.generate(ProtectionScheme.PROFILE_A)})


def test_conceal_input_errors() -> None:
    with pytest.raises(BadInput, match="public key is needed"):
        suci.conceal(IMSI, scheme=ProtectionScheme.PROFILE_A)
    with pytest.raises(BadInput, match="MNC length"):
        suci.conceal(IMSI, scheme=ProtectionScheme.NULL, mnc_length=4)
    with pytest.raises(BadInput, match="expected imsi"):
        suci.conceal("nai-nouser", scheme=ProtectionScheme.NULL)
    with pytest.raises(BadInput, match="routing indicator"):
        suci.conceal(IMSI, scheme=ProtectionScheme.NULL, routing_indicator="12345")


def test_bcd() -> None:
    assert suci.bcd_encode("001002086") == h("00012080f6")
    assert suci.bcd_decode(h("00012080f6")) == "001002086"
    with pytest.raises(BadInput):
        suci.bcd_decode(b"\xf1\x00")  # filler not in the last octet
    with pytest.raises(BadInput):
        suci.bcd_encode("12a")


KEYS = {
    ProtectionScheme.PROFILE_A: HomeNetworkKey.generate(ProtectionScheme.PROFILE_A),
    ProtectionScheme.PROFILE_B: HomeNetworkKey.generate(ProtectionScheme.PROFILE_B),
}
imsis = st.builds(
    lambda mnc_len, digits: (f"imsi-{digits}", mnc_len),
    st.sampled_from([2, 3]),
    st.text("0123456789", min_size=8, max_size=15),
)
nais = st.builds(
    lambda user, realm: (f"nai-{user}@{realm}", 2),
    st.text(
        st.characters(blacklist_characters="@", blacklist_categories=["Cs"]),
        min_size=1,
        max_size=40,
    ),
    st.from_regex(r"[a-z][a-z0-9]{0,10}(\.[a-z][a-z0-9-]{0,10}){0,3}", fullmatch=True),
)


@settings(max_examples=40, deadline=None)
@given(
    supi=st.one_of(imsis, nais),
    profile=st.sampled_from([ProtectionScheme.PROFILE_A, ProtectionScheme.PROFILE_B]),
    key_id=st.integers(1, 255),
)
def test_conceal_deconceal_round_trip(
    supi: tuple[str, int], profile: ProtectionScheme, key_id: int
) -> None:
    text, mnc_length = supi
    scheme = profile
    s = suci.conceal(
        text,
        scheme=scheme,
        hn_public_key=KEYS[profile].public_key,
        hn_key_id=key_id,
        mnc_length=mnc_length,
    )
    assert suci.deconceal(s, {key_id: KEYS[profile]}) == text
    assert suci.parse(s.to_string()) == s


def test_the_onboarding_suci_names_the_imei_in_clear_and_parses_back() -> None:
    onboarding = suci.onboarding_suci("353456789012345")
    nai = onboarding.to_nai()
    assert nai == "type1.rid0.schid0.useridimei-353456789012345@onboarding.dynsub.invalid"
    imei_and_supi = suci.onboarding_identity(nai)
    assert imei_and_supi == (
        "353456789012345",
        "nai-imei-353456789012345@onboarding.dynsub.invalid",
    )
    assert suci.deconceal(onboarding, {}) == imei_and_supi[1]


@pytest.mark.parametrize(
    "nai",
    [
        "type1.rid0.schid1.useridimei-353456789012345@onboarding.dynsub.invalid",  # concealed
        "type1.rid0.schid0.useridimei-35345678901234@onboarding.dynsub.invalid",  # 14 digits
        "type1.rid0.schid0.useridimei-353456789012345@example.org",  # another realm
        "type0.rid0.schid0.userid001010000000001@onboarding.dynsub.invalid",  # an IMSI
    ],
)
def test_other_identities_are_not_onboarding_identities(nai: str) -> None:
    assert suci.onboarding_identity(nai) is None
