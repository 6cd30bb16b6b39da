"""Accepting or refusing a certificate chain: the profile, the chain, the dates, revocation.

The EAP-TLS server calls :func:`verify_device` on the chain a UE presented, and the UE calls
:func:`verify_core` on the core's; ``dynsub pki verify`` calls them on files. Both collect every
broken rule before refusing (:class:`~dynsub_cli.errors.CertificateRefused` carries them all),
so an engineer sees the whole list at once instead of fixing one rule per attempt.

How a chain is checked:

1. the leaf against its row of the profile table (:func:`dynsub_cli.pki.profiles.check`);
2. the leaf's validity dates against ``now``;
3. the path to a trusted root, built and verified by cryptography's X.509 verification API
   (RFC 5280 path validation with the CA/B Forum profile for the CAs);
4. the CA that issued the leaf against its own row (manufacturer CA for devices, operator CA
   for cores): RFC 5280 4.2.1.4 lets a CA certificate name the policies it issues under, and
   that is how a manufacturer CA is told apart from any other CA under the same root;
5. with CRLs, revocation (RFC 5280 6.3), refusing a CRL whose signature or dates are wrong.

When step 3 fails, the issuer is examined by hand so that the reason names what is wrong
("issuer is not a trusted manufacturer CA (...)") rather than "no path found".

A core checks thousands of devices under the same few CAs, so what depends only on a CA
certificate (that it decodes, its row of the profile table, a CRL's signature under it) and
the trust store built from the anchors are computed once per certificate and kept: the
results are a function of the DER bytes alone, and the leaf is checked in full every time.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import verification
from cryptography.x509.oid import NameOID

from dynsub_cli.errors import CertificateRefused
from dynsub_cli.pki import decoding, profiles
from dynsub_cli.pki.pem import DECODE_ERRORS
from dynsub_cli.pki.profiles import Profile
from dynsub_cli.pki.rules import Failure, Rule

# Phrases still read outside pki: code that decides keys on Rule; these go when the core's
# refusal table and its tests do too (issue 8).
R_UNTRUSTED_MANUFACTURER = Rule.UNTRUSTED_MANUFACTURER.phrase
R_UNTRUSTED_OPERATOR = Rule.UNTRUSTED_OPERATOR.phrase
R_CHAIN = Rule.CHAIN.phrase
R_REVOKED = Rule.REVOKED.phrase

#: What a signature check or path building raises for a certificate that does not verify.
_NOT_VERIFIABLE: tuple[type[Exception], ...] = (*DECODE_ERRORS, InvalidSignature)
_NO_PATH: tuple[type[Exception], ...] = (verification.VerificationError, *DECODE_ERRORS)


@dataclass(frozen=True)
class DeviceIdentity:
    """Who an accepted device certificate says the device is."""

    imei: str
    serial: str
    manufacturer: str
    issuer: str
    fingerprint: str  # SHA-256 of the DER certificate, lowercase hex
    not_after: dt.datetime
    certificate: x509.Certificate


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def label(cert: x509.Certificate) -> str:
    """A short name for messages: the IMEI for a device, else the subject CN or DN."""
    if decoding.failures(cert):
        return decoding.label(cert)
    imei = profiles.imei_of(cert)
    if imei is not None:
        return f"device {imei}"
    common_name = profiles.subject_value(cert.subject, NameOID.COMMON_NAME)
    return repr(common_name) if common_name else cert.subject.rfc4514_string()


def claimed_imei(cert: x509.Certificate) -> str | None:
    """The IMEI ``cert`` claims (:func:`profiles.imei_of`), or None, even when it is malformed."""
    return None if decoding.failures(cert) else profiles.imei_of(cert)


def validity_failures(cert: x509.Certificate, now: dt.datetime) -> list[Failure]:
    """RFC 5280 6.1.3 (a)(2): the validation time must lie within the validity period."""
    if now > cert.not_valid_after_utc:
        return [Failure(Rule.EXPIRED, f"notAfter {cert.not_valid_after_utc:%Y-%m-%d %H:%M:%SZ}")]
    if now < cert.not_valid_before_utc:
        return [
            Failure(Rule.NOT_YET_VALID, f"notBefore {cert.not_valid_before_utc:%Y-%m-%d %H:%M:%SZ}")
        ]
    return []


def issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    if cert.issuer != ca.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except _NOT_VERIFIABLE:
        return False
    return True


def _issuer_problems(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    ca_profile: Profile,
    now: dt.datetime,
) -> tuple[x509.Certificate | None, list[str]]:
    """Find the CA that signed ``leaf`` and say, in words, what if anything makes it untrusted."""
    issuer_name = leaf.issuer.rfc4514_string()
    ca = next((c for c in intermediates if issued_by(leaf, c)), None)
    if ca is None:
        if any(issued_by(leaf, anchor) for anchor in anchors):
            return None, [f"{issuer_name} is a root, not a {ca_profile.name}"]
        return None, [f"{issuer_name}: no presented CA certificate signed it"]
    problems = [f"{issuer_name}: {failure}" for failure in profiles.check(ca_profile, ca)]
    problems += [f"{issuer_name}: {failure}" for failure in validity_failures(ca, now)]
    if not any(issued_by(ca, anchor) for anchor in anchors):
        problems.append(f"{issuer_name} is not signed by a trusted root")
    return ca, problems


def _api_failure(err: Exception) -> str:
    # The library appends "(encountered processing <Certificate(...)>)": noise for people.
    return str(err).split(" (encountered processing", 1)[0]


def crl_label(crl: x509.CertificateRevocationList) -> str:
    """``CRL #<number>`` (RFC 5280 5.2.3), or ``CRL`` when it has no number."""
    try:
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    except x509.ExtensionNotFound:
        return "CRL"
    return f"CRL #{number}"


