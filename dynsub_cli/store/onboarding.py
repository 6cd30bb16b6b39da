"""The commit of an onboarding under the re-onboarding policy: one procedure for both backends.

A backend opens its write transaction (SQLite's ``BEGIN IMMEDIATE``; PostgreSQL's, with its
onboarding lock and retries) and hands :func:`commit` its :class:`Steps`; the choice is made
here, once, with the statements of :mod:`rows` and :mod:`allocation`:

- no live record for the device: allocate a SUPI, insert (Outcome.CREATED);
- ``same-record``: keep the SUPI and state, replace K/OPc, certificate and service, restart the
  SQN at 0 (the UE derived a new K, so its SQN history starts again);
- ``new-record``: mark the old record "replaced", allocate a new SUPI, keep the old record's
  state (a suspension survives re-onboarding);
- ``refuse``: record the refusal, and return DeviceAlreadyOnboarded for the backend to raise
  once that event is committed.

The audit event is written in the same transaction as the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import DeviceAlreadyOnboarded, IssuerMismatch, StoreError
from dynsub_cli.store import allocation, rows
from dynsub_cli.store.model import (
    Device,
    EventKind,
    EventOutcome,
    OnboardingResult,
    Outcome,
    Secrets,
    Service,
    State,
    SupiRange,
)
from dynsub_cli.store.sealing import Sealer


class Steps(allocation.Ledger, Protocol):
    """One write transaction of a backend, with what the records are written with."""

    sealer: Sealer
    where: str  # the store, for messages

    def timestamp(self) -> str: ...


def commit(
    steps: Steps,
    device: Device,
    service: Service,
    secrets: Secrets,
    supi_range: SupiRange,
    policy: Reonboarding,
    amf: bytes,
    peer: str | None,
) -> OnboardingResult | DeviceAlreadyOnboarded:
    """The device's subscription under ``policy``, with its event; SupiRangeExhausted when no
    MSIN is left."""
    sealer, where = steps.sealer, steps.where
    existing = _live(
        steps.select(rows.LIVE_FOR_DEVICE, (device.imei, device.fingerprint)), device, where
    )
    now = steps.timestamp()
    previous: str | None = None
    if existing is None:
        supi = allocation.allocate(steps, supi_range, now, where)
        params = rows.insert_params(supi, device, service, secrets, sealer, amf, State.ACTIVE, now)
        steps.write(rows.INSERT, params)
        outcome, kind = Outcome.CREATED, EventKind.SUBSCRIPTION_CREATED
    elif policy is Reonboarding.REFUSE:
        refused = existing[0]
        reason = "already onboarded; re-onboarding policy is refuse"
        _event(
            steps, EventKind.ONBOARDING_REFUSED, EventOutcome.FAILURE, device, refused, reason, peer
        )
        return DeviceAlreadyOnboarded(
            f"device {device.imei} already has subscription {refused}; the re-onboarding "
            "policy is refuse (core.toml [enrollment] reonboarding)",
            refused,
        )
    elif policy is Reonboarding.SAME_RECORD:
        supi = existing[0]
        steps.write(
            rows.UPDATE_SAME, rows.update_params(supi, device, service, secrets, sealer, amf, now)
        )
        outcome, kind = Outcome.UPDATED, EventKind.SUBSCRIPTION_UPDATED
    else:
        previous, state = existing
        steps.write(rows.RETIRE, (now, previous))
        supi = allocation.allocate(steps, supi_range, now, where)
        params = rows.insert_params(supi, device, service, secrets, sealer, amf, state, now)
        steps.write(rows.INSERT, params)
        steps.write(rows.LINK_REPLACED, (supi, previous))
        outcome, kind = Outcome.REPLACED, EventKind.SUBSCRIPTION_REPLACED
    record = rows.to_subscription(steps.select(rows.BY_SUPI, (supi,))[0], None)
    reason = "" if previous is None else f"replaces {previous}"
    _event(steps, kind, EventOutcome.SUCCESS, device, supi, reason, peer)
    return OnboardingResult(record, outcome, previous)


def _live(live: Sequence[Sequence[Any]], device: Device, where: str) -> tuple[str, State] | None:
    """The SUPI and state of the device's one live record (by IMEI or certificate), if any."""
    if len(live) > 1:
        found = ", ".join(row[0] for row in live)
        raise StoreError(
            f"{where}: device {device.imei} matches several live subscriptions "
            f"({found}) by IMEI and by certificate; resolve with dynsub store delete"
        )
    if not live:
        return None
    supi, state, issuer = live[0]
    if issuer != device.issuer:
        raise IssuerMismatch(
            f"device {device.imei} has subscription {supi} under {issuer}, not under "
            f"{device.issuer}"
        )
    return supi, State(state)


def _event(
    steps: Steps, kind: str, outcome: str, device: Device, supi: str, reason: str, peer: str | None
) -> None:
    params = (steps.timestamp(), str(kind), device.imei, supi, str(outcome), reason, peer)
    steps.write(rows.INSERT_EVENT, params)
