"""The 2-octet length framing of NAS PDUs on TCP."""

from __future__ import annotations

import pytest

from dynsub_cli.errors import BadInput, EncodeError, FrameTooLarge
from dynsub_cli.nas import MAX_FRAME, FrameReader, frame


def test_frame_prefixes_the_big_endian_length() -> None:
    assert frame(b"\x7e\x00\x64\x6f") == b"\x00\x04\x7e\x00\x64\x6f"
    assert frame(bytes(300))[:2] == b"\x01\x2c"
    assert len(frame(bytes(MAX_FRAME))) == MAX_FRAME + 2


@pytest.mark.parametrize("size", [0, MAX_FRAME + 1])
def test_frame_refuses_what_two_octets_cannot_carry(size: int) -> None:
    with pytest.raises(EncodeError, match=f"{size} octets"):
        frame(bytes(size))


def test_reader_returns_whole_frames_in_order() -> None:
    reader = FrameReader()
    assert reader.feed(frame(b"one") + frame(b"two") + b"\x00") == [b"one", b"two"]
    assert reader.pending
    assert reader.buffered == 1
    assert reader.feed(b"\x05th") == []
    assert reader.buffered == 4
    assert reader.feed(b"ree") == [b"three"]
    assert not reader.pending
    assert reader.feed(b"") == []


def test_zero_length_frame_is_refused_and_the_reader_stays_broken() -> None:
    reader = FrameReader()
    with pytest.raises(FrameTooLarge, match="announces 0 octets"):
        reader.feed(frame(b"ok") + b"\x00\x00")
    # The stream lost its framing: later bytes are refused too, even well-framed ones.
    with pytest.raises(FrameTooLarge):
        reader.feed(frame(b"late"))


def test_oversize_frame_is_refused_before_its_body_arrives() -> None:
    reader = FrameReader(max_frame=1500)
    with pytest.raises(FrameTooLarge, match=r"1501 octets \(accepted: 1-1500\)"):
        reader.feed(b"\x05\xdd")


@pytest.mark.parametrize("max_frame", [0, MAX_FRAME + 1])
def test_reader_limit_must_fit_the_length_field(max_frame: int) -> None:
    with pytest.raises(BadInput):
        FrameReader(max_frame=max_frame)
