"""Subscriptions out of the store: JSON, NDJSON, CSV, and Open5GS subscriber documents.

K and OPc appear only with ``reveal_secrets``; the subscriptions must then have been read with
``reveal_secrets=True``. The Open5GS format always needs them: a subscriber without K cannot
authenticate, so exporting one would only produce documents that fail later.

Open5GS documents follow the ``subscribers`` collection of the Open5GS WebUI and
``open5gs-dbctl`` (schema_version 1): imsi, security {k, op, opc, amf, sqn}, ambr, slice
[{sst, sd, default_indicator, session [{name, type, qos, ambr, pcc_rule}]}], and the
subscriber flags. The file is a JSON array in MongoDB Extended JSON, because Open5GS reads
``security.sqn`` only as a 64-bit integer: ``mongoimport --db open5gs --collection subscribers
--jsonArray --file FILE``. Replaced records are not exported (they cannot register).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Any, TextIO

from dynsub_cli.errors import StoreError
from dynsub_cli.files import pem_certificate
from dynsub_cli.store import jsontext

# Defined there so that `dynsub store --help` can offer them without importing the store.
from dynsub_cli.store.constants import Format as Format
from dynsub_cli.store.model import Event, State, Subscription

CSV_COLUMNS = (
    "supi",
    "imei",
    "state",
    "service_type",
    "plan",
    "account",
    "billing",
    "sst",
    "sd",
    "dnn",
    "ambr_ul",
    "ambr_dl",
    "amf",
    "sqn",
    "fingerprint",
    "issuer",
    "created",
    "updated",
    "replaced_by",
)
SECRET_COLUMNS = ("k", "opc")

# Open5GS subscriber defaults, as its WebUI and open5gs-dbctl write them.
_SESSION_TYPE_IPV4V6 = 3  # PDU session type (TS 24.501 9.11.4.11)
_QOS_5QI = 9  # TS 23.501 Table 5.7.4-1: non-GBR default bearer
_ARP = {"priority_level": 8, "pre_emption_capability": 1, "pre_emption_vulnerability": 1}
_ACCESS_RESTRICTION = 32  # TS 29.272 7.3.31: handover to non-3GPP access not allowed
_RAU_TAU_TIMER_MINUTES = 12
_NETWORK_ACCESS_PACKET_AND_CIRCUIT = 0  # TS 29.272 7.3.21
# TS 29.272 7.3.29/7.3.30: a suspended subscription is barred by the operator from all
# packet-oriented services.
_SERVICE_GRANTED, _OPERATOR_DETERMINED_BARRING = 0, 1
_ODB_ALL_PACKET_ORIENTED_SERVICES = 1
_INT32_MAX = 2**31 - 1


def _need_secrets(sub: Subscription) -> tuple[str, str]:
    if sub.secrets is None:
        raise StoreError(f"{sub.supi}: secrets were not read; list with reveal_secrets=True")
    return sub.secrets.k.hex(), sub.secrets.opc.hex()


def certificate_pem(sub: Subscription) -> str:
    return pem_certificate(sub.certificate).decode("ascii")


def record(
    sub: Subscription, *, reveal_secrets: bool = False, certificate: bool = True
) -> dict[str, Any]:
    """The subscription as a JSON-ready mapping (``dynsub store show --json``, JSON exports)."""
    out: dict[str, Any] = {
        "supi": sub.supi,
        "imei": sub.imei,
        "state": sub.state.value,
        "service_type": sub.service_type,
        "plan": sub.plan,
        "account": sub.account,
        "billing": dict(sub.billing),
        "s_nssai": {"sst": sub.sst, "sd": sub.sd},
        "dnn": sub.dnn,
        "ambr": {"uplink_bps": sub.ambr_ul, "downlink_bps": sub.ambr_dl},
        "amf": sub.amf.hex(),
        "sqn": sub.sqn,
        "fingerprint": sub.fingerprint,
        "issuer": sub.issuer,
        "created": sub.created,
        "updated": sub.updated,
        "replaced_by": sub.replaced_by,
    }
    if certificate:
        out["certificate"] = certificate_pem(sub)
    if reveal_secrets:
        out["k"], out["opc"] = _need_secrets(sub)
    return out


def event_record(event: Event) -> dict[str, Any]:
    """An audit event as a JSON-ready mapping (``dynsub store events --json``): its fields in
    order, as ``dataclasses.asdict`` gives them, without asdict's deep copy of each value."""
    return {
        "id": event.id,
        "time": event.time,
        "kind": event.kind,
        "outcome": event.outcome,
        "imei": event.imei,
        "supi": event.supi,
        "reason": event.reason,
        "peer": event.peer,
    }


