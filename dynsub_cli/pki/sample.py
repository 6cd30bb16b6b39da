"""A small PKI with a few devices, built and checked end to end: what ``dynsub demo`` shows.

:func:`build` runs the same steps as ``dynsub pki init`` then ``dynsub pki mint``, then verifies
every minted device the way the core will (its certificate, the chain it ships, the root it
trusts) and the core certificate the way a UE will.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dynsub_cli.pki import authority, mint, pem
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.manifest import Manifest
from dynsub_cli.pki.verify import DeviceIdentity, verify_core, verify_device


@dataclass(frozen=True)
class Device:
    folder: Path
    identity: DeviceIdentity


@dataclass(frozen=True)
class Sample:
    workdir: Path
    pki: Pki
    created: bool  # False when an existing PKI in the work folder was reused
    devices: tuple[Device, ...]
    manifest: Manifest


def check_device(folder: Path) -> DeviceIdentity:
    """Verify a minted device folder as the core would see it in EAP-TLS."""
    leaf = pem.read_certificate(folder / mint.DEVICE_CERT, "device certificate")
    chain = pem.read_certificates(folder / mint.CHAIN, "device chain")
    anchors = pem.read_certificates(folder / mint.TRUST, "trust anchors")
    return verify_device([leaf, *chain], anchors)


def check_core(pki: Pki) -> None:
    """Verify the core certificate as a UE would, against the name it expects."""
    core = pem.read_certificate(pki.core_cert, "core certificate")
    chain = pem.read_certificates(pki.core_chain, "core chain")
    verify_core([core, *chain], [pki.load_root()], dns_name=pki.core_dns_name)


def build(workdir: Path, *, count: int = 3, workers: int | None = None) -> Sample:
    """Create (or reuse) ``workdir/pki``, mint ``count`` devices into ``workdir/devices``."""
    workdir = workdir.absolute()
    pki_dir = workdir / "pki"
    created = not (pki_dir / authority.CONFIG_NAME).exists()
    pki = authority.init(pki_dir, authority.InitOptions()) if created else authority.load(pki_dir)
    check_core(pki)
    result = mint.mint(pki, mint.MintRequest(out=workdir / "devices", count=count, workers=workers))
    devices = tuple(
        Device(result.out / issued.imei, check_device(result.out / issued.imei))
        for issued in result.devices
    )
    return Sample(workdir, pki, created, devices, result.manifest)
