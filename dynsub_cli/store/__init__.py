"""The subscription store (docs/architecture.md section 3): SQLite or PostgreSQL, sealed secrets,
audit trail, exports."""

from dynsub_cli.store.model import (
    SQN_MAX,
    SQN_STEP,
    Device,
    Event,
    EventKind,
    EventOutcome,
    OnboardingResult,
    Outcome,
    Secrets,
    Service,
    State,
    Stats,
    Subscription,
    SupiRange,
)
from dynsub_cli.store.sealing import generate_key, generate_key_file, load_key
from dynsub_cli.store.subscriptions import Subscriptions

__all__ = [
    "SQN_MAX",
    "SQN_STEP",
    "Device",
    "Event",
    "EventKind",
    "EventOutcome",
    "OnboardingResult",
    "Outcome",
    "Secrets",
    "Service",
    "State",
    "Stats",
    "Subscription",
    "Subscriptions",
    "SupiRange",
    "generate_key",
    "generate_key_file",
    "load_key",
]
