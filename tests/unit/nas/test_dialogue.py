"""The subscription-generation dialogue payload: round trips, and only DecodeError on bad input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynsub_cli.errors import DecodeError
from dynsub_cli.nas import dialogue as d
from dynsub_cli.nas.ies import SNssai

short_text = st.text(max_size=40)
names = st.text(min_size=1, max_size=20)
snssai = st.builds(SNssai, st.integers(0, 255), st.one_of(st.none(), st.integers(0, 0xFFFFFF)))
u64 = st.integers(0, 2**64 - 1)

messages = st.one_of(
    st.builds(
        d.Offer,
        st.lists(
            st.builds(d.ServiceTypeOffer, names, snssai, u64, u64, short_text), max_size=4
        ).map(tuple),
        st.lists(
            st.builds(
                d.PlanOffer,
                names,
                st.lists(names, max_size=3).map(tuple),
                st.lists(names, max_size=3).map(tuple),
                short_text,
            ),
            max_size=4,
        ).map(tuple),
        names,
        names,
    ),
    st.builds(
        d.Choice, names, names, st.lists(st.tuples(names, short_text), max_size=3).map(tuple)
    ),
    st.builds(d.KeyRequest, st.binary(min_size=16, max_size=64)),
    st.builds(
        d.KeyResponse, st.binary(min_size=16, max_size=64), st.binary(min_size=32, max_size=32)
    ),
    st.builds(
        d.Subscription,
        supi=st.from_regex(r"imsi-[0-9]{15}", fullmatch=True),
        opc=st.binary(min_size=16, max_size=16),
        amf=st.binary(min_size=2, max_size=2),
        mcc=st.just("001"),
        mnc=st.just("01"),
        routing_indicator=st.just("0000"),
        home_network_keys=st.lists(
            st.builds(
                d.HomeNetworkPublicKey,
                st.integers(1, 2),
                st.integers(0, 255),
                st.binary(min_size=1, max_size=33),
            ),
            max_size=2,
        ).map(tuple),
        allowed_nssai=st.lists(snssai, max_size=3).map(tuple),
        ambr_uplink_bps=u64,
        ambr_downlink_bps=u64,
        service_type=names,
        plan=names,
        confirmation=st.binary(min_size=32, max_size=32),
    ),
    st.builds(d.Ack, names),
    st.builds(d.Error, st.sampled_from(d.DialogueCause), short_text, short_text),
)


@given(messages)
def test_round_trip(message: d.Message) -> None:
    assert d.decode(d.encode(message)) == message


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        d.decode(data)


@given(messages, st.data())
def test_mutated_payloads_raise_only_decode_error(message: d.Message, data: st.DataObject) -> None:
    raw = bytearray(d.encode(message))
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    with contextlib.suppress(DecodeError):
        d.decode(bytes(raw[:cut]))


def test_unknown_version_is_named() -> None:
    with pytest.raises(DecodeError, match="version 9 is not supported"):
        d.decode(bytes([9, 1]))


def test_the_wire_format_is_the_documented_one() -> None:
    # version 1, KEY_REQUEST, field 1 of 32 octets
    raw = d.encode(d.KeyRequest(bytes(range(32))))
    assert raw == bytes([1, 3, 1, 0, 32]) + bytes(range(32))


def test_secrets_stay_out_of_repr() -> None:
    response = d.KeyResponse(b"\x01" * 32, b"\xaa" * 32)
    assert "aa" not in repr(response)
