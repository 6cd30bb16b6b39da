"""Issue 10, "wrong-file hints": a file or folder given in the wrong place is named for what it
is, with the right one to give, instead of an error about its permissions or its sections."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dynsub_cli.cli import main
from dynsub_cli.errors import ExitCode
from tests.flow import Lab, make_lab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    return make_lab(tmp_path_factory.mktemp("wrong"), devices=7)


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, " ".join(result.stderr.split())


def test_state_given_a_certificate_says_it_is_not_a_state_file(lab: Lab) -> None:
    cert = lab.devices[0] / "device.pem"
    code, stderr = run("ue", "register", "--state", cert, "--core", "127.0.0.1:1")
    assert code == ExitCode.BAD_INPUT, stderr
    assert f"{cert}: a PEM certificate, not a UE state file" in stderr
    assert "chmod" not in stderr
    assert "dynsub ue onboard" in stderr


def test_onboard_never_writes_the_state_over_a_certificate(lab: Lab) -> None:
    cert = lab.devices[0] / "device.pem"
    before = cert.read_bytes()
    code, stderr = run(
        "ue", "onboard", "--device", lab.devices[0], "--core", "127.0.0.1:1", "--state", cert
    )
    assert code == ExitCode.BAD_INPUT, stderr
    assert f"{cert}: a PEM certificate; refusing to write the UE state over it" in stderr
    assert cert.read_bytes() == before


@pytest.mark.parametrize("command", [["core", "serve"], ["store", "list"]])
def test_config_given_the_core_folder_points_to_its_core_toml(lab: Lab, command: list[str]) -> None:
    code, stderr = run(*command, "--config", lab.core)
    assert code == ExitCode.CONFIG, stderr
    assert f"{lab.core}: a folder, not a core configuration file" in stderr
    assert f"the core configuration in it is {lab.config_file}" in stderr


def test_config_given_another_folder_says_it_holds_no_core_toml(lab: Lab) -> None:
    code, stderr = run("store", "stats", "--config", lab.pki)
    assert code == ExitCode.CONFIG, stderr
    assert f"{lab.pki}: a folder, not a core configuration file; it holds no core.toml" in stderr


def test_config_given_pki_toml_says_it_is_a_pki_file(lab: Lab) -> None:
    pki_toml = lab.pki / "pki.toml"
    code, stderr = run("core", "serve", "--config", pki_toml)
    assert code == ExitCode.CONFIG, stderr
    assert f"{pki_toml}: a PKI file (the pki.toml of dynsub pki init), not a core" in stderr
    assert "unknown section" not in stderr


def test_config_given_a_certificate_says_what_it_is(lab: Lab) -> None:
    cert = lab.pki / "root.pem"
    code, stderr = run("store", "list", "--config", cert)
    assert code == ExitCode.CONFIG, stderr
    assert f"{cert}: a PEM certificate, not a core configuration" in stderr


def test_device_given_the_mint_output_folder_lists_its_devices(lab: Lab) -> None:
    out = lab.devices[0].parent
    code, stderr = run("ue", "onboard", "--device", out, "--core", "127.0.0.1:1")
    assert code == ExitCode.IO, stderr
    names = sorted(d.name for d in lab.devices)
    assert f"{out}: not a device folder (it has no device.pem)" in stderr
    assert f"it holds 7 device folder(s): {', '.join(names[:5])} and 2 more" in stderr
    assert f"give one of them, e.g. {out / names[0]}" in stderr


def test_device_given_an_empty_folder_says_how_to_mint(tmp_path: Path) -> None:
    code, stderr = run("ue", "onboard", "--device", tmp_path, "--core", "127.0.0.1:1")
    assert code == ExitCode.IO, stderr
    assert "not a device folder" in stderr
    assert "dynsub pki mint" in stderr
