"""The TCP shell around core sessions: framing, timeouts, connection limits, clean shutdown.

One asyncio task per connection feeds whole frames to a session and writes back what it
answers; calls into one session stay sequential. Sessions run on the event loop and hand their
blocking calls (the store) to worker threads, so that one slow store call never stalls the
other connections. On stop the listener closes first, then running sessions get a grace period to
finish: a record is committed in one transaction or not at all, so nothing half-done is lost.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from dynsub_cli.errors import DynsubError, NetworkError, PeerTimeout
from dynsub_cli.nas.framing import FrameReader, frame
from dynsub_cli.pcap import Address, TcpStream

#: Opens the trace of one connection (client, server); dynsub_cli.pcap.PcapWriter.connection.
Tap = Callable[[Address, Address], TcpStream]


@dataclass(frozen=True, slots=True)
class Output:
    """What a session answers to one input: PDUs to send, then whether to close."""

    pdus: tuple[bytes, ...] = ()
    close: bool = False


class Session(Protocol):
    async def receive(self, pdu: bytes) -> Output:
        """Handle one PDU from the UE."""

    async def fail(self, problem: DynsubError) -> Output:
        """The transport failed (timeout, bad frame, connection lost): log, audit, answer."""


@dataclass(frozen=True, slots=True)
class Limits:
    timeout_seconds: float = 10.0
    max_connections: int = 256
    max_frame: int = 65535
    #: A peer that trickles bytes keeps each read under the timeout; this bounds a whole
    #: connection all the same.
    session_seconds: float = 120.0
    shutdown_grace_seconds: float = 5.0
    #: Connections one peer host may hold, so that one host cannot take every slot.
    max_per_peer: int = 64
    #: A new connection must deliver its first whole PDU within this long: a slot is not
    #: held by a peer that connects and says nothing, or trickles its first frame.
    first_pdu_seconds: float = 5.0


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port, for serving processes to share (core.prefork)."""
    try:
        return socket.create_server((host, port), backlog=_BACKLOG)
    except OSError as err:
        raise _cannot_listen(host, port, err) from err


#: Connections the kernel queues for accept(); asyncio's default of 100 is short for a burst
#: of UEs at several serving processes.
_BACKLOG = 1024


def _cannot_listen(host: str, port: int, err: OSError) -> NetworkError:
    if err.errno == errno.EADDRINUSE:
        advice = "is another core running? choose another port with `listen`"
    elif err.errno == errno.EADDRNOTAVAIL:
        advice = f"{host} is not an address of this machine: choose one with `listen`"
    elif err.errno == errno.EACCES:
        advice = f"port {port} needs privileges: choose one above 1023 with `listen`"
    else:
        advice = "choose another address with `listen`"
    return NetworkError(
        f"cannot listen on {host}:{port}: {err.strerror or err} ({advice})", parameter="listen"
    )


