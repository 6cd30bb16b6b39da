"""A tiny pcap writer for tests: one TCP connection on 127.0.0.1, as Wireshark expects it.

The capture has the three-way handshake, then each payload as its own segment in either
direction with correct sequence/acknowledgement numbers and IPv4/TCP checksums, then FIN/ACK
both ways. Link type Ethernet (1), classic pcap format (microsecond timestamps).
:func:`pcap_bytes` puts several connections one after the other in one file. Nothing here is
specific to NAS.
"""

from __future__ import annotations

import struct
from pathlib import Path

LINKTYPE_ETHERNET = 1
_LOOPBACK = bytes((127, 0, 0, 1))
_SYN, _FIN, _PSH, _ACK = 0x02, 0x01, 0x08, 0x10
_START_US = 1_700_000_000 * 1_000_000


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class TcpCapture:
    """Builds a pcap of one TCP connection between ``client_port`` and ``server_port``."""

    def __init__(
        self, client_port: int = 50000, server_port: int = 38412, *, after: TcpCapture | None = None
    ) -> None:
        """``after``: a connection this one follows in time (its packets come later)."""
        self.client_port = client_port
        self.server_port = server_port
        self._records: list[bytes] = []
        self._time_us: int = _START_US if after is None else after._time_us
        self._seq = {True: 1000, False: 5000}  # next sequence number, keyed by from_client
        self._ip_id = 1
        self._segment(True, _SYN, b"", ack=False)
        self._segment(False, _SYN | _ACK, b"")
        self._segment(True, _ACK, b"")

    def send(self, from_client: bool, payload: bytes) -> None:
        """One TCP segment carrying ``payload`` (PSH/ACK)."""
        self._segment(from_client, _PSH | _ACK, payload)

    def close(self) -> None:
        """FIN from the client, FIN/ACK from the server, last ACK."""
        self._segment(True, _FIN | _ACK, b"")
        self._segment(False, _FIN | _ACK, b"")
        self._segment(True, _ACK, b"")

    def _segment(self, from_client: bool, flags: int, payload: bytes, ack: bool = True) -> None:
        src, dst = (
            (self.client_port, self.server_port)
            if from_client
            else (self.server_port, self.client_port)
        )
        seq = self._seq[from_client]
        ack_number = self._seq[not from_client] if ack else 0
        header = struct.pack("!HHIIBBHHH", src, dst, seq, ack_number, 5 << 4, flags, 65535, 0, 0)
        pseudo = _LOOPBACK + _LOOPBACK + struct.pack("!BBH", 0, 6, len(header) + len(payload))
        checksum = _checksum(pseudo + header + payload)
        tcp = header[:16] + struct.pack("!H", checksum) + header[18:] + payload
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), self._ip_id, 0x4000, 64, 6, 0,
            _LOOPBACK, _LOOPBACK,
        )  # fmt: skip
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        frame = b"\x00" * 12 + b"\x08\x00" + ip + tcp  # Ethernet II, type IPv4
        self._seq[from_client] = seq + len(payload) + (1 if flags & (_SYN | _FIN) else 0)
        self._ip_id += 1
        self._time_us += 1000
        seconds, micros = divmod(self._time_us, 1_000_000)
        self._records.append(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)

    def to_bytes(self) -> bytes:
        return pcap_bytes(self)

    def write(self, path: Path) -> None:
        path.write_bytes(self.to_bytes())


def pcap_bytes(*connections: TcpCapture) -> bytes:
    """One pcap file holding ``connections`` in the order given."""
    # Classic pcap global header: magic, version 2.4, UTC offset, accuracy, snaplen, link.
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET)
    return header + b"".join(record for c in connections for record in c._records)
