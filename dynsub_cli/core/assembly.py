"""The one place that assembles a core from core.toml: which store, which EAP server.

Every other module of ``core/`` sees only the seams: ``SubscriptionStore``
(dynsub_cli.store.backend) and ``EapServer`` (dynsub_cli.eap.server). A new backend (a
PostgreSQL store, an AAA server over RADIUS) is one module behind its seam and one branch here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from dynsub_cli.aaa.client import RadiusClient, radius_settings
from dynsub_cli.config import CoreConfig, EapServerKind
from dynsub_cli.core.audit import AuditTrail
from dynsub_cli.core.hooks import OnboardingHook
from dynsub_cli.core.network import EapServers, Network
from dynsub_cli.eap.builtin import BuiltinServer
from dynsub_cli.eap.server import EapServer
from dynsub_cli.store import backends
from dynsub_cli.store.backend import SubscriptionStore


def open_store(config: CoreConfig) -> SubscriptionStore:
    """The store of a core, with its key (K and OPc are sealed under it)."""
    # [store] path is a SQLite file, [store] url a PostgreSQL database shared by several cores.
    return backends.open_store(config.store)


def _builtin(network: Network, identity: str, peer: str) -> EapServer:
    # The AUSF runs EAP-TLS itself, checking the chain against the network's trust anchors
    # and the CRLs as they are now (core.service reloads them).
    return BuiltinServer(network.credentials, network.verify_device)


def radius_server_eap(current: Callable[[], Network]) -> Callable[[str, str], EapServer]:
    """The EAP server of [radius_server] (dynsub as another AMF's DCS): the built-in one, on
    the network as it is now (its CRLs), with TLS 1.2 too: RADIUS peers such as
    wpa_supplicant may not speak 1.3 (RFC 5216)."""

    def make(identity: str, peer: str) -> EapServer:
        network = current()
        return BuiltinServer(network.credentials, network.verify_device, tls12=True)

    return make


def eap_servers(config: CoreConfig) -> EapServers:
    """The EAP server core.toml names: the built-in AUSF, or an AAA server over RADIUS."""
    auth = config.authentication
    if auth.server is EapServerKind.RADIUS and auth.secret_file is not None:
        relay = RadiusClient(radius_settings(auth))
        return lambda network, identity, peer: relay.server(identity, peer)
    return _builtin


def network(
    config: CoreConfig,
    store: SubscriptionStore,
    *,
    audit: AuditTrail | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> Network:
    """What every session of a core shares, loaded from ``config`` and its files."""
    hook = config.hooks.onboarding
    return Network.load(
        config,
        store,
        eap_servers(config),
        audit=audit,
        now=now,
        onboarding_hook=(
            OnboardingHook(hook, config.service_types, config.plans) if hook is not None else None
        ),
    )
