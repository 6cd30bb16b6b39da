"""The device policy: which authenticated devices may onboard, applied after authentication.

Whichever EAP server authenticated the device (the built-in AUSF or an AAA server), the core
decides on the identity it vouches for: the certificate must be the one the SUCI claimed
(TS 33.501 B.2.1.1), issued by a manufacturer CA the enrollment policy trusts, and its IMEI
not blocklisted.
"""

from __future__ import annotations

from dynsub_cli.core.network import Network
from dynsub_cli.core.procedure import Connection, Refused
from dynsub_cli.core.refusals import Refusal
from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.pki import verify
from dynsub_cli.pki.verify import DeviceIdentity


def check(net: Network, claimed_imei: str | None, device: DeviceIdentity) -> Refused | None:
    """The refusal the policy gives ``device`` claiming ``claimed_imei``, or None: shared by
    NAS onboarding and the RADIUS server role."""
    if device.imei != claimed_imei:
        return Refused(
            Refusal.IDENTITY_MISMATCH,
            f"certificate IMEI {device.imei} differs from the SUCI's {claimed_imei}",
        )
    if not any(verify.issued_by(device.certificate, ca) for ca in net.manufacturer_cas):
        return Refused(
            Refusal.UNTRUSTED_MANUFACTURER,
            f"{device.issuer} is not listed in core.toml [pki] manufacturer_cas",
        )
    if device.imei in net.config.enrollment.blocklist:
        return Refused(Refusal.BLOCKLISTED, f"IMEI {device.imei} is blocklisted")
    return None


async def admit(connection: Connection, device: DeviceIdentity) -> None:
    """Refuse (``Refused``) a device the policy does not admit; the device is then the
    connection's."""
    net = connection.network
    refused = check(net, connection.imei, device)
    if refused is not None:
        raise refused
    # A subscription is bound to the manufacturer CA that onboarded it: another maker's
    # certificate with the same IMEI must not take it over (the store checks it again at
    # commit, for concurrent connections).
    existing = await connection.store(net.store.find_by_imei, device.imei)
    if existing is not None and existing.issuer != device.issuer:
        raise Refused(
            Refusal.ISSUER_MISMATCH,
            f"IMEI {device.imei} has subscription {existing.supi} under {existing.issuer}; "
            f"this certificate is issued by {device.issuer}",
        )


async def check_reonboarding(connection: Connection) -> None:
    """Under the re-onboarding policy ``refuse``, a device with a subscription is refused
    before it starts (the store refuses it again at commit, for concurrent connections)."""
    net = connection.network
    if net.policy is not Reonboarding.REFUSE:
        return
    existing = await connection.store(net.store.find_by_imei, connection.imei or "")
    if existing is not None:
        raise Refused(
            Refusal.REONBOARDING_REFUSED, f"device already has subscription {existing.supi}"
        )
