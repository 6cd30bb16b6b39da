"""`dynsub demo`: the whole flow in a work folder, and what it leaves there to continue with."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import shutil
import socket
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from dynsub_cli import config
from dynsub_cli.cli import main
from dynsub_cli.cli.demo import HAND_ADDRESS
from dynsub_cli.core.assembly import open_store
from dynsub_cli.errors import ExitCode
from tests.server import running_core

DEMO_STEPS = ["pki", "mint", "core", "serve", "onboard", "register", "store", "stop"]


def _demo(*args: str, expect: int = 0) -> Result:
    result = CliRunner().invoke(main, ["demo", *args])
    assert result.exit_code == expect, (result.stdout, result.stderr, result.exception)
    return result


def _json_demo(workdir: Path) -> dict[str, Any]:
    result = _demo("--workdir", str(workdir), "--json")
    assert result.stderr == ""  # with --json, nothing but the JSON object
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _cli(command: str, core_address: str | None = None) -> Result:
    """Run one of the demo's "continue by hand" commands (`dynsub ...`) in-process."""
    words = shlex.split(command.removesuffix(" &"))
    assert words[0] == "dynsub"
    if core_address is not None:
        words = [core_address if w == HAND_ADDRESS else w for w in words]
    result = CliRunner().invoke(main, words[1:])
    assert result.exit_code == 0, (command, result.stdout, result.stderr)
    return result


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _json_demo(tmp_path_factory.mktemp("demo"))


def test_demo_json_onboards_a_new_device_and_registers_it_again(first: dict[str, Any]) -> None:
    workdir = Path(first["workdir"])
    assert first["outcome"] == "ready"
    assert first["pki"] == {"folder": str(workdir / "pki"), "created": True}
    assert (workdir / "pki" / "pki.toml").is_file()
    assert [s["step"] for s in first["steps"]] == DEMO_STEPS
    assert all(s["seconds"] >= 0 for s in first["steps"])

    device = first["device"]
    folder = Path(device["folder"])
    assert folder == workdir / "devices" / device["imei"]
    cert = x509.load_pem_x509_certificate((folder / "device.pem").read_bytes())
    assert device["fingerprint"] == hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()

    ue = first["ue"]
    state_file = Path(ue["state_file"])
    assert state_file == folder / "ue-state.toml"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    state = tomllib.loads(state_file.read_text())
    assert state["subscription"]["supi"] == ue["supi"]
    procedures = [s["procedure"] for s in ue["steps"]]
    # Onboarding, the registration that ends `ue onboard`, then the demo's own registration.
    assert procedures.count("onboarding") == 9
    assert [s["step"] for s in ue["steps"]].count("5G AKA") == 2

    core = first["core"]
    assert core["config"] == str(workdir / "core" / "core.toml")
    assert core["created"] is True
    assert re.fullmatch(r"127\.0\.0\.1:\d+", core["served_on"])
    assert all(line["outcome"] == "ok" for line in core["log"])
    assert any(line["message"] == f"record created: {ue['supi']}" for line in core["log"])


def test_demo_record_is_the_store_record_with_secrets_hidden(first: dict[str, Any]) -> None:
    record = first["record"]
    state = tomllib.loads(Path(first["ue"]["state_file"]).read_text())
    assert "k" not in record
    assert "opc" not in record
    assert state["usim"]["k"] not in json.dumps(first)
    assert record["supi"] == first["ue"]["supi"]
    assert record["imei"] == first["device"]["imei"]
    assert record["fingerprint"] == first["device"]["fingerprint"]
    assert record["state"] == "active"
    assert record["sqn"] == state["usim"]["sqn_ms"] > 0
    cfg = config.load(Path(first["core"]["config"]))
    assert Path(first["core"]["store"]) == cfg.store.path
    with open_store(cfg) as store:
        stored = store.get(record["supi"])
    assert stored.sqn == record["sqn"]
    assert stored.updated == record["updated"]


def test_demo_stops_its_core(first: dict[str, Any]) -> None:
    host, port = first["core"]["served_on"].split(":")
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, int(port)), 5):
        pass


