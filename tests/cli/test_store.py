"""`dynsub store`: exact exit codes, parsed JSON, secrets hidden unless asked."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dynsub_cli import config
from dynsub_cli.cli import main, render
from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import ExitCode
from dynsub_cli.store import Secrets, State, Subscriptions, generate_key_file, load_key
from tests.bulkstore import core_folder
from tests.unit.store.helpers import RANGE, device, onboard, service

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("e8ed289deba952e4283b54e88e6183ca")
SUPI1, SUPI2, SUPI3 = (f"imsi-00101000000000{n}" for n in (1, 2, 3))


@pytest.fixture
def core(tmp_path: Path) -> Path:
    """A core folder: core.toml (PKI paths that need not exist), a store key, three records."""
    path, cfg, key = core_folder(tmp_path)
    with Subscriptions.open(cfg.store.path, key) as subs:
        subs.create_or_update_from_onboarding(
            device(1),
            service(account="acme", billing={"account": "acme"}),
            Secrets(k=K, opc=OPC),
            supi_range=RANGE,
            policy=Reonboarding.SAME_RECORD,
            peer="127.0.0.1:40000",
        )
        onboard(subs, 2)
        onboard(subs, 3)
        subs.set_state(SUPI3, State.SUSPENDED, reason="unpaid")
    return path


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["store", *args], input=input)


def test_list_json(core: Path) -> None:
    result = run("list", "--config", str(core), "--json")
    assert result.exit_code == 0, result.stderr
    docs = json.loads(result.stdout)
    assert [d["supi"] for d in docs] == [SUPI1, SUPI2, SUPI3]
    assert [d["state"] for d in docs] == ["active", "active", "suspended"]
    assert "k" not in docs[0]
    assert "certificate" not in docs[0]


def test_list_filtered_by_state(core: Path) -> None:
    result = run("list", "--config", str(core), "--state", "suspended", "--json")
    assert [d["supi"] for d in json.loads(result.stdout)] == [SUPI3]


def test_list_table_for_people(core: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render.out, "width", 200)  # a wide terminal: no folded cells
    result = run("list", "--config", str(core))
    assert result.exit_code == 0
    assert "3 subscription(s)" in result.stdout
    assert SUPI1 in result.stdout
    assert "suspended" in result.stdout


def test_json_output_is_one_array_as_json_dumps_writes_it(core: Path) -> None:
    """Issue 11: the arrays are written a record at a time, in the same bytes as before."""
    for args in (
        ["list", "--json"],
        ["export"],
        ["export", "--format", "open5gs", "--reveal-secrets"],
        ["events", "--json"],
        ["events", "--all", "--json"],
    ):
        result = run(*args, "--config", str(core))
        assert result.exit_code == 0, result.stderr
        assert result.stdout == json.dumps(json.loads(result.stdout), indent=2) + "\n"


def test_list_pages_by_limit_and_after(core: Path) -> None:
    def supis(*args: str) -> list[str]:
        result = run("list", "--config", str(core), "--json", *args)
        assert result.exit_code == 0, result.stderr
        return [d["supi"] for d in json.loads(result.stdout)]

    assert supis("--limit", "2") == [SUPI1, SUPI2]
    assert supis("--limit", "2", "--after", SUPI2) == [SUPI3]
    assert supis("--after", SUPI1) == [SUPI2, SUPI3]
    assert supis("--after", SUPI3) == []
    assert supis("--state", "active", "--after", SUPI1) == [SUPI2]
    assert run("list", "--config", str(core), "--limit", "0").exit_code == ExitCode.USAGE


def test_list_piped_pages_are_plain_rows(core: Path) -> None:
    result = run("list", "--config", str(core), "--limit", "2", "--after", SUPI1)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "# 2 subscription(s)",
        "SUPI\tIMEI\tstate\tservice type\tplan\taccount\tcreated",
    ]
    assert [line.split("\t")[0] for line in lines[2:]] == [SUPI2, SUPI3]
    assert "next page" not in result.stderr  # the hint is for a terminal
    every = run("list", "--config", str(core)).stdout.splitlines()
    assert every[0] == "# 3 subscription(s)"
    assert [line.split("\t")[0] for line in every[2:]] == [SUPI1, SUPI2, SUPI3]


def test_list_on_a_terminal_shows_a_page_and_says_where_the_next_begins(
    core: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render.out, "_force_terminal", True)
    monkeypatch.setattr(render.out, "width", 200)
    first = run("list", "--config", str(core), "--limit", "2")
    assert first.exit_code == 0, first.stderr
    assert "2 of 3 subscription(s)" in first.stdout
    assert "┃ SUPI" in first.stdout  # a table, not plain rows
    assert SUPI2 in first.stdout
    assert SUPI3 not in first.stdout
    assert first.stderr.splitlines()[-1] == f"next page: --after {SUPI2}"
    last = run("list", "--config", str(core), "--limit", "2", "--after", SUPI2)
    assert "1 of 3 subscription(s), after imsi-001010000000002" in last.stdout
    assert SUPI3 in last.stdout
    assert "next page" not in last.stderr
    whole = run("list", "--config", str(core))  # fits the default page: no hint
    assert "3 subscription(s)" in whole.stdout
    assert "next page" not in whole.stderr


@pytest.mark.parametrize("target", [SUPI1, device(1).imei, device(1).fingerprint])
def test_show_by_supi_imei_or_fingerprint(core: Path, target: str) -> None:
    result = run("show", target, "--config", str(core), "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["supi"] == SUPI1
    assert doc["account"] == "acme"
    assert doc["certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert "k" not in doc
    assert K.hex() not in result.output


def test_show_hides_secrets_unless_asked(core: Path) -> None:
    hidden = run("show", SUPI1, "--config", str(core))
    assert hidden.exit_code == 0
    assert "sealed (--reveal-secrets shows them)" in hidden.stdout
    assert K.hex() not in hidden.output
    shown = run("show", SUPI1, "--config", str(core), "--reveal-secrets", "--json")
    doc = json.loads(shown.stdout)
    assert (doc["k"], doc["opc"]) == (K.hex(), OPC.hex())
    table = run("show", SUPI1, "--config", str(core), "--reveal-secrets")
    assert K.hex() in table.stdout


def test_show_unknown_targets(core: Path) -> None:
    result = run("show", "imsi-001010000000999", "--config", str(core))
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "imsi-001010000000999: no such subscription" in result.stderr
    result = run("show", device(9).imei, "--config", str(core))
    assert result.exit_code == ExitCode.NOT_FOUND
    assert f"{device(9).imei}: no live subscription" in result.stderr
    result = run("show", "bogus", "--config", str(core))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert '"bogus": not a SUPI' in result.stderr


def test_export_formats(core: Path) -> None:
    docs = json.loads(run("export", "--config", str(core)).stdout)
    assert [d["supi"] for d in docs] == [SUPI1, SUPI2, SUPI3]
    assert "k" not in docs[0]
    lines = run("export", "--config", str(core), "--format", "ndjson").stdout.splitlines()
    assert [json.loads(line)["supi"] for line in lines] == [SUPI1, SUPI2, SUPI3]
    rows = list(
        csv.DictReader(io.StringIO(run("export", "--config", str(core), "--format", "csv").stdout))
    )
    assert [r["supi"] for r in rows] == [SUPI1, SUPI2, SUPI3]
    assert "k" not in rows[0]


def test_export_open5gs_requires_reveal_secrets(core: Path) -> None:
    result = run("export", "--config", str(core), "--format", "open5gs")
    assert result.exit_code == ExitCode.USAGE
    assert "--format open5gs needs --reveal-secrets" in result.stderr
    assert result.stdout == ""


def _export_open5gs(core: Path, out: Path) -> Result:
    return run("export", "--config", str(core), "--format", "open5gs", "--reveal-secrets",
               "--out", str(out))  # fmt: skip


def test_export_open5gs_to_a_private_file(core: Path, tmp_path: Path) -> None:
    out = tmp_path / "open5gs.json"
    result = _export_open5gs(core, out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert f"{out}: 3 subscription(s) in open5gs format" in result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    docs = json.loads(out.read_text())
    assert docs[0]["imsi"] == "001010000000001"
    assert docs[0]["security"]["k"] == K.hex()
    assert docs[2]["subscriber_status"] == 1  # suspended


def test_export_without_secrets_to_a_file_is_not_private(core: Path, tmp_path: Path) -> None:
    out = tmp_path / "subs.csv"
    assert run("export", "--config", str(core), "--format", "csv", "--out", str(out)).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_stats_json(core: Path) -> None:
    result = run("stats", "--config", str(core), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "total": 3,
        "by_state": {"active": 2, "suspended": 1},
        "by_service_type": {"miot": 3},
        "by_plan": {"trial": 3},
        "events_by_kind": {
            "subscription_created": {"success": 3},
            "suspended": {"success": 1},
        },
        "allocated_supis": 3,
    }
    assert "audit events" in run("stats", "--config", str(core)).stdout


def test_events(core: Path) -> None:
    result = run("events", "--config", str(core), "--json")
    events = json.loads(result.stdout)
    assert [e["kind"] for e in events] == [
        "suspended",
        "subscription_created",
        "subscription_created",
        "subscription_created",
    ]
    assert events[0]["reason"] == "unpaid"
    mine = json.loads(
        run("events", "--config", str(core), "--imei", device(1).imei, "--json").stdout
    )
    assert [(e["supi"], e["peer"]) for e in mine] == [(SUPI1, "127.0.0.1:40000")]
    assert (
        len(json.loads(run("events", "--config", str(core), "--limit", "2", "--json").stdout)) == 2
    )
    by_supi = run("events", "--config", str(core), "--supi", SUPI3, "--json").stdout
    assert [e["kind"] for e in json.loads(by_supi)] == ["suspended", "subscription_created"]
    assert run("events", "--config", str(core), "--limit", "0").exit_code == ExitCode.USAGE


def test_events_all_streams_the_whole_trail(core: Path) -> None:
    newest = json.loads(run("events", "--config", str(core), "--limit", "1", "--json").stdout)
    every = json.loads(run("events", "--config", str(core), "--all", "--json").stdout)
    assert len(every) == 4
    assert every[0] == newest[0]
    assert [e["id"] for e in every] == sorted((e["id"] for e in every), reverse=True)
    plain = run("events", "--config", str(core), "--all").stdout.splitlines()
    assert plain[0] == "# every event, newest first"
    assert plain[1].split("\t")[:2] == ["time", "kind"]
    assert [line.split("\t")[1] for line in plain[2:]] == [e["kind"] for e in every]
    mine = json.loads(
        run("events", "--config", str(core), "--all", "--supi", SUPI3, "--json").stdout
    )
    assert [e["kind"] for e in mine] == ["suspended", "subscription_created"]


def test_an_export_that_fails_half_way_leaves_no_file(core: Path, tmp_path: Path) -> None:
    """The export streams into a temporary file; a record that cannot be written (an AMBR
    Open5GS cannot express) stops it, and neither the file nor the temporary one is left."""
    cfg = config.load(core)
    with Subscriptions.open(cfg.store.path, load_key(cfg.store.key_file)) as subs:
        subs.create_or_update_from_onboarding(
            device(9),
            service(ambr_ul=2**31 + 1),
            Secrets(k=K, opc=OPC),
            supi_range=RANGE,
            policy=Reonboarding.SAME_RECORD,
        )
    out = tmp_path / "exports" / "open5gs.json"
    out.parent.mkdir()
    result = _export_open5gs(core, out)
    assert result.exit_code == ExitCode.STORE, result.output
    assert "cannot be written as an Open5GS bit rate" in result.stderr
    assert list(out.parent.iterdir()) == []


def test_suspend_and_resume(core: Path) -> None:
    result = run("suspend", SUPI1, "--config", str(core), "--reason", "lost", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["state"] == "suspended"
    result = run("resume", SUPI1, "--config", str(core))
    assert result.exit_code == 0
    assert f"{SUPI1}: active" in result.stderr
    kinds = json.loads(run("events", "--config", str(core), "--supi", SUPI1, "--json").stdout)
    assert [(e["kind"], e["reason"]) for e in kinds][:2] == [("resumed", ""), ("suspended", "lost")]
    assert (
        run("suspend", "imsi-001010000000999", "--config", str(core)).exit_code
        == ExitCode.NOT_FOUND
    )


def test_delete_asks_first(core: Path) -> None:
    declined = run("delete", SUPI2, "--config", str(core), input="n\n")
    assert declined.exit_code == ExitCode.DECLINED
    assert f"{SUPI2}: not deleted; nothing was changed" in declined.stderr
    assert run("show", SUPI2, "--config", str(core)).exit_code == 0
    accepted = run("delete", SUPI2, "--config", str(core), input="y\n")
    assert accepted.exit_code == 0
    assert f"{SUPI2}: deleted" in accepted.stderr
    assert run("show", SUPI2, "--config", str(core)).exit_code == ExitCode.NOT_FOUND


def test_delete_with_yes(core: Path) -> None:
    result = run("delete", SUPI1, "--config", str(core), "--yes", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["supi"] == SUPI1
    assert run("delete", SUPI1, "--config", str(core), "--yes").exit_code == ExitCode.NOT_FOUND


def test_a_bad_config_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "core.toml"
    bad.write_text('[network]\nmcc = "001"\nmnc = "01"\ncolour = "blue"\n')
    result = run("list", "--config", str(bad))
    assert result.exit_code == ExitCode.CONFIG
    assert str(bad) in result.stderr
    assert '[network] unknown key "colour"; known keys: mcc, mnc, name' in result.stderr
    missing = run("list", "--config", str(tmp_path / "nope.toml"))
    assert missing.exit_code == ExitCode.CONFIG


def test_a_core_that_has_not_served_yet_has_an_empty_store(core: Path) -> None:
    """Issue 10: list and stats of a new core show an empty store (exit 0), create nothing."""
    (core.parent / "subscriptions.sqlite").unlink()
    for leftover in core.parent.glob("subscriptions.sqlite-*"):
        leftover.unlink()
    listed = run("list", "--config", str(core), "--json")
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == []
    assert "no store yet" in listed.stderr
    stats = run("stats", "--config", str(core), "--json")
    assert stats.exit_code == 0
    assert json.loads(stats.stdout)["total"] == 0
    assert run("show", "--config", str(core), SUPI1).exit_code == ExitCode.NOT_FOUND
    assert not (core.parent / "subscriptions.sqlite").exists()


def test_a_wrong_store_key_is_a_store_error(core: Path) -> None:
    generate_key_file(core.parent / "secrets/store.key", overwrite=True)
    result = run("list", "--config", str(core))
    assert result.exit_code == ExitCode.STORE
    assert "the store key does not open this store" in result.stderr


def test_a_missing_store_key_is_an_io_error(core: Path) -> None:
    (core.parent / "secrets/store.key").unlink()
    result = run("list", "--config", str(core))
    assert result.exit_code == ExitCode.IO
    assert "store key file not found" in result.stderr
