"""What every core session needs, loaded once per `core serve` from core.toml.

The files named by the configuration are read here (certificates, keys, CRLs, secrets) and
turned into values, so that a session never touches a file. A missing or unreadable file is a
ConfigError naming the key that points at it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from dynsub_cli.config import CoreConfig, Plan, ServiceType
from dynsub_cli.core.audit import AuditTrail
from dynsub_cli.eap.credentials import Credentials
from dynsub_cli.eap.server import EapServer
from dynsub_cli.errors import BadInput, ConfigError, DynsubError
from dynsub_cli.files import read_bytes
from dynsub_cli.pki import pem, verify
from dynsub_cli.security import keys
from dynsub_cli.security.ecies import HomeNetworkKey, Profile
from dynsub_cli.store import Policy, SupiRange
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
        return SupiRange(
            self.config.network.plmn, self.config.supi.msin_start, self.config.supi.msin_end
        )

    @property
    def policy(self) -> Policy:
        return Policy(self.config.enrollment.reonboarding.value)

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

    def eap_server(self, identity: str, peer: str) -> EapServer:
        """The EAP server for one onboarding of ``identity`` from ``peer``."""
        return self.eap_servers(self, identity, peer)

    def public_keys(self) -> tuple[tuple[int, int, bytes], ...]:
        """(protection scheme, key id, public key) of every home network SUCI key."""
        return tuple(
            (int(key.profile), key_id, key.public_key)
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
            credentials = Credentials.from_pem(
                read_bytes(pki.core_cert, "core certificate")
                + read_bytes(pki.core_chain, "core certificate chain"),
                read_bytes(pki.core_key, "core private key"),
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
                config.suci.profile_a_key_id: _hn_key(config.suci.profile_a_key_file, Profile.A),
                config.suci.profile_b_key_id: _hn_key(config.suci.profile_b_key_file, Profile.B),
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


def _hn_key(path: Path, profile: Profile) -> HomeNetworkKey:
    key = HomeNetworkKey.from_pem(read_bytes(path, f"SUCI Profile {profile.name} key"))
    if key.profile != profile:
        raise BadInput(
            f"{path}: holds a Profile {key.profile.name} key, not Profile {profile.name}"
        )
    return key
