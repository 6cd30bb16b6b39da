"""Properties of the codec and the framing over generated input (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynsub_cli.errors import DecodeError, FrameTooLarge
from dynsub_cli.nas import FrameReader, Message, decode, encode, frame
from tests.unit.nas.samples import ALL
from tests.unit.nas.strategies import messages

SAMPLE_PDUS = [encode(m) for m in ALL]


def _decode_or_decode_error(data: bytes) -> Message | None:
    """Decode; a DecodeError is an allowed outcome, anything else fails the test."""
    try:
        return decode(data)
    except DecodeError as err:
        failure = err.message
    assert "unexpected decoder failure" not in failure, failure
    return None


@given(messages)
def test_generated_messages_round_trip(message: Message) -> None:
    pdu = encode(message)
    assert decode(pdu, strict=True) == message
    assert encode(decode(pdu)) == pdu


@given(st.binary(max_size=200))
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    _decode_or_decode_error(data)


@given(st.binary(max_size=60))
def test_random_5gmm_bodies_raise_only_decode_error(body: bytes) -> None:
    # Random octets behind each known message type reach the IE decoders, not just the header.
    for message_type in (0x41, 0x42, 0x45, 0x47, 0x56, 0x57, 0x5A, 0x5D, 0x5E, 0x67, 0x68):
        _decode_or_decode_error(bytes((0x7E, 0, message_type)) + body)


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    pdu = bytearray(draw(st.sampled_from(SAMPLE_PDUS)))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(len(pdu) - 1, 0)))
        if action == "flip" and pdu:
            pdu[at] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del pdu[at:]
        elif action == "insert":
            pdu[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif pdu:
            del pdu[at]
    return bytes(pdu)


@settings(max_examples=400)
@given(_mutated())
def test_mutated_pdus_decode_or_raise_decode_error(data: bytes) -> None:
    decoded = _decode_or_decode_error(data)
    if decoded is not None:
        # Whatever decodes holds valid values: it encodes, and decoding that is a fixed point.
        assert decode(encode(decoded)) == decoded


@st.composite
def _stream_and_cuts(draw: st.DrawFn) -> tuple[list[bytes], bytes, list[int]]:
    pdus = draw(st.lists(st.binary(min_size=1, max_size=300), max_size=10))
    stream = b"".join(frame(p) for p in pdus)
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    return pdus, stream, cuts


@given(_stream_and_cuts())
def test_frame_reader_survives_every_split(case: tuple[list[bytes], bytes, list[int]]) -> None:
    pdus, stream, cuts = case
    reader = FrameReader()
    got: list[bytes] = []
    previous = 0
    for cut in [*cuts, len(stream)]:
        got += reader.feed(stream[previous:cut])
        previous = cut
        complete = sum(len(frame(p)) for p in got)
        assert reader.pending == (cut > complete)
    assert got == pdus
    assert not reader.pending


@given(st.integers(1, 1000), st.data())
def test_oversize_frames_are_refused(max_frame: int, data: st.DataObject) -> None:
    size = data.draw(st.integers(max_frame + 1, 0xFFFF))
    reader = FrameReader(max_frame=max_frame)
    before = data.draw(st.binary(min_size=1, max_size=max_frame))
    assert reader.feed(frame(before)) == [before]
    with pytest.raises(FrameTooLarge, match=f"announces {size} octets"):
        reader.feed(size.to_bytes(2, "big"))
