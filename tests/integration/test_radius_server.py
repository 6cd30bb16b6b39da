"""`dynsub core serve` as a RADIUS server ([radius_server]) against wpa_supplicant's eapol_test.

Issue acceptance 3: the most used EAP peer, with a dynsub device certificate, authenticates
against the built-in EAP-TLS server over RADIUS with TLS 1.3 and TLS 1.2; eapol_test checks
that the MS-MPPE keys of the Access-Accept equal the MSK it derived itself ("MPPE keys OK"),
and the test compares the two hexdumps it prints as well. A revoked device is refused.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dynsub_cli.security import suci
from tests.integration import freeradius
from tests.integration.refusal_lab import wait_for
from tests.processes import HANG, ServedCore, dynsub, served_core

SECRET = "eapol-test-secret-0123456789"


@dataclass
class Dcs:
    work: Path
    good: str
    revoked: str
    port: int
    core: ServedCore


@pytest.fixture(scope="module")
def dcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dcs]:
    work = tmp_path_factory.mktemp("radius-server")
    dynsub("pki", "init", "pki", cwd=work)
    minted = json.loads(
        dynsub("pki", "mint", "--pki", "pki", "--out", "devices", "--count", "2", "--json",
               cwd=work).stdout
    )  # fmt: skip
    good, revoked = minted["first_imei"], minted["last_imei"]
    dynsub("pki", "revoke", "--pki", "pki", f"devices/{revoked}/device.pem", cwd=work)
    dynsub("pki", "crl", "--pki", "pki", cwd=work)
    dynsub("core", "init", "core", "--pki", "pki", cwd=work)
    secret = work / "core" / "secrets" / "radius-server.secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    port = freeradius.free_udp_port()
    config = work / "core" / "core.toml"
    config.write_text(
        config.read_text()
        + f'\n[radius_server]\nlisten = "127.0.0.1:{port}"\n'
        + 'secret_file = "secrets/radius-server.secret"\n'
    )
    with served_core(config, cwd=work) as core:
        yield Dcs(work, good, revoked, port, core)


def _eapol_test(dcs: Dcs, imei: str, *, tls13: bool) -> subprocess.CompletedProcess[str]:
    path = shutil.which("eapol_test")
    assert path, "eapol_test is not on PATH (Debian: apt-get install eapoltest; .ci/run does)"
    device = dcs.work / "devices" / imei
    # wpa_supplicant sends what client_cert holds: the leaf and the manufacturer CA.
    chain = dcs.work / f"{imei}-chain.pem"
    chain.write_bytes((device / "device.pem").read_bytes() + (device / "chain.pem").read_bytes())
    conf = dcs.work / f"{imei}-{'13' if tls13 else '12'}.conf"
    conf.write_text(
        "network={\n  key_mgmt=WPA-EAP\n  eap=TLS\n"
        f'  identity="{suci.onboarding_suci(imei).to_nai()}"\n'
        f'  ca_cert="{dcs.work / "pki" / "root.pem"}"\n'
        f'  client_cert="{chain}"\n  private_key="{device / "device.key"}"\n'
        # wpa_supplicant 2.10 keeps TLS 1.3 off unless asked.
        f'  phase1="tls_disable_tlsv1_3={0 if tls13 else 1}"\n'
        "}\n"
    )
    return subprocess.run(
        [path, "-c", str(conf), "-a", "127.0.0.1", "-p", str(dcs.port), "-s", SECRET, "-t", "20"],
        capture_output=True,
        text=True,
        timeout=HANG,
        check=False,
    )


def _hexdump(output: str, label: str) -> str:
    found: list[str] = re.findall(re.escape(label) + r" - hexdump\(len=\d+\): ([0-9a-f ]+)", output)
    assert found, f"eapol_test printed no {label!r}"
    return found[-1].replace(" ", "")


@pytest.mark.parametrize("tls13", [True, False], ids=["TLSv1.3", "TLSv1.2"])
def test_eapol_test_authenticates_a_dynsub_device(dcs: Dcs, tls13: bool) -> None:
    done = _eapol_test(dcs, dcs.good, tls13=tls13)
    out = done.stdout
    assert done.returncode == 0, (out[-1500:], dcs.core.records(), dcs.core.other)
    assert "SUCCESS" in out.splitlines()[-1]
    assert "MPPE keys OK: 1  mismatch: 0" in out
    version = "TLSv1.3" if tls13 else "TLSv1.2"
    assert f"SSL: Using TLS version {version}" in out
    msk = _hexdump(out, "EAP-TLS: Derived key")
    received = _hexdump(out, "MS-MPPE-Recv-Key (crypt)") + _hexdump(out, "MS-MPPE-Send-Key (sign)")
    assert len(msk) == 128
    assert msk == received  # the MSK the peer derived is what the server sent
    # eapol_test ends on the Access-Accept; the core's log line may still be on its way.
    wait_for(
        lambda: [r for r in dcs.core.records() if r["step"] == "radius-server"
                 and r["outcome"] == "ok" and r.get("imei") == dcs.good] or None,
        f"radius-server ok for {dcs.good}",
    )  # fmt: skip


def test_eapol_test_with_a_revoked_device_is_refused(dcs: Dcs) -> None:
    done = _eapol_test(dcs, dcs.revoked, tls13=True)
    assert done.returncode != 0
    assert "FAILURE" in done.stdout.splitlines()[-1]
    assert "MPPE keys OK: 0" in done.stdout
    wait_for(
        lambda: [r for r in dcs.core.records() if r["step"] == "radius-server"
                 and r["outcome"] == "refused" and "revoked" in r["message"]] or None,
        "radius-server refused: revoked",
    )  # fmt: skip
