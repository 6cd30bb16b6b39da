"""The SQL text of the subscriptions table and the mapping between its rows and values.

Statements are module constants: values are always bound parameters, never formatted in.
"""

from __future__ import annotations

import json
import sqlite3

from dynsub_cli.store.model import Device, Secrets, Service, State, Subscription
from dynsub_cli.store.sealing import Sealer

_SELECT = (
    "SELECT supi, imei, fingerprint, issuer, certificate, state, service_type, plan, account, "
    "billing, k_sealed, opc_sealed, amf, sqn, sst, sd, dnn, ambr_ul, ambr_dl, created_at, "
    "updated_at, replaced_by FROM subscriptions"
)

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

_INSERT = (
    "INSERT INTO subscriptions (supi, imei, fingerprint, issuer, certificate, state, "
    "service_type, plan, account, billing, k_sealed, opc_sealed, amf, sqn, sst, sd, dnn, "
    "ambr_ul, ambr_dl, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_SAME = (
    "UPDATE subscriptions SET imei = ?, fingerprint = ?, issuer = ?, certificate = ?, "
    "service_type = ?, plan = ?, account = ?, billing = ?, k_sealed = ?, opc_sealed = ?, "
    "amf = ?, sqn = 0, sst = ?, sd = ?, dnn = ?, ambr_ul = ?, ambr_dl = ?, updated_at = ? "
    "WHERE supi = ?"
)

COUNT_BY = {
    "state": "SELECT state, COUNT(*) FROM subscriptions GROUP BY state ORDER BY state",
    "service_type": (
        "SELECT service_type, COUNT(*) FROM subscriptions GROUP BY service_type "
        "ORDER BY service_type"
    ),
    "plan": "SELECT plan, COUNT(*) FROM subscriptions GROUP BY plan ORDER BY plan",
}


def _record_values(
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


def insert(
    conn: sqlite3.Connection,
    supi: str,
    device: Device,
    service: Service,
    secrets: Secrets,
    sealer: Sealer,
    amf: bytes,
    state: State,
    now: str,
) -> None:
    values = _record_values(supi, device, service, secrets, sealer, amf)
    # Column order of _INSERT: supi, the device (4), state, then the rest of _record_values.
    conn.execute(_INSERT, (supi, *values[:4], state.value, *values[4:], now, now))


def update_same_record(
    conn: sqlite3.Connection,
    supi: str,
    device: Device,
    service: Service,
    secrets: Secrets,
    sealer: Sealer,
    amf: bytes,
    now: str,
) -> None:
    values = _record_values(supi, device, service, secrets, sealer, amf)
    conn.execute(_UPDATE_SAME, (*values, now, supi))


def to_subscription(row: sqlite3.Row, sealer: Sealer | None) -> Subscription:
    """The row as a value; K and OPc are opened only when a ``sealer`` is given."""
    secrets = None
    if sealer is not None:
        secrets = Secrets(
            k=sealer.open(row["supi"], "k", row["k_sealed"]),
            opc=sealer.open(row["supi"], "opc", row["opc_sealed"]),
        )
    return Subscription(
        supi=row["supi"],
        imei=row["imei"],
        fingerprint=row["fingerprint"],
        issuer=row["issuer"],
        certificate=bytes(row["certificate"]),
        state=State(row["state"]),
        service_type=row["service_type"],
        plan=row["plan"],
        account=row["account"],
        billing=json.loads(row["billing"]),
        amf=bytes(row["amf"]),
        sqn=row["sqn"],
        sst=row["sst"],
        sd=row["sd"],
        dnn=row["dnn"],
        ambr_ul=row["ambr_ul"],
        ambr_dl=row["ambr_dl"],
        created=row["created_at"],
        updated=row["updated_at"],
        replaced_by=row["replaced_by"],
        secrets=secrets,
    )
