"""`dynsub pki` through click: exit codes, stderr lines, JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from dynsub_cli.cli import main
from dynsub_cli.errors import ExitCode
from dynsub_cli.pki import authority
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.imei import make_imei
from dynsub_cli.pki.profiles import DEVICE
from tests.unit.pki.factory import BROKEN, BROKEN_RULE, device, make_pki, revoked_device, write_pem


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def run_json(*args: str | Path) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
def other_pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "other", manufacturer="Rogue Devices Ltd")


def test_init(tmp_path: Path) -> None:
    info = run_json("pki", "init", tmp_path / "p", "--mcc", "262", "--mnc", "042")
    assert info["core_dns_name"] == "ausf.5gc.mnc042.mcc262.3gppnetwork.org"
    assert info["key_type"] == "p256"
    assert authority.load(tmp_path / "p").mnc == "042"


def test_init_refuses_an_existing_pki(pki: Pki) -> None:
    result = run("pki", "init", pki.root)
    assert result.exit_code == ExitCode.CONFLICT
    assert "already holds a PKI" in result.stderr
    assert "--force" in result.stderr
    assert run("pki", "init", pki.root, "--force").exit_code == 0


def test_init_p384_and_human_output(tmp_path: Path) -> None:
    result = run("pki", "init", tmp_path / "p", "--key-type", "p384", "--manufacturer", "ACME")
    assert result.exit_code == 0, result.output
    assert "PKI created in" in result.stdout
    assert authority.load(tmp_path / "p").manufacturer == "ACME"


def test_each_pki_owns_a_tac_of_its_own(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert run("pki", "init", tmp_path / name).exit_code == 0
    a, b = (authority.load(tmp_path / name) for name in ("a", "b"))
    assert a.tac != b.tac  # drawn from 10^6: one run in a million would see one TAC twice
    assert a.tac.startswith("00")
    assert b.tac.startswith("00")
    refused = run("pki", "mint", "--pki", tmp_path / "a", "--out", tmp_path / "o", "--tac", b.tac)
    assert refused.exit_code == ExitCode.BAD_INPUT
    assert f"TAC {b.tac} is not this PKI's" in refused.stderr
    assert "--tac" in refused.stderr  # the flag, named by the command line
    # A re-init keeps the folder's TAC (its ledger stays).
    assert run("pki", "init", tmp_path / "a", "--force").exit_code == 0
    assert authority.load(tmp_path / "a").tac == a.tac


def test_mint_and_verify(pki: Pki, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = run_json("pki", "mint", "--pki", pki.root, "--out", out, "--count", "4")
    assert summary["count"] == 4
    assert summary["first_imei"] == make_imei(pki.tac, 0)
    assert Path(summary["manifest_csv"]).is_file()
    assert Path(summary["manifest_json"]).is_file()
    for entry in json.loads(Path(summary["manifest_json"]).read_text())["devices"]:
        cert = out / entry["path"] / "device.pem"
        verdict = run_json("pki", "verify", cert, "--pki", pki.root)
        assert verdict["valid"] is True
        assert verdict["reasons"] == []
        assert verdict["imei"] == entry["imei"]
        assert verdict["fingerprint"] == entry["sha256_fingerprint"]


def test_mint_human_output_and_p12(pki: Pki, tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("hunter2\n")
    result = run(
        "pki", "mint", "--pki", pki.root, "--out", tmp_path / "o", "--p12-password-file", password
    )
    assert result.exit_code == 0, result.output
    assert "minted 1 device(s)" in result.stderr
    assert "hunter2" not in result.output
    (folder,) = [p for p in (tmp_path / "o").iterdir() if p.name.isdigit()]
    assert (folder / "device.p12").is_file()


def test_mint_refuses_a_duplicate_range(pki: Pki, tmp_path: Path) -> None:
    args = ("pki", "mint", "--pki", pki.root, "--out", tmp_path / "o", "--first-snr", "5")
    assert run(*args).exit_code == 0
    result = run(*args)
    assert result.exit_code == ExitCode.CONFLICT
    assert "IMEIs are never issued twice" in result.stderr


def test_mint_bad_not_after(pki: Pki, tmp_path: Path) -> None:
    result = run("pki", "mint", "--pki", pki.root, "--out", tmp_path, "--not-after", "soon")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "--not-after 'soon'" in result.stderr


def test_mint_without_a_pki(tmp_path: Path) -> None:
    result = run("pki", "mint", "--pki", tmp_path, "--out", tmp_path / "o")
    assert result.exit_code == ExitCode.IO
    assert "not a dynsub PKI" in result.stderr


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_verify_names_the_broken_rule(pki: Pki, other_pki: Pki, tmp_path: Path, rule: str) -> None:
    make, phrase = BROKEN[rule]
    named = BROKEN_RULE[rule]
    cert = write_pem(tmp_path / "bad.pem", make(pki, other_pki).certificate)
    args: list[str | Path] = ["pki", "verify", cert, "--pki", pki.root]
    if rule == "untrusted issuer":
        args += ["--chain", other_pki.manufacturer_cert]
    result = run(*args)
    assert result.exit_code == ExitCode.CERT_REFUSED
    assert f"{cert} (device " in result.stderr
    assert "not accepted: " + phrase in result.stderr
    verdict = json.loads(run(*args, "--json").stdout)
    assert verdict["valid"] is False
    assert any(reason.startswith(phrase) for reason in verdict["reasons"])
    assert verdict["rules"] == [named.value]


def test_verify_revoked_with_crl(pki: Pki, tmp_path: Path) -> None:
    minted, _ = revoked_device(pki, tmp_path / "unused.pem")
    cert = write_pem(tmp_path / "dev.pem", minted.certificate)
    unchecked = run("pki", "verify", cert, "--pki", pki.root)  # no CRL given: valid, and said
    assert unchecked.exit_code == 0
    assert "revocation not checked: give the CRL with --crl" in unchecked.stderr
    assert (
        json.loads(run("pki", "verify", cert, "--pki", pki.root, "--json").stdout)[
            "revocation_checked"
        ]
        is False
    )
    crl = tmp_path / "crl.pem"
    assert run("pki", "crl", "--pki", pki.root, "--out", crl).exit_code == 0
    result = run("pki", "verify", cert, "--pki", pki.root, "--crl", crl)
    assert result.exit_code == ExitCode.CERT_REFUSED
    assert "not accepted: revoked (CRL #2 of" in result.stderr
    verdict = json.loads(
        run("pki", "verify", cert, "--pki", pki.root, "--crl", crl, "--json").stdout
    )
    assert verdict["revocation_checked"] is True


def test_verify_lists_every_rule(pki: Pki, tmp_path: Path) -> None:
    broken = dataclasses.replace(DEVICE, ca=True, policies=())
    cert = write_pem(tmp_path / "bad.pem", device(pki, broken).certificate)
    verdict = json.loads(run("pki", "verify", cert, "--pki", pki.root, "--json").stdout)
    assert verdict["reasons"] == [
        "basicConstraints CA:TRUE on an end-entity certificate",
        "3GPP device policy missing",
    ]


def test_verify_core_profile(pki: Pki) -> None:
    assert (
        run("pki", "verify", pki.core_cert, "--pki", pki.root, "--profile", "core").exit_code == 0
    )
    result = run("pki", "verify", pki.core_cert, "--pki", pki.root)
    assert result.exit_code == ExitCode.CERT_REFUSED
    assert "extendedKeyUsage lacks clientAuth" in result.stderr


def test_verify_full_chain_in_one_file(pki: Pki, tmp_path: Path) -> None:
    minted = device(pki)
    cert = write_pem(tmp_path / "full.pem", minted.certificate, pki.load_manufacturer())
    result = run("pki", "verify", cert, "--pki", pki.root)
    assert result.exit_code == 0
    assert f"valid device certificate (device {minted.imei})" in result.stdout


def test_verify_unreadable_certificate(pki: Pki, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    result = run("pki", "verify", junk, "--pki", pki.root)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "not a PEM or DER certificate" in result.stderr


def test_show(pki: Pki, tmp_path: Path) -> None:
    minted = device(pki, snr=12)
    cert = write_pem(tmp_path / "d.pem", minted.certificate)
    described = run_json("pki", "show", cert)
    assert described["imei"] == minted.imei
    assert described["profile"] == "device"
    assert described["policies"][0].startswith("3GPP device (2.25.")
    human = run("pki", "show", cert)
    assert human.exit_code == 0
    for text in (minted.imei, "3GPP device", "clientAuth", "SHA-256", "SHA-1", "device"):
        assert text in human.stdout


def test_show_a_broken_certificate_names_what_it_breaks(pki: Pki, tmp_path: Path) -> None:
    cert = write_pem(
        tmp_path / "d.pem", device(pki, dataclasses.replace(DEVICE, policies=())).certificate
    )
    result = run("pki", "show", cert)
    assert "none (closest: device, breaks:" in result.stdout
    described = run_json("pki", "show", cert)
    assert described["profile"] is None
    assert described["broken_rules"] == ["3GPP device policy missing"]


def test_revoke_and_crl(pki: Pki, tmp_path: Path) -> None:
    minted = device(pki, snr=3)
    cert = write_pem(tmp_path / "d.pem", minted.certificate)
    entry = run_json("pki", "revoke", "--pki", pki.root, cert, "--reason", "keyCompromise")
    assert entry["imei"] == minted.imei
    assert entry["reason"] == "keyCompromise"
    again = run("pki", "revoke", "--pki", pki.root, cert)
    assert again.exit_code == ExitCode.CONFLICT
    written = run_json("pki", "crl", "--pki", pki.root)
    assert written["crl_number"] == 1
    assert written["revoked"] == 1
    assert Path(written["path"]) == pki.crl
    human = run("pki", "crl", "--pki", pki.root, "--days", "2")
    assert "CRL #2 with 1 revoked certificate(s)" in human.stderr


def test_verify_checks_the_pkis_own_crl_without_crl(pki: Pki, tmp_path: Path) -> None:
    # Issue 9.2: a device revoked here is refused by `pki verify` here, --crl or not.
    minted, _ = revoked_device(pki, tmp_path / "elsewhere.pem")
    cert = write_pem(tmp_path / "dev.pem", minted.certificate)
    assert run("pki", "crl", "--pki", pki.root).exit_code == 0  # writes the PKI's crl.pem
    result = run("pki", "verify", cert, "--pki", pki.root)
    assert result.exit_code == ExitCode.CERT_REFUSED
    assert "not accepted: revoked (CRL #" in result.stderr
    verdict = json.loads(run("pki", "verify", cert, "--pki", pki.root, "--json").stdout)
    assert verdict["revocation_checked"] is True
    assert verdict["crl"] == str(pki.crl)
    assert verdict["rules"] == ["revoked"]
