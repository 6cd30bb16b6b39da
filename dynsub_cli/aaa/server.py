"""The built-in EAP-TLS server answering RADIUS: dynsub as the DCS of another AMF / NSSAAF.

Theory of operation. A self-contained asyncio UDP endpoint. Each EAP session starts with an
Access-Request without State carrying the EAP-Response/Identity (RFC 3579 2.1); the server
makes an :class:`~dynsub_cli.eap.server.EapServer` for it with the core's factory (the same
trust, CRL and certificate checks as for a UE on NAS), answers Access-Challenge with a fresh
State, and looks the session up by that State afterwards (RFC 2865 5.24):

    Access-Request (Identity)          -> servers(identity, peer).start() -> Access-Challenge
    Access-Request (EAP, State)        -> receive()                       -> Access-Challenge
    ... EAP-Success + result           -> admit(result) (the core's policy) -> Access-Accept
    any refusal or failure             -> EAP-Failure                       -> Access-Reject

Access-Accept carries the MSK in MS-MPPE-Recv-Key (MSK[0:32]) and MS-MPPE-Send-Key
(MSK[32:64]) (RFC 2548 2.4, RFC 5216 2.3), the device certificate and 3GPP-IMEISV as
:mod:`dynsub_cli.aaa.client` reads them, so a dynsub core can use another dynsub as its DCS.
Access-Reject carries the reason in Dynsub-Refusal.

Requests are accepted only from the configured client addresses and only with a
Message-Authenticator that verifies (RFC 3579 3.2; the BlastRADIUS advice); anything else is
dropped silently, as RFC 2865 3 says, and logged. A retransmitted request (same source,
Identifier and Request Authenticator) gets the same reply again (RFC 5080 2.2.2).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import cast

from cryptography.hazmat.primitives.serialization import Encoding

from dynsub_cli.aaa import attributes as a
from dynsub_cli.aaa import packet as radius
from dynsub_cli.aaa.attributes import Type
from dynsub_cli.aaa.packet import Attribute, Code, Packet
from dynsub_cli.eap import packet as eap
from dynsub_cli.eap.server import Authenticated, EapServer, EapServers
from dynsub_cli.errors import DecodeError, DynsubError, SecurityError

#: An EAP session not heard from for this long is forgotten (FreeRADIUS: timer_expire).
SESSION_LIFETIME = 60.0
#: The core's device policy: (the EAP identity claimed, what EAP authenticated); raises.
Admit = Callable[[str, Authenticated], None]
Log = Callable[[str], None]


@dataclass
class _Session:
    server: EapServer
    identity: str
    peer: str
    seen: float
    last: tuple[bytes, bytes] | None = None  # (request key, reply) for retransmissions
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True)
class Accepted:
    """One Access-Accept the server sent: for logs and tests (the keys stay out of repr)."""

    identity: str
    peer: str
    result: Authenticated = field(repr=False)


class RadiusServer(asyncio.DatagramProtocol):
    def __init__(
        self,
        servers: EapServers,
        secret: bytes,
        *,
        clients: Sequence[str] = ("127.0.0.1",),
        admit: Admit = lambda identity, result: None,
        log: Log = lambda line: None,
        accepted: Callable[[Accepted], None] = lambda accepted: None,
    ) -> None:
        """``admit`` applies the core's device policy to the authenticated identity (raising
        its refusal); ``accepted`` is told of every Access-Accept sent."""
        self._servers = servers
        self._secret = secret
        self._clients = frozenset(clients)
        self._admit = admit
        self._log = log
        self._accepted = accepted
        self._sessions: dict[bytes, _Session] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:  # the secret never appears
        return f"RadiusServer(clients={sorted(self._clients)})"

    # --- asyncio ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # create_datagram_endpoint hands a datagram transport, whatever its declared type.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        host, port = str(addr[0]), addr[1]
        if host not in self._clients:
            self._log(f"RADIUS packet from {host}, which is no configured client: dropped")
            return
        task = asyncio.get_running_loop().create_task(self._handle(data, (host, port)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # --- one request ----------------------------------------------------------------------

    async def _handle(self, data: bytes, addr: tuple[str, object]) -> None:
        try:
            request = radius.check_request(data, self._secret)
        except (DecodeError, SecurityError) as err:
            self._log(f"RADIUS packet from {addr[0]}: {err.message}: dropped")
            return
        key = bytes([request.identifier]) + request.authenticator + str(addr).encode()
        reply = await self._reply(request, key, f"{addr[0]}:{addr[1]}")
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)

    async def _reply(self, request: Packet, key: bytes, peer: str) -> bytes | None:
        eap_message = request.joined(Type.EAP_MESSAGE)
        if not eap_message:
            self._log(f"Access-Request from {peer} without EAP-Message: dropped (EAP only)")
            return None
        state = request.get(Type.STATE)
        if state is None:
            return await self._begin(request, eap_message, key, peer)
        session = self._sessions.get(state)
        if session is None:
            return self._reject(request, eap.failure(_identifier(eap_message)), "unknown State")
        async with session.busy:
            if session.last is not None and session.last[0] == key:
                return session.last[1]  # RFC 5080 2.2.2: a retransmission, same answer
            session.seen = time.monotonic()
            reply = await self._continue(session, state, request, eap_message)
            session.last = (key, reply)
            return reply

    async def _begin(self, request: Packet, eap_message: bytes, key: bytes, peer: str) -> bytes:
        self._expire()
        try:
            response = eap.decode(eap_message)
        except DecodeError as err:
            return self._reject(request, eap.failure(0), err.message)
        if response.code is not eap.Code.RESPONSE or response.type != eap.Type.IDENTITY:
            return self._reject(
                request, eap.failure(response.identifier), "the first EAP packet is no Identity"
            )
        identity = response.type_data.decode("utf-8", "replace")
        user_name = request.get(Type.USER_NAME)
        if user_name is not None:
            identity = user_name.decode("utf-8", "replace")
        try:
            server = self._servers(identity, peer)
            first = await server.start()
        except DynsubError as err:
            return self._reject(request, eap.failure(response.identifier), err.message)
        state = secrets.token_bytes(16)
        session = _Session(server, identity, peer, time.monotonic(), (key, b""))
        self._sessions[state] = session
        reply = self._challenge(request, first, state)
        session.last = (key, reply)
        return reply

    async def _continue(
        self, session: _Session, state: bytes, request: Packet, eap_message: bytes
    ) -> bytes:
        try:
            step = await session.server.receive(eap_message)
            if step.result is not None:
                self._admit(session.identity, step.result)
        except DynsubError as err:
            self._sessions.pop(state, None)
            failure = session.server.failure or eap.failure(_identifier(eap_message))
            self._log(f"{session.identity} ({session.peer}): refused: {err.describe()}")
            return self._reject(request, failure, err.message)
        if step.result is None:
            return self._challenge(request, step.packet, state)
        self._sessions.pop(state, None)
        self._accepted(Accepted(session.identity, session.peer, step.result))
        return self._accept(request, step.packet, step.result, session.identity)

    # --- replies --------------------------------------------------------------------------

    def _respond(self, code: Code, request: Packet, attributes: list[Attribute]) -> bytes:
        return radius.encode_response(
            code, request.identifier, request.authenticator, attributes, self._secret
        )

    def _challenge(self, request: Packet, packet: bytes, state: bytes) -> bytes:
        return self._respond(
            Code.ACCESS_CHALLENGE,
            request,
            [*radius.split(Type.EAP_MESSAGE, packet), Attribute(Type.STATE, state)],
        )

    def _reject(self, request: Packet, failure: bytes, reason: str) -> bytes:
        return self._respond(
            Code.ACCESS_REJECT,
            request,
            [
                *radius.split(Type.EAP_MESSAGE, failure),
                Attribute(a.REFUSAL.code, reason.encode()[: radius.MAX_VALUE]),
            ],
        )

    def _accept(
        self, request: Packet, success: bytes, result: Authenticated, identity: str
    ) -> bytes:
        msk = result.msk
        salts = _salts()
        keys = [
            radius.vendor_specific(
                a.VENDOR_MICROSOFT,
                kind,
                radius.hide_key(part, self._secret, request.authenticator, salt),
            )
            for kind, part, salt in (
                (a.MS_MPPE_RECV_KEY, msk[:32], salts[0]),
                (a.MS_MPPE_SEND_KEY, msk[32:64], salts[1]),
            )
        ]
        device = result.identity
        der = device.certificate.public_bytes(Encoding.DER)
        pieces = [der[i : i + 250] for i in range(0, len(der), 250)]
        return self._respond(
            Code.ACCESS_ACCEPT,
            request,
            [
                *radius.split(Type.EAP_MESSAGE, success),
                # RFC 2865 5.1: the Accept may name the user it authenticated.
                Attribute(Type.USER_NAME, identity.encode()[: radius.MAX_VALUE]),
                *keys,
                radius.vendor_specific(a.VENDOR_3GPP, a.IMEISV_3GPP, device.imei.encode()),
                *(Attribute(a.DEVICE_CERTIFICATE.code, piece) for piece in pieces),
            ],
        )

    def _expire(self) -> None:
        now = time.monotonic()
        for state, session in list(self._sessions.items()):
            if now - session.seen > SESSION_LIFETIME:
                del self._sessions[state]


def _salts() -> tuple[bytes, bytes]:
    """RFC 2548 2.4.2: the high bit set, and unique among the attributes of one packet."""
    first = secrets.randbits(15) | 0x8000
    second = first ^ 1
    return first.to_bytes(2, "big"), second.to_bytes(2, "big")


def _identifier(eap_message: bytes) -> int:
    return eap_message[1] if len(eap_message) > 1 else 0


async def serve(
    protocol: RadiusServer, host: str, port: int
) -> tuple[asyncio.DatagramTransport, int]:
    """Bind ``protocol`` on ``host:port`` (0: a free port); returns the transport and port."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: protocol, local_addr=(host, port))
    bound = transport.get_extra_info("sockname")[1]
    return transport, int(bound)
