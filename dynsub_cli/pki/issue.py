"""Building certificates from a row of the profile table.

Everything a certificate carries beyond its subject, key, serial and dates comes from its
:class:`~dynsub_cli.pki.profiles.Profile`, so what is minted is what
:func:`dynsub_cli.pki.profiles.check` accepts. A :class:`Template` prepares the parts that are the
same for every certificate of one profile and issuer (issuer name, AKI, policies, usages) once,
which is what keeps batch minting cheap per device.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dynsub_cli.errors import PkiError
from dynsub_cli.pki import imei as imei_rules
from dynsub_cli.pki.profiles import AltName, KeyType, Profile, Usage
from dynsub_cli.pki.signer import Signer, signing_key

#: RFC 5280 4.1.2.5: "no well-defined expiration date" is notAfter 99991231235959Z.
NO_EXPIRY = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Subject:
    """Who a certificate is for. Which of these fields appear is up to the profile."""

    common_name: str
    organization: str
    serial_number: str | None = None  # the device serial (subject serialNumber)
    imei: str | None = None  # for AltName.IMEI_URN
    dns_name: str | None = None  # for AltName.DNS

    def name(self, profile: Profile) -> x509.Name:
        values = {
            NameOID.SERIAL_NUMBER: self.serial_number,
            NameOID.COMMON_NAME: self.common_name,
            NameOID.ORGANIZATION_NAME: self.organization,
        }
        attributes = []
        for oid in profile.subject:
            value = values.get(oid)
            if value is None:
                raise PkiError(f"the {profile.name} profile needs subject {oid._name}; none given")
            attributes.append(x509.NameAttribute(oid, value))
        return x509.Name(attributes)

    def alt_name(self, profile: Profile) -> x509.SubjectAlternativeName | None:
        if profile.alt_name is AltName.IMEI_URN:
            if self.imei is None:
                raise PkiError(f"the {profile.name} profile needs an IMEI; none given")
            return x509.SubjectAlternativeName(
                [x509.UniformResourceIdentifier(imei_rules.imei_urn(self.imei))]
            )
        if profile.alt_name is AltName.DNS:
            if self.dns_name is None:
                raise PkiError(f"the {profile.name} profile needs a DNS name; none given")
            return x509.SubjectAlternativeName([x509.DNSName(self.dns_name)])
        return None


@dataclass(frozen=True)
class Issuer:
    """A CA that signs: its certificate and its :class:`~dynsub_cli.pki.signer.Signer`."""

    certificate: x509.Certificate
    signer: Signer = field(repr=False)

    @property
    def hash(self) -> hashes.SHA256 | hashes.SHA384:
        return self.signer.key_type.hash


def generate_key(key_type: KeyType) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(key_type.curve)


def _key_usage(usages: frozenset[Usage]) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=Usage.DIGITAL_SIGNATURE in usages,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=Usage.KEY_CERT_SIGN in usages,
        crl_sign=Usage.CRL_SIGN in usages,
        encipher_only=False,
        decipher_only=False,
    )


class Template:
    """The fixed part of every certificate of ``profile`` signed by ``issuer``.

    ``issuer=None`` makes self-signed certificates (the root): then :meth:`issue` needs the
    subject's own signer as ``self_key``.
    """

    def __init__(self, profile: Profile, issuer: Issuer | None) -> None:
        self.profile = profile
        self.issuer = issuer
        self._fixed: list[tuple[x509.ExtensionType, bool]] = []
        # basicConstraints: RFC 5280 4.2.1.9; CA:FALSE carries no pathLen.
        path_length = profile.path_length if profile.ca else None
        self._fixed.append(
            (
                x509.BasicConstraints(ca=profile.ca, path_length=path_length),
                profile.basic_constraints_critical,
            )
        )
        self._fixed.append((_key_usage(profile.key_usage), profile.key_usage_critical))
        if profile.extended_key_usage:
            self._fixed.append((x509.ExtendedKeyUsage(list(profile.extended_key_usage)), False))
        if profile.policies:
            policies = [x509.PolicyInformation(oid, None) for oid in profile.policies]
            self._fixed.append((x509.CertificatePolicies(policies), False))
        if issuer is not None and profile.key_identifiers:
            # RFC 5280 4.2.1.1: the AKI is the issuer's SKI, computed once per template.
            try:
                ski = issuer.certificate.extensions.get_extension_for_class(
                    x509.SubjectKeyIdentifier
                ).value
                aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
            except x509.ExtensionNotFound:
                aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.signer.public_key())
            self._fixed.append((aki, False))
        self._key = signing_key(issuer.signer) if issuer is not None else None
        # A builder with everything fixed already added. CertificateBuilder copies itself on
        # every call, so re-adding five extensions per certificate cost about a sixth of
        # issuing one (benchmarks/mint.py); the extensions' order in the result is unchanged.
        base = x509.CertificateBuilder()
        if issuer is not None:
            base = base.issuer_name(issuer.certificate.subject)
        for extension, critical in self._fixed:
            base = base.add_extension(extension, critical=critical)
        self._base = base
        self._dated: tuple[dt.datetime, dt.datetime, x509.CertificateBuilder] | None = None

    def _builder(self, not_before: dt.datetime, not_after: dt.datetime) -> x509.CertificateBuilder:
        """The fixed builder with these dates; a batch signs with one pair, so keep the last."""
        dated = self._dated
        if dated is None or dated[0] != not_before or dated[1] != not_after:
            builder = self._base.not_valid_before(not_before).not_valid_after(not_after)
            dated = self._dated = (not_before, not_after, builder)
        return dated[2]

    def issue(
        self,
        subject: Subject,
        public_key: ec.EllipticCurvePublicKey,
        *,
        not_before: dt.datetime,
        not_after: dt.datetime,
        serial_number: int | None = None,
        self_key: Signer | None = None,
    ) -> x509.Certificate:
        """Sign one certificate."""
        profile = self.profile
        name = subject.name(profile)
        builder = (
            self._builder(not_before, not_after)
            .subject_name(name)
            .public_key(public_key)
            .serial_number(serial_number or x509.random_serial_number())
        )
        alt_name = subject.alt_name(profile)
        if alt_name is not None:
            # RFC 5280 4.2.1.6: non-critical because the subject DN is not empty.
            builder = builder.add_extension(alt_name, critical=False)
        if profile.key_identifiers:
            builder = builder.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False
            )
        if self.issuer is None or self._key is None:
            if self_key is None:
                raise PkiError(f"a self-signed {profile.name} certificate needs its own key")
            return builder.issuer_name(name).sign(signing_key(self_key), self_key.key_type.hash)
        return builder.sign(self._key, self.issuer.hash)


def issue(
    profile: Profile,
    subject: Subject,
    public_key: ec.EllipticCurvePublicKey,
    issuer: Issuer | None,
    *,
    not_before: dt.datetime,
    not_after: dt.datetime,
    serial_number: int | None = None,
    self_key: Signer | None = None,
) -> x509.Certificate:
    """One certificate of ``profile`` (see :class:`Template` for many)."""
    return Template(profile, issuer).issue(
        subject,
        public_key,
        not_before=not_before,
        not_after=not_after,
        serial_number=serial_number,
        self_key=self_key,
    )
