"""`dynsub core`: set up a core folder, and serve onboarding and registration over TCP."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path

import click

from dynsub_cli import config
from dynsub_cli.aaa import freeradius
from dynsub_cli.cli import render
from dynsub_cli.config import ListenConfig
from dynsub_cli.core import operations, service, setup
from dynsub_cli.core.procedure import LogRecord
from dynsub_cli.errors import BadInput
from dynsub_cli.pcap import PcapWriter
from dynsub_cli.ue.client import parse_address

FILE = click.Path(path_type=Path, dir_okay=False, exists=True)


def _listen(value: str | None) -> tuple[str, int] | None:
    return parse_address(value, any_port=True) if value else None


@click.group()
def core() -> None:
    """Run a local onboarding core: AMF, AUSF (EAP-TLS server), UDM/UDR and provisioning."""


@core.command("init")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--pki",
    "pki_folder",
    required=True,
    type=click.Path(path_type=Path, exists=True),
    help="The PKI folder made by `dynsub pki init`.",
)
@click.option(
    "--listen", metavar="HOST:PORT", help="Address to serve on [default: 127.0.0.1:38412]."
)
@click.option("--force", is_flag=True, help="Rewrite core.toml of an existing core (secrets kept).")
@click.option(
    "--manufacturer-ca",
    "manufacturer_cas",
    type=FILE,
    multiple=True,
    help="Accept the devices of this manufacturer CA instead of the PKI's own. Repeatable.",
)
@click.option(
    "--device-root",
    "device_roots",
    type=FILE,
    multiple=True,
    help="Root the manufacturer CAs chain to, when it is not the PKI's root. Repeatable.",
)
@click.option(
    "--crl",
    "crls",
    type=FILE,
    multiple=True,
    help="A manufacturer CA's CRL (PEM or DER); a running core reads it again when it "
    "changes. Repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def init_command(
    folder: Path,
    pki_folder: Path,
    listen: str | None,
    force: bool,
    manufacturer_cas: tuple[Path, ...],
    device_roots: tuple[Path, ...],
    crls: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Create a core folder: core.toml with commented defaults, and its secrets (0600).

    The defaults let a device minted from the same PKI onboard with no extra options. For
    devices of another manufacturer, give its CA with --manufacturer-ca, its CRL with --crl
    and, when it is under another root, that root with --device-root.
    """
    if (device_roots or crls) and not manufacturer_cas:
        raise BadInput(
            "--device-root and --crl go with --manufacturer-ca: name the manufacturer CA(s) "
            "whose devices this core accepts"
        )
    devices = setup.Devices(device_roots, manufacturer_cas, crls) if manufacturer_cas else None
    address = _listen(listen)
    made = setup.init(
        folder,
        pki_folder,
        listen=ListenConfig(*address) if address else None,
        force=force,
        devices=devices,
    )
    result = {
        "config": str(made.config_file),
        "listen": f"{made.listen.host}:{made.listen.port}",
        "mcc": made.mcc,
        "mnc": made.mnc,
        "manufacturer_cas_without_crl": list(made.unrevocable),
    }
    if as_json:
        render.emit_json(result)
        return
    for ca in made.unrevocable:
        render.warn(
            f"no CRL for manufacturer CA {ca}: its revoked devices would onboard; add --crl FILE"
        )
    render.info(f"core folder {made.folder} ready: {made.config_file}")
    render.info(f"serve it with: dynsub core serve --config {made.config_file}")


@core.command("reload")
@click.option(
    "--config",
    "config_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="core.toml of the running core.",
)
def reload_command(config_file: Path) -> None:
    """Make the running core read core.toml and its files again (SIGHUP).

    New connections get the new configuration; the core logs whether it took it.
    """
    pid = operations.send_reload(config_file)
    render.info(f"sent SIGHUP to the core (pid {pid}); its log says whether it reloaded")


@core.command("serve")
@click.option(
    "--config",
    "config_file",
    required=True,
    # A folder is let through so that the error can name the core.toml inside it.
    type=click.Path(path_type=Path),
    help="core.toml of the core to serve.",
)
@click.option("--listen", metavar="HOST:PORT", help="Override [listen] of core.toml (port 0: any).")
@click.option("--log-json", is_flag=True, help="Log one JSON object per line instead of text.")
@click.option(
    "--pcap",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write every connection's bytes to this pcap (as sent and received, TCP on the "
    "port served; ciphertext only, 0600), flushed as it goes.",
)
@click.option(
    "--ready-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write this file (JSON: host, port, pid, metrics) once the core listens; removed "
    "when it stops.",
)
def serve_command(
    config_file: Path,
    listen: str | None,
    log_json: bool,
    pcap: Path | None,
    ready_file: Path | None,
) -> None:
    """Serve onboarding and registration until SIGINT or SIGTERM.

    Logs one line per procedure step on stderr; the first line says where it listens.
    Stopping waits briefly for running procedures; a record is committed whole or not at all.
    SIGHUP (`dynsub core reload`) reads core.toml and its files again for new connections;
    the pid is in core.pid next to core.toml (docs/operations.md).
    """
    cfg = config.load(config_file)
    address = _listen(listen)

    def log(record: LogRecord) -> None:
        render.log_line(record, as_json=log_json)

    def ready(host: str, port: int) -> None:
        render.listening(host, port, as_json=log_json)

    async def main() -> None:
        stop = asyncio.Event()
        reload = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        loop.add_signal_handler(signal.SIGHUP, reload.set)
        tap = trace.connection if trace is not None else None
        await service.serve(
            cfg, stop, listen=address, log=log, ready=ready, tap=tap,
            config_file=config_file, reload=reload, ready_file=ready_file,
        )  # fmt: skip

    trace = PcapWriter(pcap, atomic=False) if pcap is not None else None
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
    finally:
        if trace is not None:
            trace.close()
    render.stopped(as_json=log_json)


@core.command("radius-config")
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--config",
    "config_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="core.toml of the core FreeRADIUS authenticates for.",
)
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Where FreeRADIUS listens [default: [authentication] address, else 127.0.0.1:1812].",
)
@click.option(
    "--reject-delay",
    type=click.IntRange(0, 10),
    default=1,
    show_default=True,
    help="Seconds FreeRADIUS waits before an Access-Reject (0 for tests).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def radius_config_command(
    folder: Path, config_file: Path, listen: str | None, reject_delay: int, as_json: bool
) -> None:
    """Write a FreeRADIUS 3.2 folder that authenticates this core's devices (EAP-TLS).

    Run it with `freeradius -f -d FOLDER` (-X to watch), and point the core at it with
    [authentication] server = "radius" in core.toml.
    """
    cfg = config.load(config_file)
    address = parse_address(listen) if listen else None
    made = freeradius.configure(folder, cfg, listen=address, reject_delay=reject_delay)
    result = {
        "folder": str(made.folder),
        "listen": f"{made.host}:{made.port}",
        "secret_file": str(made.secret_file),
        "run": f"freeradius -f -d {made.folder}",
        "crl_note": freeradius.crl_note(made.crls),
    }
    if as_json:
        render.emit_json(result)
        return
    render.info(f"FreeRADIUS folder {made.folder} written; run: freeradius -f -d {made.folder}")
    if cfg.authentication.secret_file is None:
        render.info(
            'point the core at it in core.toml:\n[authentication]\nserver = "radius"\n'
            f'address = "{made.host}:{made.port}"\nsecret_file = "{made.secret_file}"'
        )
    render.info(freeradius.crl_note(made.crls))
