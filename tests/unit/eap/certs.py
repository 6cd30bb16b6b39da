"""A small test PKI in the shape of docs/architecture.md section 5, minted with ``cryptography``,
and verifiers.

root -> manufacturer CA -> device (clientAuth), root -> operator CA -> core (serverAuth).
``pki("rogue")`` builds a second, untrusted hierarchy of the same shape. The verifiers use
``cryptography.x509.verification``, which keeps the engine tests independent of the PKI code;
test_with_pki.py runs the exchange with ``dynsub pki`` certificates and ``pki.verify`` instead.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from dynsub_cli.eap.credentials import Credentials
from dynsub_cli.errors import CertificateRefused
from dynsub_cli.pki.rules import Failure, Rule

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
CORE_DNS = "ausf.5gc.mnc001.mcc001.3gppnetwork.org"
IMEI = "490154203237518"
DEVICE_POLICY = x509.ObjectIdentifier("2.25.1")  # test-only stand-ins for the project OIDs
NETWORK_POLICY = x509.ObjectIdentifier("2.25.2")


@dataclass(frozen=True)
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def issue(
    cn: str,
    issuer: Issued | None,
    *,
    ca: bool = False,
    eku: x509.ObjectIdentifier | None = None,
    san: x509.GeneralName | None = None,
    policy: x509.ObjectIdentifier | None = None,
    not_before: dt.datetime = dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    not_after: dt.datetime = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
) -> Issued:
    """Mint one certificate: a CA (pathLen 0 below the root) or an end entity."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dynsub test"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    signer = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
        )
    )
    if ca:
        # The root may have CAs below it; the manufacturer/operator CAs sign leaves only.
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), True
        ).add_extension(_key_usage(cert_sign=True), True)
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(_key_usage(cert_sign=False), True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), False)
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([san]), False)
    if policy is not None:
        builder = builder.add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(policy, None)]), False
        )
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def device(manufacturer: Issued, **changes: object) -> Issued:
    """A device certificate per docs/architecture.md section 5; ``changes`` override ``issue``
    arguments."""
    args: dict[str, object] = {
        "eku": ExtendedKeyUsageOID.CLIENT_AUTH,
        "san": x509.UniformResourceIdentifier("urn:gsma:imei:49015420-323751-8"),
        "policy": DEVICE_POLICY,
    }
    args.update(changes)
    return issue(IMEI, manufacturer, **args)  # type: ignore[arg-type]


def core(operator: Issued, **changes: object) -> Issued:
    args: dict[str, object] = {
        "eku": ExtendedKeyUsageOID.SERVER_AUTH,
        "san": x509.DNSName(CORE_DNS),
        "policy": NETWORK_POLICY,
    }
    args.update(changes)
    return issue(CORE_DNS, operator, **args)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Pki:
    root: Issued
    manufacturer: Issued
    operator: Issued
    device: Issued
    core: Issued

    @property
    def anchors(self) -> list[x509.Certificate]:
        return [self.root.cert]

    def device_credentials(self, leaf: Issued | None = None) -> Credentials:
        leaf = leaf or self.device
        return Credentials(leaf.cert, leaf.key, (self.manufacturer.cert,))

    def core_credentials(self, leaf: Issued | None = None) -> Credentials:
        leaf = leaf or self.core
        return Credentials(leaf.cert, leaf.key, (self.operator.cert,))


@functools.cache
def pki(label: str = "trusted") -> Pki:
    """One hierarchy per label, minted once per test session (ECDSA keys are quick)."""
    root = issue(f"{label} device ecosystem root", None, ca=True)
    manufacturer = issue(f"{label} manufacturer CA", root, ca=True)
    operator = issue(f"{label} operator CA", root, ca=True)
    return Pki(root, manufacturer, operator, device(manufacturer), core(operator))


def _subject(chain: Sequence[x509.Certificate]) -> str:
    return chain[0].subject.rfc4514_string() if chain else "(no certificate)"


def device_verifier(
    anchors: Sequence[x509.Certificate],
) -> Callable[[Sequence[x509.Certificate]], str]:
    """Checks a device chain against ``anchors``; returns the leaf's CN (the IMEI)."""
    store = Store(list(anchors))

    def verify(chain: Sequence[x509.Certificate]) -> str:
        verifier = PolicyBuilder().store(store).time(NOW).build_client_verifier()
        try:
            verifier.verify(chain[0], list(chain[1:]))
        except VerificationError as err:
            raise CertificateRefused(_subject(chain), [Failure(Rule.CHAIN, str(err))]) from err
        cn = chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        return str(cn)

    return verify


def core_verifier(
    anchors: Sequence[x509.Certificate],
) -> Callable[[Sequence[x509.Certificate]], None]:
    """Checks a core chain against ``anchors`` for the AUSF's DNS name."""
    store = Store(list(anchors))

    def verify(chain: Sequence[x509.Certificate]) -> None:
        verifier = (
            PolicyBuilder().store(store).time(NOW).build_server_verifier(x509.DNSName(CORE_DNS))
        )
        try:
            verifier.verify(chain[0], list(chain[1:]))
        except VerificationError as err:
            raise CertificateRefused(_subject(chain), [Failure(Rule.CHAIN, str(err))]) from err

    return verify
