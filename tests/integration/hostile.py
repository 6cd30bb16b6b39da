"""A hostile UE for the refusal tests: the real UE procedures with one uplink message forged,
corrupted or replayed, and raw bytes on a socket.

``HostileOnboarding``/``HostileRegistration`` are the real procedures; every PDU they send
passes through ``Hooks``: ``rewrite`` may change the message before it is protected (a wrong
key confirmation, a wrong RES*), ``tamper`` the protected PDU itself (a flipped MAC bit, an
earlier PDU sent again). They run over TCP through the real client shell (``ue.client.run``),
so what the UE reports is what `dynsub ue` would report.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from dynsub_cli.errors import DynsubError
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.framing import FrameReader, frame
from dynsub_cli.ue import client
from dynsub_cli.ue.device import Device
from dynsub_cli.ue.onboarding import Onboarding
from dynsub_cli.ue.registration import Registration
from dynsub_cli.ue.state import UeState
from tests.server import RunningCore

Rewrite = Callable[[m.PlainMessage], m.PlainMessage]
#: (the message, its PDU as protected, every PDU sent before) -> the PDU to send instead.
Tamper = Callable[[m.PlainMessage, bytes, list[bytes]], bytes]


@dataclass
class Hooks:
    rewrite: Rewrite = lambda message: message
    tamper: Tamper = lambda message, pdu, earlier: pdu
    sent: list[bytes] = field(default_factory=list)

    def apply(self, message: m.PlainMessage, protect: Callable[[m.PlainMessage], bytes]) -> bytes:
        pdu = self.tamper(message, protect(self.rewrite(message)), list(self.sent))
        self.sent.append(pdu)
        return pdu


class HostileOnboarding(Onboarding):
    def __init__(self, device: Device, hooks: Hooks) -> None:
        super().__init__(device)
        self.hooks = hooks
        self.imei = device.imei  # the IMEI its SUCI names

    def _pdu(self, message: m.PlainMessage, *, new_context: bool = False) -> bytes:
        return self.hooks.apply(
            message, lambda msg: super(HostileOnboarding, self)._pdu(msg, new_context=new_context)
        )


class HostileRegistration(Registration):
    def __init__(self, state: UeState, hooks: Hooks) -> None:
        super().__init__(state)
        self.hooks = hooks

    def _pdu(self, message: m.PlainMessage, *, new_context: bool = False) -> bytes:
        return self.hooks.apply(
            message, lambda msg: super(HostileRegistration, self)._pdu(msg, new_context=new_context)
        )


def run(procedure: Onboarding | Registration, core: RunningCore, name: str) -> DynsubError:
    """Drive ``procedure`` through the real client shell; the UE's error (it must fail)."""
    first = procedure.start()
    try:
        client.run(
            procedure,
            first,
            (core.host, core.port),
            name=name,
            timeout=5.0,
            on_step=lambda step: None,
        )
    except DynsubError as err:
        return err
    raise AssertionError(f"the hostile {name} was not refused")


class RawPeer:
    """A TCP connection that speaks bytes: what no UE procedure would send."""

    def __init__(self, core: RunningCore) -> None:
        self._sock = socket.create_connection((core.host, core.port), timeout=10)
        host, port = self._sock.getsockname()[:2]
        #: How the core names this connection in its log and audit trail.
        self.peer = f"{host}:{port}"
        self._frames = FrameReader()
        self._pending: list[bytes] = []

    def __enter__(self) -> RawPeer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def send_pdu(self, pdu: bytes) -> None:
        self.send(frame(pdu))

    def receive(self) -> bytes:
        """The next whole PDU from the core."""
        while not self._pending:
            data = self._sock.recv(65536)
            if not data:
                raise AssertionError("the core closed the connection")
            self._pending += self._frames.feed(data)
        return self._pending.pop(0)

    def until_closed(self) -> list[bytes]:
        """Every PDU the core still sends, until it closes the connection."""
        out, self._pending = self._pending, []
        while True:
            data = self._sock.recv(65536)
            if not data:
                return out
            out += self._frames.feed(data)
