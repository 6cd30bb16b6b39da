"""Fragmentation and reassembly: sizes, flags, and every limit refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynsub_cli.eap.fragments import MIN_PACKET, Inbox, Outbox
from dynsub_cli.eap.packet import TLS_HEADER_LEN, TlsFlags, TlsPayload
from dynsub_cli.errors import DecodeError, FrameTooLarge, ProtocolError

M = TlsFlags.MORE_FRAGMENTS
L = TlsFlags.LENGTH_INCLUDED


def cut(message: bytes, max_packet: int) -> list[TlsPayload]:
    outbox = Outbox(max_packet)
    outbox.load(message)
    out = [outbox.next_payload()]
    while outbox.pending:
        out.append(outbox.next_payload())
    return out


def test_small_message_is_one_packet_without_l() -> None:
    assert cut(b"x" * 1494, 1500) == [TlsPayload(TlsFlags.NONE, None, b"x" * 1494)]


def test_large_message_flags_and_sizes() -> None:
    parts = cut(bytes(range(200)), 64)
    assert parts[0].flags == L | M
    assert parts[0].message_length == 200
    assert len(parts[0].data) == 64 - TLS_HEADER_LEN - 4
    assert all(p.flags == M and p.message_length is None for p in parts[1:-1])
    assert parts[-1].flags == TlsFlags.NONE
    assert b"".join(p.data for p in parts) == bytes(range(200))


@given(st.binary(max_size=3000), st.integers(MIN_PACKET, 1600))
def test_cut_then_reassemble(message: bytes, max_packet: int) -> None:
    inbox = Inbox()
    parts = cut(message, max_packet)
    results = [inbox.feed(p) for p in parts]
    assert results[:-1] == [None] * (len(parts) - 1)
    assert results[-1] == message
    assert all(
        len(p.data) + TLS_HEADER_LEN + (4 if p.message_length else 0) <= max_packet for p in parts
    )


def test_refuses_announced_length_over_cap() -> None:
    with pytest.raises(FrameTooLarge, match="exceeds the cap of 1000"):
        Inbox(1000).feed(TlsPayload(L | M, 1001, b"a"))


def test_refuses_more_data_than_announced() -> None:
    inbox = Inbox()
    inbox.feed(TlsPayload(L | M, 10, b"a" * 8))
    with pytest.raises(FrameTooLarge, match="announced TLS Message Length of 10"):
        inbox.feed(TlsPayload(M, None, b"a" * 8))


def test_refuses_unannounced_growth_over_cap() -> None:
    with pytest.raises(FrameTooLarge, match="cap of 16"):
        Inbox(16).feed(TlsPayload(TlsFlags.NONE, None, b"a" * 17))


def test_refuses_short_message() -> None:
    inbox = Inbox()
    inbox.feed(TlsPayload(L | M, 10, b"a" * 4))
    with pytest.raises(DecodeError, match="after 6 of 10"):
        inbox.feed(TlsPayload(TlsFlags.NONE, None, b"a" * 2))


def test_refuses_m_without_l_first() -> None:
    with pytest.raises(DecodeError, match="M without L"):
        Inbox().feed(TlsPayload(M, None, b"a"))


def test_refuses_empty_m_fragment_and_changed_length() -> None:
    inbox = Inbox()
    inbox.feed(TlsPayload(L | M, 10, b"a"))
    with pytest.raises(DecodeError, match="carries no data"):
        inbox.feed(TlsPayload(M, None, b""))
    inbox = Inbox()
    inbox.feed(TlsPayload(L | M, 10, b"a"))
    with pytest.raises(DecodeError, match="first announced 10"):
        inbox.feed(TlsPayload(L | M, 11, b"a"))


def test_outbox_misuse_is_our_error() -> None:
    with pytest.raises(ProtocolError, match="outside"):
        Outbox(MIN_PACKET - 1)
    outbox = Outbox(64)
    with pytest.raises(ProtocolError, match="no fragment"):
        outbox.next_payload()
    outbox.load(bytes(100))
    with pytest.raises(ProtocolError, match="before the last one left"):
        outbox.load(b"x")
