"""The one place that assembles a core from core.toml: which store, which EAP server.

Every other module of ``core/`` sees only the seams: ``SubscriptionStore``
(dynsub_cli.store.backend) and ``EapServer`` (dynsub_cli.eap.server). A new backend (a
PostgreSQL store, an AAA server over RADIUS) is one module behind its seam and one branch here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from dynsub_cli.config import CoreConfig
from dynsub_cli.core.audit import AuditTrail
from dynsub_cli.core.hooks import OnboardingHook
from dynsub_cli.core.network import EapServers, Network
from dynsub_cli.eap.builtin import BuiltinServer
from dynsub_cli.eap.server import EapServer
from dynsub_cli.store import Subscriptions
from dynsub_cli.store.backend import SubscriptionStore
from dynsub_cli.store.sealing import load_key


def open_store(config: CoreConfig) -> SubscriptionStore:
    """The store of a core, with its key (K and OPc are sealed under it)."""
    return Subscriptions.open(config.store.path, load_key(config.store.key_file))


def _builtin(network: Network, identity: str, peer: str) -> EapServer:
    # The AUSF runs EAP-TLS itself, checking the chain against the network's trust anchors
    # and the CRLs as they are now (core.service reloads them).
    return BuiltinServer(network.credentials, network.verify_device)


def eap_servers(config: CoreConfig) -> EapServers:
    """The EAP server core.toml names (the built-in AUSF today)."""
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
