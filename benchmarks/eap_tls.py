"""EAP-TLS 1.3 exchange in memory vs a bare pyOpenSSL mutual TLS 1.3 handshake.

Run from the repository root: ``python -m benchmarks.eap_tls [--rounds 5] [--n 100]``.
Both sides do the same work per exchange: build the two OpenSSL contexts, run the mutual
handshake over memory BIOs, verify each side's chain with the same ``cryptography`` verifiers,
export the RFC 9190 keys on both sides, and carry the 0x00 success indication. The difference
is the EAP framing, fragmentation, acknowledgements and state machines. Target: <= 1.25x.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from collections.abc import Callable

from OpenSSL import SSL

from benchmarks._tls import context as tls_context
from dynsub_cli.eap.tls import Authenticator, Peer
from tests.unit.eap.certs import Pki, core_verifier, device_verifier, pki
from tests.unit.eap.harness import run

LABEL_KEYS = b"EXPORTER_EAP_TLS_Key_Material"
LABEL_ID = b"EXPORTER_EAP_TLS_Method-Id"


def _context(p: Pki, *, server: bool) -> SSL.Context:
    return tls_context(p.core_credentials() if server else p.device_credentials())


def _drain(conn: SSL.Connection) -> bytes:
    out = b""
    while True:
        try:
            chunk = conn.bio_read(16384)
        except SSL.WantReadError:
            return out
        if not chunk:
            return out
        out += chunk


def bare_exchange(p: Pki) -> bytes:
    """One bare mutual TLS 1.3 handshake with the same verification and key export."""
    verify_device, verify_core = device_verifier(p.anchors), core_verifier(p.anchors)
    server = SSL.Connection(_context(p, server=True))
    server.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *_: True)
    server.set_accept_state()
    checked: list[bool] = []

    def client_check(conn: SSL.Connection, *_: object) -> bool:
        if not checked:
            verify_core(conn.get_peer_cert_chain(as_cryptography=True) or [])
            checked.append(True)
        return True

    client = SSL.Connection(_context(p, server=False))
    client.set_verify(SSL.VERIFY_PEER, client_check)
    client.set_connect_state()
    for conn in (client, server, client):
        with contextlib.suppress(SSL.WantReadError):
            conn.do_handshake()
        (server if conn is client else client).bio_write(_drain(conn))
    server.do_handshake()
    leaf = server.get_peer_certificate(as_cryptography=True)
    assert leaf is not None
    verify_device([leaf, *(server.get_peer_cert_chain(as_cryptography=True) or [])])
    server.send(b"\x00")
    client.bio_write(_drain(server))
    assert client.recv(16) == b"\x00"
    keys = b""
    for conn in (server, client):
        keys = conn.export_keying_material(LABEL_KEYS, 128, b"\x0d")
        conn.export_keying_material(LABEL_ID, 64, b"\x0d")
    return keys


def eap_exchange(p: Pki, max_packet: int) -> bytes:
    auth = Authenticator(p.core_credentials(), device_verifier(p.anchors), max_packet=max_packet)
    peer = Peer(p.device_credentials(), core_verifier(p.anchors), max_packet=max_packet)
    run(auth, peer)
    return peer.result.msk


def _time(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=100, help="exchanges per round and variant")
    args = parser.parse_args()
    p = pki()
    variants: dict[str, Callable[[], object]] = {
        "bare pyOpenSSL mutual TLS 1.3": lambda: bare_exchange(p),
        "EAP-TLS, 1500-octet packets": lambda: eap_exchange(p, 1500),
        "EAP-TLS, 64-octet packets": lambda: eap_exchange(p, 64),
    }
    for fn in variants.values():  # warm up caches and imports
        fn()
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):  # interleaved rounds, so drift hits every variant alike
        for name, fn in variants.items():
            samples[name].append(_time(fn, args.n))
    base = statistics.median(samples["bare pyOpenSSL mutual TLS 1.3"])
    print(f"{args.rounds} rounds x {args.n} exchanges, median per exchange:")
    for name, times in samples.items():
        median = statistics.median(times)
        print(f"  {name:32s} {median * 1e3:7.3f} ms   ratio {median / base:5.2f}x")


if __name__ == "__main__":
    main()
