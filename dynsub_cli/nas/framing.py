"""NAS PDUs over a TCP byte stream: each PDU preceded by its length in 2 octets, big-endian.

This is the framing TS 24.502 9.4 gives NAS messages over the TCP connection between a UE and
an N3IWF ("NAS message length" + "NAS message"), and the one Wireshark's nas-5gs dissector
reassembles when a TCP port is decoded as nas-5gs. Sans-I/O: :class:`FrameReader` takes the
bytes a socket produced, in whatever pieces, and returns whole PDUs.
"""

from __future__ import annotations

from dynsub_cli.errors import BadInput, EncodeError, FrameTooLarge

#: The largest PDU a 2-octet length can announce.
MAX_FRAME = 0xFFFF
_HEADER = 2


def frame(pdu: bytes) -> bytes:
    """``pdu`` with its 2-octet length in front; a PDU is 1 to 65535 octets."""
    if not 1 <= len(pdu) <= MAX_FRAME:
        raise EncodeError(f"a NAS PDU of {len(pdu)} octets cannot be framed (1-{MAX_FRAME})")
    return len(pdu).to_bytes(2, "big") + pdu


class FrameReader:
    """Incremental reader of length-prefixed PDUs.

    ``feed`` returns the PDUs completed by the new bytes (possibly none, possibly several).
    A zero length or one above ``max_frame`` raises :class:`~dynsub_cli.errors.FrameTooLarge`;
    the stream cannot be resynchronised after that, so every later ``feed`` raises it again.
    ``pending`` tells whether a PDU has begun but not ended: at EOF or on a timeout that is a
    truncated stream, not a clean close.
    """

    __slots__ = ("_buffer", "_error", "max_frame")

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        if not 1 <= max_frame <= MAX_FRAME:
            raise BadInput(f"NAS framing: max_frame {max_frame} is outside 1-{MAX_FRAME}")
        self.max_frame = max_frame
        self._buffer = bytearray()
        self._error: FrameTooLarge | None = None

    @property
    def pending(self) -> bool:
        """True when bytes of an incomplete frame (header or body) are buffered."""
        return bool(self._buffer)

    @property
    def buffered(self) -> int:
        """How many octets of the incomplete frame are buffered."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data`` from the stream; return every PDU it completes, in order."""
        if self._error is not None:
            raise FrameTooLarge(self._error.message)
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        pos = 0
        available = len(buffer)
        while available - pos >= _HEADER:
            length = buffer[pos] << 8 | buffer[pos + 1]
            if length == 0 or length > self.max_frame:
                self._error = FrameTooLarge(
                    f"NAS framing: a frame announces {length} octets"
                    f" (accepted: 1-{self.max_frame}); the stream cannot be read further"
                )
                del buffer[:]
                raise self._error
            end = pos + _HEADER + length
            if end > available:
                break
            frames.append(bytes(buffer[pos + _HEADER : end]))
            pos = end
        if pos:
            del buffer[:pos]
        return frames