def _revocation_failures(
    leaf: x509.Certificate,
    ca: x509.Certificate | None,
    crls: Sequence[x509.CertificateRevocationList],
    now: dt.datetime,
) -> list[Failure]:
    reasons: list[Failure] = []
    for crl in crls:
        if crl.issuer != leaf.issuer:
            continue  # RFC 5280 6.3.3 (b): only a CRL of the leaf's issuer speaks about it
        issuer = profiles.subject_value(crl.issuer, NameOID.COMMON_NAME) or "?"
        if ca is not None and not _crl_signed_by(crl, ca):
            reasons.append(Failure(Rule.CRL_SIGNATURE, f"CRL of {issuer!r}"))
            continue
        next_update = crl.next_update_utc
        if next_update is not None and now > next_update:
            reasons.append(
                Failure(
                    Rule.CRL_STALE, f"CRL of {issuer!r}: nextUpdate {next_update:%Y-%m-%d %H:%MZ}"
                )
            )
        entry = crl.get_revoked_certificate_by_serial_number(leaf.serial_number)
        if entry is not None:
            when = entry.revocation_date_utc
            reasons.append(
                Failure(
                    Rule.REVOKED, f"{crl_label(crl)} of {issuer!r}, since {when:%Y-%m-%d %H:%MZ}"
                )
            )
    return reasons


#: CA certificates and trust stores remembered (a core sees a handful; a bound all the same).
_CACHED = 256


@functools.lru_cache(maxsize=_CACHED)
def _presented_failures(cert: x509.Certificate) -> tuple[Failure, ...]:
    """decoding.failures of a certificate presented as a CA (x509.Certificate hashes its DER)."""
    return tuple(decoding.failures(cert))


@functools.lru_cache(maxsize=_CACHED)
def _profile_failures(profile: Profile, ca: x509.Certificate) -> tuple[Failure, ...]:
    return tuple(profiles.check(profile, ca))


@functools.lru_cache(maxsize=_CACHED)
def _trust_store(anchors: tuple[x509.Certificate, ...]) -> verification.Store:
    return verification.Store(list(anchors))


#: id(crl) -> (the CRL, its issuer CA, whether its signature verifies): a CRL object is not
#: hashable; keeping it in the entry keeps its id from being reused while the entry lives.
_crl_signatures: dict[int, tuple[x509.CertificateRevocationList, x509.Certificate, bool]] = {}


