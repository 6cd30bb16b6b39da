"""`dynsub store`: list, show, export, stats, events, suspend, resume, delete."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from dynsub_cli import config
from dynsub_cli.cli import render
from dynsub_cli.config.units import format_bitrate
from dynsub_cli.errors import BadInput, Interrupted, NotFound
from dynsub_cli.files import PUBLIC_MODE, SECRET_MODE, write_atomic
from dynsub_cli.store import State, Subscription, Subscriptions, load_key
from dynsub_cli.store.export import Format, record, write

_config_option = click.option(
    "--config",
    "config_path",
    required=True,
    # A folder is let through so that the error can name the core.toml inside it.
    type=click.Path(path_type=Path),
    help="The core's configuration, DIR/core.toml (names the store and its key).",
)
_json_option = click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
_reveal_option = click.option(
    "--reveal-secrets", is_flag=True, help="Show K and OPc in clear (hidden otherwise)."
)
_reason_option = click.option("--reason", default="", help="Recorded in the audit trail.")
_STATES = click.Choice([s.value for s in State])


@contextlib.contextmanager
def _opened(config_path: Path) -> Iterator[Subscriptions]:
    cfg = config.load(config_path)
    key = load_key(cfg.store.key_file)
    with Subscriptions.open(cfg.store.path, key, create=False) as store:
        yield store


@click.group()
def store() -> None:
    """Inspect and manage the subscription store of a core.

    Every command reads the store named by --config DIR/core.toml. K and OPc are sealed in
    the store and are shown only with --reveal-secrets. Every change is recorded in the
    audit trail (dynsub store events).
    """


@store.command("list")
@_config_option
@click.option("--state", type=_STATES, help="Only subscriptions in this state.")
@_json_option
def list_(config_path: Path, state: str | None, as_json: bool) -> None:
    """List the subscriptions, in SUPI order."""
    with _opened(config_path) as subs:
        found = subs.list(State(state) if state else None)
    if as_json:
        render.emit_json([record(s, certificate=False) for s in found])
        return
    render.table(
        f"{len(found)} subscription(s)",
        ["SUPI", "IMEI", "state", "service type", "plan", "account", "created"],
        [
            [s.supi, s.imei, s.state.value, s.service_type, s.plan, s.account, s.created]
            for s in found
        ],
    )


def _lookup(subs: Subscriptions, target: str, reveal: bool) -> Subscription:
    if target.startswith("imsi-"):
        return subs.get(target, reveal_secrets=reveal)
    if len(target) == 15 and target.isdigit():
        found = subs.find_by_imei(target, reveal_secrets=reveal)
    elif len(target) == 64 and all(c in "0123456789abcdefABCDEF" for c in target):
        found = subs.find_by_fingerprint(target, reveal_secrets=reveal)
    else:
        raise BadInput(
            f'"{target}": not a SUPI (imsi-...), an IMEI (15 digits) or a certificate '
            "fingerprint (64 hex digits)"
        )
    if found is None:
        raise NotFound(f"{target}: no live subscription for this device")
    return found


def _rows(sub: Subscription, reveal: bool) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("SUPI", sub.supi),
        ("IMEI", sub.imei),
        ("state", sub.state.value),
        ("service type", sub.service_type),
        ("plan", sub.plan),
        ("account", sub.account),
        ("billing", dict(sub.billing) or None),
        ("S-NSSAI", f"sst {sub.sst}" + (f", sd {sub.sd}" if sub.sd else "")),
        ("DNN", sub.dnn),
        ("AMBR", f"up {format_bitrate(sub.ambr_ul)}, down {format_bitrate(sub.ambr_dl)}"),
        ("AMF", sub.amf.hex()),
        ("SQN", sub.sqn),
        ("certificate", sub.fingerprint),
        ("issuer", sub.issuer),
        ("created", sub.created),
        ("updated", sub.updated),
    ]
    if sub.replaced_by:
        rows.append(("replaced by", sub.replaced_by))
    if reveal and sub.secrets is not None:
        rows += [("K", sub.secrets.k.hex()), ("OPc", sub.secrets.opc.hex())]
    else:
        rows.append(("K, OPc", "sealed (--reveal-secrets shows them)"))
    return rows


@store.command()
@_config_option
@click.argument("target")
@_reveal_option
@_json_option
def show(config_path: Path, target: str, reveal_secrets: bool, as_json: bool) -> None:
    """Show one subscription: TARGET is a SUPI, an IMEI or a certificate fingerprint."""
    with _opened(config_path) as subs:
        sub = _lookup(subs, target, reveal_secrets)
    if as_json:
        render.emit_json(record(sub, reveal_secrets=reveal_secrets))
    else:
        render.key_values(sub.supi, _rows(sub, reveal_secrets))


@store.command()
@_config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in Format]),
    default=Format.JSON.value,
    show_default=True,
    help="json (an array), ndjson (one per line), csv, or open5gs (documents for "
    "mongoimport --jsonArray into the open5gs subscribers collection; needs --reveal-secrets).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here (atomically; 0600 with secrets) instead of stdout.",
)
@click.option("--state", type=_STATES, help="Only subscriptions in this state.")
@_reveal_option
def export(
    config_path: Path, fmt: str, out: Path | None, state: str | None, reveal_secrets: bool
) -> None:
    """Export the subscriptions, e.g. to move them to a production core."""
    text = io.StringIO()
    with _opened(config_path) as subs:
        found = subs.list(State(state) if state else None, reveal_secrets=reveal_secrets)
        count = write(found, Format(fmt), text, reveal_secrets=reveal_secrets)
    if out is None:
        render.data(text.getvalue())
        return
    mode = SECRET_MODE if reveal_secrets else PUBLIC_MODE
    write_atomic(out, text.getvalue().encode("utf-8"), mode=mode)
    render.info(f"{out}: {count} subscription(s) in {fmt} format")


@store.command()
@_config_option
@_json_option
def stats(config_path: Path, as_json: bool) -> None:
    """Counts by state, service type and plan; audit events by kind and outcome."""
    with _opened(config_path) as subs:
        numbers = subs.stats()
    if as_json:
        render.emit_json(dataclasses.asdict(numbers))
        return
    render.key_values(
        "subscriptions",
        [
            ("total", numbers.total),
            ("SUPIs ever allocated", numbers.allocated_supis),
            ("by state", dict(numbers.by_state) or None),
            ("by service type", dict(numbers.by_service_type) or None),
            ("by plan", dict(numbers.by_plan) or None),
        ],
    )
    render.table(
        "audit events",
        ["kind", "outcome", "count"],
        [
            [kind, outcome, count]
            for kind, outcomes in numbers.events_by_kind.items()
            for outcome, count in outcomes.items()
        ],
    )


@store.command()
@_config_option
@click.option("--imei", help="Only this device.")
@click.option("--supi", help="Only this subscription.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Newest N."
)
@_json_option
def events(
    config_path: Path, imei: str | None, supi: str | None, limit: int, as_json: bool
) -> None:
    """The audit trail, newest first: onboarding attempts, outcomes and reasons."""
    with _opened(config_path) as subs:
        found = subs.events(imei=imei, supi=supi, limit=limit)
    if as_json:
        render.emit_json([dataclasses.asdict(e) for e in found])
        return
    render.table(
        f"{len(found)} event(s)",
        ["time", "kind", "outcome", "IMEI", "SUPI", "reason", "peer"],
        [[e.time, e.kind, e.outcome, e.imei, e.supi, e.reason, e.peer] for e in found],
    )


def _change_state(config_path: Path, supi: str, state: State, reason: str, as_json: bool) -> None:
    with _opened(config_path) as subs:
        sub = subs.set_state(supi, state, reason=reason)
    if as_json:
        render.emit_json(record(sub, certificate=False))
    else:
        render.info(f"{sub.supi}: {sub.state.value}")


@store.command()
@_config_option
@click.argument("supi")
@_reason_option
@_json_option
def suspend(config_path: Path, supi: str, reason: str, as_json: bool) -> None:
    """Suspend SUPI: its registrations are rejected until it is resumed."""
    _change_state(config_path, supi, State.SUSPENDED, reason, as_json)


@store.command()
@_config_option
@click.argument("supi")
@_reason_option
@_json_option
def resume(config_path: Path, supi: str, reason: str, as_json: bool) -> None:
    """Resume a suspended SUPI."""
    _change_state(config_path, supi, State.ACTIVE, reason, as_json)


@store.command()
@_config_option
@click.argument("supi")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_reason_option
@_json_option
def delete(config_path: Path, supi: str, yes: bool, reason: str, as_json: bool) -> None:
    """Delete SUPI's subscription. The SUPI is never reallocated; the audit trail stays.

    The device can onboard again afterwards and gets a new SUPI.
    """
    with _opened(config_path) as subs:
        subs.get(supi)  # NotFound before asking anything
        if not yes:
            try:
                click.confirm(f"delete {supi}? K and OPc are lost", abort=True, err=True)
            except click.Abort as err:
                raise Interrupted(f"{supi}: not deleted; nothing was changed") from err
        removed = subs.delete(supi, reason=reason)
    if as_json:
        render.emit_json(record(removed, certificate=False))
    else:
        render.info(f"{removed.supi}: deleted")
