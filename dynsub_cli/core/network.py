"""What every core session needs, loaded once per `core serve` from core.toml.

The files named by the configuration are read here (certificates, keys, CRLs, secrets) and
turned into values, so that a session never touches a file. A missing or unreadable file is a
ConfigError naming the key that points at it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from cryptography import x509

from dynsub_cli.config import CoreConfig, Plan, ServiceType
from dynsub_cli.config.core import Allocation
from dynsub_cli.core.audit import AuditTrail
from dynsub_cli.core.ratelimit import PerMinute
from dynsub_cli.eap.credentials import Credentials
from dynsub_cli.eap.server import EapServer
from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import BadInput, ConfigError, DynsubError
from dynsub_cli.files import read_bytes
from dynsub_cli.nas.dialogue import HomeNetworkPublicKey
from dynsub_cli.nas.enums import ProtectionScheme
from dynsub_cli.pki import pem, verify
from dynsub_cli.security import keys
from dynsub_cli.security.ecies import HomeNetworkKey
from dynsub_cli.store import SupiRange
from dynsub_cli.store.backend import SubscriptionStore

if TYPE_CHECKING:  # core.hooks runs on a Connection, which holds a Network
    from dynsub_cli.core.hooks import OnboardingHook

#: Makes the EAP server of one onboarding on a network: (network, EAP identity, peer).
EapServers = Callable[["Network", str, str], EapServer]


@dataclass(frozen=True, eq=False)
class Network:
    config: CoreConfig
    credentials: Credentials = field(repr=False)
    trust_anchors: tuple[x509.Certificate, ...]
    manufacturer_cas: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...]
    op: bytes = field(repr=False)
    home_network_keys: Mapping[int, HomeNetworkKey] = field(repr=False)
    store: SubscriptionStore
    #: The EAP server seam: which server authenticates devices (core.assembly decides).
    eap_servers: EapServers = field(repr=False)
    audit: AuditTrail = field(repr=False)
    #: 5G AKA challenges per SUPI per minute (limits.challenges_per_minute).
    challenges: PerMinute = field(repr=False)
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    #: [hooks.onboarding] of core.toml (core.hooks), consulted before each commit.
    onboarding_hook: OnboardingHook | None = field(default=None, repr=False)

    @property
    def mcc(self) -> str:
        return self.config.network.mcc

    @property
    def mnc(self) -> str:
        return self.config.network.mnc

    @property
    def serving_network(self) -> str:
        return keys.serving_network_name(self.mcc, self.mnc)

    @property
    def supi_range(self) -> SupiRange:
        supi = self.config.supi
        return SupiRange(
            self.config.network.plmn,
            supi.msin_start,
            supi.msin_end,
            sequential=supi.allocation is Allocation.SEQUENTIAL,
        )

    @property
    def policy(self) -> Reonboarding:
        return self.config.enrollment.reonboarding

    @property
    def service_types(self) -> Mapping[str, ServiceType]:
        return self.config.service_types

    @property
    def plans(self) -> Mapping[str, Plan]:
        return self.config.plans

    def verify_device(self, chain: Sequence[x509.Certificate]) -> verify.DeviceIdentity:
        """The certificate check of the built-in EAP server: the device profile, the chain to
        a trusted root, and revocation. Which manufacturers may onboard is the device policy's
        (core.policy), applied to whatever server authenticated the device."""
        return verify.verify_device(chain, self.trust_anchors, now=self.now(), crls=self.crls)

    @functools.cached_property
    def _revoked(self) -> frozenset[tuple[bytes, int]]:
        # (issuer DN in DER, serial) of every certificate the CRLs list; a new Network (the
        # CRLs read again) computes it anew.
        return frozenset(
            (crl.issuer.public_bytes(), entry.serial_number) for crl in self.crls for entry in crl
        )

    @property
    def revokes_any(self) -> bool:
        """True when a CRL lists any certificate at all (most cores' CRLs are empty)."""
        return bool(self._revoked)

    def revocation(self, certificate: x509.Certificate) -> str | None:
        """Which CRL lists ``certificate``, in words; None if none does."""
        if (certificate.issuer.public_bytes(), certificate.serial_number) not in self._revoked:
            return None
        for crl in self.crls:
            if crl.issuer == certificate.issuer:
                return f"{verify.crl_label(crl)} of {crl.issuer.rfc4514_string()} lists it"
        return "a CRL lists it"

    def eap_server(self, identity: str, peer: str) -> EapServer:
        """The EAP server for one onboarding of ``identity`` from ``peer``."""
        return self.eap_servers(self, identity, peer)

    def public_keys(self) -> tuple[HomeNetworkPublicKey, ...]:
        """The public half of every home network SUCI key, with its key id, for the UEs."""
        return tuple(
            HomeNetworkPublicKey(key.scheme, key_id, key.public_key)
            for key_id, key in sorted(self.home_network_keys.items())
        )

    @classmethod
    def load(
        cls,
        config: CoreConfig,
        store: SubscriptionStore,
        eap_servers: EapServers,
        *,
        audit: AuditTrail | None = None,
        now: Callable[[], dt.datetime] | None = None,
        onboarding_hook: OnboardingHook | None = None,
    ) -> Network:
        config.check_files()
        pki = config.pki
        try:
            credentials = _named(
                pki.core_key,
                lambda: Credentials.from_pem(
                    read_bytes(pki.core_cert, "core certificate")
                    + read_bytes(pki.core_chain, "core certificate chain"),
                    read_bytes(pki.core_key, "core private key"),
                ),
            )
            anchors = tuple(
                c for p in pki.trust_anchors for c in pem.read_certificates(p, "trust anchor")
            )
            manufacturers = tuple(
                c for p in pki.manufacturer_cas for c in pem.read_certificates(p, "manufacturer CA")
            )
            crls = tuple(pem.read_crl(p) for p in pki.crls)
            op = _hex_secret(config.operator.op_file, "operator OP", 16)
            hn_keys = {
                config.suci.profile_a_key_id: _hn_key(
                    config.suci.profile_a_key_file, ProtectionScheme.PROFILE_A
                ),
                config.suci.profile_b_key_id: _hn_key(
                    config.suci.profile_b_key_file, ProtectionScheme.PROFILE_B
                ),
            }
        except DynsubError as err:
            raise ConfigError(f"core.toml: {err.message}") from err
        return cls(
            config=config,
            credentials=credentials,
            trust_anchors=anchors,
            manufacturer_cas=manufacturers,
            crls=crls,
            op=op,
            home_network_keys=hn_keys,
            store=store,
            eap_servers=eap_servers,
            audit=audit if audit is not None else AuditTrail(store),
            challenges=PerMinute(config.limits.challenges_per_minute),
            onboarding_hook=onboarding_hook,
            **({"now": now} if now is not None else {}),
        )


def _hex_secret(path: Path, what: str, length: int) -> bytes:
    text = read_bytes(path, what).decode("ascii", "replace").strip()
    try:
        value = bytes.fromhex(text)
    except ValueError as err:
        raise BadInput(f"{path}: {what} must be {length * 2} hex digits") from err
    if len(value) != length:
        raise BadInput(f"{path}: {what} must be {length * 2} hex digits, got {len(text)}")
    return value


T = TypeVar("T")


def _named(path: Path, load: Callable[[], T]) -> T:
    """``load()``, with ``path`` named in its error unless the error names it already."""
    try:
        return load()
    except DynsubError as err:
        if str(path) in err.message:
            raise
        raise BadInput(f"{path}: {err.message}") from err


def _hn_key(path: Path, scheme: ProtectionScheme) -> HomeNetworkKey:
    what = f"SUCI {scheme.label} key"
    key = _named(path, lambda: HomeNetworkKey.from_pem(read_bytes(path, what)))
    if key.scheme != scheme:
        raise BadInput(f"{path}: holds a {key.scheme.label} key, not {scheme.label}")
    return key