class Server:
    def __init__(
        self,
        new_session: Callable[[str], Session],
        *,
        limits: Limits,
        on_refused: Callable[[str, str], None] = lambda peer, why: None,
        busy: bytes | None = None,
        tap: Tap | None = None,
        on_open: Callable[[str], None] = lambda peer: None,
        on_close: Callable[[str], None] = lambda peer: None,
    ) -> None:
        """``busy`` is the PDU a connection beyond ``limits.max_connections`` receives before
        the core closes it (REGISTRATION REJECT #22, from the service). ``tap`` traces the
        bytes of each served connection as read and written (`core serve --pcap`)."""
        self._new_session = new_session
        self._limits = limits
        self._on_refused = on_refused
        self._busy = busy
        self._tap = tap
        self._on_open = on_open  # a served connection starts and ends (core.metrics)
        self._on_close = on_close
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._per_host: collections.Counter[str] = collections.Counter()

    async def start(
        self, host: str, port: int, *, listener: socket.socket | None = None
    ) -> tuple[str, int]:
        """Bind and listen; returns the bound address (port 0 picks a free port). With
        ``listener`` (bound by :func:`bind`, shared by several serving processes), serve
        on it instead."""
        sock = listener if listener is not None else bind(host, port)
        self._server = await asyncio.start_server(self._accept, sock=sock)
        bound = self._server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def serve_until(self, stop: asyncio.Event) -> None:
        await stop.wait()
        await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._tasks:
            _, pending = await asyncio.wait(
                self._tasks, timeout=self._limits.shutdown_grace_seconds
            )
            for task in pending:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*pending, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None:  # asyncio runs every stream callback in a task
            raise RuntimeError("a connection outside an asyncio task")
        name = writer.get_extra_info("peername")
        peer = f"{name[0]}:{name[1]}" if isinstance(name, tuple) else str(name)
        host = str(name[0]) if isinstance(name, tuple) else peer
        refused = None
        if len(self._tasks) >= self._limits.max_connections:
            refused = f"{self._limits.max_connections} connections already open"
        elif self._per_host[host] >= self._limits.max_per_peer:
            refused = f"{host} already holds {self._limits.max_per_peer} connections"
        if refused is not None:
            self._on_refused(peer, refused)
            await self._turn_away(reader, writer)
            return
        self._tasks.add(task)
        self._per_host[host] += 1
        self._on_open(peer)
        stream = self._traced(writer)
        try:
            await self._run(peer, reader, writer, stream)
        except asyncio.CancelledError:
            # close() cut this connection at the end of the grace period. The task ends
            # normally rather than cancelled: asyncio's stream callback (Python 3.11) calls
            # task.exception() on it, which raises on a cancelled task and logs a traceback.
            self._on_refused(peer, "the core stopped before the procedure ended")
        finally:
            self._tasks.discard(task)
            self._per_host[host] -= 1
            if self._per_host[host] <= 0:
                del self._per_host[host]
            self._on_close(peer)
            if stream is not None:
                stream.close()
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _turn_away(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Say why, half-close, and let the UE read it: closing with its request unread would
        # reset the connection and could discard the answer before the UE sees it.
        with contextlib.suppress(OSError, TimeoutError):
            if self._busy is not None:
                writer.write(frame(self._busy))
                await writer.drain()
            writer.write_eof()
            await asyncio.wait_for(reader.read(65536), 1.0)
        writer.close()

    def _traced(self, writer: asyncio.StreamWriter) -> TcpStream | None:
        client, server = writer.get_extra_info("peername"), writer.get_extra_info("sockname")
        if self._tap is None or not isinstance(client, tuple) or not isinstance(server, tuple):
            return None
        return self._tap((str(client[0]), int(client[1])), (str(server[0]), int(server[1])))

    async def _run(
        self,
        peer: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        stream: TcpStream | None = None,
    ) -> None:
        session = self._new_session(peer)
        frames = FrameReader(max_frame=self._limits.max_frame)
        started = time.monotonic()
        deadline = started + self._limits.session_seconds
        first = started + self._limits.first_pdu_seconds
        served = False
        while True:
            try:
                if served:
                    data = await self._read(reader, deadline)
                else:
                    data = await self._read(reader, min(first, deadline), first=True)
                if stream is not None:
                    stream.data(True, data)
                pdus = frames.feed(data)
            except DynsubError as err:
                # A timeout, a closed connection or a bad frame ends the connection; the
                # session records why and may answer (e.g. a 5GMM STATUS) before it closes.
                if isinstance(err, PeerTimeout) and frames.pending:
                    # A stalled peer, not a silent one: say so in the log.
                    err = PeerTimeout(f"{err.message}, {frames.buffered} octets into a frame")
                out = await session.fail(err)
                await self._send(writer, out, stream)
                return
            for pdu in pdus:
                served = True
                out = await session.receive(pdu)
                if not await self._send(writer, out, stream) or out.close:
                    return

    async def _read(
        self, reader: asyncio.StreamReader, deadline: float, *, first: bool = False
    ) -> bytes:
        left = min(self._limits.timeout_seconds, deadline - time.monotonic())
        try:
            if left <= 0:
                raise TimeoutError
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps every read in a
            # task of its own, a tenth of the core's CPU per onboarding.
            async with asyncio.timeout(left):
                data = await reader.read(65536)
        except TimeoutError as err:
            if first:
                raise PeerTimeout(
                    f"no whole PDU within {self._limits.first_pdu_seconds:g} s of connecting"
                ) from err
            if left <= 0:
                raise PeerTimeout(
                    f"the UE did not finish within {self._limits.session_seconds:.0f} s"
                ) from err
            raise PeerTimeout(f"the UE was silent for {left:.1f} s") from err
        except OSError as err:
            raise NetworkError(f"connection lost: {err.strerror or err}") from err
        if not data:
            raise NetworkError("the UE closed the connection")
        return data

    @staticmethod
    async def _send(
        writer: asyncio.StreamWriter, out: Output, stream: TcpStream | None = None
    ) -> bool:
        if not out.pdus:
            return True
        data = b"".join(frame(pdu) for pdu in out.pdus)
        try:
            writer.write(data)
            await writer.drain()
        except OSError:
            return False
        if stream is not None:
            stream.data(False, data)
        return True
