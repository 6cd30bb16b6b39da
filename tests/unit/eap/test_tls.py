"""Peer and Authenticator wired in memory: mutual authentication, keys, framing, options."""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from dynsub_cli.eap.credentials import Credentials
from dynsub_cli.eap.packet import Code, Packet, TlsFlags, Type, decode, encode
from dynsub_cli.eap.tls import Authenticator, Peer, State
from dynsub_cli.errors import AuthenticationError, BadInput, ProtocolError
from tests.unit.eap.certs import IMEI, core_verifier, device_verifier, pki
from tests.unit.eap.harness import engines, run, tls_payloads

M = TlsFlags.MORE_FRAGMENTS
L = TlsFlags.LENGTH_INCLUDED


@pytest.mark.parametrize("max_packet", [64, 1500, 8192])
def test_mutual_authentication_agrees_on_keys(max_packet: int) -> None:
    auth, peer = engines(pki(), max_packet=max_packet)
    trace = run(auth, peer)
    assert auth.done
    assert peer.done
    server, client = auth.result, peer.result
    assert len(server.msk) == len(server.emsk) == 64
    assert hmac.compare_digest(server.msk, client.msk)
    assert hmac.compare_digest(server.emsk, client.emsk)
    assert server.msk != server.emsk
    # TS 33.501 B.2.1.1: KAUSF = the most significant 256 bits of EMSK.
    assert server.kausf == client.kausf == client.emsk[:32]
    assert server.method_id == client.method_id
    assert len(server.method_id) == 64
    assert server.session_id == client.session_id == b"\x0d" + server.method_id
    assert server.tls_version == client.tls_version == "TLSv1.3"
    # Each side holds the chain the other presented, and what its verifier returned.
    assert server.peer_identity == IMEI
    assert server.peer_chain == (pki().device.cert, pki().manufacturer.cert)
    assert client.peer_identity is None
    assert client.peer_chain == (pki().core.cert, pki().operator.cert)
    assert all(len(raw) <= max_packet for _, raw in trace)
    # The exchange ends: server's final flight, peer's empty ack, EAP-Success.
    assert decode(trace[-1][1]).code is Code.SUCCESS
    assert tls_payloads(trace, "peer")[-1].is_ack


def test_forced_fragmentation_uses_l_m_and_acks() -> None:
    trace = run(*engines(pki(), max_packet=64))
    for sender in ("server", "peer"):
        payloads = tls_payloads(trace, sender)
        firsts = [p for p in payloads if p.flags == L | M]
        assert len(firsts) >= 2, sender  # at least two flights were cut
        assert all(p.message_length and p.message_length > 58 for p in firsts)
        assert sum(1 for p in payloads if p.flags == M) > 10
        assert sum(1 for p in payloads if p.is_ack) > 10  # it acknowledged the other's fragments


def test_no_fragmentation_when_everything_fits() -> None:
    trace = run(*engines(pki(), max_packet=8192))
    flags = [p.flags for s in ("server", "peer") for p in tls_payloads(trace, s)]
    assert M not in [f & M for f in flags]
    assert all(not f & L for f in flags)
    # Start, ClientHello, server flight, client flight, 0x00, ack, Success.
    assert len(trace) == 7


