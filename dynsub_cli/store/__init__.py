"""The subscription store (docs/architecture.md section 3): SQLite or PostgreSQL, sealed secrets,
audit trail, exports.

The names below are imported from their modules when first asked for (PEP 562), not when the
package is: a light module of the store, such as :mod:`dynsub_cli.store.constants` that
`dynsub store --help` reads, must not pull in SQLite and the sealing (issue 11: start-up).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
else:
    import importlib

    #: The modules the names of __all__ come from, the lightest first.
    _HOMES = ("model", "sealing", "subscriptions")

    def __getattr__(name: str) -> object:
        if name in __all__:
            for home in _HOMES:
                module = importlib.import_module(f"{__name__}.{home}")
                if name in vars(module):
                    value = globals()[name] = vars(module)[name]
                    return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
