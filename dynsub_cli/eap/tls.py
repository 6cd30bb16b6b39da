"""EAP-TLS 1.3 engines (RFC 5216, RFC 9190): ``Authenticator`` (EAP server) and ``Peer``.

Theory of operation
-------------------
Both engines are sans-I/O: EAP packets (bytes) go in, EAP packets (bytes) come out; no socket,
file or clock is touched. The ``Authenticator`` is the core's AUSF (TS 33.501 Annex B): the
core calls ``start()`` once and ``receive(response)`` for each EAP-Response, and sends what
comes back in AUTHENTICATION REQUEST / SECURITY MODE COMMAND. The ``Peer`` is the UE: it calls
``receive(request)`` for each EAP-Request/Success/Failure and sends what comes back in
AUTHENTICATION RESPONSE (``None`` after EAP-Success: nothing to send).

Authenticator (server)                          Peer (client)
  state       input             -> output        state       input            -> output
  IDLE        start()           -> Req/TLS Start IDLE        Req/Identity     -> Resp/Identity
  (IDENTITY   Resp/Identity     -> Req/TLS Start)IDLE        Req/TLS Start    -> ClientHello
  HANDSHAKE   Resp/TLS M frag   -> Req/TLS ack   HANDSHAKE   Req/TLS M frag   -> Resp/TLS ack
  HANDSHAKE   ack, frags left   -> next fragment HANDSHAKE   ack, frags left  -> next fragment
  HANDSHAKE   ClientHello       -> server flight HANDSHAKE   server flight    -> client flight
  HANDSHAKE   client flight     -> 0x00 (+tickets)            (server chain verified in between)
              (client chain verified in between)  CONFIRMING  Req/TLS 0x00     -> Resp/TLS ack
  CONFIRMING  Resp/TLS ack      -> EAP-Success   CONFIRMING  EAP-Success      -> None (DONE)

The server's one octet 0x00 of application data is RFC 9190 2.5's protected success
indication: it proves the server finished authenticating the peer. The peer refuses an
EAP-Success that arrives without it.

Certificates: OpenSSL accepts any chain; the decision is the caller's ``verify`` callable,
called with the presented chain (leaf first). The core passes
``lambda chain: dynsub_cli.pki.verify.verify_device(chain, anchors, crls=...)`` (it returns the
``DeviceIdentity`` found in ``Result.peer_identity``); the UE passes
``lambda chain: verify_core(chain, anchors, dns_name=...)``. A verifier refuses by raising
``errors.CertificateRefused``, which reaches the caller unchanged. The server verifies after
the handshake completes (the client has proven its key); the peer verifies while OpenSSL reads
the server's Certificate, so a refusal aborts the handshake with a TLS alert.

Failures: every error is raised (``DecodeError``/``ProtocolError``/``UnexpectedMessage`` for
a peer that breaks EAP, ``AuthenticationError`` for TLS failures and EAP-Failure, the
verifier's ``CertificateRefused``) and leaves the engine FAILED. The packet to send the other
side, if any, is then in ``error_response``: EAP-Failure on the Authenticator (RFC 3748 4.2;
in 5G it rides in AUTHENTICATION REJECT); on the Peer, an EAP-Response carrying the TLS alert
OpenSSL wrote (e.g. after refusing the server's certificate), or ``None``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import Generic, TypeVar

from cryptography import x509

from dynsub_cli.eap import packet as eap
from dynsub_cli.eap.credentials import Credentials
from dynsub_cli.eap.fragments import DEFAULT_MAX_MESSAGE, DEFAULT_MAX_PACKET, Inbox, Outbox
from dynsub_cli.eap.keys import Result, derive
from dynsub_cli.eap.openssl import Keylog, TlsConnection
from dynsub_cli.eap.packet import Code, TlsFlags, TlsPayload, Type
from dynsub_cli.errors import (
    AuthenticationError,
    DecodeError,
    ProtocolError,
    UnexpectedMessage,
)

T = TypeVar("T")
#: Checks the other side's chain (leaf first); returns what it learnt, raises CertificateRefused.
Verifier = Callable[[Sequence[x509.Certificate]], T]

#: RFC 9190 2.5: the protected success indication, one octet of application data.
SUCCESS_INDICATION = b"\x00"
_ACK = TlsPayload(TlsFlags.NONE)


class State(Enum):
    IDLE = "idle"
    IDENTITY = "identity"
    HANDSHAKE = "handshake"
    CONFIRMING = "confirming"
    DONE = "done"
    FAILED = "failed"


class _Engine(Generic[T]):
    """What both roles share: fragment buffers, the TLS connection, state and failure."""

    _role = ""
    _sends: Code

    def __init__(
        self,
        credentials: Credentials,
        verify: Verifier[T],
        *,
        max_packet: int,
        max_message: int,
        keylog: Keylog | None,
    ) -> None:
        self._credentials = credentials
        self._verify = verify
        self._keylog = keylog
        self._outbox = Outbox(max_packet)
        self._inbox = Inbox(max_message)
        self._tls: TlsConnection | None = None
        self._result: Result[T] | None = None
        self._identifier = 0
        self.state = State.IDLE
        #: After an error: the packet to send the other side (see the module docstring).
        self.error_response: bytes | None = None

    @property
    def done(self) -> bool:
        """True once the exchange succeeded and ``result`` is available."""
        return self.state is State.DONE

    @property
    def result(self) -> Result[T]:
        """Keys and the verified peer; only after success."""
        if self._result is None:
            raise ProtocolError(f"EAP-TLS {self._role}: no result yet (state {self.state.value})")
        return self._result

    def _guard(self) -> None:
        if self.state in (State.DONE, State.FAILED):
            raise UnexpectedMessage(
                f"EAP-TLS {self._role}: packet received after the exchange {self.state.value}"
            )

    def _fail(self) -> None:
        self.state = State.FAILED
        self._result = None

    def _connection(self) -> TlsConnection:
        if self._tls is None:
            raise UnexpectedMessage(f"EAP-TLS {self._role}: TLS data before EAP-TLS Start")
        return self._tls

    def _tls_packet(self, payload: TlsPayload) -> bytes:
        return eap.tls_packet(self._sends, self._identifier, payload)

    def _send(self, message: bytes) -> bytes:
        self._outbox.load(message)
        return self._next_fragment()

    def _next_fragment(self) -> bytes:
        return self._tls_packet(self._outbox.next_payload())

    def _take_fragment(self, payload: TlsPayload) -> bytes | None:
        """Sort one incoming EAP-TLS payload: a whole TLS message, or None (answer already
        determined: see ``_answer``)."""
        if payload.flags & TlsFlags.START:
            raise UnexpectedMessage(f"EAP-TLS {self._role}: unexpected S (Start) flag")
        if self._outbox.pending:
            if not payload.is_ack:
                raise UnexpectedMessage(
                    f"EAP-TLS {self._role}: the other side sent data instead of acknowledging "
                    "our fragment (RFC 5216 2.1.5)"
                )
            return None
        if payload.is_ack and not self._inbox.reassembling:
            raise UnexpectedMessage(
                f"EAP-TLS {self._role}: an acknowledgement arrived, but no fragment of ours "
                "was outstanding"
            )
        return self._inbox.feed(payload)

    def _answer(self) -> bytes:
        """The packet for a payload ``_take_fragment`` swallowed: next fragment or an ack."""
        if self._outbox.pending:
            return self._next_fragment()
        return self._tls_packet(_ACK)


class Authenticator(_Engine[T]):
    """The EAP server (the AUSF). ``verify`` decides on the peer's chain after the handshake.

    ``first_identifier`` seeds the EAP Identifier (RFC 3748 4: the server picks it, increments
    per new request). ``request_identity`` starts with EAP-Request/Identity; in 5G the
    identity is the SUCI carried by NAS, so it is off by default.
    """

    _role = "server"
    _sends = Code.REQUEST

    def __init__(
        self,
        credentials: Credentials,
        verify: Verifier[T],
        *,
        first_identifier: int = 0,
        request_identity: bool = False,
        max_packet: int = DEFAULT_MAX_PACKET,
        max_message: int = DEFAULT_MAX_MESSAGE,
        keylog: Keylog | None = None,
        tls12: bool = False,
    ) -> None:
        """``tls12`` also accepts TLS 1.2 (RFC 5216), for the RADIUS server role."""
        super().__init__(
            credentials, verify, max_packet=max_packet, max_message=max_message, keylog=keylog
        )
        self._tls12 = tls12
        if not 0 <= first_identifier <= 0xFF:
            raise ProtocolError(f"EAP Identifier seed {first_identifier} is not one octet")
        self._identifier = (first_identifier - 1) & 0xFF
        self._request_identity = request_identity
        self._pending_result: Result[T] | None = None
        #: The peer's EAP-Response/Identity, if one was requested.
        self.eap_identity: bytes | None = None

    def _tls_packet(self, payload: TlsPayload) -> bytes:
        # RFC 3748 4.1: every new Request carries a new Identifier.
        self._identifier = (self._identifier + 1) & 0xFF
        return super()._tls_packet(payload)

    def _start_tls(self) -> bytes:
        self._tls = TlsConnection(
            self._credentials, server=True, keylog=self._keylog, tls12=self._tls12
        )
        self.state = State.HANDSHAKE
        # RFC 5216 3.1 / RFC 9190 2.1.1: EAP-TLS Start: S set, no data.
        return self._tls_packet(TlsPayload(TlsFlags.START))

    def start(self) -> bytes:
        """The first EAP-Request: EAP-TLS Start (or Identity if ``request_identity``)."""
        if self.state is not State.IDLE:
            raise UnexpectedMessage("EAP-TLS server: start() called twice")
        if self._request_identity:
            self.state = State.IDENTITY
            self._identifier = (self._identifier + 1) & 0xFF
            return eap.encode(eap.Packet(Code.REQUEST, self._identifier, Type.IDENTITY))
        return self._start_tls()

    def receive(self, packet: bytes) -> bytes:
        """Take one EAP-Response; return the next EAP-Request, or EAP-Success at the end."""
        self._guard()
        if self.state is State.IDLE:
            raise UnexpectedMessage("EAP-TLS server: a response arrived before start()")
        try:
            return self._receive(packet)
        except Exception:
            self._fail()
            # RFC 3748 4.2: the Failure carries the Identifier of the response it answers.
            self.error_response = eap.failure(self._identifier)
            raise

    def _receive(self, raw: bytes) -> bytes:
        packet = eap.decode(raw)
        if packet.code is not Code.RESPONSE:
            raise UnexpectedMessage(
                f"EAP-TLS server: received EAP {packet.code.name.title()}, expected a Response"
            )
        if packet.identifier != self._identifier:
            raise UnexpectedMessage(
                f"EAP-TLS server: response Identifier {packet.identifier} does not match "
                f"the outstanding request {self._identifier} (RFC 3748 4.1)"
            )
        if packet.type == Type.NAK:
            raise AuthenticationError(
                "the peer refused EAP-TLS with a Legacy Nak proposing types "
                f"{list(packet.type_data)}; it must support EAP-TLS (type 13)"
            )
        if self.state is State.IDENTITY:
            if packet.type != Type.IDENTITY:
                raise UnexpectedMessage(
                    f"EAP-TLS server: expected Identity, got Type {packet.type}"
                )
            self.eap_identity = packet.type_data
            return self._start_tls()
        if packet.type != Type.TLS:
            raise UnexpectedMessage(f"EAP-TLS server: response of Type {packet.type} mid-exchange")
        payload = eap.decode_tls(packet.type_data)
        if self.state is State.CONFIRMING and not self._outbox.pending and payload.is_ack:
            return self._succeed()
        message = self._take_fragment(payload)
        if message is None:
            return self._answer()
        tls = self._connection()
        tls.feed(message)
        if self.state is State.CONFIRMING:
            # Only an alert can legitimately follow our final flight; receive() raises on it.
            tls.receive()
            raise UnexpectedMessage(
                "EAP-TLS server: the peer sent TLS data instead of acknowledging the "
                "protected success indication (RFC 9190 2.5)"
            )
        if not tls.handshake():
            flight = tls.take()
            if not flight:
                raise ProtocolError("EAP-TLS server: the peer's TLS message ended mid-flight")
            return self._send(flight)
        return self._finish_handshake(tls)

    def _finish_handshake(self, tls: TlsConnection) -> bytes:
        # The client's CertificateVerify and Finished have been checked: it holds the key
        # of the chain it sent. Now the caller decides whether that chain is acceptable.
        chain = tls.peer_chain()
        if not chain:
            raise AuthenticationError("the peer completed TLS without a certificate")
        identity = self._verify(chain)
        self._pending_result = derive(tls, chain, identity)
        if tls.version != "TLSv1.2":
            # RFC 5216 has no success indication: the peer acknowledges our Finished.
            tls.send(SUCCESS_INDICATION)
        self.state = State.CONFIRMING
        return self._send(tls.take())

    def _succeed(self) -> bytes:
        self.state = State.DONE
        self._result = self._pending_result
        # RFC 3748 4.2: Success carries the Identifier of the response it answers.
        return eap.success(self._identifier)


class Peer(_Engine[T]):
    """The EAP peer (the UE). ``verify`` decides on the server's chain during the handshake.

    ``identity`` answers an EAP-Request/Identity if the server sends one (RFC 9190 2.1.7
    recommends an anonymous NAI; the 5G SUCI travels in NAS, not here).
    """

    _role = "peer"
    _sends = Code.RESPONSE

    def __init__(
        self,
        credentials: Credentials,
        verify: Verifier[T],
        *,
        identity: bytes = b"",
        max_packet: int = DEFAULT_MAX_PACKET,
        max_message: int = DEFAULT_MAX_MESSAGE,
        keylog: Keylog | None = None,
    ) -> None:
        super().__init__(
            credentials, verify, max_packet=max_packet, max_message=max_message, keylog=keylog
        )
        self._identity = identity
        self._verified: tuple[T] | None = None
        self._indicated = False
        self._answering = False
        self._last: tuple[bytes, bytes] | None = None

    def receive(self, packet: bytes) -> bytes | None:
        """Take one EAP packet from the server; return the response (None after Success)."""
        self._guard()
        if self._last is not None and packet == self._last[0]:
            # RFC 3748 4.1: a retransmitted request gets the same response again.
            return self._last[1]
        self._answering = False
        try:
            response = self._receive(packet)
        except Exception:
            self._fail()
            self.error_response = self._alert_response()
            raise
        self._last = (packet, response) if response is not None else None
        return response

    def _alert_response(self) -> bytes | None:
        # The alert OpenSSL wrote when it aborted, so the server learns why (RFC 9190 2.1.3).
        if not self._answering or self._tls is None:
            return None
        alert = self._tls.take()
        return self._tls_packet(TlsPayload(TlsFlags.NONE, None, alert)) if alert else None

    def _receive(self, raw: bytes) -> bytes | None:
        packet = eap.decode(raw)
        if packet.code is Code.FAILURE:
            raise AuthenticationError(self._failure_reason())
        if packet.code is Code.SUCCESS:
            self._succeed(packet.identifier)
            return None
        if packet.code is Code.RESPONSE:
            raise UnexpectedMessage("EAP-TLS peer: received an EAP-Response, expected a Request")
        self._identifier = packet.identifier
        self._answering = True
        if packet.type == Type.IDENTITY and self.state is State.IDLE:
            return eap.encode(
                eap.Packet(Code.RESPONSE, packet.identifier, Type.IDENTITY, self._identity)
            )
        if packet.type == Type.NOTIFICATION:
            # RFC 3748 5.2: a Notification is always answered, with an empty Response.
            return eap.encode(eap.Packet(Code.RESPONSE, packet.identifier, Type.NOTIFICATION))
        if packet.type != Type.TLS:
            if self.state is not State.IDLE:
                raise UnexpectedMessage(f"EAP-TLS peer: request of Type {packet.type} mid-exchange")
            # RFC 3748 5.3.1: Legacy Nak naming the only method we accept.
            return eap.encode(
                eap.Packet(Code.RESPONSE, packet.identifier, Type.NAK, bytes([Type.TLS]))
            )
        payload = eap.decode_tls(packet.type_data)
        if payload.flags & TlsFlags.START:
            return self._start(payload)
        if self.state is State.IDLE:
            raise UnexpectedMessage("EAP-TLS peer: TLS data before EAP-TLS Start")
        message = self._take_fragment(payload)
        if message is None:
            return self._answer()
        tls = self._connection()
        tls.feed(message)
        if self.state is State.HANDSHAKE:
            return self._handshake(tls)
        data = tls.receive()
        if data:
            if data != SUCCESS_INDICATION or self._indicated:
                raise ProtocolError(
                    f"EAP-TLS peer: expected the one-octet protected success indication 0x00 "
                    f"(RFC 9190 2.5), got {len(data)} octets of application data"
                )
            self._indicated = True
        # RFC 9190 2.5: the peer answers the server's final flight with an empty EAP-TLS packet.
        return self._tls_packet(_ACK)

    def _start(self, payload: TlsPayload) -> bytes:
        if self.state is not State.IDLE:
            raise UnexpectedMessage("EAP-TLS peer: EAP-TLS Start in the middle of the exchange")
        if payload.data:
            raise DecodeError("EAP-TLS Start carries data; RFC 5216 3.1 says it has none")
        self._tls = TlsConnection(
            self._credentials, server=False, keylog=self._keylog, check_chain=self._check
        )
        self.state = State.HANDSHAKE
        self._tls.handshake()
        return self._send(self._tls.take())

    def _check(self, chain: list[x509.Certificate]) -> None:
        self._verified = (self._verify(chain),)

    def _handshake(self, tls: TlsConnection) -> bytes:
        done = tls.handshake()
        flight = tls.take()
        if not done:
            if not flight:
                raise ProtocolError("EAP-TLS peer: the server's TLS message ended mid-flight")
            return self._send(flight)
        if self._verified is None:
            raise AuthenticationError("the EAP server completed TLS without a certificate")
        if tls.receive():
            # RFC 9190 2.5: application data before the server saw our Finished proves nothing.
            raise ProtocolError(
                "EAP-TLS peer: the server sent application data before our Finished"
            )
        self.state = State.CONFIRMING
        return self._send(flight)

    def _succeed(self, identifier: int) -> None:
        if self.state is not State.CONFIRMING or not self._indicated or self._outbox.pending:
            raise AuthenticationError(
                "EAP-Success arrived before the protected success indication (RFC 9190 2.5); "
                "refusing it: the EAP server did not prove it finished authenticating us"
            )
        if identifier != self._identifier:
            raise UnexpectedMessage(
                f"EAP-TLS peer: EAP-Success Identifier {identifier} does not match our last "
                f"response {self._identifier} (RFC 3748 4.2)"
            )
        if self._tls is None or self._verified is None:  # CONFIRMING implies both; be explicit
            raise ProtocolError("EAP-TLS peer: success without a verified TLS session")
        self._result = derive(self._tls, self._tls.peer_chain(), self._verified[0])
        self.state = State.DONE

    def _failure_reason(self) -> str:
        if self.state is State.CONFIRMING:
            return (
                "the EAP server sent EAP-Failure after our certificate: it refused our "
                "certificate or the TLS handshake"
            )
        return f"the EAP server sent EAP-Failure (state {self.state.value})"
