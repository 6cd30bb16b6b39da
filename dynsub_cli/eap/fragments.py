"""EAP-TLS fragmentation and reassembly (RFC 5216 2.1.5, kept by RFC 9190 2.1.5).

A TLS message (one flight of records) larger than one EAP packet is cut into fragments: the
first carries L and the 4-octet TLS Message Length, every fragment but the last carries M, and
the receiver acknowledges each M fragment with an EAP-TLS packet with no data. Only one
fragment is in flight at a time, so neither side needs more than these two small buffers.
"""

from __future__ import annotations

from dynsub_cli.eap.packet import TLS_HEADER_LEN, TLS_LENGTH_LEN, TlsFlags, TlsPayload
from dynsub_cli.errors import DecodeError, FrameTooLarge, ProtocolError

#: Default size of a whole EAP packet: fits the NAS EAP message IE and a 1500-octet link MTU.
DEFAULT_MAX_PACKET = 1500
#: Default cap on one reassembled TLS message. A mutual-auth flight with a short chain of
#: ECDSA certificates is 1-3 KiB; 64 KiB leaves room for RSA chains and still bounds memory.
DEFAULT_MAX_MESSAGE = 64 * 1024
#: Smallest packet size accepted: a peer's alert (an encrypted TLS 1.3 alert record is 24
#: octets) must fit one packet, since it is sent when the exchange is already over.
MIN_PACKET = 64


class Outbox:
    """Cuts one outgoing TLS message into EAP-TLS payloads of at most ``max_packet`` octets."""

    def __init__(self, max_packet: int = DEFAULT_MAX_PACKET) -> None:
        if not MIN_PACKET <= max_packet <= 0xFFFF:
            raise ProtocolError(
                f"EAP packet size {max_packet} is outside {MIN_PACKET}..65535 octets"
            )
        self._max_packet = max_packet
        self._rest = b""
        self._total = 0
        self._pending = False

    @property
    def pending(self) -> bool:
        """True while fragments of the loaded message remain to be sent."""
        return self._pending

    def load(self, message: bytes) -> None:
        """Queue a whole TLS message; an empty one becomes a single acknowledgement."""
        if self._pending:
            raise ProtocolError("EAP-TLS: a new TLS message was queued before the last one left")
        self._rest = message
        self._total = len(message)
        self._pending = True

    def next_payload(self) -> TlsPayload:
        """The next fragment to send (call once per packet, after the peer's acknowledgement)."""
        if not self._pending:
            raise ProtocolError("EAP-TLS: no fragment is waiting to be sent")
        room = self._max_packet - TLS_HEADER_LEN
        first = len(self._rest) == self._total
        if first and self._total <= room:
            # Fits in one packet: no L, no M (RFC 5216 3.1 only requires L when fragmenting).
            self._pending = False
            return TlsPayload(TlsFlags.NONE, None, self._rest)
        if first:
            chunk, self._rest = self._split(room - TLS_LENGTH_LEN)
            flags = TlsFlags.LENGTH_INCLUDED | TlsFlags.MORE_FRAGMENTS
            return TlsPayload(flags, self._total, chunk)
        chunk, self._rest = self._split(room)
        if self._rest:
            return TlsPayload(TlsFlags.MORE_FRAGMENTS, None, chunk)
        self._pending = False
        return TlsPayload(TlsFlags.NONE, None, chunk)

    def _split(self, size: int) -> tuple[bytes, bytes]:
        return self._rest[:size], self._rest[size:]


class Inbox:
    """Reassembles incoming EAP-TLS fragments into one TLS message, within limits."""

    def __init__(self, max_message: int = DEFAULT_MAX_MESSAGE) -> None:
        self._max_message = max_message
        self._parts: list[bytes] = []
        self._received = 0
        self._announced: int | None = None

    @property
    def reassembling(self) -> bool:
        """True between a fragment with M and the last fragment of that message."""
        return bool(self._parts)

    def feed(self, payload: TlsPayload) -> bytes | None:
        """Add one fragment; the whole message when it is complete, else None (send an ack)."""
        more = bool(payload.flags & TlsFlags.MORE_FRAGMENTS)
        if payload.message_length is not None:
            self._announce(payload.message_length)
        elif more and not self.reassembling:
            raise DecodeError("EAP-TLS first fragment sets M without L (RFC 5216 2.1.5)")
        if more and not payload.data:
            raise DecodeError("EAP-TLS fragment sets M but carries no data")
        self._received += len(payload.data)
        limit = self._announced if self._announced is not None else self._max_message
        if self._received > limit:
            what = "announced TLS Message Length" if self._announced is not None else "cap"
            self._reset()
            raise FrameTooLarge(
                f"EAP-TLS fragments exceed the {what} of {limit} octets (RFC 5216 2.1.5)"
            )
        self._parts.append(payload.data)
        if more:
            return None
        message = b"".join(self._parts)
        announced = self._announced
        self._reset()
        if announced is not None and len(message) != announced:
            raise DecodeError(
                f"EAP-TLS message ended after {len(message)} of {announced} announced octets"
            )
        return message

    def _announce(self, length: int) -> None:
        if self._announced is not None and length != self._announced:
            raise DecodeError(
                f"EAP-TLS fragment announces {length} octets, the first announced {self._announced}"
            )
        if length > self._max_message:
            raise FrameTooLarge(
                f"EAP-TLS message of {length} octets exceeds the cap of {self._max_message}"
            )
        self._announced = length

    def _reset(self) -> None:
        self._parts = []
        self._received = 0
        self._announced = None
