"""A core whose [authentication] points at a real FreeRADIUS, configured by `core radius-config`.

Issue acceptance 1 and 2: one module fixture builds a PKI, four devices (one revoked, one
blocklisted), a device of another manufacturer under another root, a core, and the FreeRADIUS
folder, all with the `dynsub` command; it runs FreeRADIUS (`freeradius -f -d DIR`) and
`dynsub core serve` on 127.0.0.1 and free ports. The tests then run `dynsub ue onboard` /
`ue register` as a user does and read the store's audit trail. The last test stops
FreeRADIUS while the core runs and starts it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from dynsub_cli.aaa import client as radius_client
from dynsub_cli.core.refusals import Refusal, for_certificate
from dynsub_cli.eap.tls import Peer
from dynsub_cli.errors import CertificateRefused, ExitCode, ServiceUnavailable
from dynsub_cli.nas.enums import MmCause
from dynsub_cli.pki import verify
from dynsub_cli.security import suci
from dynsub_cli.ue import device as ue_device
from tests.integration import freeradius
from tests.processes import ServedCore, dynsub, served_core


@dataclass
class Lab:
    work: Path
    good: str
    revoked: str
    blocked: str
    spare: str
    other: str  # a device of a manufacturer under another root
    radius: freeradius.FreeRadius
    core: ServedCore
    port: int

    def onboard(self, device: str, *, expect: int = 0, state: str = "ue.toml") -> Any:
        done = dynsub("ue", "onboard", "--device", device, "--core", self.core.address,
                      "--state", state, "--json", cwd=self.work, expect=expect)  # fmt: skip
        return json.loads(done.stdout) if expect == 0 else done

    def events(self, imei: str) -> list[dict[str, Any]]:
        out = dynsub("store", "events", "--config", "core/core.toml", "--imei", imei, "--json",
                     cwd=self.work).stdout  # fmt: skip
        text = out.strip()
        if text.startswith("["):
            found: list[dict[str, Any]] = json.loads(text)
            return found
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def _imeis(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name.isdigit())


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    work = tmp_path_factory.mktemp("freeradius")
    dynsub("pki", "init", "pki", cwd=work)
    dynsub("pki", "mint", "--pki", "pki", "--out", "devices", "--count", "4", cwd=work)
    good, revoked, blocked, spare = _imeis(work / "devices")
    dynsub("pki", "revoke", "--pki", "pki", f"devices/{revoked}/device.pem", cwd=work)
    dynsub("pki", "crl", "--pki", "pki", cwd=work)
    dynsub("pki", "init", "other", "--manufacturer", "Other Maker", cwd=work)
    dynsub("pki", "mint", "--pki", "other", "--out", "others", "--trust", "pki/root.pem",
           cwd=work)  # fmt: skip
    (other,) = _imeis(work / "others")
    dynsub("core", "init", "core", "--pki", "pki", cwd=work)
    port = freeradius.free_udp_port()
    dynsub("core", "radius-config", "radius", "--config", "core/core.toml",
           "--listen", f"127.0.0.1:{port}", "--reject-delay", "0", cwd=work)  # fmt: skip
    config = work / "core" / "core.toml"
    text = config.read_text()
    assert "blocklist = []" in text
    text = text.replace("blocklist = []", f'blocklist = ["{blocked}"]')
    text += (
        f'\n[authentication]\nserver = "radius"\naddress = "127.0.0.1:{port}"\n'
        'secret_file = "../radius/shared-secret"\ntimeout_seconds = 0.5\nretries = 1\n'
    )
    config.write_text(text)
    with freeradius.running(work / "radius") as server, served_core(config, cwd=work) as core:
        yield Lab(work, good, revoked, blocked, spare, other, server, core, port)


def test_onboard_and_register_through_freeradius(lab: Lab) -> None:
    onboarded = lab.onboard(f"devices/{lab.good}")
    assert onboarded["supi"].startswith("imsi-00101")
    registered = json.loads(
        dynsub("ue", "register", "--state", "ue.toml", "--core", lab.core.address, "--json",
               cwd=lab.work).stdout
    )  # fmt: skip
    assert registered["supi"] == onboarded["supi"]
    # The record as with the built-in server: the certificate FreeRADIUS authenticated.
    shown = json.loads(
        dynsub("store", "show", onboarded["supi"], "--config", "core/core.toml", "--json",
               cwd=lab.work).stdout
    )  # fmt: skip
    der = x509.load_pem_x509_certificate(
        (lab.work / "devices" / lab.good / "device.pem").read_bytes()
    ).public_bytes(Encoding.DER)
    assert hashlib.sha256(der).hexdigest() in json.dumps(shown)
    assert lab.good in json.dumps(shown)
    authenticated = [r for r in lab.core.records() if r["step"] == "eap-tls" and
                     "authenticated" in r["message"]]  # fmt: skip
    assert authenticated, lab.core.records()
    assert f"AAA server 127.0.0.1:{lab.port}" in authenticated[0]["message"]
    # FreeRADIUS kept no copy of the certificate once the Accept left.
    assert not list((lab.work / "radius" / "keep").iterdir())


@pytest.mark.parametrize(
    ("which", "cause", "words"),
    [
        ("revoked", MmCause.ILLEGAL_UE, "revoked"),
        ("other", MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN, "not a trusted manufacturer"),
        ("blocked", MmCause.PEI_NOT_ACCEPTED, "blocklisted"),
    ],
)
def test_refusals_keep_their_causes(lab: Lab, which: str, cause: MmCause, words: str) -> None:
    imei = getattr(lab, which)
    folder = f"others/{imei}" if which == "other" else f"devices/{imei}"
    refused = lab.onboard(folder, expect=ExitCode.REJECTED, state=f"{which}.toml")
    assert f"#{int(cause)}" in refused.stderr, refused.stderr
    refusals = [e for e in lab.events(imei) if e.get("outcome") != "success"]
    assert refusals, lab.events(imei)
    assert any(words in json.dumps(e) for e in refusals), refusals


def _peer_against_freeradius(lab: Lab, imei: str, claimed: str) -> None:
    device = ue_device.load(lab.work / "devices" / imei)
    secret = (lab.work / "radius" / "shared-secret").read_bytes().strip()
    settings = radius_client.RadiusSettings("127.0.0.1", lab.port, secret, timeout=2)

    async def run() -> None:
        relay = radius_client.RadiusClient(settings)
        server = relay.server(suci.onboarding_suci(claimed).to_nai(), "test")
        peer: Peer[None] = Peer(
            device.credentials, lambda chain: verify.verify_core(chain, device.trust_anchors)
        )
        packet = await server.start()
        try:
            while True:
                response = peer.receive(packet)
                assert response is not None
                step = await server.receive(response)
                packet = step.packet
                if step.result is not None:
                    peer.receive(packet)
                    assert step.result.msk == peer.result.msk
                    return
        finally:
            await relay.close()

    asyncio.run(run())


def test_identity_mismatch_is_refused_by_freeradius_as_such(lab: Lab) -> None:
    # A device that claims another device's IMEI in its EAP identity (the onboarding SUCI).
    with pytest.raises(CertificateRefused) as refused:
        _peer_against_freeradius(lab, lab.spare, claimed=lab.good)
    assert for_certificate(refused.value) is Refusal.IDENTITY_MISMATCH
    assert lab.spare in refused.value.message


def test_msk_of_the_peer_is_freeradius_mppe_keys(lab: Lab) -> None:
    _peer_against_freeradius(lab, lab.spare, claimed=lab.spare)


def test_wrong_shared_secret_is_named(lab: Lab) -> None:
    settings = radius_client.RadiusSettings(
        "127.0.0.1", lab.port, b"not-the-secret", timeout=0.3, retries=0
    )

    async def run() -> None:
        relay = radius_client.RadiusClient(settings)
        try:
            await relay.server("someone", "test").start()
        finally:
            await relay.close()

    with pytest.raises(ServiceUnavailable) as failed:
        asyncio.run(run())
    assert "shared secret" in failed.value.message
    assert "invalid Message-Authenticator" in lab.radius.log_text()


def test_outage_gives_a_temporary_cause_then_recovers_without_a_core_restart(lab: Lab) -> None:
    lab.radius.stop()
    try:
        refused = lab.onboard(f"devices/{lab.spare}", expect=ExitCode.REJECTED, state="o.toml")
        assert f"#{int(MmCause.CONGESTION)}" in refused.stderr, refused.stderr
        again = lab.onboard(f"devices/{lab.spare}", expect=ExitCode.REJECTED, state="o.toml")
        assert f"#{int(MmCause.CONGESTION)}" in again.stderr
    finally:
        lab.radius.start()
    onboarded = lab.onboard(f"devices/{lab.spare}", state="o.toml")
    assert onboarded["supi"].startswith("imsi-00101")
    assert lab.core.process.poll() is None  # the same core process throughout
    unavailable = [r for r in lab.core.records() if "AAA" in r.get("message", "")
                   and r["outcome"] != "ok"]  # fmt: skip
    assert unavailable, lab.core.records()
