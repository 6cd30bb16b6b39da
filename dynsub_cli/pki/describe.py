"""What ``dynsub pki show`` says about a certificate: its fields in words, and its profile."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from dynsub_cli.errors import BadInput
from dynsub_cli.pki import decoding, profiles
from dynsub_cli.pki.oids import name_of


@dataclass(frozen=True)
class Description:
    subject: str
    imei: str | None
    serial: str | None  # the device serial (subject serialNumber)
    certificate_serial: str  # hex
    issuer: str
    key: str
    signature_algorithm: str
    not_before: str
    not_after: str
    basic_constraints: str
    key_usage: tuple[str, ...]
    extended_key_usage: tuple[str, ...]
    policies: tuple[str, ...]  # "3GPP device (2.25....)"
    subject_alt_names: tuple[str, ...]
    sha256_fingerprint: str
    sha1_fingerprint: str
    profile: str | None  # the profile it conforms to, or None
    closest_profile: str
    broken_rules: tuple[str, ...]  # rules of the closest profile it breaks (empty if conforming)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> Any:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _key(cert: x509.Certificate) -> str:
    key_type = profiles.KeyType.of(cert.public_key())
    if key_type is not None:
        return key_type.label
    return type(cert.public_key()).__name__


def _general_name(name: x509.GeneralName) -> str:
    kind = {
        x509.DNSName: "DNS",
        x509.UniformResourceIdentifier: "URI",
        x509.RFC822Name: "email",
        x509.IPAddress: "IP",
    }.get(type(name), type(name).__name__)
    return f"{kind}:{name.value}"


def _colons(digest: bytes) -> str:
    return ":".join(f"{b:02X}" for b in digest)


def describe(cert: x509.Certificate, source: str = "certificate") -> Description:
    """``cert`` in words; BadInput naming ``source`` when a part of it does not decode."""
    broken = decoding.failures(cert)
    if broken:
        raise BadInput(f"{source}: cannot be shown: {broken[0]}")
    bc = _ext(cert, x509.BasicConstraints)
    if bc is None:
        basic = "absent"
    elif bc.ca:
        basic = "CA:TRUE" + (f", pathlen:{bc.path_length}" if bc.path_length is not None else "")
    else:
        basic = "CA:FALSE"
    ku = _ext(cert, x509.KeyUsage)
    eku = _ext(cert, x509.ExtendedKeyUsage)
    policies = _ext(cert, x509.CertificatePolicies)
    san = _ext(cert, x509.SubjectAlternativeName)
    matched = profiles.matching(cert)
    closest, broken = profiles.closest(cert)
    return Description(
        subject=cert.subject.rfc4514_string(),
        imei=profiles.imei_of(cert),
        serial=profiles.subject_value(cert.subject, NameOID.SERIAL_NUMBER),
        certificate_serial=format(cert.serial_number, "x"),
        issuer=cert.issuer.rfc4514_string(),
        key=_key(cert),
        signature_algorithm=name_of(cert.signature_algorithm_oid),
        not_before=f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M:%SZ}",
        not_after=f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M:%SZ}",
        basic_constraints=basic,
        key_usage=tuple(sorted(u.value for u in profiles.usages_of(ku))) if ku else (),
        extended_key_usage=tuple(name_of(oid) for oid in eku) if eku else (),
        policies=tuple(
            f"{name_of(p.policy_identifier)} ({p.policy_identifier.dotted_string})"
            for p in policies
        )
        if policies
        else (),
        subject_alt_names=tuple(_general_name(n) for n in san) if san else (),
        sha256_fingerprint=_colons(cert.fingerprint(hashes.SHA256())),
        sha1_fingerprint=_colons(cert.fingerprint(hashes.SHA1())),  # noqa: S303 - a label
        profile=matched.name if matched else None,
        closest_profile=closest.name,
        broken_rules=tuple(str(failure) for failure in broken),
    )
