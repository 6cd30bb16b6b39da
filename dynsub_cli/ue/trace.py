"""`--pcap` of the UE commands: the session as it crossed the wire, and in plaintext.

Two pcap files, one TCP connection per procedure in each (dynsub_cli.pcap):

- FILE, the exact bytes: every write and read of the socket as one segment, with the
  connection's real addresses and ports, as a live capture on that port shows them;
- the plaintext trace beside it (``trace.pcap`` -> ``trace.plain.pcap``): the same PDUs, one
  per segment, where every ciphered PDU keeps its security header (type, MAC, sequence number)
  but carries its plaintext in place of the ciphertext. 128-NEA2 is a stream cipher (AES-CTR,
  TS 33.501 D.2), so the lengths are those of the wire. Wireshark reads such a PDU as a NEA0
  one with ``-o nas-5gs.null_decipher:TRUE``: security mode and the dialogue then read in full.

The plaintext holds the generated subscription (OPc among it): like the TLS key log it is a
secret, so both files are 0600 and appear whole when the command ends.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from dynsub_cli.nas.framing import frame
from dynsub_cli.pcap import PcapWriter, TcpStream

#: TS 24.501 9.3.1: the security header types whose message is ciphered.
_CIPHERED = (2, 4)
#: Security header: EPD, security header type, MAC (4), sequence number (1).
_HEADER = 7


def plain_path(path: Path) -> Path:
    """Where the plaintext trace of ``path`` goes: ``x.pcap`` -> ``x.plain.pcap``."""
    return path.with_name(f"{path.stem}.plain{path.suffix or '.pcap'}")


class Trace:
    """Both pcap files of a UE command; connections from any thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.plain_path = plain_path(path)
        self._wire = PcapWriter(path, atomic=True)
        try:
            self._plain = PcapWriter(self.plain_path, atomic=True)
        except BaseException:
            self._wire.discard()
            raise

    def connection(self, sock: socket.socket) -> Connection:
        client, server = sock.getsockname()[:2], sock.getpeername()[:2]
        return Connection(
            self._wire.connection(client, server), self._plain.connection(client, server)
        )

    def close(self) -> None:
        self._wire.close()
        self._plain.close()


@contextlib.contextmanager
def opened(path: Path | None) -> Iterator[Trace | None]:
    """A trace for the block, written whole at its end (also when the procedure failed: the
    trace of a failure is the one worth reading); none without ``path``."""
    if path is None:
        yield None
        return
    trace = Trace(path)
    try:
        yield trace
    finally:
        trace.close()


class Connection:
    """One procedure's connection in both files."""

    def __init__(self, wire: TcpStream, plain: TcpStream) -> None:
        self._wire = wire
        self._plain = plain
        self._plaintexts: dict[bytes, bytes] = {}
        self._lock = threading.Lock()

    def plaintext(self, protected: bytes, plain: bytes) -> None:
        """The procedure's hook (ue.procedure.Procedure.on_plaintext)."""
        with self._lock:
            self._plaintexts[protected] = plain

    def sent(self, pdus: Sequence[bytes], data: bytes) -> None:
        """``data`` (the framed ``pdus``) was written to the socket."""
        self._wire.data(True, data)
        for pdu in pdus:
            self._plain.data(True, frame(self._opened(pdu)))

    def read(self, data: bytes) -> None:
        """``data`` came from the socket, as it came."""
        self._wire.data(False, data)

    def received(self, pdu: bytes) -> None:
        """A whole PDU from the network, after the procedure has handled it."""
        self._plain.data(False, frame(self._opened(pdu)))

    def close(self) -> None:
        self._wire.close()
        self._plain.close()

    def _opened(self, pdu: bytes) -> bytes:
        with self._lock:
            plain = self._plaintexts.pop(pdu, None)
        if plain is None or len(pdu) < _HEADER or (pdu[1] & 0x0F) not in _CIPHERED:
            return pdu  # plain, or integrity protected only: Wireshark reads it as it is
        if len(plain) != len(pdu) - _HEADER:
            return pdu  # not a stream cipher's output: keep the wire's bytes
        return pdu[:_HEADER] + plain
