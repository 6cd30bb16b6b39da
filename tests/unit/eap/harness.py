"""Wires an Authenticator and a Peer together in memory, keeping every packet for inspection."""

from __future__ import annotations

from typing import TypeVar

from cryptography import x509

from dynsub_cli.eap.packet import Code, TlsPayload, decode, decode_tls
from dynsub_cli.eap.tls import Authenticator, Peer
from tests.unit.eap.certs import Pki, core_verifier, device_verifier

A = TypeVar("A")
P = TypeVar("P")

#: (who sent it, the packet)
Trace = list[tuple[str, bytes]]


def run(auth: Authenticator[A], peer: Peer[P], *, limit: int = 500) -> Trace:
    """Play the exchange to its end; errors propagate to the test."""
    trace: Trace = []
    request = auth.start()
    for _ in range(limit):
        trace.append(("server", request))
        response = peer.receive(request)
        if response is None:
            return trace
        trace.append(("peer", response))
        request = auth.receive(response)
    raise AssertionError(f"the exchange did not end within {limit} round trips")


def until_error(auth: Authenticator[A], peer: Peer[P]) -> tuple[BaseException, bytes]:
    """Play until one side raises; the error and the last packet the other side had sent."""
    request = auth.start()
    while True:
        try:
            response = peer.receive(request)
        except Exception as err:
            return err, request
        assert response is not None, "the exchange succeeded but should have failed"
        try:
            request = auth.receive(response)
        except Exception as err:
            return err, response


def engines(
    pki: Pki,
    *,
    device_anchors: list[x509.Certificate] | None = None,
    core_anchors: list[x509.Certificate] | None = None,
    max_packet: int = 1500,
) -> tuple[Authenticator[str], Peer[None]]:
    """An AUSF trusting ``device_anchors``, a UE trusting ``core_anchors`` (default: the root)."""
    auth = Authenticator(
        pki.core_credentials(),
        device_verifier(device_anchors or pki.anchors),
        max_packet=max_packet,
    )
    peer = Peer(
        pki.device_credentials(),
        core_verifier(core_anchors or pki.anchors),
        max_packet=max_packet,
    )
    return auth, peer


def tls_payloads(trace: Trace, sender: str) -> list[TlsPayload]:
    """The EAP-TLS payloads one side sent, in order."""
    out = []
    for who, raw in trace:
        packet = decode(raw)
        if who == sender and packet.code in (Code.REQUEST, Code.RESPONSE) and packet.type == 13:
            out.append(decode_tls(packet.type_data))
    return out
