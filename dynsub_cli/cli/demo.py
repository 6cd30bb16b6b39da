"""`dynsub demo`: the whole flow at once (dynsub_cli.demo), shown as it goes."""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dynsub_cli.cli import render

if TYPE_CHECKING:
    from dynsub_cli import demo as flow
    from dynsub_cli.ue.client import TimedStep

# Where the commands to continue by hand serve the core: the default port of `core init`.
HAND_ADDRESS = "127.0.0.1:38412"  # what `dynsub core init` writes into core.toml


def _continue(result: flow.Result) -> list[str]:
    """The commands that pick up where the demo stopped, with this run's paths."""
    q = shlex.quote
    cfg, supi = q(str(result.core_config)), result.supi
    devices = result.device_dir.parent
    return [
        f"dynsub core serve --config {cfg} &",
        f"dynsub ue register --state {q(str(result.state_file))} --core {HAND_ADDRESS}",
        f"dynsub store list --config {cfg}",
        f"dynsub store show {supi} --config {cfg}",
        f"dynsub store events --config {cfg}",
        f"dynsub pki mint --pki {q(str(result.pki_dir))} --out {q(str(devices))}",
        f"dynsub ue onboard --device {q(str(devices))}/<IMEI> --core {HAND_ADDRESS}",
    ]


def _ue_step(step: TimedStep) -> dict[str, Any]:
    return {
        "procedure": step.procedure,
        "step": step.name,
        "detail": step.detail,
        "seconds": round(step.seconds, 4),
    }


def _report(result: flow.Result) -> dict[str, Any]:
    from dynsub_cli.store.export import record as store_record

    return {
        "outcome": "ready",
        "workdir": str(result.workdir),
        "seconds": round(result.seconds, 3),
        "pki": {"folder": str(result.pki_dir), "created": result.pki_created},
        "device": {
            "imei": result.imei,
            "folder": str(result.device_dir),
            "fingerprint": result.fingerprint,
        },
        "core": {
            "config": str(result.core_config),
            "store": str(result.store_file),
            "created": result.core_created,
            "served_on": f"{result.served_on[0]}:{result.served_on[1]}",
            "log": [
                {"peer": r.peer, "step": r.step, "outcome": r.outcome, "message": r.message}
                for r in result.core_log
            ],
        },
        "ue": {
            "supi": result.supi,
            "state_file": str(result.state_file),
            "steps": [_ue_step(s) for s in result.ue_steps],
        },
        "record": store_record(result.record, certificate=False),
        "steps": [
            {"step": s.name, "detail": s.detail, "seconds": round(s.seconds, 4)}
            for s in result.steps
        ],
        "continue": _continue(result),
    }


def _show(result: flow.Result) -> None:
    from dynsub_cli.config.units import format_bitrate

    sub = result.record
    render.key_values(
        f"store record {sub.supi} (K and OPc sealed: dynsub store show --reveal-secrets)",
        [
            ("SUPI", sub.supi),
            ("IMEI", sub.imei),
            ("state", sub.state.value),
            ("service type", sub.service_type),
            ("plan", sub.plan),
            ("S-NSSAI", f"sst {sub.sst}" + (f", sd {sub.sd}" if sub.sd else "")),
            ("DNN", sub.dnn),
            ("AMBR", f"up {format_bitrate(sub.ambr_ul)}, down {format_bitrate(sub.ambr_dl)}"),
            ("SQN", sub.sqn),
            ("certificate", sub.fingerprint),
            ("created", sub.created),
            ("updated", sub.updated),
        ],
    )
    render.table(
        f"steps ({result.seconds:.2f} s in all)",
        ["step", "what", "ms"],
        [(s.name, s.detail, f"{s.seconds * 1000:.0f}") for s in result.steps],
    )
    render.key_values(
        "where everything lives",
        [
            ("work folder", result.workdir),
            ("PKI", result.pki_dir),
            ("device", result.device_dir),
            ("UE state (0600)", result.state_file),
            ("core config", result.core_config),
            ("store", result.store_file),
        ],
    )
    render.line("continue by hand:")
    for command in _continue(result):
        render.line(f"  {command}")


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Work folder (kept afterwards; a PKI or core already there is reused); "
    "default: a new temporary folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def demo(workdir: Path | None, as_json: bool) -> None:
    """Run the whole flow at once: PKI, device, core, onboarding, registration.

    In WORKDIR: create a PKI (pki/), mint one device (devices/IMEI/), create a core (core/),
    serve it in the background on 127.0.0.1, onboard the device as a UE (EAP-TLS with its
    factory certificate, subscription generated, 5G AKA registration), register it once more,
    and stop the core. Then print the store record, the steps with their times, where
    everything lives, and the commands to continue by hand. Progress goes to stderr; with
    --json, stdout gets one JSON object and nothing else is shown.
    """
    # The whole flow is imported when it runs, not for `dynsub demo --help` (issue 11).
    from dynsub_cli import demo as flow

    folder = workdir or Path(tempfile.mkdtemp(prefix="dynsub-demo-"))
    if not as_json:
        render.info(f"dynsub demo in {folder.absolute()}")

    def on_step(step: flow.Step) -> None:
        if not as_json:
            render.info(f"• {step.name}: {step.detail} ({step.seconds * 1000:.0f} ms)")

    def on_ue_step(step: TimedStep) -> None:
        if not as_json:
            render.ue_step(step)

    result = flow.run(folder, on_step=on_step, on_ue_step=on_ue_step)
    if as_json:
        render.emit_json(_report(result))
    else:
        _show(result)