def _hkdf_expand_label(secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    info = struct.pack("!HB", length, 6 + len(label)) + b"tls13 " + label
    info += bytes([len(context)]) + context
    return HKDFExpand(hashes.SHA384(), length, info).derive(secret)


def test_keys_match_an_independent_rfc8446_exporter_via_the_keylog() -> None:
    """MSK/EMSK/Method-Id recomputed from the keylog's EXPORTER_SECRET (RFC 8446 7.5)."""
    lines: list[bytes] = []
    auth = Authenticator(
        pki().core_credentials(), device_verifier(pki().anchors), keylog=lines.append
    )
    peer = Peer(pki().device_credentials(), core_verifier(pki().anchors))
    run(auth, peer)
    labels = {line.split()[0] for line in lines}
    assert {b"CLIENT_HANDSHAKE_TRAFFIC_SECRET", b"EXPORTER_SECRET"} <= labels
    assert peer.result.cipher == "TLS_AES_256_GCM_SHA384"  # SHA-384 below
    secret = bytes.fromhex(
        next(line.split()[2] for line in lines if line.startswith(b"EXPORTER_SECRET")).decode()
    )

    def exporter(label: bytes, length: int) -> bytes:
        derived = _hkdf_expand_label(secret, label, hashlib.sha384(b"").digest(), 48)
        return _hkdf_expand_label(derived, b"exporter", hashlib.sha384(b"\x0d").digest(), length)

    material = exporter(b"EXPORTER_EAP_TLS_Key_Material", 128)
    assert peer.result.msk == material[:64]
    assert peer.result.emsk == material[64:]
    assert peer.result.method_id == exporter(b"EXPORTER_EAP_TLS_Method-Id", 64)


def test_keys_never_in_repr() -> None:
    auth, peer = engines(pki())
    run(auth, peer)
    text = repr(auth.result) + repr(peer.result) + repr(pki().device_credentials())
    for secret in (auth.result.msk, auth.result.emsk):
        assert secret.hex() not in text
        assert repr(secret) not in text
    assert "private_key" not in text


def test_identifier_seed_and_wrap() -> None:
    auth = Authenticator(
        pki().core_credentials(), device_verifier(pki().anchors), first_identifier=250
    )
    peer = Peer(pki().device_credentials(), core_verifier(pki().anchors))
    trace = run(auth, peer)
    ids = [decode(raw).identifier for who, raw in trace if who == "server"]
    assert ids[0] == 250
    assert ids[:-1] == [(250 + i) % 256 for i in range(len(ids) - 1)]
    # Every response echoes its request; Success echoes the last response (RFC 3748 4.2).
    for (_, req), (_, resp) in zip(trace[0::2], trace[1::2], strict=False):
        assert decode(req).identifier == decode(resp).identifier
    assert ids[-1] == decode(trace[-2][1]).identifier


def test_identity_round_when_requested() -> None:
    auth = Authenticator(
        pki().core_credentials(), device_verifier(pki().anchors), request_identity=True
    )
    peer = Peer(pki().device_credentials(), core_verifier(pki().anchors), identity=b"@5gc.test")
    trace = run(auth, peer)
    assert decode(trace[0][1]) == Packet(Code.REQUEST, 0, Type.IDENTITY)
    assert auth.eap_identity == b"@5gc.test"
    assert auth.done


def test_retransmitted_request_gets_the_same_response() -> None:
    auth, peer = engines(pki())
    start = auth.start()
    hello = peer.receive(start)
    assert hello is not None
    assert peer.receive(start) == hello  # RFC 3748 4.1: duplicate request, same answer
    assert auth.receive(hello)


def test_peer_naks_other_methods_and_server_fails_on_nak() -> None:
    _, peer = engines(pki())
    md5 = encode(Packet(Code.REQUEST, 3, 4, b"\x10" + bytes(16)))
    nak = peer.receive(md5)
    assert nak is not None
    assert decode(nak) == Packet(Code.RESPONSE, 3, Type.NAK, b"\x0d")
    auth, _ = engines(pki())
    start = decode(auth.start())
    with pytest.raises(AuthenticationError, match="Legacy Nak proposing types \\[4\\]"):
        auth.receive(encode(Packet(Code.RESPONSE, start.identifier, Type.NAK, b"\x04")))
    assert auth.error_response == encode(Packet(Code.FAILURE, start.identifier))


def test_notification_is_answered() -> None:
    _, peer = engines(pki())
    answer = peer.receive(encode(Packet(Code.REQUEST, 8, Type.NOTIFICATION, b"hello")))
    assert answer is not None
    assert decode(answer) == Packet(Code.RESPONSE, 8, Type.NOTIFICATION)


def test_result_before_success_is_our_error() -> None:
    auth, peer = engines(pki())
    auth.start()
    assert auth.state is State.HANDSHAKE
    with pytest.raises(ProtocolError, match="no result yet"):
        _ = auth.result
    with pytest.raises(ProtocolError, match="no result yet"):
        _ = peer.result


def test_credentials_from_pem() -> None:
    issued = pki().device
    pem = serialization.Encoding.PEM
    cert_pem = issued.cert.public_bytes(pem) + pki().manufacturer.cert.public_bytes(pem)
    key_pem = issued.key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    loaded = Credentials.from_pem(cert_pem, key_pem)
    assert loaded.certificate == issued.cert
    assert loaded.chain == (pki().manufacturer.cert,)
    other_key = pki().core.key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(BadInput, match="does not match the certificate"):
        Credentials.from_pem(cert_pem, other_key)
    with pytest.raises(BadInput, match="certificate PEM does not load"):
        Credentials.from_pem(b"not a pem", key_pem)
    with pytest.raises(BadInput, match="private key PEM does not load"):
        Credentials.from_pem(cert_pem, b"garbage")
