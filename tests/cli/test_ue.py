"""`dynsub ue` through click: what is refused before the UE ever connects."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dynsub_cli.cli import main
from dynsub_cli.errors import ExitCode
from dynsub_cli.pki import mint
from tests.unit.pki.factory import make_pki

# Nothing listens there: a command that got as far as connecting would exit NETWORK (9).
NOWHERE = "127.0.0.1:1"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def device(tmp_path: Path) -> Path:
    pki = make_pki(tmp_path / "pki")
    (minted,) = mint.mint(pki, mint.MintRequest(out=tmp_path / "devices", count=1)).devices
    return tmp_path / "devices" / minted.imei


def test_the_core_unreachable_is_a_network_error(device: Path, tmp_path: Path) -> None:
    result = run("ue", "onboard", "--device", device, "--core", NOWHERE, "--state", tmp_path / "s")
    assert result.exit_code == ExitCode.NETWORK, result.output


def test_a_state_file_that_cannot_be_written_is_refused_before_onboarding(
    device: Path, tmp_path: Path
) -> None:
    # Found only after the core committed the subscription, K would be lost with the file.
    state = tmp_path / "missing" / "ue.toml"
    result = run("ue", "onboard", "--device", device, "--core", NOWHERE, "--state", state)
    assert result.exit_code == ExitCode.IO, result.output
    assert "no such folder for the UE state file; create it first" in result.stderr
