"""A pcap writer for TCP connections seen from one end: what `--pcap` writes.

The tool knows the bytes it sent and received on each connection, not the packets the kernel
made of them, so each write and each read becomes one TCP segment of its own, wrapped in
Ethernet, IPv4 (or IPv6) and TCP headers with the connection's real addresses and ports. The
sequence and acknowledgement numbers run as TCP's would, each connection opens with a
three-way handshake and ends with FIN both ways, and the checksums are right, so Wireshark
follows the stream and reassembles what spans segments exactly as in a live capture.

Classic pcap (microsecond timestamps, link type Ethernet, as ``tshark -i lo`` writes on Linux).
One writer serves many connections from many threads. Nothing here knows NAS.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import struct
import tempfile
import threading
import time
from pathlib import Path
from typing import BinaryIO

from dynsub_cli.errors import FileError
from dynsub_cli.files import SECRET_MODE, fsync_dir

LINKTYPE_ETHERNET = 1
#: What one segment carries at most: an IPv4 total length is 16 bits.
MAX_SEGMENT = 65000
_SNAPLEN = 262144
_SYN, _FIN, _PSH, _ACK = 0x02, 0x01, 0x08, 0x10

Address = tuple[str, int]


def _checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class PcapWriter:
    """A pcap file written as packets come, mode 0600 from the first byte.

    With ``atomic`` the packets go to a temporary file beside ``path`` that replaces it on
    :meth:`close`, so the file appears whole or not at all (for traces that hold secrets).
    Without it every packet is flushed as it is written, so the trace of a running core can be
    read while it runs.
    """

    def __init__(self, path: Path, *, atomic: bool) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._ip_id = 1
        self._final: Path | None = None
        try:
            if atomic:
                fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
                self._final, target = path, Path(name)
            else:
                fd = os.open(
                    path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, SECRET_MODE
                )
                target = path
            os.fchmod(fd, SECRET_MODE)  # an existing file keeps its mode on O_TRUNC
        except OSError as err:
            raise FileError(f"{path}: cannot write the trace: {err.strerror}") from err
        self._tmp = target
        self._out: BinaryIO = os.fdopen(fd, "wb")
        # Classic pcap global header: magic, version 2.4, UTC offset, accuracy, snaplen, link.
        self._write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, _SNAPLEN, LINKTYPE_ETHERNET))

    def connection(self, client: Address, server: Address) -> TcpStream:
        """A new TCP connection from ``client`` to ``server``; its handshake is written now."""
        return TcpStream(self, client, server)

    def close(self) -> None:
        with self._lock:
            if self._out.closed:
                return
            try:
                self._out.flush()
                os.fsync(self._out.fileno())
                self._out.close()
                if self._final is not None:
                    os.replace(self._tmp, self._final)
                    fsync_dir(self._final.parent)
            except OSError as err:
                raise FileError(f"{self.path}: cannot write the trace: {err.strerror}") from err

    def discard(self) -> None:
        """Close without keeping a file that was to appear atomically."""
        with self._lock:
            self._out.close()
            if self._final is not None:
                with contextlib.suppress(FileNotFoundError):
                    self._tmp.unlink()

    def _write(self, data: bytes) -> None:
        try:
            self._out.write(data)
            if self._final is None:
                self._out.flush()
        except OSError as err:
            raise FileError(f"{self.path}: cannot write the trace: {err.strerror}") from err

    def _packet(self, frame: bytes) -> None:
        """One record; called with the lock held, so timestamps never go backwards."""
        seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
        self._write(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)


class TcpStream:
    """One TCP connection of a :class:`PcapWriter`, from the side that knows its payloads."""

    def __init__(self, writer: PcapWriter, client: Address, server: Address) -> None:
        self._writer = writer
        self._ends = {True: client, False: server}  # keyed by from_client
        self._ips = {
            side: ipaddress.ip_address(address[0]).packed for side, address in self._ends.items()
        }
        if len(self._ips[True]) != len(self._ips[False]):
            raise FileError(f"{client} and {server} are not of one IP version: cannot trace")
        self._seq = {True: secrets.randbits(32), False: secrets.randbits(32)}
        self._closed = False
        with writer._lock:
            self._segment(True, _SYN, b"", ack=False)
            self._segment(False, _SYN | _ACK, b"")
            self._segment(True, _ACK, b"")

    def data(self, from_client: bool, payload: bytes) -> None:
        """``payload`` as one segment (split only where one would not fit)."""
        with self._writer._lock:
            for start in range(0, len(payload), MAX_SEGMENT):
                self._segment(from_client, _PSH | _ACK, payload[start : start + MAX_SEGMENT])

    def close(self) -> None:
        """FIN from the client, FIN/ACK from the server, the last ACK."""
        with self._writer._lock:
            if self._closed:
                return
            self._closed = True
            self._segment(True, _FIN | _ACK, b"")
            self._segment(False, _FIN | _ACK, b"")
            self._segment(True, _ACK, b"")

    def _segment(self, from_client: bool, flags: int, payload: bytes, ack: bool = True) -> None:
        src, dst = self._ips[from_client], self._ips[not from_client]
        sport, dport = self._ends[from_client][1], self._ends[not from_client][1]
        seq = self._seq[from_client]
        ack_number = self._seq[not from_client] if ack else 0
        header = struct.pack(
            "!HHIIBBHHH", sport, dport, seq, ack_number, 5 << 4, flags, 65535, 0, 0
        )
        length = len(header) + len(payload)
        if len(src) == 4:
            pseudo = src + dst + struct.pack("!BBH", 0, 6, length)
        else:
            pseudo = src + dst + struct.pack("!I3xB", length, 6)
        checksum = _checksum(pseudo + header + payload)
        tcp = header[:16] + struct.pack("!H", checksum) + header[18:] + payload
        if len(src) == 4:
            ip = struct.pack(
                "!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), self._writer._ip_id & 0xFFFF, 0x4000,
                64, 6, 0, src, dst,
            )  # fmt: skip
            ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
            ethertype = b"\x08\x00"
        else:
            ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, src, dst)
            ethertype = b"\x86\xdd"
        self._writer._ip_id += 1
        self._seq[from_client] = (
            seq + len(payload) + (1 if flags & (_SYN | _FIN) else 0)
        ) & 0xFFFFFFFF
        self._writer._packet(b"\x00" * 12 + ethertype + ip + tcp)
