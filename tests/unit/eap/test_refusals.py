"""Refusals: untrusted certificates on either side, a missing success indication,
out-of-order and oversize packets. Each failure must surface with its reason and the packet
to send (``error_response``).

The certificate cases are tables of (mutation, expected reason) against the stand-in verifiers
of certs.py; the per-rule refusals of ``dynsub_cli.pki.verify``, with certificates from
``dynsub pki``, are in test_with_pki.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID
from OpenSSL import SSL

from dynsub_cli.eap.credentials import Credentials
from dynsub_cli.eap.packet import (
    Code,
    Packet,
    TlsFlags,
    TlsPayload,
    Type,
    decode,
    decode_tls,
    encode,
    failure,
    success,
    tls_packet,
)
from dynsub_cli.eap.tls import Authenticator, Peer, State
from dynsub_cli.errors import (
    AuthenticationError,
    CertificateRefused,
    DecodeError,
    FrameTooLarge,
    UnexpectedMessage,
)
from tests.unit.eap.certs import Pki, core, core_verifier, device, device_verifier, pki
from tests.unit.eap.harness import until_error

PAST = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def _rogue_device(p: Pki) -> Credentials:
    return pki("rogue").device_credentials()


def _expired_device(p: Pki) -> Credentials:
    return p.device_credentials(device(p.manufacturer, not_after=PAST))


def _server_eku_device(p: Pki) -> Credentials:
    return p.device_credentials(device(p.manufacturer, eku=ExtendedKeyUsageOID.SERVER_AUTH))


DEVICE_REFUSALS = [
    pytest.param(_rogue_device, "candidates exhausted", id="untrusted-issuer"),
    pytest.param(_expired_device, "not valid at validation time", id="expired"),
    pytest.param(_server_eku_device, "required EKU not found", id="wrong-eku"),
]


def _rogue_core(p: Pki) -> Credentials:
    return pki("rogue").core_credentials()


def _wrong_name_core(p: Pki) -> Credentials:
    return p.core_credentials(core(p.operator, san=x509.DNSName("ausf.evil.example")))


def _device_as_core(p: Pki) -> Credentials:
    return p.device_credentials()


CORE_REFUSALS = [
    pytest.param(_rogue_core, "candidates exhausted", id="untrusted-issuer"),
    pytest.param(_wrong_name_core, "no matching subjectAltName", id="wrong-dns-name"),
    pytest.param(_device_as_core, "no matching subjectAltName", id="device-cert-as-core"),
]


@pytest.mark.parametrize(("mutate", "reason"), DEVICE_REFUSALS)
def test_server_refuses_device_with_failure_and_reason(
    mutate: Callable[[Pki], Credentials], reason: str
) -> None:
    p = pki()
    auth = Authenticator(p.core_credentials(), device_verifier(p.anchors))
    peer = Peer(mutate(p), core_verifier(p.anchors))
    err, last = until_error(auth, peer)
    assert isinstance(err, CertificateRefused)
    assert any(reason in r for r in err.reasons)
    assert auth.state is State.FAILED
    assert not auth.done
    # The EAP-Failure to send answers the peer's last response (RFC 3748 4.2).
    assert auth.error_response is not None
    assert auth.error_response == failure(decode(last).identifier)
    with pytest.raises(AuthenticationError, match="refused our certificate"):
        peer.receive(auth.error_response)
    assert peer.error_response is None  # nothing answers an EAP-Failure
    with pytest.raises(UnexpectedMessage, match="after the exchange failed"):
        auth.receive(last)


@pytest.mark.parametrize(("mutate", "reason"), CORE_REFUSALS)
def test_peer_refuses_server_with_alert_and_reason(
    mutate: Callable[[Pki], Credentials], reason: str
) -> None:
    p = pki()
    auth = Authenticator(mutate(p), device_verifier(p.anchors))
    peer = Peer(p.device_credentials(), core_verifier(p.anchors))
    err, _ = until_error(auth, peer)
    assert isinstance(err, CertificateRefused)
    assert any(reason in r for r in err.reasons)
    assert peer.state is State.FAILED
    # The peer's answer carries the TLS alert OpenSSL wrote, and not our certificate.
    assert peer.error_response is not None
    alert = decode(peer.error_response)
    assert (alert.code, alert.type) == (Code.RESPONSE, Type.TLS)
    records = decode_tls(alert.type_data).data
    assert records[0] == 0x15  # TLS ContentType alert
    assert p.device.cert.public_bytes(Encoding.DER) not in records
    # The server learns that the peer refused it, and answers with EAP-Failure.
    with pytest.raises(AuthenticationError, match="alert from the peer"):
        auth.receive(peer.error_response)
    assert auth.error_response == failure(alert.identifier)


def _started() -> tuple[Authenticator[str], Peer[None], bytes]:
    auth = Authenticator(pki().core_credentials(), device_verifier(pki().anchors))
    peer = Peer(pki().device_credentials(), core_verifier(pki().anchors))
    return auth, peer, auth.start()


def _drive_to_final_flight(auth: Authenticator[str], peer: Peer[None], request: bytes) -> bytes:
    """From the server's ``request``, run until the server has just produced the packet
    carrying 0x00 (not delivered); return the peer's last response."""
    while True:
        response = peer.receive(request)
        assert response is not None
        request = auth.receive(response)
        if auth.state is State.CONFIRMING:
            return response