def _open5gs_bitrate(bps: int) -> dict[str, int]:
    # unit: 0 bps, 1 Kbps, 2 Mbps, 3 Gbps, 4 Tbps. Plain bit/s whenever it fits the int32
    # Open5GS reads, which also avoids older releases scaling units by 1024 instead of 1000.
    for unit in range(5):
        value, rest = divmod(bps, 1000**unit)
        if rest:
            break
        if value <= _INT32_MAX:
            return {"value": value, "unit": unit}
    raise StoreError(f"{bps} bit/s cannot be written as an Open5GS bit rate (int32 value)")


def open5gs_document(sub: Subscription) -> dict[str, Any]:
    """One Open5GS ``subscribers`` document (MongoDB Extended JSON, relaxed)."""
    k, opc = _need_secrets(sub)
    ambr = {"downlink": _open5gs_bitrate(sub.ambr_dl), "uplink": _open5gs_bitrate(sub.ambr_ul)}
    slice_: dict[str, Any] = {"sst": sub.sst}
    if sub.sd is not None:
        slice_["sd"] = sub.sd
    slice_["default_indicator"] = True
    slice_["session"] = [
        {
            "name": sub.dnn,
            "type": _SESSION_TYPE_IPV4V6,
            "qos": {"index": _QOS_5QI, "arp": dict(_ARP)},
            "ambr": ambr,
            "pcc_rule": [],
        }
    ]
    suspended = sub.state is State.SUSPENDED
    return {
        "schema_version": 1,
        "imsi": sub.supi.removeprefix("imsi-"),
        "msisdn": [],
        "imeisv": [],
        "mme_host": [],
        "mme_realm": [],
        "purge_flag": [],
        "security": {
            "k": k,
            "op": None,
            "opc": opc,
            "amf": sub.amf.hex(),
            "sqn": {"$numberLong": str(sub.sqn)},
        },
        "ambr": ambr,
        "slice": [slice_],
        "access_restriction_data": _ACCESS_RESTRICTION,
        "subscriber_status": _OPERATOR_DETERMINED_BARRING if suspended else _SERVICE_GRANTED,
        "operator_determined_barring": _ODB_ALL_PACKET_ORIENTED_SERVICES if suspended else 0,
        "network_access_mode": _NETWORK_ACCESS_PACKET_AND_CIRCUIT,
        "subscribed_rau_tau_timer": _RAU_TAU_TIMER_MINUTES,
    }


def write(
    subs: Iterable[Subscription], fmt: Format, out: TextIO, *, reveal_secrets: bool = False
) -> int:
    """Write ``subs`` to ``out`` in ``fmt`` as they come (``subs`` may be a store's
    :meth:`iterate`: nothing is held but the record being written); returns how many were
    written. JSON and Open5GS are one array, as ``json.dumps(list, indent=2)`` writes it."""
    if fmt is Format.OPEN5GS and not reveal_secrets:
        raise StoreError(
            "the open5gs format needs K and OPc (Open5GS cannot authenticate a subscriber "
            "without them): add `reveal_secrets`, and keep the file private",
            parameter="reveal_secrets",
        )
    if fmt is Format.JSON:
        return jsontext.write_array((record(s, reveal_secrets=reveal_secrets) for s in subs), out)
    if fmt is Format.NDJSON:
        return jsontext.write_lines((record(s, reveal_secrets=reveal_secrets) for s in subs), out)
    if fmt is Format.CSV:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS + (SECRET_COLUMNS if reveal_secrets else ()))
        count = 0
        for sub in subs:
            writer.writerow(_csv_row(sub, reveal_secrets))
            count += 1
        return count
    return jsontext.write_array(
        (open5gs_document(s) for s in subs if s.state is not State.REPLACED), out
    )


def _csv_row(sub: Subscription, reveal_secrets: bool) -> list[Any]:
    """The record's fields in :data:`CSV_COLUMNS` order (then K and OPc when revealed)."""
    row: list[Any] = [
        sub.supi,
        sub.imei,
        sub.state.value,
        sub.service_type,
        sub.plan,
        sub.account or "",
        json.dumps(dict(sub.billing), sort_keys=True) if sub.billing else "",
        sub.sst,
        sub.sd or "",
        sub.dnn,
        sub.ambr_ul,
        sub.ambr_dl,
        sub.amf.hex(),
        sub.sqn,
        sub.fingerprint,
        sub.issuer,
        sub.created,
        sub.updated,
        sub.replaced_by or "",
    ]
    if reveal_secrets:
        row += _need_secrets(sub)
    return row
