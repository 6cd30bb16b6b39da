"""The certificate profiles: one table that both minting and checking read.

:mod:`dynsub_cli.pki.issue` builds a certificate from a :class:`Profile`; :func:`check` here
compares a certificate with a :class:`Profile` and names every rule it breaks. Because both
sides read the same table, what dynsub mints and what it accepts cannot drift apart: a new rule
is a new field of :class:`Profile`, used by both.

The profiles:

```
root CA ("3GPP device ecosystem root")   self-signed, trusted by UEs and cores
 |- manufacturer CA (pathLen 0)          issues device certificates (policy "3GPP device")
 '- operator CA     (pathLen 0)          issues the core certificate (policy "3GPP network")
```

:func:`check` names each broken rule as a :class:`~dynsub_cli.pki.rules.Failure`: a
:class:`~dynsub_cli.pki.rules.Rule` that code decides on, and words for people.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, StrEnum

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID

from dynsub_cli.errors import BadInput
from dynsub_cli.pki import imei as imei_rules
from dynsub_cli.pki.oids import DEVICE_POLICY, NETWORK_POLICY, name_of
from dynsub_cli.pki.rules import Failure, Rule


class KeyType(StrEnum):
    """The key types a profile may allow; the value is what ``--key-type`` takes."""

    P256 = "p256"
    P384 = "p384"

    @property
    def curve(self) -> ec.EllipticCurve:
        return ec.SECP256R1() if self is KeyType.P256 else ec.SECP384R1()

    @property
    def hash(self) -> hashes.SHA256 | hashes.SHA384:
        """The hash a CA with this key signs with: matched strength (RFC 5480 section 4)."""
        return hashes.SHA256() if self is KeyType.P256 else hashes.SHA384()

    @property
    def label(self) -> str:
        return "ECDSA P-256" if self is KeyType.P256 else "ECDSA P-384"

    @classmethod
    def of(cls, key: object) -> KeyType | None:
        """The key type of a public or private key, or None when no profile knows it."""
        if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
            return {"secp256r1": cls.P256, "secp384r1": cls.P384}.get(key.curve.name)
        return None


class Usage(StrEnum):
    """keyUsage bits (RFC 5280 4.2.1.3) the profiles use, named as OpenSSL prints them."""

    DIGITAL_SIGNATURE = "digitalSignature"
    KEY_CERT_SIGN = "keyCertSign"
    CRL_SIGN = "cRLSign"


class AltName(Enum):
    """What the subjectAltName must hold."""

    NONE = "none"
    IMEI_URN = "IMEI URN"  # RFC 7254 urn:gsma:imei:..., the same IMEI as the subject CN
    DNS = "DNS name"  # TS 23.003 28.3.2: <nf>.5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org


#: Signature algorithms every profile accepts: ECDSA with SHA-256 or SHA-384 (RFC 5758 3.2).
ECDSA_SIGNATURES = frozenset(
    {SignatureAlgorithmOID.ECDSA_WITH_SHA256, SignatureAlgorithmOID.ECDSA_WITH_SHA384}
)

ATTRIBUTE_NAMES = {
    NameOID.COMMON_NAME: "CN",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.SERIAL_NUMBER: "serialNumber",
}


@dataclass(frozen=True)
class Profile:
    """One row of the table: everything a certificate of this kind must carry."""

    name: str
    ca: bool
    path_length: int | None
    key_usage: frozenset[Usage]
    extended_key_usage: tuple[x509.ObjectIdentifier, ...]
    policies: tuple[x509.ObjectIdentifier, ...]
    alt_name: AltName
    subject: tuple[x509.ObjectIdentifier, ...]
    key_types: frozenset[KeyType] = frozenset(KeyType)
    basic_constraints_critical: bool = True  # RFC 5280 4.2.1.9: MUST be critical in CAs
    key_usage_critical: bool = True  # RFC 5280 4.2.1.3: SHOULD be critical
    key_identifiers: bool = True  # SKI and AKI (RFC 5280 4.2.1.1/4.2.1.2)
    self_signed: bool = False


ROOT = Profile(
    name="root CA",
    ca=True,
    path_length=1,  # root -> manufacturer/operator CA -> end entity: one CA below the root
    key_usage=frozenset({Usage.KEY_CERT_SIGN, Usage.CRL_SIGN}),  # signs CA certs and CRLs
    extended_key_usage=(),
    policies=(),  # RFC 5280 6.1: a trust anchor's policies are not processed
    alt_name=AltName.NONE,
    subject=(NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME),
    self_signed=True,
)

MANUFACTURER_CA = Profile(
    name="manufacturer CA",
    ca=True,
    path_length=0,  # issues end entities only
    key_usage=frozenset({Usage.KEY_CERT_SIGN, Usage.CRL_SIGN}),  # signs devices and the CRL
    extended_key_usage=(),
    policies=(DEVICE_POLICY,),  # RFC 5280 4.2.1.4: the CA issues under the device policy
    alt_name=AltName.NONE,
    subject=(NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME),
)

OPERATOR_CA = Profile(
    name="operator CA",
    ca=True,
    path_length=0,
    key_usage=frozenset({Usage.KEY_CERT_SIGN, Usage.CRL_SIGN}),
    extended_key_usage=(),
    policies=(NETWORK_POLICY,),
    alt_name=AltName.NONE,
    subject=(NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME),
)

DEVICE = Profile(
    name="device",
    ca=False,
    path_length=None,
    key_usage=frozenset({Usage.DIGITAL_SIGNATURE}),  # signs the TLS 1.3 CertificateVerify
    extended_key_usage=(ExtendedKeyUsageOID.CLIENT_AUTH,),  # the EAP-TLS peer is the client
    policies=(DEVICE_POLICY,),  # "I support 3GPP service"
    alt_name=AltName.IMEI_URN,
    subject=(NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME, NameOID.SERIAL_NUMBER),
)

CORE = Profile(
    name="core",
    ca=False,
    path_length=None,
    key_usage=frozenset({Usage.DIGITAL_SIGNATURE}),
    extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,),  # the AUSF is the EAP-TLS server
    policies=(NETWORK_POLICY,),
    alt_name=AltName.DNS,
    subject=(NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME),
)

#: The table, in the order :func:`matching` tries it.
PROFILES: tuple[Profile, ...] = (DEVICE, CORE, MANUFACTURER_CA, OPERATOR_CA, ROOT)

# --- phrases still read outside pki -------------------------------------------------------
# Code that decides keys on dynsub_cli.pki.rules.Rule; these remain only until the core's
# refusal table and its tests do too (issue 8), and then go.

R_BC_CA_ON_EE = Rule.BC_CA_ON_END_ENTITY.phrase
R_KU_MISSING = Rule.KU_MISSING.phrase
R_IMEI_CHECK_DIGIT = Rule.IMEI_CHECK_DIGIT.phrase
R_EXPIRED = Rule.EXPIRED.phrase
R_NOT_YET_VALID = Rule.NOT_YET_VALID.phrase


def policy_missing(policy: x509.ObjectIdentifier) -> str:
    return Rule.POLICY_MISSING.words(name_of(policy))


def eku_missing(usage: x509.ObjectIdentifier) -> str:
    return Rule.EKU_MISSING.words(name_of(usage))


# --- checking ------------------------------------------------------------------------------


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension | None:  # type: ignore[type-arg]
    try:
        return cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def usages_of(key_usage: x509.KeyUsage) -> frozenset[Usage]:
    """The profile-relevant bits set in a keyUsage extension."""
    found = set()
    if key_usage.digital_signature:
        found.add(Usage.DIGITAL_SIGNATURE)
    if key_usage.key_cert_sign:
        found.add(Usage.KEY_CERT_SIGN)
    if key_usage.crl_sign:
        found.add(Usage.CRL_SIGN)
    return frozenset(found)


def subject_value(name: x509.Name, attribute: x509.ObjectIdentifier) -> str | None:
    """The first value of ``attribute`` in ``name`` as text, or None."""
    values = name.get_attributes_for_oid(attribute)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def is_ca(cert: x509.Certificate) -> bool:
    """True when ``cert`` may issue certificates: basicConstraints CA:TRUE (RFC 5280 4.2.1.9)."""
    ext = _extension(cert, x509.BasicConstraints)
    return ext is not None and bool(ext.value.ca)


def imei_of(cert: x509.Certificate) -> str | None:
    """The IMEI a certificate claims: from its IMEI URN, else its subject CN when 15 digits."""
    san = _extension(cert, x509.SubjectAlternativeName)
    if san is not None:
        for uri in san.value.get_values_for_type(x509.UniformResourceIdentifier):
            if uri.startswith(imei_rules.URN_PREFIX):
                try:
                    return imei_rules.parse_imei_urn(uri)
                except BadInput:
                    continue
    common_name = subject_value(cert.subject, NameOID.COMMON_NAME)
    return common_name if common_name and common_name.isdigit() else None


def check(profile: Profile, cert: x509.Certificate) -> list[Failure]:
    """Every rule of ``profile`` that ``cert`` breaks; empty when it conforms.

    Validity dates and the chain are not rules of the profile: :mod:`dynsub_cli.pki.verify`
    checks them.
    """
    reasons: list[Failure] = []
    reasons += _check_key(profile, cert)
    reasons += _check_basic_constraints(profile, cert)
    reasons += _check_key_usage(profile, cert)
    reasons += _check_extended_key_usage(profile, cert)
    reasons += _check_policies(profile, cert)
    reasons += _check_subject(profile, cert)
    reasons += _check_alt_name(profile, cert)
    reasons += _check_key_identifiers(profile, cert)
    return reasons


def _check_key(profile: Profile, cert: x509.Certificate) -> Iterable[Failure]:
    key_type = KeyType.of(cert.public_key())
    if key_type not in profile.key_types:
        allowed = ", ".join(sorted(k.label for k in profile.key_types))
        found = key_type.label if key_type else type(cert.public_key()).__name__
        yield Failure(Rule.KEY_TYPE, f"{found}; the {profile.name} profile allows {allowed}")
    if cert.signature_algorithm_oid not in ECDSA_SIGNATURES:
        yield Failure(
            Rule.SIGNATURE_ALGORITHM,
            f"{name_of(cert.signature_algorithm_oid)}; "
            "wants ecdsa-with-SHA256 or ecdsa-with-SHA384",
        )


def _check_basic_constraints(profile: Profile, cert: x509.Certificate) -> Iterable[Failure]:
    ext = _extension(cert, x509.BasicConstraints)
    if ext is None:
        yield Failure(Rule.BC_MISSING)
        return
    if profile.basic_constraints_critical and not ext.critical:
        yield Failure(Rule.BC_NOT_CRITICAL)
    value: x509.BasicConstraints = ext.value
    if value.ca and not profile.ca:
        yield Failure(Rule.BC_CA_ON_END_ENTITY)
    elif not value.ca and profile.ca:
        yield Failure(Rule.BC_END_ENTITY_ON_CA)
    elif profile.ca and value.path_length != profile.path_length:
        wanted = profile.path_length
        yield Failure(
            Rule.PATH_LENGTH, f"{value.path_length}; the {profile.name} profile wants {wanted}"
        )


def _check_key_usage(profile: Profile, cert: x509.Certificate) -> Iterable[Failure]:
    ext = _extension(cert, x509.KeyUsage)
    if ext is None:
        yield Failure(Rule.KU_MISSING)
        return
    if profile.key_usage_critical and not ext.critical:
        yield Failure(Rule.KU_NOT_CRITICAL)
    present = usages_of(ext.value)
    for usage in sorted(profile.key_usage - present):
        yield Failure(Rule.KU_LACKS, usage.value)
    for usage in sorted(present - profile.key_usage):
        yield Failure(Rule.KU_EXTRA, usage.value)


def _check_extended_key_usage(profile: Profile, cert: x509.Certificate) -> Iterable[Failure]:
    if not profile.extended_key_usage:
        return
    ext = _extension(cert, x509.ExtendedKeyUsage)
    present = set(ext.value) if ext is not None else set()
    for usage in profile.extended_key_usage:
        if usage not in present:
            yield Failure(Rule.EKU_MISSING, name_of(usage))


def _check_policies(profile: Profile, cert: x509.Certificate) -> Iterable[Failure]:
    if not profile.policies:
        return
    ext = _extension(cert, x509.CertificatePolicies)
    present = {info.policy_identifier for info in ext.value} if ext is not None else set()
    for policy in profile.policies:
        if policy not in present:
            yield Failure(Rule.POLICY_MISSING, name_of(policy))


def _check_subject(profile: Profile, cert: x509.Certificate) -> Iterable[Failure]:
    for attribute in profile.subject:
        if not subject_value(cert.subject, attribute):
            yield Failure(
                Rule.SUBJECT_MISSING, ATTRIBUTE_NAMES.get(attribute, attribute.dotted_string)
            )


def _check_alt_name(profile: Profile, cert: x509.Certificate) -> Iterable[Failure]:
    if profile.alt_name is AltName.NONE:
        return
    ext = _extension(cert, x509.SubjectAlternativeName)
    if ext is None:
        yield Failure(Rule.SAN_MISSING)
        return
    san: x509.SubjectAlternativeName = ext.value
    if profile.alt_name is AltName.DNS:
        if not san.get_values_for_type(x509.DNSName):
            yield Failure(Rule.DNS_MISSING)
        return
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    urns = [u for u in uris if u.startswith(imei_rules.URN_PREFIX)]
    if not urns:
        yield Failure(Rule.IMEI_URN_MISSING)
        return
    try:
        imei = imei_rules.parse_imei_urn(urns[0])
    except BadInput:
        yield Failure(Rule.IMEI_MALFORMED, f"{urns[0]!r}; wants urn:gsma:imei:TTTTTTTT-SSSSSS-C")
        return
    if not imei_rules.is_valid_imei(imei):
        expected = imei_rules.luhn_digit(imei[:14])
        yield Failure(Rule.IMEI_CHECK_DIGIT, f"{imei}: the Luhn digit of {imei[:14]} is {expected}")
    common_name = subject_value(cert.subject, NameOID.COMMON_NAME)
    if common_name is not None and common_name != imei:
        yield Failure(Rule.IMEI_CN_MISMATCH, f"{imei} vs {common_name}")


def _check_key_identifiers(profile: Profile, cert: x509.Certificate) -> Iterable[Failure]:
    if not profile.key_identifiers:
        return
    if _extension(cert, x509.SubjectKeyIdentifier) is None:
        yield Failure(Rule.SKI_MISSING)
    if profile.self_signed:
        # RFC 5280 4.2.1.1: AKI may be omitted in a self-signed certificate.
        if cert.issuer != cert.subject:
            yield Failure(Rule.NOT_SELF_SIGNED)
        return
    if _extension(cert, x509.AuthorityKeyIdentifier) is None:
        yield Failure(Rule.AKI_MISSING)


def matching(cert: x509.Certificate) -> Profile | None:
    """The first profile of the table that ``cert`` conforms to, or None."""
    for profile in PROFILES:
        if not check(profile, cert):
            return profile
    return None


def closest(cert: x509.Certificate) -> tuple[Profile, list[Failure]]:
    """The profile ``cert`` breaks the fewest rules of, with those rules."""
    scored = [(profile, check(profile, cert)) for profile in PROFILES]
    return min(scored, key=lambda pair: len(pair[1]))