def test_peer_refuses_success_without_protected_indication() -> None:
    auth, peer, start = _started()
    last = _drive_to_final_flight(auth, peer, start)
    assert peer.state is State.CONFIRMING
    # An impostor (or a broken server) skips the 0x00 and sends EAP-Success straight away.
    with pytest.raises(AuthenticationError, match="protected success indication"):
        peer.receive(success(decode(last).identifier))
    assert not peer.done


def test_peer_refuses_early_success() -> None:
    auth, peer = (
        Authenticator(pki().core_credentials(), device_verifier(pki().anchors)),
        Peer(pki().device_credentials(), core_verifier(pki().anchors)),
    )
    hello = peer.receive(auth.start())
    assert hello is not None
    with pytest.raises(AuthenticationError, match="protected success indication"):
        peer.receive(success(decode(hello).identifier))


def test_peer_surfaces_failure() -> None:
    peer = Peer(pki().device_credentials(), core_verifier(pki().anchors))
    with pytest.raises(AuthenticationError, match="sent EAP-Failure"):
        peer.receive(failure(0))
    assert peer.error_response is None


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda i: tls_packet(Code.REQUEST, i, TlsPayload(TlsFlags.NONE)), "expected a Response"),
        (
            lambda i: tls_packet(Code.RESPONSE, i + 1, TlsPayload(TlsFlags.NONE, None, b"x")),
            "does not match the outstanding request",
        ),
        (
            lambda i: tls_packet(Code.RESPONSE, i, TlsPayload(TlsFlags.NONE)),
            "no fragment of ours was outstanding",
        ),
        (lambda i: success(i), "expected a Response"),
        (lambda i: encode(Packet(Code.RESPONSE, i, Type.IDENTITY, b"x")), "mid-exchange"),
        (lambda i: tls_packet(Code.RESPONSE, i, TlsPayload(TlsFlags.START)), "S \\(Start\\)"),
    ],
)
def test_server_refuses_out_of_order(make: Callable[[int], bytes], match: str) -> None:
    auth, _, start = _started()
    identifier = decode(start).identifier
    with pytest.raises(UnexpectedMessage if "S (" not in match else Exception, match=match):
        auth.receive(make(identifier))
    assert auth.state is State.FAILED
    assert auth.error_response == failure(identifier)


def test_server_refuses_before_start_and_twice() -> None:
    auth = Authenticator(pki().core_credentials(), device_verifier(pki().anchors))
    with pytest.raises(UnexpectedMessage, match="before start"):
        auth.receive(tls_packet(Code.RESPONSE, 0, TlsPayload(TlsFlags.NONE)))
    auth.start()
    with pytest.raises(UnexpectedMessage, match="called twice"):
        auth.start()


