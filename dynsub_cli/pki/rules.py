"""The rules a certificate is checked against, and one broken rule as a value.

Checks (:func:`dynsub_cli.pki.profiles.check`, :mod:`dynsub_cli.pki.verify`) return
:class:`Failure` values: ``rule`` is what code decides on (the core's refusal table, exit
codes, tests), ``str()`` the words for people. The words may change freely; the rules may not,
because the core maps each one to a 5GMM cause. A CA named "Unrevoked Devices Ltd" therefore
cannot make a refusal look like a revocation: nothing that decides reads the text.

A rule's value is a stable identifier, shown in ``pki verify --json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Rule(Enum):
    """One rule of the certificate profiles (RFC 5280 profiles) or of chain verification."""

    # --- the profile (dynsub_cli.pki.profiles) -------------------------------------------
    KEY_TYPE = "key-type"
    SIGNATURE_ALGORITHM = "signature-algorithm"
    BC_MISSING = "basic-constraints-missing"
    BC_NOT_CRITICAL = "basic-constraints-not-critical"
    BC_CA_ON_END_ENTITY = "basic-constraints-ca-on-end-entity"
    BC_END_ENTITY_ON_CA = "basic-constraints-end-entity-on-ca"
    PATH_LENGTH = "path-length"
    KU_MISSING = "key-usage-missing"
    KU_NOT_CRITICAL = "key-usage-not-critical"
    KU_LACKS = "key-usage-lacks"  # detail: the missing bit
    KU_EXTRA = "key-usage-extra"  # detail: the bit the profile does not allow
    EKU_MISSING = "extended-key-usage-missing"  # detail: the missing purpose
    POLICY_MISSING = "policy-missing"  # detail: the policy's name
    SUBJECT_MISSING = "subject-attribute-missing"  # detail: the attribute's short name
    SAN_MISSING = "subject-alt-name-missing"
    IMEI_URN_MISSING = "imei-urn-missing"
    IMEI_MALFORMED = "imei-malformed"
    IMEI_CHECK_DIGIT = "imei-check-digit"
    IMEI_CN_MISMATCH = "imei-cn-mismatch"
    DNS_MISSING = "dns-name-missing"
    SKI_MISSING = "subject-key-identifier-missing"
    AKI_MISSING = "authority-key-identifier-missing"
    NOT_SELF_SIGNED = "not-self-signed"
    # --- verification (dynsub_cli.pki.verify) --------------------------------------------
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    UNTRUSTED_MANUFACTURER = "untrusted-manufacturer"
    UNTRUSTED_OPERATOR = "untrusted-operator"
    CHAIN = "chain"
    REVOKED = "revoked"
    CRL_SIGNATURE = "crl-signature"
    CRL_STALE = "crl-stale"
    DNS_MISMATCH = "dns-name-mismatch"
    NO_CERTIFICATE = "no-certificate"
    NO_ANCHORS = "no-anchors"
    MALFORMED = "malformed"  # the certificate cannot be decoded, or a field of it cannot
    # --- binding (an AAA server's refusal, dynsub_cli.aaa) --------------------------------
    IDENTITY_MISMATCH = "identity-mismatch"  # TS 33.501 B.2.1.1: not the claimed device

    @property
    def phrase(self) -> str:
        """The words that start every reason for this rule; ``{}`` marks the detail's place."""
        return _PHRASES[self]

    def words(self, detail: str = "") -> str:
        """The reason in words: the phrase, then the detail in parentheses (or in its place)."""
        phrase = _PHRASES[self]
        if "{}" in phrase:
            return phrase.format(detail)
        return f"{phrase} ({detail})" if detail else phrase


_PHRASES: dict[Rule, str] = {
    Rule.KEY_TYPE: "key type not allowed",
    Rule.SIGNATURE_ALGORITHM: "signature algorithm not allowed",
    Rule.BC_MISSING: "basicConstraints missing",
    Rule.BC_NOT_CRITICAL: "basicConstraints not critical",
    Rule.BC_CA_ON_END_ENTITY: "basicConstraints CA:TRUE on an end-entity certificate",
    Rule.BC_END_ENTITY_ON_CA: "basicConstraints CA:FALSE on a CA certificate",
    Rule.PATH_LENGTH: "pathLenConstraint differs from the profile",
    Rule.KU_MISSING: "keyUsage missing",
    Rule.KU_NOT_CRITICAL: "keyUsage not critical",
    Rule.KU_LACKS: "keyUsage lacks {}",
    Rule.KU_EXTRA: "keyUsage has {}, which the profile does not allow",
    Rule.EKU_MISSING: "extendedKeyUsage lacks {}",
    Rule.POLICY_MISSING: "{} policy missing",
    Rule.SUBJECT_MISSING: "subject {} missing",
    Rule.SAN_MISSING: "subjectAltName missing",
    Rule.IMEI_URN_MISSING: "IMEI URN missing from subjectAltName",
    Rule.IMEI_MALFORMED: "IMEI malformed",
    Rule.IMEI_CHECK_DIGIT: "IMEI check digit is wrong",
    Rule.IMEI_CN_MISMATCH: "IMEI in subjectAltName differs from subject CN",
    Rule.DNS_MISSING: "DNS name missing from subjectAltName",
    Rule.SKI_MISSING: "subjectKeyIdentifier missing",
    Rule.AKI_MISSING: "authorityKeyIdentifier missing",
    Rule.NOT_SELF_SIGNED: "root certificate is not self-signed",
    Rule.EXPIRED: "certificate has expired",
    Rule.NOT_YET_VALID: "not yet valid",
    Rule.UNTRUSTED_MANUFACTURER: "issuer is not a trusted manufacturer CA",
    Rule.UNTRUSTED_OPERATOR: "issuer is not a trusted operator CA",
    Rule.CHAIN: "chain does not verify",
    Rule.REVOKED: "revoked",
    Rule.CRL_SIGNATURE: "CRL signature does not verify",
    Rule.CRL_STALE: "CRL is out of date",
    Rule.DNS_MISMATCH: "DNS name not in subjectAltName",
    Rule.NO_CERTIFICATE: "no certificate presented",
    Rule.NO_ANCHORS: "no trusted root to verify against",
    Rule.MALFORMED: "certificate is malformed",
    Rule.IDENTITY_MISMATCH: "certificate IMEI is not the one the EAP identity claims",
}


@dataclass(frozen=True)
class Failure:
    """One broken rule: ``rule`` decides, ``detail`` says on what; ``str()`` is the reason.

    It is what :class:`dynsub_cli.errors.CertificateRefused` carries (its ``RuleFailure``).
    """

    rule: Rule
    detail: str = ""

    def __str__(self) -> str:
        return self.rule.words(self.detail)
