"""`dynsub ue`: act as a UE, onboarding with its factory certificate or registering later."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from dynsub_cli.cli import render
from dynsub_cli.errors import DynsubError
from dynsub_cli.ue import client
from dynsub_cli.ue.client import Report, TimedStep
from dynsub_cli.ue.onboarding import Choices

STATE_FILE = "ue-state.toml"


@click.group()
def ue() -> None:
    """Act as a UE: onboard with the factory certificate, or register with the subscription."""


def _result(report: Report, outcome: str) -> dict[str, Any]:
    return {
        "outcome": outcome,
        "supi": report.supi,
        "state_file": str(report.state_file) if report.state_file else None,
        "seconds": round(report.seconds, 4),
        "steps": [
            {
                "procedure": s.procedure,
                "step": s.name,
                "detail": s.detail,
                "seconds": round(s.seconds, 4),
            }
            for s in report.steps
        ],
    }


@contextmanager
def _showing_steps(as_json: bool) -> Iterator[client.OnStep]:
    """Each step live on stderr (not with --json); on failure, the steps done so far go with
    the error to the catch site, which prints them with --json beside the error object."""
    steps: list[TimedStep] = []

    def on_step(step: TimedStep) -> None:
        steps.append(step)
        if not as_json:
            render.ue_step(step)

    try:
        yield on_step
    except DynsubError:
        render.failure_details(**_result(Report(steps=steps), "failed"))
        raise


def _billing(values: tuple[str, ...], account: str | None) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{value!r}: expected FIELD=VALUE", param_hint="--billing")
        pairs.append((name, text))
    if account is not None:
        pairs.append(("account", account))
    return tuple(pairs)


core_option = click.option(
    "--core", "core", required=True, metavar="HOST:PORT", help="Address of `dynsub core serve`."
)
timeout_option = click.option(
    "--timeout",
    default=client.DEFAULT_TIMEOUT,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds to wait for each answer of the core.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON result.")


@ue.command("onboard")
@click.option(
    "--device",
    "device",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The device folder minted by `dynsub pki mint`.",
)
@core_option
@click.option("--service-type", help="Service type to ask for [default: the core's default].")
@click.option("--plan", help="Billing plan to ask for [default: the core's default].")
@click.option("--account", help="Billing account, for plans that need one.")
@click.option(
    "--billing",
    multiple=True,
    metavar="FIELD=VALUE",
    help="Other billing information (repeatable).",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help=f"Where to save the UE state (0600) [default: DEVICE/{STATE_FILE}].",
)
@click.option(
    "--tls-keylog",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Append the EAP-TLS secrets to this file (NSS key log, 0600) for Wireshark.",
)
@timeout_option
@json_option
def onboard_command(
    device: Path,
    core: str,
    service_type: str | None,
    plan: str | None,
    account: str | None,
    billing: tuple[str, ...],
    state_file: Path | None,
    tls_keylog: Path | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Onboard: get a subscription generated, save it, then register with 5G AKA.

    Shows each step as it completes. The state file is written only after the core has
    committed the subscription record; the registration that follows proves the UE is
    ready for service.
    """
    choices = Choices(service_type, plan, _billing(billing, account))
    target = state_file or device / STATE_FILE
    with _showing_steps(as_json) as on_step:
        report = client.onboard(
            device,
            client.parse_address(core),
            target,
            choices=choices,
            timeout=timeout,
            on_step=on_step,
            tls_keylog=tls_keylog,
        )
    if as_json:
        render.emit_json(_result(report, "ready"))
    else:
        render.info(f"ready for service as {report.supi} ({report.seconds:.3f} s); state: {target}")


@ue.command("register")
@click.option(
    "--state",
    "state_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The UE state file written by `dynsub ue onboard`.",
)
@core_option
@timeout_option
@json_option
def register_command(state_file: Path, core: str, timeout: float, as_json: bool) -> None:
    """Register with the generated subscription: SUCI concealed, 5G AKA, security mode.

    An SQN out of the UE's range is resynchronised (AUTS) on the way; the new SQN is saved.
    """
    with _showing_steps(as_json) as on_step:
        report = client.register(
            state_file, client.parse_address(core), timeout=timeout, on_step=on_step
        )
    if as_json:
        render.emit_json(_result(report, "ready"))
    else:
        render.info(f"registered as {report.supi}: ready for service ({report.seconds:.3f} s)")