def test_server_refuses_stale_response() -> None:
    auth, peer, start = _started()
    hello = peer.receive(start)
    assert hello is not None
    auth.receive(hello)
    with pytest.raises(UnexpectedMessage, match="does not match the outstanding request"):
        auth.receive(hello)  # a replayed ClientHello carries the old Identifier


def test_peer_refuses_out_of_order() -> None:
    data = tls_packet(Code.REQUEST, 1, TlsPayload(TlsFlags.NONE, None, b"\x16\x03\x03"))
    with pytest.raises(UnexpectedMessage, match="before EAP-TLS Start"):
        _started()[1].receive(data)
    _, peer, start = _started()
    peer.receive(start)
    restart = tls_packet(Code.REQUEST, decode(start).identifier + 1, TlsPayload(TlsFlags.START))
    with pytest.raises(UnexpectedMessage, match="Start in the middle"):
        peer.receive(restart)
    with pytest.raises(UnexpectedMessage, match="after the exchange failed"):
        peer.receive(start)
    with pytest.raises(UnexpectedMessage, match="expected a Request"):
        _started()[1].receive(tls_packet(Code.RESPONSE, 1, TlsPayload(TlsFlags.START)))
    with pytest.raises(DecodeError, match="Start carries data"):
        _started()[1].receive(tls_packet(Code.REQUEST, 1, TlsPayload(TlsFlags.START, None, b"x")))


def test_oversize_reassembly_refused_by_the_server() -> None:
    auth = Authenticator(pki().core_credentials(), device_verifier(pki().anchors), max_message=1024)
    peer = Peer(pki().device_credentials(), core_verifier(pki().anchors), max_packet=64)
    hello = peer.receive(auth.start())  # the ClientHello is well over 1024 octets
    assert hello is not None
    assert decode_tls(decode(hello).type_data).flags & TlsFlags.LENGTH_INCLUDED
    with pytest.raises(FrameTooLarge, match="exceeds the cap of 1024"):
        auth.receive(hello)
    assert auth.error_response == failure(decode(hello).identifier)


def test_oversize_announcement_refused_by_the_peer() -> None:
    _, peer, start = _started()
    hello = peer.receive(start)
    assert hello is not None
    huge = TlsPayload(TlsFlags.LENGTH_INCLUDED | TlsFlags.MORE_FRAGMENTS, 2**32 - 1, b"\x16")
    with pytest.raises(FrameTooLarge, match="exceeds the cap of 65536"):
        peer.receive(tls_packet(Code.REQUEST, decode(hello).identifier + 1, huge))


def _drain(conn: SSL.Connection) -> bytes:
    try:
        return conn.bio_read(65536)
    except SSL.WantReadError:
        return b""


def test_server_refuses_a_peer_without_certificate() -> None:
    """RFC 5216 2.1: mutual authentication; a bare TLS client with no certificate is refused."""
    auth = Authenticator(pki().core_credentials(), device_verifier(pki().anchors), max_packet=8192)
    context = SSL.Context(SSL.TLS_METHOD)
    context.set_min_proto_version(SSL.TLS1_3_VERSION)
    client = SSL.Connection(context)
    client.set_verify(SSL.VERIFY_NONE)
    client.set_connect_state()
    request = auth.start()

    def client_step(request: bytes) -> bytes:
        records = decode_tls(decode(request).type_data).data
        if records:  # the Start carries none
            client.bio_write(records)
        with contextlib.suppress(SSL.WantReadError):
            client.do_handshake()
        payload = TlsPayload(TlsFlags.NONE, None, _drain(client))
        return tls_packet(Code.RESPONSE, decode(request).identifier, payload)

    server_flight = auth.receive(client_step(request))  # ClientHello -> server flight
    without_certificate = client_step(server_flight)  # empty Certificate, Finished
    with pytest.raises(AuthenticationError, match="sent no certificate"):
        auth.receive(without_certificate)
    assert auth.error_response is not None
    assert decode(auth.error_response).code is Code.FAILURE
