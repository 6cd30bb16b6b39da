"""Test helpers for the onboarding flow: a PKI, a core folder, and both ends wired in memory."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dynsub_cli import config
from dynsub_cli.config import CoreConfig
from dynsub_cli.core import assembly, setup
from dynsub_cli.core.network import Network
from dynsub_cli.core.procedure import LogRecord
from dynsub_cli.core.session import CoreSession
from dynsub_cli.pki import authority, mint
from dynsub_cli.pki.authority import InitOptions
from dynsub_cli.store import Event
from dynsub_cli.store.backend import SubscriptionStore
from dynsub_cli.ue.procedure import Output, Procedure
from dynsub_cli.ue.state import UeState


@dataclass(frozen=True)
class Lab:
    """A PKI with minted devices and a core folder made from it."""

    pki: Path
    devices: tuple[Path, ...]
    core: Path

    @property
    def config_file(self) -> Path:
        return self.core / config.FILE_NAME

    def config(self) -> CoreConfig:
        return config.load(self.config_file)


def make_pki(folder: Path, count: int, *, manufacturer: str = "ACME Devices") -> tuple[Path, ...]:
    authority.init(folder, InitOptions(manufacturer=manufacturer))
    result = mint.mint(
        authority.load(folder), mint.MintRequest(out=folder / "devices", count=count, workers=1)
    )
    return tuple(result.out / device.imei for device in result.devices)


def make_lab(folder: Path, *, devices: int = 3) -> Lab:
    pki = folder / "pki"
    minted = make_pki(pki, devices)
    setup.init(folder / "core", pki)
    return Lab(pki, minted, folder / "core")


@dataclass
class Core:
    """An in-memory core: the network of a lab, its store, and what it logged."""

    network: Network
    store: SubscriptionStore
    log: list[LogRecord]

    def session(self, peer: str = "test") -> CoreSession:
        return CoreSession(self.network, peer, log=self.log.append)


def open_core(lab: Lab) -> Core:
    cfg = lab.config()
    store = assembly.open_store(cfg)
    return Core(assembly.network(cfg, store), store, [])


@dataclass
class Exchange:
    """Everything that crossed the in-memory wire, in order: (direction, PDU)."""

    pdus: list[tuple[str, bytes]]
    closed_by_core: bool


def converse(
    procedure: Procedure[UeState],
    first: Output,
    core: CoreSession,
    *,
    uplink: Callable[[bytes], bytes] = lambda pdu: pdu,
) -> Exchange:
    """Run UE and core against each other until the UE is done or the core closes.

    ``uplink`` may rewrite what the UE sends (to forge, replay or corrupt a message). The UE's
    errors propagate; a core that closes the connection ends the exchange.
    """
    return asyncio.run(_converse(procedure, first, core, uplink))


async def _converse(
    procedure: Procedure[UeState],
    first: Output,
    core: CoreSession,
    uplink: Callable[[bytes], bytes],
) -> Exchange:
    try:
        return await _exchange(procedure, first, core, uplink)
    finally:
        # The audit events the core writes in the background, before the loop goes.
        await core.network.audit.drain()


async def _exchange(
    procedure: Procedure[UeState],
    first: Output,
    core: CoreSession,
    uplink: Callable[[bytes], bytes],
) -> Exchange:
    wire: list[tuple[str, bytes]] = []
    pending = [uplink(pdu) for pdu in first.pdus]
    while pending:
        pdu = pending.pop(0)
        wire.append(("ul", pdu))
        answer = await core.receive(pdu)
        for down in answer.pdus:
            wire.append(("dl", down))
            out = procedure.receive(down)
            pending += [uplink(p) for p in out.pdus]
            if out.done:
                wire += [("ul", p) for p in pending]
                for p in pending:
                    await core.receive(p)
                return Exchange(wire, False)
        if answer.close:
            return Exchange(wire, True)
    return Exchange(wire, False)


def events_about(
    store: SubscriptionStore, *, imei: str | None = None, supi: str | None = None
) -> list[Event]:
    """The audit trail of a device or subscription, newest first, claims of it included."""
    return store.events(imei=imei, supi=supi, limit=10_000)
