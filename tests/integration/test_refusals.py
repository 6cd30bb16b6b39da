"""Every refusal a well-behaved UE can cause, end to end: `dynsub ue ... --json` in-process
against a real `core serve` on 127.0.0.1.

One row per refusal. Each row checks what the UE says (exit status, the failed step, the
message), what the core logged (the refusal's step and 5GMM cause from core/refusals.py), the
audit event in the store, and then that a fresh good device still onboards on the same core.
The broken devices are made by the PKI test factory (one rule broken) or by the real commands
(`dynsub pki revoke`/`crl`, `dynsub store suspend`, a blocklist in core.toml).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from dynsub_cli import config
from dynsub_cli.config import CoreConfig
from dynsub_cli.core.refusals import Refusal
from dynsub_cli.errors import ExitCode
from dynsub_cli.nas.enums import cause_title
from dynsub_cli.pki import authority, device_folder, pem, profiles, verify
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.profiles import DEVICE
from dynsub_cli.store import EventKind
from dynsub_cli.ue import state as states
from tests.flow import Lab, make_lab
from tests.integration.refusal_lab import (
    dynsub,
    refusal_event,
    refusal_record,
    ue,
    wait_for,
    write_device,
)
from tests.server import RunningCore, running_core
from tests.unit.pki import factory

GOOD_DEVICES = 24


@dataclass
class World:
    """One PKI, a core that serves it, and a device folder for each row."""

    lab: Lab
    config: CoreConfig
    core: RunningCore
    devices: dict[str, Path]
    good: Iterator[Path]  # fresh minted devices, one per "the next UE still onboards"

    def next_good_onboards(self) -> None:
        device = next(self.good)
        run = ue("onboard", "--device", str(device), core=self.core)
        run.assert_ready()
        assert not [r for r in self.core.refusals() if r.imei == device.name]


def _broken_devices(tmp: Path, pki: Pki, minted: Iterator[Path]) -> dict[str, Path]:
    """A device folder per row; the rows that need a minted device take one of ``minted``."""
    rogue = factory.make_pki(tmp / "rogue", manufacturer="Rogue Devices Ltd")
    listed = factory.make_pki(tmp / "partner", manufacturer="Partner Devices")
    root = pki.load_root()
    now = factory.NOW
    made = {
        # A manufacturer the core has never heard of (its root is not a trust anchor) ...
        "untrusted manufacturer": write_device(
            tmp / "d-rogue", factory.device(rogue, snr=1), rogue, trust=root
        ),
        # ... and one whose root the core trusts, but not listed in [pki] manufacturer_cas.
        "manufacturer CA not listed": write_device(
            tmp / "d-partner", factory.device(listed, snr=2), listed, trust=root
        ),
        "device policy missing": write_device(
            tmp / "d-policy",
            factory.device(pki, dataclasses.replace(DEVICE, policies=()), snr=3),
            pki,
        ),
        "expired certificate": write_device(
            tmp / "d-expired",
            factory.device(
                pki, snr=4, not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(1)
            ),
            pki,
        ),
        "certificate not yet valid": write_device(
            tmp / "d-future", factory.device(pki, snr=5, not_before=now + dt.timedelta(1)), pki
        ),
        "certificate breaks the device profile": write_device(
            tmp / "d-eku",
            factory.device(
                pki,
                dataclasses.replace(DEVICE, extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,)),
                snr=6,
            ),
            pki,
        ),
        # The UE ships with another ecosystem's root: it cannot trust this core.
        "UE does not trust the core": write_device(
            tmp / "d-distrust", factory.device(pki, snr=7), pki, trust=rogue.load_root()
        ),
    }
    for name in MINTED_ROWS:
        made[name] = next(minted)
    made["_partner root"] = listed.root_cert
    return made


MINTED_ROWS = (
    "revoked certificate",
    "blocklisted IMEI",
    "unknown service type",
    "unknown plan",
    "plan not for the service type",
    "missing billing information",
    "suspended subscriber",
    "wrong subscription key K",
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("refusals")
    lab = make_lab(tmp, devices=GOOD_DEVICES + len(MINTED_ROWS))
    pki = authority.load(lab.pki)
    minted = iter(lab.devices)
    devices = _broken_devices(tmp, pki, minted)
    # Revocation the way an operator does it: revoke, then publish the CRL the core reads.
    revoked = devices["revoked certificate"] / device_folder.DEVICE_CERT
    assert dynsub("pki", "revoke", "--pki", str(lab.pki), str(revoked)).exit_code == 0
    assert dynsub("pki", "crl", "--pki", str(lab.pki)).exit_code == 0
    # core.toml edited and read back: a blocklist, and a second trusted root.
    loaded = lab.config()
    edited = dataclasses.replace(
        loaded,
        enrollment=dataclasses.replace(
            loaded.enrollment, blocklist=(devices["blocklisted IMEI"].name,)
        ),
        pki=dataclasses.replace(
            loaded.pki,
            trust_anchors=(*loaded.pki.trust_anchors, devices.pop("_partner root")),
        ),
    )
    config.write(edited, lab.config_file, overwrite=True)
    cfg = config.load(lab.config_file)
    assert cfg.enrollment.blocklist == (devices["blocklisted IMEI"].name,)
    with running_core(cfg) as core:
        yield World(lab, cfg, core, devices, minted)


# --- the rows ----------------------------------------------------------------------------------


Prepare = Callable[[World, Path], list[str]]


def onboard_args(*options: str) -> Prepare:
    def args(world: World, device: Path) -> list[str]:
        return ["onboard", "--device", str(device), *options]

    return args


def onboarded(world: World, device: Path) -> Path:
    run = ue("onboard", "--device", str(device), core=world.core)
    run.assert_ready()
    state_file = Path(run.result["state_file"])
    assert state_file.is_file()
    return state_file


def suspended_then_register(world: World, device: Path) -> list[str]:
    state_file = onboarded(world, device)
    supi = states.load(state_file).supi
    result = dynsub("store", "suspend", "--config", str(world.lab.config_file), supi)
    assert result.exit_code == 0, result.output
    return ["register", "--state", str(state_file)]


def wrong_k_then_register(world: World, device: Path) -> list[str]:
    state_file = onboarded(world, device)
    state = states.load(state_file)
    wrong = dataclasses.replace(state, k=bytes(b ^ 0x5A for b in state.k))
    states.save(state_file, wrong)
    return ["register", "--state", str(state_file)]


@dataclass(frozen=True)
class Case:
    refusal: Refusal
    prepare: Prepare
    exit_code: ExitCode
    step: str  # the failed step the UE names
    says: str  # in the UE's message
    reason: str  # in the core's log line and the audit event's reason
    kind: EventKind = EventKind.ONBOARDING_REFUSED


CERTIFICATE = "EAP-TLS"
REFUSED_CERT = "EAP-Failure"

CASES: dict[str, Case] = {
    "untrusted manufacturer": Case(
        Refusal.UNTRUSTED_MANUFACTURER,
        onboard_args(),
        ExitCode.REJECTED,
        CERTIFICATE,
        REFUSED_CERT,
        verify.R_UNTRUSTED_MANUFACTURER,
    ),
    "manufacturer CA not listed": Case(
        Refusal.UNTRUSTED_MANUFACTURER,
        onboard_args(),
        ExitCode.REJECTED,
        CERTIFICATE,
        REFUSED_CERT,
        "not listed in core.toml [pki] manufacturer_cas",
    ),
    "device policy missing": Case(
        Refusal.DEVICE_POLICY_MISSING,
        onboard_args(),
        ExitCode.REJECTED,
        CERTIFICATE,
        REFUSED_CERT,
        "3GPP device policy missing",
    ),
    "revoked certificate": Case(
        Refusal.CERTIFICATE_REVOKED,
        onboard_args(),
        ExitCode.REJECTED,
        CERTIFICATE,
        REFUSED_CERT,
        verify.R_REVOKED,
    ),
    "expired certificate": Case(
        Refusal.CERTIFICATE_EXPIRED,
        onboard_args(),
        ExitCode.REJECTED,
        CERTIFICATE,
        REFUSED_CERT,
        "certificate has expired",
    ),
    "certificate not yet valid": Case(
        Refusal.CERTIFICATE_EXPIRED,
        onboard_args(),
        ExitCode.REJECTED,
        CERTIFICATE,
        REFUSED_CERT,
        "not yet valid",
    ),
    "certificate breaks the device profile": Case(
        Refusal.CERTIFICATE_INVALID,
        onboard_args(),
        ExitCode.REJECTED,
        CERTIFICATE,
        REFUSED_CERT,
        "extendedKeyUsage lacks clientAuth",
    ),
    "blocklisted IMEI": Case(
        Refusal.BLOCKLISTED,
        onboard_args(),
        ExitCode.REJECTED,
        CERTIFICATE,
        REFUSED_CERT,
        "blocklisted",
    ),
    "UE does not trust the core": Case(
        Refusal.EAP_TLS_FAILED,
        onboard_args(),
        ExitCode.CERT_REFUSED,
        CERTIFICATE,
        verify.R_UNTRUSTED_OPERATOR,
        "unknown ca",  # the TLS alert the UE sent
    ),
    "unknown service type": Case(
        Refusal.UNKNOWN_SERVICE_TYPE,
        onboard_args("--service-type", "satellite"),
        ExitCode.REJECTED,
        "dialogue",
        "service type 'satellite' is not offered",
        "service type 'satellite' is not offered",
    ),
    "unknown plan": Case(
        Refusal.UNKNOWN_PLAN,
        onboard_args("--plan", "unlimited"),
        ExitCode.REJECTED,
        "dialogue",
        "plan 'unlimited' is not offered",
        "plan 'unlimited' is not offered",
    ),
    "plan not for the service type": Case(
        Refusal.UNKNOWN_PLAN,
        onboard_args("--service-type", "embb", "--plan", "trial"),
        ExitCode.REJECTED,
        "dialogue",
        "plan 'trial' is not for service type 'embb'",
        "plan 'trial' is not for service type 'embb'",
    ),
    "missing billing information": Case(
        Refusal.MISSING_BILLING_INFORMATION,
        onboard_args("--plan", "metered"),
        ExitCode.REJECTED,
        "dialogue",
        "needs billing information: account",
        "needs billing information: account",
    ),
    "suspended subscriber": Case(
        Refusal.SUSPENDED,
        suspended_then_register,
        ExitCode.REJECTED,
        "registration",
        "#7",
        "is suspended",
        EventKind.REGISTRATION_REJECTED,
    ),
    "wrong subscription key K": Case(
        Refusal.AKA_FAILED_AT_UE,
        wrong_k_then_register,
        ExitCode.AUTH,
        "5G AKA",
        "MAC",
        "AUTHENTICATION FAILURE #20",
        EventKind.REGISTRATION_REJECTED,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_refusal(world: World, name: str) -> None:
    case = CASES[name]
    device = world.devices[name]
    imei = _imei_of(device)

    run = ue(*case.prepare(world, device), core=world.core)

    # The UE: exit status, the failed step, and a message that says why.
    assert run.exit_code == case.exit_code, run.result
    assert run.result["outcome"] == "failed"
    assert run.result["error"]["exit_status"] == case.exit_code
    assert run.result["error"]["code"] == case.exit_code.name
    assert run.step == case.step, run.result
    assert case.says in run.error, run.error
    assert f"dynsub: error: {case.step} failed: " in run.stderr
    if case.exit_code is ExitCode.REJECTED:
        assert f"#{int(case.refusal.cause)}" in run.error  # the 5GMM cause, named
        title = cause_title(case.refusal.cause)  # as TS 24.501 titles it
        assert title is not None
        assert title in run.error
    if case.refusal is Refusal.SUSPENDED:
        assert "dynsub store resume" in run.result["error"]["hint"]
        assert "dynsub: hint: " in run.stderr
    # The core: its log line names the refusal's step, its 5GMM cause and the reason ...
    record = refusal_record(world.core, imei=imei)
    assert (record.step, record.cause) == (case.refusal.step, int(case.refusal.cause))
    assert case.refusal.meaning in record.message
    assert case.reason in record.message, record.message
    # ... and the store's audit trail has the event.
    event = refusal_event(world.config, case.refusal, imei=imei)
    assert event.kind == case.kind
    assert case.reason in event.reason
    # The core is still there for the next UE.
    world.next_good_onboards()


def test_the_cases_cover_every_refusal_a_plain_ue_can_cause() -> None:
    # The rest are caused by a hostile UE (test_refusals_hostile.py) or another core
    # configuration (test_refusals_supi.py).
    covered = {case.refusal for case in CASES.values()}
    assert {
        Refusal.UNTRUSTED_MANUFACTURER,
        Refusal.DEVICE_POLICY_MISSING,
        Refusal.CERTIFICATE_REVOKED,
        Refusal.CERTIFICATE_EXPIRED,
        Refusal.CERTIFICATE_INVALID,
        Refusal.BLOCKLISTED,
        Refusal.EAP_TLS_FAILED,
        Refusal.UNKNOWN_SERVICE_TYPE,
        Refusal.UNKNOWN_PLAN,
        Refusal.MISSING_BILLING_INFORMATION,
        Refusal.SUSPENDED,
        Refusal.AKA_FAILED_AT_UE,
    } == covered


def _imei_of(device: Path) -> str:
    imei = profiles.imei_of(pem.read_certificate(device / device_folder.DEVICE_CERT))
    assert imei is not None
    return imei


def test_registering_after_the_subscription_was_deleted_says_to_onboard_again(
    world: World,
) -> None:
    state_file = onboarded(world, next(world.good))
    supi = states.load(state_file).supi
    deleted = dynsub("store", "delete", "--config", str(world.lab.config_file), supi, "--yes")
    assert deleted.exit_code == 0, deleted.output

    run = ue("register", "--state", str(state_file), core=world.core)

    assert run.exit_code == ExitCode.REJECTED, run.result
    assert run.step == "registration"
    assert f"holds no subscription for {supi}" in run.error
    assert "#74" in run.error
    assert "dynsub ue onboard" in run.error
    (record,) = wait_for(
        lambda: [r for r in world.core.refusals() if r.supi == supi] or None,
        f"the refusal of {supi}",
    )
    assert (record.step, record.cause) == ("registration", int(Refusal.NO_SUBSCRIPTION.cause))
    assert f"no subscription for {supi}" in record.message
    world.next_good_onboards()


def test_an_old_state_file_after_onboarding_again_points_to_the_newer_one(world: World) -> None:
    device = next(world.good)
    old = onboarded(world, device)
    old_copy = old.with_name("old-state.toml")
    old_copy.write_bytes(old.read_bytes())
    old_copy.chmod(0o600)
    newer = onboarded(world, device)  # same-record policy (core init's default): a new K

    run = ue("register", "--state", str(old_copy), core=world.core)

    assert run.exit_code == ExitCode.AUTH, run.result
    assert "MAC failure" in run.error
    assert "register with the newer state file" in run.error
    ue("register", "--state", str(newer), core=world.core).assert_ready()
