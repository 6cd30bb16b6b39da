"""A separate root per branch (docs/architecture.md section 5), as two organisations would set it
up.

A manufacturer's PKI (its own root, manufacturer CA, CRL) mints the devices; an operator's PKI
(another root, operator CA, core certificate) runs the core. The devices are minted trusting the
operator's root (`pki mint --trust`), and the core accepts the manufacturer's devices
(`core init --manufacturer-ca --device-root --crl`). Every command is a real subprocess, and the
UEs onboard over TCP on 127.0.0.1.
"""

from __future__ import annotations

import json
from pathlib import Path

from dynsub_cli.errors import ExitCode
from tests.processes import dynsub, served_core


def test_devices_of_one_root_onboard_at_a_core_of_another(tmp_path: Path) -> None:
    work = tmp_path
    dynsub("pki", "init", "maker", "--manufacturer", "Maker GmbH", cwd=work)
    dynsub("pki", "init", "operator", "--operator", "Operator AG", cwd=work)
    assert (work / "maker" / "root.pem").read_bytes() != (
        work / "operator" / "root.pem"
    ).read_bytes()
    dynsub("pki", "crl", "--pki", "maker", "--out", "maker/crl.pem", cwd=work)
    minted = json.loads(
        dynsub("pki", "mint", "--pki", "maker", "--out", "devices", "--count", "2",
               "--trust", "operator/root.pem", "--json", cwd=work).stdout
    )  # fmt: skip
    first, second = minted["first_imei"], minted["last_imei"]
    # The same manufacturer's device as it would ship trusting only its maker's root.
    unaware = json.loads(
        dynsub("pki", "mint", "--pki", "maker", "--out", "unaware", "--json", cwd=work).stdout
    )["first_imei"]
    dynsub("core", "init", "core", "--pki", "operator",
           "--manufacturer-ca", "maker/manufacturer.pem", "--device-root", "maker/root.pem",
           "--crl", "maker/crl.pem", cwd=work)  # fmt: skip

    with served_core(work / "core" / "core.toml", cwd=work) as core:
        onboarded = json.loads(
            dynsub("ue", "onboard", "--device", f"devices/{first}", "--core", core.address,
                   "--state", "ue.toml", "--json", cwd=work).stdout
        )  # fmt: skip
        assert onboarded["supi"].startswith("imsi-00101")
        registered = json.loads(
            dynsub("ue", "register", "--state", "ue.toml", "--core", core.address, "--json",
                   cwd=work).stdout
        )  # fmt: skip
        assert registered["supi"] == onboarded["supi"]

        # Revoked by its manufacturer while the core runs: the core reads the new CRL at the
        # next connection, no restart.
        dynsub("pki", "revoke", "--pki", "maker", f"devices/{second}/device.pem", cwd=work)
        dynsub("pki", "crl", "--pki", "maker", "--out", "maker/crl.pem", cwd=work)
        revoked = dynsub("ue", "onboard", "--device", f"devices/{second}", "--core", core.address,
                         cwd=work, expect=ExitCode.REJECTED)  # fmt: skip
        assert "#3" in revoked.stderr, revoked.stderr
        reloaded = [r for r in core.records() if r["step"] == "crl"]
        assert [r["outcome"] for r in reloaded] == ["ok"], reloaded
        refusals = [r for r in core.records() if r["outcome"] == "refused"]
        assert [r["imei"] for r in refusals] == [second]
        assert "revoked" in refusals[0]["message"]

        # A UE that trusts only its maker's root refuses the operator's core.
        refused = dynsub("ue", "onboard", "--device", f"unaware/{unaware}", "--core",
                         core.address, cwd=work, expect=ExitCode.CERT_REFUSED)  # fmt: skip
        assert "not a trusted operator CA" in refused.stderr
