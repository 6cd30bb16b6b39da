"""The built-in EAP server: the AUSF runs EAP-TLS itself (TS 33.501 Annex B).

The :class:`~dynsub_cli.eap.tls.Authenticator` engine behind the
:class:`~dynsub_cli.eap.server.EapServer` seam. The certificate check is the caller's
``verify`` (the device profile, the chain to a trusted manufacturer, revocation): it runs while
TLS is still open, so that a refused certificate ends EAP with EAP-Failure (RFC 9190 2.1.3)
rather than an EAP-Success taken back later. KAUSF comes from the EMSK.
"""

from __future__ import annotations

from dynsub_cli.eap.credentials import Credentials
from dynsub_cli.eap.fragments import DEFAULT_MAX_PACKET
from dynsub_cli.eap.server import Authenticated, EapStep, KeySource
from dynsub_cli.eap.tls import Authenticator, Verifier
from dynsub_cli.pki.verify import DeviceIdentity


class BuiltinServer:
    def __init__(
        self,
        credentials: Credentials,
        verify: Verifier[DeviceIdentity],
        *,
        max_packet: int = DEFAULT_MAX_PACKET,
        tls12: bool = False,
    ) -> None:
        self._engine = Authenticator(credentials, verify, max_packet=max_packet, tls12=tls12)

    async def start(self) -> bytes:
        return self._engine.start()

    async def receive(self, packet: bytes) -> EapStep:
        # TLS here costs a millisecond or two of CPU, less than a hop to a worker thread.
        answer = self._engine.receive(packet)
        if not self._engine.done:
            return EapStep(answer)
        result = self._engine.result
        return EapStep(
            answer,
            Authenticated(
                identity=result.peer_identity,
                msk=result.msk,
                emsk=result.emsk,
                key_source=KeySource.EMSK,
                description=f"EAP-TLS {result.tls_version} (built-in)",
            ),
        )

    @property
    def failure(self) -> bytes | None:
        return self._engine.error_response
