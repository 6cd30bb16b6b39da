"""Smoke test: the committed sample-pki/ (public keys, for trials) still loads and verifies."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from dynsub_cli.pki import authority, pem, profiles
from dynsub_cli.pki.verify import verify_device

SAMPLE = Path(__file__).resolve().parents[3] / "sample-pki"


def test_the_sample_pki_and_its_devices_verify() -> None:
    pki = authority.load(SAMPLE / "pki")
    root = pki.load_root()
    # Verify as of the day after the sample was made, so the test does not depend on the clock
    # of the machine that runs it.
    when = root.not_valid_before_utc + dt.timedelta(days=1)
    (manifest,) = (SAMPLE / "devices").glob("manifest-*.json")
    rows = json.loads(manifest.read_text())["devices"]
    assert [row["imei"] for row in rows] == [
        "001001000000007",
        "001001000000015",
        "001001000000023",
    ]
    for row in rows:
        folder = SAMPLE / "devices" / row["path"]
        leaf = pem.read_certificate(folder / "device.pem")
        chain = pem.read_certificates(folder / "chain.pem")
        anchors = pem.read_certificates(folder / "trust.pem")
        identity = verify_device([leaf, *chain], anchors, now=when)
        assert identity.imei == row["imei"]
        assert identity.fingerprint == row["sha256_fingerprint"]
        assert pem.read_key(folder / "device.key").public_key() == leaf.public_key()
    core = pem.read_certificate(pki.core_cert)
    assert profiles.check(profiles.CORE, core) == []


def test_the_readme_warns_and_gives_the_commands() -> None:
    readme = (SAMPLE / "README.md").read_text()
    assert "private key in this folder is public" in readme
    assert "dynsub pki init sample-pki/pki" in readme
    assert "dynsub pki mint --pki sample-pki/pki --out sample-pki/devices --count 3" in readme
