"""Exports: JSON, NDJSON, CSV, Open5GS documents; secrets only when asked."""

from __future__ import annotations

import csv
import io
import json
import ssl
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import StoreError
from dynsub_cli.store import Secrets, State, Subscriptions
from dynsub_cli.store.export import Format, certificate_pem, open5gs_document, record, write
from tests.unit.store.helpers import RANGE, device, onboard, open_store, service

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("e8ed289deba952e4283b54e88e6183ca")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Subscriptions]:
    with open_store(tmp_path / "s.sqlite") as opened:
        opened.create_or_update_from_onboarding(
            device(1),
            service(sd="00000a", dnn="iot", account="acme", billing={"account": "acme"}),
            Secrets(k=K, opc=OPC),
            supi_range=RANGE,
            policy=Reonboarding.SAME_RECORD,
        )
        onboard(opened, 2)
        opened.set_state("imsi-001010000000002", State.SUSPENDED)
        onboard(opened, 3)
        onboard(opened, 3, policy=Reonboarding.NEW_RECORD)  # 3 is replaced by 4
        opened.start_authentication("imsi-001010000000001")
        yield opened


def _export(store: Subscriptions, fmt: Format, reveal: bool) -> str:
    out = io.StringIO()
    write(store.list(reveal_secrets=reveal), fmt, out, reveal_secrets=reveal)
    return out.getvalue()


def test_json_without_secrets(store: Subscriptions) -> None:
    docs = json.loads(_export(store, Format.JSON, False))
    assert [d["supi"] for d in docs] == [f"imsi-00101000000000{n}" for n in range(1, 5)]
    first = docs[0]
    assert "k" not in first
    assert "opc" not in first
    assert K.hex() not in json.dumps(docs)
    assert first["s_nssai"] == {"sst": 3, "sd": "00000a"}
    assert first["ambr"] == {"uplink_bps": 1_000_000, "downlink_bps": 2_000_000}
    assert (first["dnn"], first["account"], first["billing"]) == (
        "iot",
        "acme",
        {"account": "acme"},
    )
    assert (first["amf"], first["sqn"], first["state"]) == ("8000", 32, "active")
    assert ssl.PEM_cert_to_DER_cert(first["certificate"]) == device(1).certificate
    assert docs[2]["replaced_by"] == "imsi-001010000000004"


def test_json_and_ndjson_with_secrets(store: Subscriptions) -> None:
    docs = json.loads(_export(store, Format.JSON, True))
    assert (docs[0]["k"], docs[0]["opc"]) == (K.hex(), OPC.hex())
    lines = _export(store, Format.NDJSON, True).splitlines()
    assert [json.loads(line) for line in lines] == docs


def test_csv(store: Subscriptions) -> None:
    rows = list(csv.DictReader(io.StringIO(_export(store, Format.CSV, False))))
    assert len(rows) == 4
    assert "k" not in rows[0]
    assert rows[0]["billing"] == '{"account": "acme"}'
    assert (rows[0]["sst"], rows[0]["sd"], rows[0]["ambr_dl"]) == ("3", "00000a", "2000000")
    assert (rows[1]["state"], rows[1]["sd"], rows[1]["account"]) == ("suspended", "", "")
    secret_rows = list(csv.DictReader(io.StringIO(_export(store, Format.CSV, True))))
    assert (secret_rows[0]["k"], secret_rows[0]["opc"]) == (K.hex(), OPC.hex())


def test_open5gs_needs_the_secrets(store: Subscriptions) -> None:
    with pytest.raises(StoreError, match="add `reveal_secrets`") as raised:
        _export(store, Format.OPEN5GS, False)
    assert raised.value.parameter == "reveal_secrets"  # cli/ names its flag


def test_revealing_needs_secrets_read(store: Subscriptions) -> None:
    with pytest.raises(StoreError, match="secrets were not read"):
        write(store.list(), Format.JSON, io.StringIO(), reveal_secrets=True)


def test_open5gs_document_shape(store: Subscriptions) -> None:
    docs = json.loads(_export(store, Format.OPEN5GS, True))
    assert [d["imsi"] for d in docs] == ["001010000000001", "001010000000002", "001010000000004"]
    ambr = {"downlink": {"value": 2_000_000, "unit": 0}, "uplink": {"value": 1_000_000, "unit": 0}}
    assert docs[0] == {
        "schema_version": 1,
        "imsi": "001010000000001",
        "msisdn": [],
        "imeisv": [],
        "mme_host": [],
        "mme_realm": [],
        "purge_flag": [],
        "security": {
            "k": K.hex(),
            "op": None,
            "opc": OPC.hex(),
            "amf": "8000",
            "sqn": {"$numberLong": "32"},
        },
        "ambr": ambr,
        "slice": [
            {
                "sst": 3,
                "sd": "00000a",
                "default_indicator": True,
                "session": [
                    {
                        "name": "iot",
                        "type": 3,
                        "qos": {
                            "index": 9,
                            "arp": {
                                "priority_level": 8,
                                "pre_emption_capability": 1,
                                "pre_emption_vulnerability": 1,
                            },
                        },
                        "ambr": ambr,
                        "pcc_rule": [],
                    }
                ],
            }
        ],
        "access_restriction_data": 32,
        "subscriber_status": 0,
        "operator_determined_barring": 0,
        "network_access_mode": 0,
        "subscribed_rau_tau_timer": 12,
    }
    suspended = docs[1]
    assert (suspended["subscriber_status"], suspended["operator_determined_barring"]) == (1, 1)
    assert "sd" not in suspended["slice"][0]


@pytest.mark.parametrize(
    ("bps", "expected"),
    [
        (2**31 - 1, {"value": 2**31 - 1, "unit": 0}),
        (3_000_000_000, {"value": 3_000_000, "unit": 1}),
        (5 * 10**12, {"value": 5_000_000, "unit": 2}),  # the smallest unit that fits
    ],
)
def test_open5gs_bit_rates_fit_int32(
    store: Subscriptions, bps: int, expected: dict[str, int]
) -> None:
    sub = store.get("imsi-001010000000001", reveal_secrets=True)
    assert open5gs_document(replace(sub, ambr_dl=bps))["ambr"]["downlink"] == expected


def test_an_open5gs_bit_rate_that_cannot_be_written(store: Subscriptions) -> None:
    sub = store.get("imsi-001010000000001", reveal_secrets=True)
    with pytest.raises(StoreError, match="2147483649 bit/s cannot be written"):
        open5gs_document(replace(sub, ambr_ul=2**31 + 1))


def test_record_without_certificate(store: Subscriptions) -> None:
    assert "certificate" not in record(store.get("imsi-001010000000001"), certificate=False)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(der=st.binary(min_size=1, max_size=3000))  # a certificate is never empty
def test_the_certificate_is_written_as_ssl_writes_pem(store: Subscriptions, der: bytes) -> None:
    sub = replace(store.get("imsi-001010000000001"), certificate=der)
    assert certificate_pem(sub) == ssl.DER_cert_to_PEM_cert(der)