def _crl_signed_by(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    known = _crl_signatures.get(id(crl))
    if known is not None and known[0] is crl and known[1] == ca:
        return known[2]
    valid = crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    if len(_crl_signatures) >= _CACHED:
        _crl_signatures.clear()
    _crl_signatures[id(crl)] = (crl, ca, valid)
    return valid


def _verify(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    profile: Profile,
    ca_profile: Profile,
    untrusted: Rule,
    now: dt.datetime | None,
    dns_name: str | None = None,
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> x509.Certificate:
    if not chain:
        raise CertificateRefused("peer", [Failure(Rule.NO_CERTIFICATE)])
    now = now or dt.datetime.now(dt.UTC)
    leaf, intermediates = chain[0], list(chain[1:])
    if not anchors:
        raise CertificateRefused(label(leaf), [Failure(Rule.NO_ANCHORS)])
    # Whatever a peer presented is decoded in full before a rule reads it (issue 9 item 3).
    undecodable = decoding.failures(leaf)
    for number, presented in enumerate(intermediates, start=1):
        undecodable += [
            Failure(Rule.MALFORMED, f"CA certificate {number} of the chain: {failure.detail}")
            for failure in _presented_failures(presented)
        ]
    if undecodable:
        raise CertificateRefused(label(leaf), undecodable)
    reasons = profiles.check(profile, leaf)
    reasons += validity_failures(leaf, now)
    if dns_name is not None and dns_name not in _dns_names(leaf):
        reasons.append(Failure(Rule.DNS_MISMATCH, dns_name))

    builder = verification.PolicyBuilder().store(_trust_store(tuple(anchors))).time(now)
    ca: x509.Certificate | None = None
    try:
        if profile.alt_name is profiles.AltName.DNS:
            names = _dns_names(leaf)
            # With no name to check, check the chain under a reserved name (RFC 2606): the
            # missing DNS name is already a reason of the profile.
            subject = dns_name or (names[0] if names else "dns-name-missing.invalid")
            path = builder.build_server_verifier(x509.DNSName(subject)).verify(leaf, intermediates)
        else:
            path = builder.build_client_verifier().verify(leaf, intermediates).chain
        ca = path[1] if len(path) > 2 else None
        if ca is None:
            reasons.append(Failure(untrusted, f"{leaf.issuer.rfc4514_string()} is a root"))
        else:
            reasons += [Failure(untrusted, str(f)) for f in _profile_failures(ca_profile, ca)]
    except _NO_PATH as err:
        ca, problems = _issuer_problems(leaf, intermediates, anchors, ca_profile, now)
        reasons += [Failure(untrusted, problem) for problem in problems]
        if not reasons:
            reasons.append(Failure(Rule.CHAIN, _api_failure(err)))
    reasons += _revocation_failures(leaf, ca, crls, now)
    if reasons:
        raise CertificateRefused(label(leaf), reasons)
    return leaf


def _dns_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return san.get_values_for_type(x509.DNSName)


def verify_device(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    now: dt.datetime | None = None,
    crls: Sequence[x509.CertificateRevocationList] = (),
) -> DeviceIdentity:
    """Accept a device chain (leaf first, intermediates as presented) or raise CertificateRefused.

    ``anchors`` are the trusted roots. Every broken rule is named in the refusal.
    """
    leaf = _verify(
        chain,
        anchors,
        profile=profiles.DEVICE,
        ca_profile=profiles.MANUFACTURER_CA,
        untrusted=Rule.UNTRUSTED_MANUFACTURER,
        now=now,
        crls=crls,
    )
    imei = profiles.imei_of(leaf)
    if imei is None:  # the device profile requires the IMEI URN: unreachable once it passed
        raise CertificateRefused(label(leaf), [Failure(Rule.IMEI_URN_MISSING)])
    return DeviceIdentity(
        imei=imei,
        serial=profiles.subject_value(leaf.subject, NameOID.SERIAL_NUMBER) or "",
        manufacturer=profiles.subject_value(leaf.subject, NameOID.ORGANIZATION_NAME) or "",
        issuer=leaf.issuer.rfc4514_string(),
        fingerprint=fingerprint(leaf),
        not_after=leaf.not_valid_after_utc,
        certificate=leaf,
    )


def verify_core(
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    now: dt.datetime | None = None,
    dns_name: str | None = None,
) -> None:
    """Accept a core chain or raise CertificateRefused; ``dns_name`` is the name expected."""
    _verify(
        chain,
        anchors,
        profile=profiles.CORE,
        ca_profile=profiles.OPERATOR_CA,
        untrusted=Rule.UNTRUSTED_OPERATOR,
        now=now,
        dns_name=dns_name,
    )
