"""The whole flow as a user runs it: every `dynsub` command a real subprocess on 127.0.0.1.

One module fixture runs the session once: `pki init`, `pki mint` (two devices), `core init`,
`core serve` in the background, then for the first device `ue onboard --json` and `ue register
--json`, for the second the same commands without --json (what a person reads), the store
commands while the core still runs, and SIGTERM to the core. The tests below each check one
part of what came out, against what the UE holds (its state file and its certificate).
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.processes import ServedCore, dynsub, served_core

# What `core init` writes as the defaults a device gets when it asks for nothing (core.toml:
# [enrollment] default_service_type / default_plan, [service_types.miot]).
SERVICE_TYPE, PLAN, SST, DNN, AMBR_BPS = "miot", "trial", 3, "internet", 1_000_000

ONBOARDING_STEPS = [
    ("onboarding", "registration"),
    ("onboarding", "EAP-TLS"),
    ("onboarding", "security mode"),
    ("onboarding", "registration"),
    ("onboarding", "dialogue"),
    ("onboarding", "key generation"),
    ("onboarding", "subscription"),
    ("onboarding", "state"),
    ("onboarding", "deregistration"),
]
REGISTRATION_STEPS = [
    ("registration", "5G AKA"),
    ("registration", "security mode"),
    ("registration", "registration"),
    ("registration", "deregistration"),
]


@dataclass
class Ue:
    device: Path
    state_file: Path
    onboard: Any  # JSON of `ue onboard --json`, or stderr lines without --json
    state_after_onboard: dict[str, Any]
    register: Any

    def state(self) -> dict[str, Any]:
        return tomllib.loads(self.state_file.read_text())

    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate((self.device / "device.pem").read_bytes())


@dataclass
class Session:
    work: Path
    config: Path
    started: datetime
    json_ue: Ue
    text_ue: Ue
    show: dict[str, Any]
    show_revealed: dict[str, Any]
    show_by_imei: dict[str, Any]
    show_text: str
    listing: list[dict[str, Any]]
    events: list[dict[str, Any]]
    open5gs: list[dict[str, Any]]
    core: ServedCore
    core_exit: int


def _ue(work: Path, device: Path, core: ServedCore, *, as_json: bool) -> Ue:
    state_file = work / f"ue-{device.name}.toml"
    flag = ["--json"] if as_json else []
    onboard = dynsub(
        "ue", "onboard", "--device", device, "--core", core.address, "--state", state_file, *flag,
        cwd=work,
    )  # fmt: skip
    after_onboard = tomllib.loads(state_file.read_text())
    register = dynsub(
        "ue", "register", "--state", state_file, "--core", core.address, *flag, cwd=work
    )
    if as_json:
        assert onboard.stderr == register.stderr == "", "with --json, only the JSON result"
        return Ue(
            device,
            state_file,
            json.loads(onboard.stdout),
            after_onboard,
            json.loads(register.stdout),
        )
    assert onboard.stdout == register.stdout == "", "without --json nothing goes to stdout"
    return Ue(device, state_file, onboard.stderr, after_onboard, register.stderr)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    work = tmp_path_factory.mktemp("flow")
    started = datetime.now(UTC)
    dynsub("pki", "init", "pki", cwd=work)
    minted = json.loads(
        dynsub("pki", "mint", "--pki", "pki", "--out", "devices", "--count", "2",
               "--workers", "1", "--json", cwd=work).stdout
    )  # fmt: skip
    first, second = minted["first_imei"], minted["last_imei"]
    dynsub("core", "init", "core", "--pki", "pki", cwd=work)
    config = work / "core" / "core.toml"
    with served_core(config, cwd=work) as core:
        json_ue = _ue(work, work / "devices" / first, core, as_json=True)
        text_ue = _ue(work, work / "devices" / second, core, as_json=False)
        supi = json_ue.onboard["supi"]
        show = dynsub("store", "show", supi, "--config", config, "--json", cwd=work)
        revealed = dynsub(
            "store", "show", supi, "--config", config, "--json", "--reveal-secrets", cwd=work
        )
        by_imei = dynsub("store", "show", first, "--config", config, "--json", cwd=work)
        text = dynsub("store", "show", supi, "--config", config, cwd=work)
        listing = dynsub("store", "list", "--config", config, "--json", cwd=work)
        events = dynsub("store", "events", "--config", config, "--imei", first, "--json", cwd=work)
        open5gs = dynsub(
            "store", "export", "--config", config, "--format", "open5gs", "--reveal-secrets",
            cwd=work,
        )  # fmt: skip
        exit_code = core.stop()
    return Session(
        work,
        config,
        started,
        json_ue,
        text_ue,
        json.loads(show.stdout),
        json.loads(revealed.stdout),
        json.loads(by_imei.stdout),
        text.stdout,
        json.loads(listing.stdout),
        json.loads(events.stdout),
        json.loads(open5gs.stdout),
        core,
        exit_code,
    )


def _when(text: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", text), text
    return datetime.fromisoformat(text)


def test_onboard_json_reports_every_step_in_order(session: Session) -> None:
    ue = session.json_ue
    report = ue.onboard
    assert report["outcome"] == "ready"
    assert report["supi"] == ue.state()["subscription"]["supi"]
    assert report["state_file"] == str(ue.state_file)
    steps = [(s["procedure"], s["step"]) for s in report["steps"]]
    assert steps == ONBOARDING_STEPS + REGISTRATION_STEPS
    assert report["steps"][0]["detail"].endswith("(#74)")
    for procedure in ("onboarding", "registration"):
        times = [s["seconds"] for s in report["steps"] if s["procedure"] == procedure]
        assert times == sorted(times), f"{procedure} step times go backwards: {times}"
        assert 0 < times[-1] <= report["seconds"]


def test_register_json_moves_the_sqn_on(session: Session) -> None:
    ue = session.json_ue
    report = ue.register
    assert report["outcome"] == "ready"
    assert report["supi"] == ue.onboard["supi"]
    assert [(s["procedure"], s["step"]) for s in report["steps"]] == REGISTRATION_STEPS
    before = ue.state_after_onboard["usim"]["sqn_ms"]
    after = ue.state()["usim"]["sqn_ms"]
    assert 0 < before < after
    assert f"SQN {after}" in report["steps"][0]["detail"]


def test_store_record_matches_the_ue_field_by_field(session: Session) -> None:
    ue = session.json_ue
    state = ue.state()
    sub, usim = state["subscription"], state["usim"]
    cert = ue.certificate()
    record = session.show
    assert record["supi"] == sub["supi"] == ue.onboard["supi"]
    assert re.fullmatch(f"imsi-{sub['mcc']}{sub['mnc']}\\d{{10}}", record["supi"])
    assert record["imei"] == sub["imei"] == ue.device.name
    (cn,) = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    assert record["imei"] == cn.value
    assert record["state"] == "active"
    assert record["service_type"] == sub["service_type"] == SERVICE_TYPE
    assert record["plan"] == sub["plan"] == PLAN
    assert record["account"] is None
    assert record["billing"] == {}
    assert record["s_nssai"] == {"sst": SST, "sd": None}
    assert sub["allowed_nssai"] == [{"sst": SST}]
    assert record["dnn"] == DNN
    assert record["ambr"] == {
        "uplink_bps": sub["ambr_uplink_bps"],
        "downlink_bps": sub["ambr_downlink_bps"],
    }
    assert record["ambr"] == {"uplink_bps": AMBR_BPS, "downlink_bps": AMBR_BPS}
    assert record["amf"] == usim["amf"] == "8000"
    # TS 33.102 C.1: the network's SQN is the one the USIM last accepted.
    assert record["sqn"] == usim["sqn_ms"] > 0
    assert record["fingerprint"] == hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    assert record["issuer"] == cert.issuer.rfc4514_string()
    stored = x509.load_pem_x509_certificate(record["certificate"].encode())
    assert stored == cert
    assert record["replaced_by"] is None
    created, updated = _when(record["created"]), _when(record["updated"])
    # Registration stores the new SQN, so the record changed after it was created.
    assert session.started <= created < updated <= datetime.now(UTC)


def test_secrets_are_hidden_unless_revealed(session: Session) -> None:
    usim = session.json_ue.state()["usim"]
    assert "k" not in session.show
    assert "opc" not in session.show
    for shown in (json.dumps(session.show), session.show_text, json.dumps(session.listing)):
        assert usim["k"] not in shown
        assert usim["opc"] not in shown
    assert "sealed (--reveal-secrets shows them)" in session.show_text
    revealed = session.show_revealed
    assert revealed["k"] == usim["k"]
    assert revealed["opc"] == usim["opc"]
    assert {k: v for k, v in revealed.items() if k not in ("k", "opc")} == session.show


def test_show_finds_the_record_by_imei_too(session: Session) -> None:
    assert session.show_by_imei == session.show


def test_show_without_json_is_a_table_of_the_record(session: Session) -> None:
    text, record = session.show_text, session.show
    for value in (record["supi"], record["imei"], "active", SERVICE_TYPE, PLAN, "sst 3"):
        assert value in text
    assert "up 1 Mbps, down 1 Mbps" in text
    assert record["fingerprint"] in text.replace("\n", "").replace("│", "").replace(" ", "")


def test_list_has_both_devices_in_supi_order_without_certificates(session: Session) -> None:
    supis = [session.json_ue.state()["subscription"]["supi"]]
    supis.append(session.text_ue.state()["subscription"]["supi"])
    listing = session.listing
    assert [entry["supi"] for entry in listing] == sorted(supis)
    assert all("certificate" not in entry and "k" not in entry for entry in listing)
    (mine,) = [entry for entry in listing if entry["supi"] == session.show["supi"]]
    assert mine == {k: v for k, v in session.show.items() if k != "certificate"}


def test_events_tell_the_onboarding_and_the_registrations(session: Session) -> None:
    supi, imei = session.show["supi"], session.show["imei"]
    oldest_first = list(reversed(session.events))
    assert [(e["kind"], e["outcome"]) for e in oldest_first] == [
        ("registration_rejected", "failure"),  # no record yet: #74, start onboarding
        ("onboarding_attempt", "success"),
        ("subscription_created", "success"),
        ("registration", "success"),  # the registration `ue onboard` ends with
        ("registration", "success"),  # `ue register`
    ]
    # Before EAP-TLS the IMEI is only claimed: those events name no device, and say the claim.
    assert [e["imei"] for e in oldest_first] == [None, None, imei, imei, imei]
    assert all(f"claimed IMEI {imei}" in e["reason"] for e in oldest_first[:2])
    assert [e["supi"] for e in oldest_first[2:]] == [supi] * 3
    # The first three happen on the onboarding connection, each registration on its own.
    peers = [e["peer"] for e in oldest_first]
    assert len(set(peers[:3])) == 1
    assert len(set(peers)) == 3
    assert [e["id"] for e in oldest_first] == sorted(e["id"] for e in oldest_first)


def test_open5gs_export_carries_what_the_ue_holds(session: Session) -> None:
    by_imsi = {doc["imsi"]: doc for doc in session.open5gs}
    assert len(by_imsi) == 2
    for ue in (session.json_ue, session.text_ue):
        state = ue.state()
        doc = by_imsi[state["subscription"]["supi"].removeprefix("imsi-")]
        security = doc["security"]
        assert security["k"] == state["usim"]["k"]
        assert security["opc"] == state["usim"]["opc"]
        assert security["op"] is None
        assert security["amf"] == state["usim"]["amf"]
        assert security["sqn"] == {"$numberLong": str(state["usim"]["sqn_ms"])}
        assert doc["ambr"]["uplink"] == {"value": AMBR_BPS, "unit": 0}
        (slice_,) = doc["slice"]
        assert slice_["sst"] == SST
        assert slice_["session"][0]["name"] == DNN


def test_ue_state_files_are_private(session: Session) -> None:
    for ue in (session.json_ue, session.text_ue):
        assert stat.S_IMODE(ue.state_file.stat().st_mode) == 0o600


def test_text_output_shows_each_step(session: Session) -> None:
    ue = session.text_ue
    supi = ue.state()["subscription"]["supi"]
    shown = [
        match.groups()
        for match in re.finditer(r"^\S+ (onboarding|registration) ([^:]+): ", ue.onboard, re.M)
    ]
    assert shown == ONBOARDING_STEPS + REGISTRATION_STEPS
    assert "(#74)" in ue.onboard
    assert f"ready for service as {supi}" in ue.onboard
    assert f"state: {ue.state_file}" in ue.onboard
    again = re.findall(r"^\S+ (registration) ([^:]+): ", ue.register, re.M)
    assert again == REGISTRATION_STEPS
    assert f"registered as {supi}: ready for service" in ue.register


def test_the_core_logged_every_step_and_stopped_cleanly_on_sigterm(session: Session) -> None:
    core = session.core
    assert session.core_exit == 0
    assert core.other == []  # every line was JSON with --log-json
    events = [line["event"] for line in core.events if "event" in line]
    assert events == ["listening", "stopped"]
    records = core.records()
    assert records, "no procedure was logged"
    assert all(r["outcome"] == "ok" for r in records), [r for r in records if r["outcome"] != "ok"]
    created = [r for r in records if r["message"].startswith("record created")]
    assert [r["supi"] for r in created] == [
        session.json_ue.state()["subscription"]["supi"],
        session.text_ue.state()["subscription"]["supi"],
    ]
    for line in core.events:
        _when(line["time"])
