"""Issue 14 acceptance 3: `pki mint --defect NAME` devices, each refused with its own rule.

One PKI; one device per defect, minted by the CLI. `pki verify` refuses each with exactly the
defect's rule; the ledger keeps them apart from good devices; each folder and manifest says
which defect it is. Then, end to end, `core serve` refuses each at onboarding with the cause
of that rule and logs the rule's words, while a good device of the same PKI onboards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from dynsub_cli.core.refusals import Refusal
from dynsub_cli.errors import ExitCode
from dynsub_cli.pki import authority
from dynsub_cli.pki.defects import MARKER, Defect
from dynsub_cli.pki.ledger import Ledger
from tests.processes import dynsub, served_core

pytestmark = pytest.mark.slow

#: The words of the rule each defect breaks, as the refusal says them.
WORDS = {
    Defect.EXPIRED: "certificate has expired",
    Defect.NOT_YET_VALID: "not yet valid",
    Defect.NO_DEVICE_POLICY: "3GPP device policy missing",
    Defect.WRONG_EKU: "extendedKeyUsage lacks clientAuth",
    Defect.CA_TRUE: "basicConstraints CA:TRUE on an end-entity certificate",
    Defect.BAD_IMEI_CHECK_DIGIT: "IMEI check digit is wrong",
    Defect.IMEI_CN_MISMATCH: "IMEI in subjectAltName differs from subject CN",
    Defect.UNTRUSTED_CA: "issuer is not a trusted manufacturer CA",
    Defect.WRONG_KEY_TYPE: "key type not allowed (ECDSA secp521r1",
    Defect.REVOKED: "revoked (CRL #",
}
#: The core's refusal (and so the 5GMM cause) for each.
REFUSAL = {
    Defect.EXPIRED: Refusal.CERTIFICATE_EXPIRED,
    Defect.NOT_YET_VALID: Refusal.CERTIFICATE_EXPIRED,
    Defect.NO_DEVICE_POLICY: Refusal.DEVICE_POLICY_MISSING,
    Defect.UNTRUSTED_CA: Refusal.UNTRUSTED_MANUFACTURER,
    Defect.REVOKED: Refusal.CERTIFICATE_REVOKED,
}


@dataclass(frozen=True)
class Lab:
    work: Path
    devices: dict[Defect, Path]
    good: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    work = tmp_path_factory.mktemp("defects")
    dynsub("pki", "init", "pki", cwd=work)
    good = json.loads(
        dynsub("pki", "mint", "--pki", "pki", "--out", "good", "--json", cwd=work).stdout
    )
    devices = {}
    for defect in Defect:
        made = json.loads(
            dynsub("pki", "mint", "--pki", "pki", "--out", f"defects/{defect.value}",
                   "--defect", defect.value, "--json", cwd=work).stdout
        )  # fmt: skip
        assert made["rule"] == defect.rule.value
        (imei,) = made["imeis"]
        devices[defect] = work / "defects" / defect.value / imei
    return Lab(work, devices, work / "good" / good["first_imei"])


@pytest.mark.parametrize("defect", list(Defect), ids=str)
def test_pki_verify_refuses_each_defect_with_its_rule_alone(lab: Lab, defect: Defect) -> None:
    folder = lab.devices[defect]
    result = dynsub(
        "pki", "verify", folder / "device.pem", "--pki", "pki", "--chain", folder / "chain.pem",
        "--crl", "pki/crl.pem", "--json", cwd=lab.work, expect=ExitCode.CERT_REFUSED,
    )  # fmt: skip
    verdict = json.loads(result.stdout)
    assert verdict["rules"] == [defect.rule.value], verdict["reasons"]
    assert verdict["reasons"][0].startswith(WORDS[defect]) or WORDS[defect] in verdict["reasons"][0]


@pytest.mark.parametrize("defect", list(Defect), ids=str)
def test_each_defect_is_marked_and_kept_out_of_the_good_devices(lab: Lab, defect: Defect) -> None:
    folder = lab.devices[defect]
    assert (folder / MARKER).read_text().split() == [defect.value, defect.rule.value]
    manifest = json.loads(next(folder.parent.glob("manifest-defect-*.json")).read_text())
    assert [d["defect"] for d in manifest["devices"]] == [defect.value]
    pki = authority.load(lab.work / "pki")
    with Ledger(pki.ledger) as ledger:
        assert folder.name not in {d.imei for d in ledger.issued()}
        assert ledger.defect_of(folder.name) == defect.value
        assert ledger.defect_of(lab.good.name) is None


def test_the_core_refuses_each_defect_with_its_cause_and_onboards_a_good_device(
    lab: Lab,
) -> None:
    work = lab.work
    dynsub("core", "init", "core", "--pki", "pki", cwd=work)  # reads pki/crl.pem: revoked
    with served_core(work / "core" / "core.toml", cwd=work) as core:
        outcomes = {}
        for defect, folder in lab.devices.items():
            result = dynsub(
                "ue", "onboard", "--device", folder, "--core", core.address,
                "--state", work / f"ue-{defect.value}.toml", "--json",
                cwd=work, expect=ExitCode.REJECTED,
            )  # fmt: skip
            outcomes[defect] = json.loads(result.stdout)
        good = dynsub(
            "ue", "onboard", "--device", lab.good, "--core", core.address,
            "--state", work / "ue-good.toml", "--json", cwd=work,
        )  # fmt: skip
        assert json.loads(good.stdout)["outcome"] == "ready"
        refused = [line for line in core.records() if line.get("outcome") == "refused"]
    assert len(refused) == len(Defect), refused
    for defect in Defect:
        expected = REFUSAL.get(defect, Refusal.CERTIFICATE_INVALID)
        said = f"not accepted: {WORDS[defect]}"
        lines = [line for line in refused if said in str(line.get("message", ""))]
        assert len(lines) == 1, (defect, [(r.get("imei"), r.get("message")) for r in refused])
        assert lines[0]["cause"] == int(expected.cause), (defect, lines[0])
