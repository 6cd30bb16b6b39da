"""The object identifiers dynsub defines, one constant each.

dynsub owns the arc ``2.25.6288169333837973938869670386843066101``: under ITU-T X.667 | ISO/IEC
9834-8, ``2.25.<n>`` with ``<n>`` the integer value of a UUID is an OID that whoever generated the
UUID (here UUID ``04bb0eaf-3ef9-425e-b2d0-a15bd6fd1ef5``) may use and extend without registering
it. Sub-arcs:

- ``<arc>.1`` (:data:`POLICIES`): certificate policies.
- ``<arc>.1.1`` (:data:`DEVICE_POLICY`), "3GPP device": the subject is a UE that supports 3GPP
  service. In a CA certificate (RFC 5280 4.2.1.4), the CA issues such devices: a manufacturer CA.
- ``<arc>.1.2`` (:data:`NETWORK_POLICY`), "3GPP network": the subject is a 3GPP core network
  function (the onboarding AUSF). In a CA certificate, the CA issues them: an operator CA.

A new OID is a new constant here, an item above, and a row in README.md ("Factory PKI"); an OID
is never reused for another meaning.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

#: The dynsub arc: 2.25 followed by the integer value of the project's UUID.
ARC = "2.25.6288169333837973938869670386843066101"

POLICIES = x509.ObjectIdentifier(f"{ARC}.1")
DEVICE_POLICY = x509.ObjectIdentifier(f"{ARC}.1.1")
NETWORK_POLICY = x509.ObjectIdentifier(f"{ARC}.1.2")

#: Names shown next to OIDs (``dynsub pki show``) and used in refusal reasons.
NAMES: dict[x509.ObjectIdentifier, str] = {
    DEVICE_POLICY: "3GPP device",
    NETWORK_POLICY: "3GPP network",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
}


def name_of(oid: x509.ObjectIdentifier) -> str:
    """A readable name for ``oid``: ours, cryptography's, or the dotted string."""
    if oid in NAMES:
        return NAMES[oid]
    known = oid._name  # cryptography's own table of names; "Unknown OID" when it has none
    return oid.dotted_string if known == "Unknown OID" else known
