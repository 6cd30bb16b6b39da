"""`dynsub demo`: the whole flow of docs/protocol.md in one work folder, in a few seconds.

The steps are the commands a user would type, called as functions: ``pki init`` (or reuse the
PKI already in the folder), ``pki mint`` one device, ``core init`` (or reuse), ``core serve``
in a background thread on 127.0.0.1 (any free port), ``ue onboard`` (which re-registers),
``ue register`` once more, then the store record is read back and the core stopped. Everything
stays in the work folder so the user can continue by hand; nothing here prints: each step is
reported through ``on_step`` and the UE's own steps through ``on_ue_step``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dynsub_cli import config
from dynsub_cli.core import assembly, service, setup
from dynsub_cli.core.procedure import LogRecord
from dynsub_cli.errors import ProtocolError
from dynsub_cli.pki import authority, mint
from dynsub_cli.store import Subscription
from dynsub_cli.ue import client
from dynsub_cli.ue.client import OnStep, TimedStep

PKI_DIR, DEVICES_DIR, CORE_DIR = "pki", "devices", "core"
STATE_FILE = "ue-state.toml"  # in the device folder, where `dynsub ue onboard` puts it too
LOOPBACK = "127.0.0.1"
# Long enough for a loaded machine; only a core that never comes up waits this long.
_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Step:
    name: str  # "pki", "mint", "core", "serve", "onboard", "register", "store", "stop"
    detail: str
    seconds: float  # how long this step took


@dataclass(frozen=True)
class Result:
    workdir: Path
    pki_dir: Path
    pki_created: bool  # False: the PKI already in the work folder was reused
    device_dir: Path
    imei: str
    fingerprint: str  # SHA-256 of the device certificate
    core_config: Path
    core_created: bool  # False: the core already in the work folder was reused
    store_file: Path
    served_on: tuple[str, int]
    state_file: Path
    supi: str
    record: Subscription  # read back from the store, secrets not read
    ue_steps: tuple[TimedStep, ...]
    core_log: tuple[LogRecord, ...]
    steps: tuple[Step, ...]
    seconds: float


def run(
    workdir: Path,
    *,
    on_step: Callable[[Step], None] = lambda step: None,
    on_ue_step: OnStep = lambda step: None,
) -> Result:
    """Run the whole flow in ``workdir`` (created if missing; what is there is reused)."""
    started = time.monotonic()
    workdir = workdir.absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    steps: list[Step] = []
    clock = [time.monotonic()]

    def done(name: str, detail: str) -> None:
        now = time.monotonic()
        step = Step(name, detail, now - clock[0])
        clock[0] = now
        steps.append(step)
        on_step(step)

    pki_dir = workdir / PKI_DIR
    pki_created = not (pki_dir / authority.CONFIG_NAME).exists()
    if pki_created:
        pki = authority.init(pki_dir, authority.InitOptions())
        done("pki", f"PKI created in {pki_dir} (root, manufacturer CA, operator CA, core)")
    else:
        pki = authority.load(pki_dir)
        done("pki", f"PKI reused from {pki_dir}")

    minted = mint.mint(pki, mint.MintRequest(out=workdir / DEVICES_DIR, count=1, workers=1))
    (device,) = minted.devices
    device_dir = minted.out / device.imei
    done("mint", f"device {device.imei} minted in {device_dir}")

    core_dir = workdir / CORE_DIR
    core_created = not (core_dir / config.FILE_NAME).exists()
    if core_created:
        setup.init(core_dir, pki_dir)  # core.toml: the default 127.0.0.1:38412
    core_config = core_dir / config.FILE_NAME
    cfg = config.load(core_config)
    done("core", f"core {'created' if core_created else 'reused'}: {core_config}")

    log: list[LogRecord] = []
    state_file = device_dir / STATE_FILE
    ue_steps: list[TimedStep] = []

    def ue_step(step: TimedStep) -> None:
        ue_steps.append(step)
        on_ue_step(step)

    with service.background(cfg, listen=(LOOPBACK, 0), log=log.append) as address:
        done("serve", f"core serving on {address[0]}:{address[1]} in the background")
        onboarded = client.onboard(device_dir, address, state_file, on_step=ue_step)
        if onboarded.supi is None:
            raise ProtocolError("the onboarding ended without a subscription")
        done("onboard", f"onboarded and registered as {onboarded.supi}; state in {state_file}")
        again = client.register(state_file, address, on_step=ue_step)
        done("register", f"registered again as {again.supi} with the saved state")
        with assembly.open_store(cfg) as store:
            record = store.get(onboarded.supi)
        done("store", f"record {record.supi} read from {cfg.store.path} (SQN {record.sqn})")
    done("stop", "core stopped")

    return Result(
        workdir=workdir,
        pki_dir=pki_dir,
        pki_created=pki_created,
        device_dir=device_dir,
        imei=device.imei,
        fingerprint=device.fingerprint,
        core_config=core_config,
        core_created=core_created,
        store_file=cfg.store.path,
        served_on=address,
        state_file=state_file,
        supi=onboarded.supi,
        record=record,
        ue_steps=tuple(ue_steps),
        core_log=tuple(log),
        steps=tuple(steps),
        seconds=time.monotonic() - started,
    )
