"""`dynsub demo`: today, the PKI part of the flow."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from dynsub_cli.cli import main
from dynsub_cli.pki import pem
from dynsub_cli.pki.verify import verify_device


def test_demo_json_builds_and_verifies_three_devices(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--workdir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["workdir"] == str(tmp_path)
    assert report["pki"]["created"] is True
    assert report["core_verified"] is True
    assert report["onboarding"].startswith("not yet")
    devices = report["devices"]
    assert len(devices) == 3
    assert all(d["verified"] for d in devices)
    root = pem.read_certificate(Path(report["pki"]["root_cert"]))
    for entry in devices:
        folder = Path(entry["folder"])
        chain = pem.read_certificates(folder / "chain.pem")
        identity = verify_device([pem.read_certificate(folder / "device.pem"), *chain], [root])
        assert identity.imei == entry["imei"]
    assert Path(report["manifest_csv"]).is_file()


def test_demo_again_reuses_the_pki_and_mints_new_devices(tmp_path: Path) -> None:
    runner = CliRunner()
    first = json.loads(runner.invoke(main, ["demo", "--workdir", str(tmp_path), "--json"]).stdout)
    second = json.loads(runner.invoke(main, ["demo", "--workdir", str(tmp_path), "--json"]).stdout)
    assert second["pki"]["created"] is False
    imeis = {d["imei"] for d in first["devices"]} | {d["imei"] for d in second["devices"]}
    assert len(imeis) == 6


def test_demo_says_what_it_did_and_where(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"PKI created in {tmp_path / 'pki'}" in out
    assert "minted and verified 3 devices" in out
    assert "onboarding part of the demo" in out
    assert "dynsub pki show" in out


def test_demo_default_workdir_is_a_new_temporary_folder() -> None:
    result = CliRunner().invoke(main, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    workdir = Path(json.loads(result.stdout)["workdir"])
    try:
        assert workdir.name.startswith("dynsub-demo-")
        assert (workdir / "pki" / "pki.toml").is_file()
    finally:
        shutil.rmtree(workdir)
