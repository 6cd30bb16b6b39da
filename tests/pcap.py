"""Test helper: pcap files of in-memory exchanges, written by the project's own pcap writer.

A :class:`TcpCapture` records what crossed one connection (as the in-memory tests wire UE and
core together, without sockets); :func:`pcap_bytes` writes several of them, in order, through
:mod:`dynsub_cli.pcap`, the writer `--pcap` uses, so tshark reads them as it reads a real trace.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from dynsub_cli.pcap import PcapWriter

_LOOPBACK = "127.0.0.1"


class TcpCapture:
    """What crossed one TCP connection between ``client_port`` and ``server_port``."""

    def __init__(self, client_port: int = 50000, server_port: int = 38412) -> None:
        self.client_port = client_port
        self.server_port = server_port
        self.segments: list[tuple[bool, bytes]] = []
        self.closed = False

    def send(self, from_client: bool, payload: bytes) -> None:
        """One TCP segment carrying ``payload`` (PSH/ACK)."""
        self.segments.append((from_client, payload))

    def close(self) -> None:
        """FIN from the client, FIN/ACK from the server, last ACK."""
        self.closed = True

    def to_bytes(self) -> bytes:
        return pcap_bytes(self)

    def write(self, path: Path) -> None:
        path.write_bytes(self.to_bytes())


def pcap_bytes(*connections: TcpCapture) -> bytes:
    """One pcap file holding ``connections`` in the order given."""
    with tempfile.TemporaryDirectory(prefix="dynsub-pcap-") as folder:
        path = Path(folder) / "trace.pcap"
        writer = PcapWriter(path, atomic=False)
        try:
            for capture in connections:
                stream = writer.connection(
                    (_LOOPBACK, capture.client_port), (_LOOPBACK, capture.server_port)
                )
                for from_client, payload in capture.segments:
                    stream.data(from_client, payload)
                if capture.closed:
                    stream.close()
        finally:
            writer.close()
        return path.read_bytes()
