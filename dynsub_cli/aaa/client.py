"""The core as a RADIUS client: EAP relayed to an AAA server (RFC 3579), behind ``EapServer``.

Theory of operation. The core plays the NAS (in 5G: the AUSF through the NSSAAF, TS 33.501
I.2.2.2.2, TS 29.561 clause 21) and the AAA server is the Default Credentials Server that
checks the factory certificate. One :class:`RadiusClient` per core owns one UDP socket and the
256 RADIUS Identifiers on it; each onboarding gets a :class:`RadiusEapServer` from
:meth:`RadiusClient.servers`:

    start()           -> Access-Request (EAP-Response/Identity on the UE's behalf, RFC 3579 2.1)
                      <- Access-Challenge (EAP-Request/TLS Start)       -> to the UE
    receive(response) -> Access-Request (EAP-Message split by 253, State echoed)
                      <- Access-Challenge (next EAP-Request)            -> to the UE
                      <- Access-Accept (EAP-Success, MPPE keys, device)  -> result
                      <- Access-Reject (EAP-Failure, the reason)         -> raised

Every request carries a Message-Authenticator; every reply must carry one and a Response
Authenticator that verify against the shared secret (RFC 3579 3.2, RFC 2865 3, the BlastRADIUS
advice). A reply that does not verify is dropped as a forgery would be; when only such
replies came, the failure names the shared secret. No answer after ``retries`` retransmissions
(same packet, RFC 5080 2.2.1) is ``ServiceUnavailable``: temporary, the UE tries again later.

On Access-Accept the MSK is MS-MPPE-Recv-Key || MS-MPPE-Send-Key (RFC 2548 2.4, RFC 5216 2.3:
the first 32 octets of the MSK are the Recv key), and KAUSF is MSK[0:32] (TS 33.501 I.2.2.2.2
step 14): ``KeySource.MSK``. The device the server authenticated comes back as the DER
certificate (Dynsub-Device-Certificate), which the core's policy then examines.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.oid import NameOID

from dynsub_cli.aaa import attributes as a
from dynsub_cli.aaa import packet as radius
from dynsub_cli.aaa.attributes import Type
from dynsub_cli.aaa.packet import Attribute, BadAuthenticator, Code, Packet
from dynsub_cli.config import AuthenticationConfig
from dynsub_cli.eap import packet as eap
from dynsub_cli.eap.server import Authenticated, EapServer, EapServers, EapStep, KeySource
from dynsub_cli.errors import (
    AuthenticationError,
    CertificateRefused,
    ConfigError,
    DecodeError,
    ProtocolError,
    ServiceUnavailable,
)
from dynsub_cli.files import read_secret
from dynsub_cli.pki import profiles, verify
from dynsub_cli.pki.rules import Failure, Rule
from dynsub_cli.pki.verify import DeviceIdentity

SERVICE = "AAA server"
#: What an Access-Reject's reason must contain for each refusal the core tells apart.
#: FreeRADIUS words them after OpenSSL (X509_verify_cert_error_string) and its own checks.
_REVOKED = ("certificate revoked",)
_UNTRUSTED = ("unable to get local issuer certificate", "unable to get issuer certificate")
_CN_MISMATCH = (a.IDENTITY_MISMATCH.lower(), "does not match specified value")
_EXPIRED = ("certificate has expired", "certificate is not yet valid")


@dataclass(frozen=True)
class RadiusSettings:
    host: str
    port: int
    secret: bytes = field(repr=False)
    timeout: float = 3.0  # seconds per try
    retries: int = 2  # retransmissions after the first try
    nas_identifier: str = "dynsub-core"
    #: EAP packets the UE can take at once (fragments bigger ones): Framed-MTU (RFC 3579 2.2).
    framed_mtu: int = 1400
    #: Where the secret came from, for messages ("core.toml: authentication.secret_file").
    secret_source: str = "the shared secret"  # noqa: S105 - a description, not a secret

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def radius_settings(auth: AuthenticationConfig) -> RadiusSettings:
    """The client settings of core.toml's [authentication]; reads the 0600 secret file."""
    if auth.secret_file is None:
        raise ConfigError('core.toml: [authentication] server = "radius" needs secret_file')
    secret = read_secret(auth.secret_file, "RADIUS shared secret").strip()
    if not secret:
        raise ConfigError(f"{auth.secret_file}: the RADIUS shared secret file is empty")
    return RadiusSettings(
        auth.host,
        auth.port,
        secret,
        timeout=auth.timeout_seconds,
        retries=auth.retries,
        secret_source=f"{auth.secret_file} (authentication.secret_file)",
    )


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, client: RadiusClient) -> None:
        self._client = client

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self._client._received(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable on the connected socket: nobody listens there now.
        self._client._refused(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._client._lost()


@dataclass
class _Pending:
    authenticator: bytes
    answer: asyncio.Future[Packet]
    bad_replies: int = 0


class RadiusClient:
    """One UDP socket to one AAA server, shared by every onboarding of a core."""

    def __init__(self, settings: RadiusSettings) -> None:
        self.settings = settings
        self._transport: asyncio.DatagramTransport | None = None
        self._opening: asyncio.Lock | None = None
        self._pending: dict[int, _Pending] = {}
        self._free: asyncio.Condition | None = None
        self._next = itertools.count()

    def server(self, eap_identity: str, peer: str) -> EapServer:
        """One onboarding's EAP server (the :data:`EapServers` factory)."""
        return RadiusEapServer(self, eap_identity, peer)

    def servers(self) -> EapServers:
        return self.server

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def _open(self) -> asyncio.DatagramTransport:
        if self._opening is None:
            self._opening = asyncio.Lock()
            self._free = asyncio.Condition()
        async with self._opening:
            if self._transport is None or self._transport.is_closing():
                loop = asyncio.get_running_loop()
                try:
                    transport, _ = await loop.create_datagram_endpoint(
                        lambda: _Protocol(self),
                        remote_addr=(self.settings.host, self.settings.port),
                    )
                except OSError as err:
                    raise ServiceUnavailable(
                        f"AAA server {self.settings.address}: cannot send to it: {err.strerror}",
                        SERVICE,
                    ) from err
                self._transport = transport
            return self._transport

    async def _identifier(self) -> int:
        free = self._free
        if free is None:
            raise ProtocolError("RADIUS client used before its socket was opened")
        async with free:
            await free.wait_for(lambda: len(self._pending) < 256)
            while True:
                identifier = next(self._next) & 0xFF
                if identifier not in self._pending:
                    return identifier

    async def _release(self, identifier: int) -> None:
        self._pending.pop(identifier, None)
        if self._free is not None:
            async with self._free:
                self._free.notify()

    async def exchange(self, attributes: Sequence[Attribute]) -> tuple[Packet, bytes]:
        """Send one Access-Request; return the verified reply and the request authenticator."""
        transport = await self._open()
        identifier = await self._identifier()
        raw = radius.encode_request(identifier, attributes, self.settings.secret)
        authenticator = raw[4:20]
        pending = _Pending(authenticator, asyncio.get_running_loop().create_future())
        self._pending[identifier] = pending
        settings = self.settings
        try:
            for _ in range(settings.retries + 1):
                transport.sendto(raw)
                try:
                    reply = await asyncio.wait_for(asyncio.shield(pending.answer), settings.timeout)
                except TimeoutError:
                    continue
                return reply, authenticator
        finally:
            await self._release(identifier)
        tries = settings.retries + 1
        if pending.bad_replies:
            raise ServiceUnavailable(
                f"AAA server {settings.address} answered, but its replies fail the Response "
                f"Authenticator check: {settings.secret_source} is not the secret the AAA "
                "server has for this client (RFC 2865 3); make them the same",
                SERVICE,
            )
        raise ServiceUnavailable(
            f"AAA server {settings.address} did not answer in {tries} tries of "
            f"{settings.timeout:g} s (authentication.timeout_seconds, authentication.retries); "
            "if it logs an invalid Message-Authenticator, the shared secret differs",
            SERVICE,
        )

    def _received(self, data: bytes) -> None:
        if len(data) < radius.HEADER_LEN:
            return
        pending = self._pending.get(data[1])
        if pending is None or pending.answer.done():
            return  # RFC 2865 3: a reply to no outstanding request is discarded
        try:
            reply = radius.check_response(data, pending.authenticator, self.settings.secret)
        except BadAuthenticator:
            pending.bad_replies += 1
            return
        except DecodeError:
            return
        pending.answer.set_result(reply)

    def _refused(self, exc: Exception) -> None:
        error = ServiceUnavailable(
            f"AAA server {self.settings.address}: nothing listens there ({exc})", SERVICE
        )
        for pending in self._pending.values():
            if not pending.answer.done():
                pending.answer.set_exception(error)

    def _lost(self) -> None:
        self._transport = None


class RadiusEapServer:
    """One onboarding's EAP exchange, relayed to the AAA server."""

    def __init__(self, client: RadiusClient, eap_identity: str, peer: str) -> None:
        self._client = client
        self._identity = eap_identity
        self._peer = peer
        self._state: bytes | None = None
        self._failure: bytes | None = None
        self._done = False

    @property
    def failure(self) -> bytes | None:
        return self._failure

    def _attributes(self, eap_message: bytes) -> list[Attribute]:
        settings = self._client.settings
        found = [
            Attribute(Type.USER_NAME, self._identity.encode()),
            Attribute(Type.SERVICE_TYPE, a.SERVICE_AUTHENTICATE_ONLY.to_bytes(4, "big")),
            Attribute(Type.NAS_IDENTIFIER, settings.nas_identifier.encode()),
            Attribute(Type.NAS_PORT_TYPE, a.NAS_PORT_VIRTUAL.to_bytes(4, "big")),
            Attribute(Type.CALLING_STATION_ID, self._peer.encode()[: radius.MAX_VALUE]),
            Attribute(Type.FRAMED_MTU, settings.framed_mtu.to_bytes(4, "big")),
            *radius.split(Type.EAP_MESSAGE, eap_message),
        ]
        if self._state is not None:
            # RFC 2865 5.24: the State of the last Access-Challenge goes back unchanged.
            found.append(Attribute(Type.STATE, self._state))
        return found

    async def start(self) -> bytes:
        # RFC 3579 2.1: the NAS opens with the EAP-Response/Identity; in 5G the identity (the
        # SUCI) came in NAS, so the AUSF speaks it for the UE (TS 33.501 I.2.2.2.2 step 3).
        identity = eap.encode(
            eap.Packet(eap.Code.RESPONSE, 0, eap.Type.IDENTITY, self._identity.encode())
        )
        step = await self._relay(identity)
        if step.result is not None:
            raise ProtocolError(
                f"AAA server {self._client.settings.address} accepted the device before any "
                "EAP-TLS exchange"
            )
        return step.packet

    async def receive(self, packet: bytes) -> EapStep:
        if self._done:
            raise ProtocolError("RADIUS EAP relay: a packet after the exchange ended")
        return await self._relay(packet)

    async def _relay(self, eap_message: bytes) -> EapStep:
        try:
            reply, authenticator = await self._client.exchange(self._attributes(eap_message))
        except ServiceUnavailable:
            self._done = True
            # The UE learns nothing from an EAP-Failure here: the core answers with a
            # temporary cause instead (docs/protocol.md).
            raise
        answer = reply.joined(Type.EAP_MESSAGE)
        if reply.code is Code.ACCESS_CHALLENGE:
            if not answer:
                raise self._fail(ProtocolError(self._says("an Access-Challenge without EAP")))
            self._state = reply.get(Type.STATE)
            return EapStep(answer)
        self._done = True
        if reply.code is Code.ACCESS_REJECT:
            self._failure = answer or eap.failure(_identifier(eap_message))
            raise _refusal(reply, self._client.settings.address)
        return EapStep(answer, self._accepted(reply, authenticator, answer))

    def _fail(self, err: Exception) -> Exception:
        self._done = True
        return err

    def _says(self, what: str) -> str:
        return f"AAA server {self._client.settings.address} sent {what}"

    def _accepted(self, reply: Packet, authenticator: bytes, answer: bytes) -> Authenticated:
        try:
            success = eap.decode(answer)
        except DecodeError as err:
            raise self._fail(
                ProtocolError(self._says(f"an Access-Accept whose EAP: {err}"))
            ) from err
        if success.code is not eap.Code.SUCCESS:
            raise ProtocolError(self._says("an Access-Accept without EAP-Success (RFC 3579 2.6.2)"))
        secret = self._client.settings.secret
        recv = reply.vendor(a.VENDOR_MICROSOFT, a.MS_MPPE_RECV_KEY)
        send = reply.vendor(a.VENDOR_MICROSOFT, a.MS_MPPE_SEND_KEY)
        if not recv or not send:
            raise AuthenticationError(
                self._says(
                    "an Access-Accept without MS-MPPE-Recv-Key/Send-Key: the MSK is "
                    "missing, no KAUSF can be derived (TS 33.501 I.2.2.2.2 step 14)"
                )
            )
        msk = radius.reveal_key(recv[0], secret, authenticator) + radius.reveal_key(
            send[0], secret, authenticator
        )
        if len(msk) < 32:
            raise AuthenticationError(self._says(f"an MSK of {len(msk)} octets; 64 expected"))
        identity = self._device(reply)
        return Authenticated(
            identity=identity,
            msk=msk,
            emsk=None,
            key_source=KeySource.MSK,
            description=f"EAP-TLS (AAA server {self._client.settings.address})",
        )

    def _device(self, reply: Packet) -> DeviceIdentity:
        der = reply.joined(a.DEVICE_CERTIFICATE.code)
        if not der:
            raise AuthenticationError(
                self._says(
                    f"an Access-Accept without {a.DEVICE_CERTIFICATE.name}: the core cannot "
                    "record which certificate was authenticated; configure the server with "
                    "`dynsub core radius-config`"
                )
            )
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError as err:
            raise self._fail(
                ProtocolError(self._says(f"a device certificate that does not load: {err}"))
            ) from err
        identity = identity_of(cert)
        imeisv = reply.vendor(a.VENDOR_3GPP, a.IMEISV_3GPP)
        if imeisv and imeisv[0].decode("ascii", "replace")[:15] != identity.imei:
            raise AuthenticationError(
                self._says(
                    f"3GPP-IMEISV {imeisv[0].decode('ascii', 'replace')} for a certificate of "
                    f"IMEI {identity.imei}"
                )
            )
        return identity


def identity_of(cert: x509.Certificate) -> DeviceIdentity:
    """What an AAA server's accepted certificate says about the device (its chain, dates and
    revocation were the server's to check)."""
    imei = profiles.imei_of(cert)
    if imei is None:
        raise CertificateRefused(verify.label(cert), [Failure(Rule.IMEI_URN_MISSING)])
    return DeviceIdentity(
        imei=imei,
        serial=profiles.subject_value(cert.subject, NameOID.SERIAL_NUMBER) or "",
        manufacturer=profiles.subject_value(cert.subject, NameOID.ORGANIZATION_NAME) or "",
        issuer=cert.issuer.rfc4514_string(),
        fingerprint=verify.fingerprint(cert),
        not_after=cert.not_valid_after_utc,
        certificate=cert,
    )


def _identifier(eap_message: bytes) -> int:
    return eap_message[1] if len(eap_message) > 1 else 0


def _refusal(reply: Packet, address: str) -> Exception:
    """The Access-Reject as the error the core keys its refusal on."""
    said = (reply.get(a.REFUSAL.code) or reply.get(Type.REPLY_MESSAGE) or b"").decode(
        "utf-8", "replace"
    )
    reason = said.strip() or "no reason given"
    lowered = reason.lower()
    where = f"AAA server {address}"
    for phrases, rule in (
        (_REVOKED, Rule.REVOKED),
        (_UNTRUSTED, Rule.UNTRUSTED_MANUFACTURER),
        (_CN_MISMATCH, Rule.IDENTITY_MISMATCH),
        (_EXPIRED, Rule.EXPIRED),
    ):
        # The server's words are matched here, at the boundary, once: what decides from here
        # on is the rule (core.refusals), never these words.
        if any(p in lowered for p in phrases):
            return CertificateRefused("device", [Failure(rule, f"{where}: {reason}")])
    return AuthenticationError(f"{where} refused the device (Access-Reject): {reason}")
