"""The ``EapServer`` seam: one EAP authentication of one UE, as the core's AUSF runs it.

The core relays EAP packets between the UE (in NAS AUTHENTICATION REQUEST / RESPONSE) and an
EAP server, and learns at the end who was authenticated and with which keys. Two servers plug
in here: the built-in one (:mod:`dynsub_cli.eap.builtin`, EAP-TLS with pyOpenSSL, TS 33.501
Annex B) and an AAA server over RADIUS acting as the Default Credentials Server (TS 33.501
I.2.2.2.2, I.9.2.3). The device policy (the identity the SUCI claimed, blocklist, enrollment)
is not the EAP server's job: the core applies it to :attr:`Authenticated.identity` afterwards,
whichever server authenticated the device.

Failures are raised: ``CertificateRefused`` when the server refused the device's certificate
(with the broken rules where the server says them), ``AuthenticationError`` when EAP failed
otherwise, ``ServiceUnavailable`` when the server could not be reached (a temporary failure).
After any of them, :attr:`EapServer.failure` is the EAP packet to give the UE, if any.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from dynsub_cli.pki.verify import DeviceIdentity


class KeySource(Enum):
    """Where KAUSF comes from, which the UE must know to derive the same one."""

    #: TS 33.501 B.2.1.1: the AUSF runs EAP-TLS itself; KAUSF = EMSK[0:32].
    EMSK = "emsk"
    #: TS 33.501 I.2.2.2.2 step 14: an AAA server ran EAP and returned only the MSK;
    #: KAUSF = MSK[0:32].
    MSK = "msk"


@dataclass(frozen=True, eq=False)  # eq=False: keys are never compared by value
class Authenticated:
    """What an EAP server vouches for once the exchange succeeded."""

    identity: DeviceIdentity
    msk: bytes = field(repr=False)
    emsk: bytes | None = field(repr=False)
    key_source: KeySource
    #: For the log: the method, TLS version and server, e.g. "EAP-TLS TLSv1.3 (built-in)".
    description: str

    @property
    def kausf(self) -> bytes:
        if self.key_source is KeySource.EMSK:
            if self.emsk is None:
                raise ValueError("KAUSF from the EMSK, but the EAP server gave none")
            return self.emsk[:32]
        return self.msk[:32]


@dataclass(frozen=True)
class EapStep:
    """The server's answer to one EAP-Response: the packet for the UE, and with EAP-Success,
    the result."""

    packet: bytes
    result: Authenticated | None = None


class EapServer(Protocol):
    """One EAP exchange with one UE; made per onboarding by an :data:`EapServers` factory."""

    async def start(self) -> bytes:
        """The first EAP-Request (EAP-TLS Start)."""
        ...

    async def receive(self, packet: bytes) -> EapStep:
        """The UE's EAP-Response in, the next packet out (Request, or Success with result)."""
        ...

    @property
    def failure(self) -> bytes | None:
        """After an error: the EAP packet (EAP-Failure) to send the UE, if any."""
        ...


#: Makes the EAP server of one onboarding: (the EAP identity the UE claims, its peer address).
EapServers = Callable[[str, str], EapServer]
