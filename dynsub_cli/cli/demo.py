"""`dynsub demo`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import click

from dynsub_cli.cli import render
from dynsub_cli.pki import sample

DEVICES = 3
LATER = (
    "The onboarding part of the demo (a core serving the onboarding procedure, a UE onboarding "
    "with one of these devices, re-registration, the subscription store) comes in a later "
    "version; today the demo builds and checks the factory PKI."
)


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Work folder (kept afterwards); default: a new temporary folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def demo(workdir: Path | None, as_json: bool) -> None:
    """Run the whole flow at once in a work folder.

    Today: create a PKI in WORKDIR/pki (or reuse the one there), mint three devices into
    WORKDIR/devices, and verify each of them and the core certificate as the core and the UE
    will. The onboarding part follows in a later version.
    """
    folder = workdir or Path(tempfile.mkdtemp(prefix="dynsub-demo-"))
    built = sample.build(folder, count=DEVICES)
    pki = built.pki
    report: dict[str, Any] = {
        "workdir": str(built.workdir),
        "pki": {
            "folder": str(pki.root),
            "created": built.created,
            "root_cert": str(pki.root_cert),
            "manufacturer_cert": str(pki.manufacturer_cert),
            "core_cert": str(pki.core_cert),
            "core_dns_name": pki.core_dns_name,
        },
        "devices": [
            {
                "imei": d.identity.imei,
                "folder": str(d.folder),
                "fingerprint": d.identity.fingerprint,
                "verified": True,
            }
            for d in built.devices
        ],
        "manifest_csv": str(built.manifest.csv),
        "core_verified": True,
        "onboarding": "not yet: " + LATER,
    }
    if as_json:
        render.emit_json(report)
        return
    action = "created" if built.created else "reused"
    click.echo(f"1. PKI {action} in {pki.root} (root, manufacturer CA, operator CA, core)")
    click.echo(f"2. core certificate verified for {pki.core_dns_name}")
    click.echo(f"3. minted and verified {len(built.devices)} devices:")
    render.table(
        "devices",
        ["IMEI", "folder", "SHA-256"],
        [(d.identity.imei, d.folder, d.identity.fingerprint[:16] + "...") for d in built.devices],
    )
    click.echo(f"   manifest: {built.manifest.csv}")
    click.echo(f"   try: dynsub pki show {built.devices[0].folder / 'device.pem'}")
    click.echo(LATER)
