"""`dynsub core init` through click: whose devices a core accepts, and what it refuses to set up."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from dynsub_cli.cli import main
from dynsub_cli.errors import ExitCode
from dynsub_cli.pki import revocation
from dynsub_cli.pki.authority import Pki
from tests.unit.pki.factory import make_pki


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def pki_section(core: Path) -> dict[str, Any]:
    section: dict[str, Any] = tomllib.loads((core / "core.toml").read_text())["pki"]
    return section


@pytest.fixture
def operator(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "operator", operator="Operator AG")


@pytest.fixture
def maker(tmp_path: Path) -> Pki:
    """A manufacturer with its own root: the separate-root case of docs/architecture.md section
    5."""
    made = make_pki(tmp_path / "maker", manufacturer="Maker GmbH")
    revocation.write_crl(made)
    return made


def test_by_default_the_core_accepts_the_devices_of_its_own_pki(
    operator: Pki, tmp_path: Path
) -> None:
    result = run("core", "init", tmp_path / "core", "--pki", operator.root, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["manufacturer_cas_without_crl"] == []
    section = pki_section(tmp_path / "core")
    assert section["trust_anchors"] == [str(operator.root_cert)]
    assert section["manufacturer_cas"] == [str(operator.manufacturer_cert)]
    assert section["crls"] == [str(operator.crl)]


def test_another_manufacturer_under_another_root(operator: Pki, maker: Pki, tmp_path: Path) -> None:
    result = run(
        "core", "init", tmp_path / "core", "--pki", operator.root,
        "--manufacturer-ca", maker.manufacturer_cert, "--device-root", maker.root_cert,
        "--crl", maker.crl, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    section = pki_section(tmp_path / "core")
    assert section["trust_anchors"] == [str(maker.root_cert)]
    assert section["manufacturer_cas"] == [str(maker.manufacturer_cert)]
    assert section["crls"] == [str(maker.crl)]
    # The core still presents the operator's certificate.
    assert section["core_cert"] == str(operator.core_cert)


def test_a_manufacturer_ca_without_its_crl_is_accepted_with_a_warning(
    operator: Pki, maker: Pki, tmp_path: Path
) -> None:
    result = run(
        "core", "init", tmp_path / "core", "--pki", operator.root,
        "--manufacturer-ca", maker.manufacturer_cert, "--device-root", maker.root_cert,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "no CRL for manufacturer CA 'Maker GmbH CA'" in result.stderr
    assert "add --crl FILE" in result.stderr
    assert pki_section(tmp_path / "core")["crls"] == []


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("root left out", "signed by none of the device roots"),
        ("operator CA as manufacturer CA", "not a manufacturer CA"),
        ("CRL of another CA", "not signed by any of the manufacturer CAs"),
        ("device certificate as root", "not a CA certificate"),
        ("root without manufacturer CA", "go with --manufacturer-ca"),
    ],
)
def test_device_trust_that_could_accept_no_device_is_refused(
    operator: Pki, maker: Pki, tmp_path: Path, which: str, message: str
) -> None:
    root, ca, crl = maker.root_cert, maker.manufacturer_cert, maker.crl
    options: list[str | Path] = ["--manufacturer-ca", ca, "--device-root", root, "--crl", crl]
    if which == "root left out":  # the maker's CA is not under the operator PKI's root
        options = ["--manufacturer-ca", ca]
    elif which == "operator CA as manufacturer CA":
        options = ["--manufacturer-ca", maker.operator_cert, "--device-root", root]
    elif which == "CRL of another CA":
        revocation.write_crl(operator)
        options = [*options[:4], "--crl", operator.crl]
    elif which == "device certificate as root":
        options = ["--manufacturer-ca", ca, "--device-root", maker.core_cert]
    elif which == "root without manufacturer CA":
        options = ["--device-root", root]
    result = run("core", "init", tmp_path / "core", "--pki", operator.root, *options)
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert message in result.stderr
    assert not (tmp_path / "core").exists(), "nothing is written for a refused set-up"


def test_mint_writes_the_given_roots_as_the_ues_trust_anchors(
    operator: Pki, maker: Pki, tmp_path: Path
) -> None:
    out = tmp_path / "devices"
    result = run(
        "pki", "mint", "--pki", maker.root, "--out", out, "--trust", operator.root_cert, "--json"
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    imei = summary["first_imei"]
    assert (out / imei / "trust.pem").read_bytes() == operator.root_cert.read_bytes()
    assert summary["trust_anchors"] == [operator.load_root().subject.rfc4514_string()]
    # Without --trust the UE trusts the minting PKI's own root.
    result = run("pki", "mint", "--pki", maker.root, "--out", tmp_path / "plain", "--json")
    imei = json.loads(result.stdout)["first_imei"]
    assert (tmp_path / "plain" / imei / "trust.pem").read_bytes() == maker.root_cert.read_bytes()


def test_mint_refuses_a_trust_anchor_that_is_not_a_ca(maker: Pki, tmp_path: Path) -> None:
    result = run(
        "pki", "mint", "--pki", maker.root, "--out", tmp_path / "d", "--trust", maker.core_cert
    )
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "not a CA certificate" in result.stderr
    assert not list((tmp_path / "d").glob("0*")), "no device minted"
