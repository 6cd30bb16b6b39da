"""The SQL both backends run, and the mapping between its rows and values.

Statements are module constants in SQLite's placeholders (postgres.py swaps them for psycopg's):
values are always bound parameters, never formatted in.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from dynsub_cli.errors import AlreadyExists, NotFound
from dynsub_cli.store.model import (
    Allocation,
    Device,
    Event,
    Secrets,
    Service,
    State,
    Stats,
    Subscription,
)
from dynsub_cli.store.sealing import Sealer

_SELECT = (
    "SELECT supi, imei, fingerprint, issuer, certificate, state, service_type, plan, account, "
    "billing, k_sealed, opc_sealed, amf, sqn, sst, sd, dnn, ambr_ul, ambr_dl, created_at, "
    "updated_at, replaced_by FROM subscriptions"
)

#: State by its stored value: a dict look-up, where State(value) is a call per row.
_STATES = {state.value: state for state in State}

BY_SUPI = f"{_SELECT} WHERE supi = ?"
LIVE_BY_IMEI = f"{_SELECT} WHERE imei = ? AND state != 'replaced'"
LIVE_BY_FINGERPRINT = f"{_SELECT} WHERE fingerprint = ? AND state != 'replaced'"
#: Keyset pages in SUPI order: (after, limit) and (state, after, limit).
PAGE = f"{_SELECT} WHERE supi > ? ORDER BY supi LIMIT ?"
PAGE_BY_STATE = f"{_SELECT} WHERE state = ? AND supi > ? ORDER BY supi LIMIT ?"
LIVE_FOR_DEVICE = (
    "SELECT supi, state, issuer FROM subscriptions "
    "WHERE state != 'replaced' AND (imei = ? OR fingerprint = ?)"
)

INSERT = (
    "INSERT INTO subscriptions (supi, imei, fingerprint, issuer, certificate, state, "
    "service_type, plan, account, billing, k_sealed, opc_sealed, amf, sqn, sst, sd, dnn, "
    "ambr_ul, ambr_dl, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)"
)
#: (now, supi): policy new-record retires the old record before the new one is inserted.
RETIRE = "UPDATE subscriptions SET state = 'replaced', updated_at = ? WHERE supi = ?"
SET_STATE = "UPDATE subscriptions SET state = ?, updated_at = ? WHERE supi = ?"
SET_SQN = "UPDATE subscriptions SET sqn = ?, updated_at = ? WHERE supi = ?"
#: A deleted record's SUPI stays allocated; the record it replaced stops naming it.
UNLINK = "UPDATE subscriptions SET replaced_by = NULL WHERE replaced_by = ?"
DELETE = "DELETE FROM subscriptions WHERE supi = ?"
UPDATE_SAME = (
    "UPDATE subscriptions SET imei = ?, fingerprint = ?, issuer = ?, certificate = ?, "
    "service_type = ?, plan = ?, account = ?, billing = ?, k_sealed = ?, opc_sealed = ?, "
    "amf = ?, sqn = 0, sst = ?, sd = ?, dnn = ?, ambr_ul = ?, ambr_dl = ?, updated_at = ? "
    "WHERE supi = ?"
)

COUNT = "SELECT COUNT(*) FROM subscriptions"
ALLOCATED = "SELECT COUNT(*) FROM supi_allocations"
#: What `dynsub store stats` counts the trail with: from the events_kind_outcome index.
EVENT_COUNTS = (
    "SELECT kind, outcome, COUNT(*) FROM events GROUP BY kind, outcome ORDER BY kind, outcome"
)
COUNT_IN_STATE = "SELECT COUNT(*) FROM subscriptions WHERE state = ?"
COUNT_BY = {
    "state": "SELECT state, COUNT(*) FROM subscriptions GROUP BY state ORDER BY state",
    "service_type": (
        "SELECT service_type, COUNT(*) FROM subscriptions GROUP BY service_type "
        "ORDER BY service_type"
    ),
    "plan": "SELECT plan, COUNT(*) FROM subscriptions GROUP BY plan ORDER BY plan",
}


def record_values(
    supi: str, device: Device, service: Service, secrets: Secrets, sealer: Sealer, amf: bytes
) -> tuple[object, ...]:
    return (
        device.imei,
        device.fingerprint,
        device.issuer,
        device.certificate,
        service.service_type,
        service.plan,
        service.account,
        json.dumps(dict(service.billing), sort_keys=True),
        sealer.seal(supi, "k", secrets.k),
        sealer.seal(supi, "opc", secrets.opc),
        amf,
        service.sst,
        service.sd,
        service.dnn,
        service.ambr_ul,
        service.ambr_dl,
    )


def insert_params(
    supi: str,
    device: Device,
    service: Service,
    secrets: Secrets,
    sealer: Sealer,
    amf: bytes,
    state: State,
    now: str,
) -> tuple[object, ...]:
    """The parameters of :data:`INSERT` for a new record."""
    values = record_values(supi, device, service, secrets, sealer, amf)
    # Column order of INSERT: supi, the device (4), state, then the rest of record_values.
    return (supi, *values[:4], state.value, *values[4:], now, now)


def update_params(
    supi: str,
    device: Device,
    service: Service,
    secrets: Secrets,
    sealer: Sealer,
    amf: bytes,
    now: str,
) -> tuple[object, ...]:
    """The parameters of :data:`UPDATE_SAME` (policy same-record)."""
    return (*record_values(supi, device, service, secrets, sealer, amf), now, supi)


def to_subscription(row: Sequence[Any] | Mapping[str, Any], sealer: Sealer | None) -> Subscription:
    """A row of :data:`_SELECT` as a value: a tuple or sqlite3.Row, or a psycopg dict row (in
    its column order). K and OPc are opened only when a ``sealer`` is given.

    By position rather than by name: ``sqlite3.Row`` looks a name up column by column, which
    made reading a row cost twice the read itself (issue 11, store commands at 100,000 rows).
    """
    values = tuple(row.values()) if isinstance(row, Mapping) else row
    (
        supi,
        imei,
        fingerprint,
        issuer,
        certificate,
        state,
        service_type,
        plan,
        account,
        billing,
        k_sealed,
        opc_sealed,
        amf,
        sqn,
        sst,
        sd,
        dnn,
        ambr_ul,
        ambr_dl,
        created_at,
        updated_at,
        replaced_by,
    ) = values
    secrets = None
    if sealer is not None:
        secrets = Secrets(
            k=sealer.open(supi, "k", k_sealed), opc=sealer.open(supi, "opc", opc_sealed)
        )
    # A frozen dataclass's __init__ sets each field through object.__setattr__: for 21 fields
    # that cost as much as reading the row (issue 11). The value is assembled directly, every
    # field set (tests/unit/store/test_rows.py holds it equal to Subscription(...) field by
    # field); the schema's constraints have checked the values.
    sub = object.__new__(Subscription)
    sub.__dict__.update(
        supi=supi,
        imei=imei,
        fingerprint=fingerprint,
        issuer=issuer,
        certificate=bytes(certificate),
        state=_STATES[state] if state in _STATES else State(state),
        service_type=service_type,
        plan=plan,
        account=account,
        billing={} if billing == "{}" else json.loads(billing),  # most have none: no parse
        amf=bytes(amf),
        sqn=sqn,
        sst=sst,
        sd=sd,
        dnn=dnn,
        ambr_ul=ambr_ul,
        ambr_dl=ambr_dl,
        created=created_at,
        updated=updated_at,
        replaced_by=replaced_by,
        secrets=secrets,
    )
    return sub


#: A whole record as another store holds it (``dynsub store copy``); replaced_by is set after
#: every record is in, since it names another record.
RESTORE = (
    "INSERT INTO subscriptions (supi, imei, fingerprint, issuer, certificate, state, "
    "service_type, plan, account, billing, k_sealed, opc_sealed, amf, sqn, sst, sd, dnn, "
    "ambr_ul, ambr_dl, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: A store is copied only into an empty one.
ANY_ROW = {
    "supi_allocations": "SELECT 1 FROM supi_allocations LIMIT 1",
    "subscriptions": "SELECT 1 FROM subscriptions LIMIT 1",
    "events": "SELECT 1 FROM events LIMIT 1",
}
LINK_REPLACED = "UPDATE subscriptions SET replaced_by = ? WHERE supi = ?"
RESTORE_ALLOCATION = (
    "INSERT INTO supi_allocations (supi, plmn, msin, allocated_at) VALUES (?, ?, ?, ?)"
)
RESTORE_EVENT = (
    "INSERT INTO events (id, time, kind, imei, supi, outcome, reason, peer) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def restore_params(sub: Subscription, sealer: Sealer) -> tuple[object, ...]:
    """The parameters of :data:`RESTORE`: ``sub`` read with its secrets, sealed again here."""
    if sub.secrets is None:
        raise ValueError(f"{sub.supi}: a record is copied with its secrets")
    return (
        sub.supi,
        sub.imei,
        sub.fingerprint,
        sub.issuer,
        sub.certificate,
        sub.state.value,
        sub.service_type,
        sub.plan,
        sub.account,
        json.dumps(dict(sub.billing), sort_keys=True),
        sealer.seal(sub.supi, "k", sub.secrets.k),
        sealer.seal(sub.supi, "opc", sub.secrets.opc),
        sub.amf,
        sub.sqn,
        sub.sst,
        sub.sd,
        sub.dnn,
        sub.ambr_ul,
        sub.ambr_dl,
        sub.created,
        sub.updated,
    )


def check_empty(first_row: Callable[[str], object], where: str) -> None:
    """AlreadyExists unless every table is empty; ``first_row`` runs a query in the copy's
    transaction and returns its first row (None without one)."""
    for table, query in ANY_ROW.items():
        if first_row(query) is not None:
            raise AlreadyExists(f"{where}: the store is not empty ({table}); copy into a new store")


def restore_batches(
    allocations: Iterable[Allocation],
    subscriptions: Iterable[Subscription],
    events: Iterable[Event],
    sealer: Sealer,
) -> Iterator[tuple[str, Iterable[tuple[object, ...]]]]:
    """The statements of a copy and their parameters, for the backend to run each batch with
    executemany, in order: the replaced_by links are gathered while the records go in."""
    yield RESTORE_ALLOCATION, ((a.supi, a.plmn, a.msin, a.allocated_at) for a in allocations)
    links: list[tuple[object, ...]] = []

    def records() -> Iterator[tuple[object, ...]]:
        for sub in subscriptions:
            if sub.replaced_by is not None:
                links.append((sub.replaced_by, sub.supi))
            yield restore_params(sub, sealer)

    yield RESTORE, records()
    yield LINK_REPLACED, links
    yield (
        RESTORE_EVENT,
        ((e.id, e.time, e.kind, e.imei, e.supi, e.outcome, e.reason, e.peer) for e in events),
    )


def missing(supi: str, where: str) -> NotFound:
    return NotFound(f"{supi}: no such subscription in {where}")


# --- the audit trail ------------------------------------------------------------------------

_EVENTS = "SELECT id, time, kind, outcome, imei, supi, reason, peer FROM events"
INSERT_EVENT = (
    "INSERT INTO events (time, kind, imei, supi, outcome, reason, peer) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
#: Keyset pages in id order, for copying: (after, limit); and in SUPI order, the allocations.
EVENTS_AFTER = f"{_EVENTS} WHERE id > ? ORDER BY id LIMIT ?"
ALLOCATIONS_AFTER = (
    "SELECT supi, plmn, msin, allocated_at FROM supi_allocations "
    "WHERE supi > ? ORDER BY supi LIMIT ?"
)


def events_before(imei: str | None, supi: str | None, contains: str) -> tuple[str, list[str]]:
    """The query of a newest-first page of the events that name ``imei`` / ``supi``, and its
    leading arguments (then before, limit). ``contains``: the dialect's substring test,
    ``instr`` (SQLite) or ``strpos`` (PostgreSQL)."""
    clauses: list[str] = []
    args: list[str] = []
    for column, value in (("imei", imei), ("supi", supi)):
        if value is None:
            continue
        # The events that name it, and those of connections that only claimed it: the
        # core writes those unnamed, the claim in the reason (core.procedure).
        clauses.append(f"({column} = ? OR ({column} IS NULL AND {contains}(reason, ?) > 0))")
        args += [value, f"{column.upper()} {value}"]
    return f"{_EVENTS} WHERE {' AND '.join([*clauses, 'id < ?'])} ORDER BY id DESC LIMIT ?", args


def stats(query: Callable[[str], Iterable[Sequence[Any]]]) -> Stats:
    """The counts of ``dynsub store stats``, each read by ``query`` (rows as tuples) in one
    snapshot of the backend's."""
    by_kind: dict[str, dict[str, int]] = {}
    for kind, outcome, count in query(EVENT_COUNTS):
        by_kind.setdefault(kind, {})[outcome] = count
    counts = {column: {r[0]: r[1] for r in query(q)} for column, q in COUNT_BY.items()}
    total = next(iter(query(COUNT)))[0]
    allocated = next(iter(query(ALLOCATED)))[0]
    return Stats(
        total=total,
        by_state=counts["state"],
        by_service_type=counts["service_type"],
        by_plan=counts["plan"],
        events_by_kind=by_kind,
        allocated_supis=allocated,
    )
