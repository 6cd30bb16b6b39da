"""`dynsub ue`: act as a UE, onboarding with its factory certificate or registering later."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dynsub_cli.cli import render
from dynsub_cli.errors import CheckFailed, DynsubError, ExitCode, Interrupted
from dynsub_cli.ue import DEFAULT_TIMEOUT, MAX_CONCURRENCY, MAX_COUNT, MAX_DURATION

# The UE (TLS, NAS, EAP) is imported by each command when it runs, not for `dynsub ue --help`.
if TYPE_CHECKING:
    from dynsub_cli.ue.client import OnStep, Report

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
def _showing_steps(as_json: bool) -> Iterator[OnStep]:
    """Each step live on stderr (not with --json); on failure, the steps done so far go with
    the error to the catch site, which prints them with --json beside the error object."""
    from dynsub_cli.ue.client import Report, TimedStep

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
    default=DEFAULT_TIMEOUT,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds to wait for each answer of the core.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON result.")
pcap_option = click.option(
    "--pcap",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the session to this pcap (the exact bytes, TCP on the port used) and its "
    "plaintext beside it (x.pcap: x.plain.pcap), every ciphered NAS message deciphered, for "
    "Wireshark with -o nas-5gs.null_decipher:TRUE and contrib/wireshark/dynsub.lua. SENSITIVE "
    "like the TLS key log: the plaintext holds the subscription (OPc); both files 0600.",
)


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
    help="Append the EAP-TLS secrets to this file (NSS key log, 0600) for Wireshark. Keep it "
    "as secret as K: with a capture of the run it yields KAUSF, the NAS keys, OPc and K.",
)
@pcap_option
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
    pcap: Path | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Onboard: get a subscription generated, save it, then register with 5G AKA.

    Shows each step as it completes. The state file is written only after the core has
    committed the subscription record; the registration that follows proves the UE is
    ready for service.
    """
    from dynsub_cli.ue import client, trace
    from dynsub_cli.ue.onboarding import Choices

    choices = Choices(service_type, plan, _billing(billing, account))
    target = state_file or device / STATE_FILE
    with _showing_steps(as_json) as on_step, trace.opened(pcap) as traced:
        report = client.onboard(
            device,
            client.parse_address(core),
            target,
            choices=choices,
            timeout=timeout,
            on_step=on_step,
            tls_keylog=tls_keylog,
            trace=traced,
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
@pcap_option
@timeout_option
@json_option
def register_command(
    state_file: Path, core: str, pcap: Path | None, timeout: float, as_json: bool
) -> None:
    """Register with the generated subscription: SUCI concealed, 5G AKA, security mode.

    An SQN out of the UE's range is resynchronised (AUTS) on the way; the new SQN is saved.
    """
    from dynsub_cli.ue import client, trace

    with _showing_steps(as_json) as on_step, trace.opened(pcap) as traced:
        report = client.register(
            state_file, client.parse_address(core), timeout=timeout, on_step=on_step, trace=traced
        )
    if as_json:
        render.emit_json(_result(report, "ready"))
    else:
        render.info(f"registered as {report.supi}: ready for service ({report.seconds:.3f} s)")


@ue.command("load")
@click.option(
    "--devices",
    "devices_folder",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The --out folder of `dynsub pki mint`: one folder per device.",
)
@core_option
@click.option("--count", type=click.IntRange(1, MAX_COUNT), help="Number of arrivals.")
@click.option(
    "--duration",
    type=click.FloatRange(0, MAX_DURATION, min_open=True),
    help="Seconds during which arrivals are due (instead of --count).",
)
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(1, MAX_CONCURRENCY),
    help="UEs at once.",
)
@click.option(
    "--rate",
    type=click.FloatRange(0, min_open=True),
    help="Arrivals per second, open loop: a slow core shows as latency, not as a lower "
    "offered rate [default: closed loop, each UE slot starts again at once].",
)
@click.option(
    "--register",
    is_flag=True,
    help="Register each device: with its state file if it has one, else onboard first.",
)
@click.option("--service-type", help="Service type to ask for [default: the core's default].")
@click.option("--plan", help="Billing plan to ask for [default: the core's default].")
@click.option("--account", help="Billing account, for plans that need one.")
@click.option("--billing", multiple=True, metavar="FIELD=VALUE", help="Other billing information.")
@click.option(
    "--max-failure-rate",
    type=click.FloatRange(0, 1),
    help="Check: fail (exit 15) if more than this fraction of arrivals failed.",
)
@click.option(
    "--max-p99",
    type=click.FloatRange(0, min_open=True),
    metavar="MS",
    help="Check: fail (exit 15) if the p99 latency (due time to end) exceeds MS milliseconds.",
)
@click.option(
    "--min-rate",
    type=click.FloatRange(0),
    help="Check: fail (exit 15) if fewer successful attempts per second were achieved.",
)
@pcap_option
@timeout_option
@json_option
def load_command(
    devices_folder: Path,
    core: str,
    count: int | None,
    duration: float | None,
    concurrency: int,
    rate: float | None,
    register: bool,
    service_type: str | None,
    plan: str | None,
    account: str | None,
    billing: tuple[str, ...],
    max_failure_rate: float | None,
    max_p99: float | None,
    min_rate: float | None,
    pcap: Path | None,
    timeout: float,
    as_json: bool,
) -> None:
    """Onboard (and with --register, register) many devices at once against a core.

    Arrival i uses device i of the folder (in IMEI order, again from the first when there
    are fewer devices than arrivals). Each device's state is saved to DEVICE/ue-state.toml as
    `ue onboard` saves it, so a later `ue load --register` registers the same fleet.

    At the end: offered and achieved rates, p50/p95/p99/max latency per step (of successful
    attempts; "total" counts from an arrival's due time, so it includes the wait for a free
    UE slot), and outcomes by exit class and 5GMM cause; --json prints it as one object. Live
    progress shows on a terminal. Ctrl-C starts no new arrival, lets the running ones finish,
    prints the summary and exits 130; a second Ctrl-C stops at once, without a summary.

    Exit status: 0 when every check passed (and, without checks, whatever the outcomes: the
    summary says them); 15 (CHECK_FAILED) when one of --max-failure-rate, --max-p99 or
    --min-rate failed.
    """
    if (count is None) == (duration is None):
        raise click.UsageError("give --count N or --duration SECONDS (one of them)")
    from dynsub_cli.cli import render_load
    from dynsub_cli.ue import client, load, trace
    from dynsub_cli.ue.onboarding import Choices

    devices = load.devices_in(devices_folder)
    run_plan = load.Plan(
        devices=devices,
        core=client.parse_address(core),
        state_name=STATE_FILE,
        concurrency=concurrency,
        count=count,
        duration=duration,
        rate=rate,
        register=register,
        choices=Choices(service_type, plan, _billing(billing, account)),
        timeout=timeout,
    )
    limits = load.Limits(
        max_failure_rate=max_failure_rate,
        max_p99=max_p99 / 1000 if max_p99 is not None else None,
        min_rate=min_rate,
    )
    with (
        trace.opened(pcap) as traced,
        render_load.progress(count, enabled=not as_json) as on_attempt,
    ):
        summary = load.run(run_plan, on_attempt=on_attempt, trace=traced)
    checks = load.checks(summary, limits)
    doc = render_load.document(summary, checks)
    failed = [c.name for c in checks if not c.passed]
    if as_json and (summary.interrupted or failed):
        render.failure_details(**doc)  # the catch site prints it, with the error beside it
    elif as_json:
        render.emit_json(doc)
    else:
        render_load.tables(doc)
    if summary.interrupted:
        raise Interrupted(
            f"interrupted after {summary.arrivals} arrivals; the summary counts what ran"
        )
    if failed:
        raise CheckFailed(
            f"check failed: {', '.join(failed)} ({summary.failed} of {summary.arrivals} "
            f"arrivals failed); exit {int(ExitCode.CHECK_FAILED)}"
        )