def test_the_commands_to_continue_by_hand_work(first: dict[str, Any]) -> None:
    commands = first["continue"]
    cfg = first["core"]["config"]
    supi = first["ue"]["supi"]
    serve, register, listing, show, events, mint, onboard = commands
    assert serve == f"dynsub core serve --config {cfg} &"
    assert register.startswith(f"dynsub ue register --state {first['ue']['state_file']} ")
    assert json.loads(_cli(listing + " --json").stdout)[0]["supi"] == supi
    assert json.loads(_cli(show + " --json").stdout)["supi"] == supi
    assert _cli(events + " --json").stdout.count('"registration"') == 2
    # The core as `core serve` runs it (here on a free port instead of the default one).
    with running_core(config.load(Path(cfg))) as core:
        again = json.loads(_cli(register + " --json", core.address).stdout)
    assert again["outcome"] == "ready"
    assert again["supi"] == supi
    assert not core.refusals()
    assert "pki mint --pki" in mint
    assert "ue onboard --device" in onboard


def test_demo_again_in_the_same_folder_reuses_pki_and_core(tmp_path: Path) -> None:
    first = _json_demo(tmp_path)
    second = _json_demo(tmp_path)
    assert second["pki"]["created"] is False
    assert second["core"]["created"] is False
    assert second["device"]["imei"] != first["device"]["imei"]
    assert second["ue"]["supi"] != first["ue"]["supi"]
    listing = json.loads(
        _cli(f"dynsub store list --json --config {second['core']['config']}").stdout
    )
    assert [r["supi"] for r in listing] == sorted(
        [first["ue"]["supi"], second["ue"]["supi"]]
    )  # SUPI order


def test_demo_shows_progress_the_record_and_where_everything_lives(tmp_path: Path) -> None:
    result = _demo("--workdir", str(tmp_path))
    err, out = result.stderr, result.stdout
    assert err.startswith(f"dynsub demo in {tmp_path}\n")
    shown = re.findall(r"^• (\w+): ", err, re.M)
    assert shown == DEMO_STEPS
    assert "onboarding EAP-TLS: mutual certificate authentication" in err
    assert err.index("• serve") < err.index("onboarding EAP-TLS") < err.index("• onboard")
    state = tomllib.loads(next(tmp_path.glob("devices/*/ue-state.toml")).read_text())
    supi = state["subscription"]["supi"]
    assert f"store record {supi}" in out
    assert "K and OPc sealed" in out
    assert state["usim"]["k"] not in out
    assert "where everything lives" in out
    assert str(tmp_path / "core" / "core.toml") in out
    assert "continue by hand:" in out
    assert f"dynsub store show {supi} --config {tmp_path / 'core' / 'core.toml'}" in out


def test_demo_says_which_step_failed(tmp_path: Path) -> None:
    msin = _json_demo(tmp_path)["ue"]["supi"][-10:]
    # A core whose SUPI range is used up cannot create the next device's record: narrow the
    # range to the one MSIN the first device got.
    core_toml = tmp_path / "core" / "core.toml"
    text = core_toml.read_text()
    text = text.replace('msin_start = "0000000001"', f'msin_start = "{msin}"')
    core_toml.write_text(text.replace('msin_end = "9999999999"', f'msin_end = "{msin}"'))
    result = _demo("--workdir", str(tmp_path), expect=ExitCode.REJECTED)
    assert "• serve: core serving on 127.0.0.1:" in result.stderr
    assert re.search(r"dynsub: error: \S.* failed: ", result.stderr), result.stderr
    assert "• onboard" not in result.stderr


def test_demo_default_workdir_is_a_new_temporary_folder() -> None:
    result = _demo("--json")
    workdir = Path(json.loads(result.stdout)["workdir"])
    try:
        assert workdir.name.startswith("dynsub-demo-")
        assert (workdir / "pki" / "pki.toml").is_file()
        assert (workdir / "core" / "core.toml").is_file()
    finally:
        shutil.rmtree(workdir)
