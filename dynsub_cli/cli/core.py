"""`dynsub core`: set up a core folder, and serve onboarding and registration over TCP.

Each command imports the core's modules when it runs, so that `dynsub core --help` (and
every other command of the tool) does not pay for them (issue 11: start-up).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dynsub_cli.cli import render
from dynsub_cli.errors import BadInput

if TYPE_CHECKING:
    from dynsub_cli import config
    from dynsub_cli.core import prefork
    from dynsub_cli.core.procedure import LogRecord

FILE = click.Path(path_type=Path, dir_okay=False, exists=True)


def _listen(value: str | None, *, any_port: bool = True) -> tuple[str, int] | None:
    from dynsub_cli.ue.client import parse_address

    return parse_address(value, any_port=any_port) if value else None


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
    from dynsub_cli.config import ListenConfig
    from dynsub_cli.core import setup

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
    from dynsub_cli.core import operations

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
@click.option(
    "--processes",
    type=click.IntRange(1, 256),
    help="Serving processes sharing the port [default: one per CPU; 1 with --pcap, "
    "[metrics] or [radius_server], which one process serves].",
)
def serve_command(
    config_file: Path,
    listen: str | None,
    log_json: bool,
    pcap: Path | None,
    ready_file: Path | None,
    processes: int | None,
) -> None:
    """Serve onboarding and registration until SIGINT or SIGTERM.

    Logs one line per procedure step on stderr; the first line says where it listens.
    Stopping waits briefly for running procedures; a record is committed whole or not at all.
    SIGHUP (`dynsub core reload`) reads core.toml and its files again for new connections;
    the pid is in core.pid next to core.toml (docs/operations.md). With several serving
    processes, each applies its share of [limits] and the pid is the supervisor's.
    """
    import asyncio
    import signal

    from dynsub_cli import config
    from dynsub_cli.core import prefork, service
    from dynsub_cli.pcap import PcapWriter

    cfg = config.load(config_file)
    address = _listen(listen)

    def log(record: LogRecord) -> None:
        render.log_line(record, as_json=log_json)

    def announce(host: str, port: int) -> None:
        render.listening(host, port, as_json=log_json)

    count = _processes(cfg, processes, pcap)
    worker: prefork.Worker | None = None
    if count > 1:
        outcome = _supervise(cfg, count, address, config_file, ready_file, log, announce)
        if isinstance(outcome, prefork.Ended):
            render.stopped(as_json=log_json)
            if outcome.status:
                raise SystemExit(outcome.status)
            return
        worker = outcome
        ready_file = None  # the supervisor's

    def ready(host: str, port: int) -> None:
        if worker is None:
            announce(host, port)
        else:
            worker.listening()  # the supervisor says where the core listens once all do

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
            config_file=config_file, reload=reload, ready_file=ready_file, worker=worker,
        )  # fmt: skip

    trace = PcapWriter(pcap, atomic=False) if pcap is not None else None
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(main())
    finally:
        if trace is not None:
            trace.close()
    if worker is None:
        render.stopped(as_json=log_json)


def _processes(cfg: config.CoreConfig, asked: int | None, pcap: Path | None) -> int:
    """How many serving processes: as asked, else one per CPU, unless something of the
    configuration lives in one process only (one pcap file, one metrics port, one RADIUS
    port)."""
    single = [
        reason
        for reason, present in (
            ("--pcap", pcap is not None),
            ("[metrics]", cfg.metrics.listen is not None),
            ("[radius_server]", cfg.radius_server is not None),
        )
        if present
    ]
    if asked is None:
        return 1 if single else max(1, len(os.sched_getaffinity(0)))
    if asked > 1 and single:
        raise click.UsageError(
            f"--processes {asked}: {' and '.join(single)} need a single serving process; "
            "use --processes 1"
        )
    return asked


def _supervise(
    cfg: config.CoreConfig,
    count: int,
    address: tuple[str, int] | None,
    config_file: Path,
    ready_file: Path | None,
    log: Callable[[LogRecord], None],
    ready: Callable[[str, int], None],
) -> prefork.Worker | prefork.Ended:
    """Bind, fork ``count`` serving processes and, in this process, watch them until they
    stop; returns the :class:`prefork.Worker` in each serving process."""
    from dynsub_cli.core import operations, prefork, server
    from dynsub_cli.core.procedure import LogRecord

    host, port = address or (cfg.listen.host, cfg.listen.port)
    listener = server.bind(host, port)
    bound_host, bound_port = listener.getsockname()[:2]
    ops = operations.Operations(cfg, log, config_file=config_file, ready_file=ready_file)

    def listening() -> None:
        log(LogRecord("-", "processes", "ok", f"{count} serving processes share the port"))
        ops.listening(bound_host, bound_port)  # the files first: the line says they are there
        ready(bound_host, bound_port)

    outcome = prefork.start(
        count,
        listener,
        on_listening=listening,
        log=lambda text: log(LogRecord("-", "processes", "failed", text)),
    )
    if isinstance(outcome, prefork.Ended):
        listener.close()
        ops.stop()
    return outcome


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
    from dynsub_cli import config
    from dynsub_cli.aaa import freeradius

    cfg = config.load(config_file)
    address = _listen(listen, any_port=False)
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
