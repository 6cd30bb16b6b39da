"""`dynsub store`: list, show, export, stats, events, suspend, resume, delete.

Each command imports the store and the core's configuration when it runs, so that `dynsub
store --help` does not pay for them (issue 11: start-up); the states and formats its options
offer come from the light :mod:`dynsub_cli.store.constants`.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dynsub_cli.cli import render
from dynsub_cli.errors import BadInput, Declined, NotFound
from dynsub_cli.store.constants import Format, State

if TYPE_CHECKING:
    from dynsub_cli.store import Event, Subscription, copying
    from dynsub_cli.store.backend import SubscriptionStore

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
def _opened(config_path: Path, *, reading: bool = False) -> Iterator[SubscriptionStore]:
    """The store of the core; ``reading``: for a command that only reads (no whole-file check:
    a damaged page it meets is refused then)."""
    from dynsub_cli import config
    from dynsub_cli.store.backends import open_store

    cfg = config.load(config_path)
    if cfg.store.url is None and not cfg.store.path.exists():
        # A core that has not served yet: its store is empty, not missing (nothing is created).
        render.info(f"{cfg.store.path}: no store yet (the core creates it when it first serves)")
    with open_store(cfg.store, create=False, missing_ok=True, reading=reading) as store:
        yield store


@click.group()
def store() -> None:
    """Inspect and manage the subscription store of a core.

    Every command reads the store named by --config DIR/core.toml ([store] path, a SQLite
    file, or [store] url, a PostgreSQL database). K and OPc are sealed in the store and are
    shown only with --reveal-secrets. Every change is recorded in the audit trail (dynsub
    store events). dynsub store copy moves a store to another backend.
    """


#: Rows of a `store list` table on a terminal when --limit is not given.
PAGE_ROWS = 50
_LIST_COLUMNS = ["SUPI", "IMEI", "state", "service type", "plan", "account", "created"]


@store.command("list")
@_config_option
@click.option("--state", type=_STATES, help="Only subscriptions in this state.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help=f"At most N subscriptions: a page (on a terminal the table shows {PAGE_ROWS} "
    "unless given; piped, redirected or with --json every one unless given).",
)
@click.option(
    "--after",
    metavar="SUPI",
    default="",
    help="Start after this SUPI: the last SUPI of the previous page (the list is in SUPI "
    "order, so pages never overlap or skip a record).",
)
@_json_option
def list_(
    config_path: Path, state: str | None, limit: int | None, after: str, as_json: bool
) -> None:
    """List the subscriptions, in SUPI order, as they are read (a store of any size).

    On a terminal the table shows one page (--limit, default 50) and, when more follow, the
    --after SUPI that shows the next one on stderr. Piped or redirected, it writes plain rows,
    every subscription unless --limit is given; --json writes a JSON array of them.
    """
    from dynsub_cli.store import jsontext
    from dynsub_cli.store.export import record

    wanted = State(state) if state else None
    with _opened(config_path, reading=True) as subs:
        if as_json:
            found = subs.iterate(wanted, after=after, limit=limit)
            with render.data_stream() as stream:
                jsontext.write_array((record(s, certificate=False) for s in found), stream)
        elif render.to_terminal():
            _list_page(subs, wanted, after, limit or PAGE_ROWS)
        elif limit is None:
            # The count and the rows are two reads: a record committed in between is listed
            # but not counted (the title says how many there were when the listing began).
            title = f"{subs.count(wanted)} subscription(s)" if not after else f"after {after}"
            render.plain_rows(
                title, _LIST_COLUMNS, map(_list_row, subs.iterate(wanted, after=after))
            )
        else:
            page = builtins.list(subs.iterate(wanted, after=after, limit=limit))
            render.plain_rows(f"{len(page)} subscription(s)", _LIST_COLUMNS, map(_list_row, page))


def _list_page(subs: SubscriptionStore, state: State | None, after: str, limit: int) -> None:
    """One page as a table; one record more is read to know whether another page follows."""
    page = builtins.list(subs.iterate(state, after=after, limit=limit + 1))
    more = len(page) > limit
    del page[limit:]
    total = subs.count(state)
    title = f"{total} subscription(s)"
    if more or after:
        title = f"{len(page)} of {title}" + (f", after {after}" if after else "")
    render.table(title, _LIST_COLUMNS, [_list_row(s) for s in page])
    if more:
        render.info(f"next page: --after {page[-1].supi}")


def _list_row(s: Subscription) -> list[Any]:
    return [s.supi, s.imei, s.state.value, s.service_type, s.plan, s.account, s.created]


def _lookup(subs: SubscriptionStore, target: str, reveal: bool) -> Subscription:
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
    from dynsub_cli.config.units import format_bitrate

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
    from dynsub_cli.store.export import record

    with _opened(config_path, reading=True) as subs:
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
    from dynsub_cli.files import PUBLIC_MODE, SECRET_MODE, writing_atomic
    from dynsub_cli.store.export import write

    if Format(fmt) is Format.OPEN5GS and not reveal_secrets:
        raise click.UsageError(
            "--format open5gs needs --reveal-secrets (Open5GS cannot authenticate a "
            "subscriber without K and OPc); keep the file private"
        )
    wanted = State(state) if state else None
    with _opened(config_path, reading=True) as subs:
        found = subs.iterate(wanted, reveal_secrets=reveal_secrets)
        if out is None:
            with render.data_stream() as stream:
                write(found, Format(fmt), stream, reveal_secrets=reveal_secrets)
            return
        # Written as it is read, into a temporary file put in place whole at the end: a
        # failure half-way leaves no half export behind.
        with writing_atomic(out, mode=SECRET_MODE if reveal_secrets else PUBLIC_MODE) as binary:
            text = io.TextIOWrapper(binary, encoding="utf-8", newline="\n")
            count = write(found, Format(fmt), text, reveal_secrets=reveal_secrets)
            text.flush()
            text.detach()
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


_EVENT_COLUMNS = ["time", "kind", "outcome", "IMEI", "SUPI", "reason", "peer"]


@store.command()
@_config_option
@click.option("--imei", help="Only this device.")
@click.option("--supi", help="Only this subscription.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Newest N."
)
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Every event instead of the newest --limit, written as it is read (plain rows, "
    "even on a terminal, or a JSON array with --json).",
)
@_json_option
def events(
    config_path: Path,
    imei: str | None,
    supi: str | None,
    limit: int,
    every: bool,
    as_json: bool,
) -> None:
    """The audit trail, newest first: onboarding attempts, outcomes and reasons."""
    from dynsub_cli.store import jsontext
    from dynsub_cli.store.export import event_record

    with _opened(config_path, reading=True) as subs:
        found = subs.iterate_events(imei=imei, supi=supi, limit=None if every else limit)
        if as_json:
            with render.data_stream() as stream:
                jsontext.write_array(map(event_record, found), stream)
        elif every:
            render.plain_rows("every event, newest first", _EVENT_COLUMNS, map(_event_row, found))
        else:
            shown = [_event_row(e) for e in found]
            render.table(f"{len(shown)} event(s)", _EVENT_COLUMNS, shown)


def _event_row(e: Event) -> list[Any]:
    return [e.time, e.kind, e.outcome, e.imei, e.supi, e.reason, e.peer]


def _change_state(config_path: Path, supi: str, state: State, reason: str, as_json: bool) -> None:
    from dynsub_cli.store.export import record

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
    from dynsub_cli.store.export import record

    with _opened(config_path) as subs:
        subs.get(supi)  # NotFound before asking anything
        if not yes:
            try:
                click.confirm(f"delete {supi}? K and OPc are lost", abort=True, err=True)
            except click.Abort as err:
                raise Declined(
                    f"{supi}: not deleted; nothing was changed", hint="--yes deletes without asking"
                ) from err
        removed = subs.delete(supi, reason=reason)
    if as_json:
        render.emit_json(record(removed, certificate=False))
    else:
        render.info(f"{removed.supi}: deleted")


_LOCATION_HELP = (
    "a core.toml (its [store] and key), a postgresql:// URL or a SQLite store file "
    "(password from libpq's PGPASSWORD/PGPASSFILE)"
)


@store.command("copy")
@click.option(
    "--from", "source", required=True, metavar="SRC", help=f"Copy from: {_LOCATION_HELP}."
)
@click.option("--to", "target", required=True, metavar="DST", help=f"Copy into: {_LOCATION_HELP}.")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The store key of a URL or file side (default: the key of the core.toml side).",
)
@_json_option
def copy_(source: str, target: str, key_file: Path | None, as_json: bool) -> None:
    """Copy every subscription, SUPI allocation and audit event from SRC into DST.

    SRC and DST are each a core.toml (the store its [store] names, with its key and password
    file), a postgresql:// URL, or a SQLite store file. A URL or file side is sealed with
    --key-file, or else with the key of the other side's core.toml; a URL's password comes
    from libpq (PGPASSWORD, ~/.pgpass, PGPASSFILE). DST must be empty: a new SQLite file, or
    a database without a store (it is created). K and OPc are opened with SRC's key and
    sealed again under DST's; event ids and SUPI allocations are kept, so no SUPI is handed
    out twice. Then both stores are compared: the counts, every record, allocation and event,
    and every K and OPc, which must unseal in DST; a difference is an error (exit 8).
    Stop the cores using SRC first, so that nothing changes while it is copied.

    \b
    Examples:
      dynsub store copy --from core/core.toml --to core/core-pg.toml
      dynsub store copy --from core/core.toml --to postgresql://dynsub@db:5432/dynsub
      dynsub store copy --from postgresql://dynsub@db/dynsub --to back.sqlite \\
          --key-file core/secrets/store.key
    """
    from dynsub_cli.store import copying

    report = copying.copy(*_sides(source, target, key_file))
    if as_json:
        render.emit_json(dataclasses.asdict(report))
        return
    render.info(
        f"copied {report.subscriptions} subscription(s), {report.allocations} SUPI "
        f"allocation(s), {report.events} event(s) to {report.target}; every K and OPc unsealed"
    )


def _sides(source: str, target: str, key_file: Path | None) -> tuple[copying.Side, copying.Side]:
    """Each side is a core.toml (its store, key and password) or a bare URL or file, which
    takes --key-file or else the key of the other side's core.toml."""
    from dynsub_cli import config
    from dynsub_cli.store import copying
    from dynsub_cli.store.backends import read_password
    from dynsub_cli.store.sealing import load_key

    cores = {text: config.load(Path(text)) for text in (source, target) if _is_core(text)}
    fallback = load_key(key_file) if key_file is not None else None
    if fallback is None and cores:
        fallback = load_key(next(iter(cores.values())).store.key_file)

    def side(text: str) -> copying.Side:
        cfg = cores.get(text)
        if cfg is not None:
            password = cfg.store.password_file
            return copying.Side(
                cfg.store.location,
                load_key(cfg.store.key_file),
                read_password(password) if password is not None else None,
            )
        if fallback is None:
            raise click.UsageError(
                f"{text}: a store URL or file needs its key: add --key-file, or give the other "
                "side as a core.toml"
            )
        return copying.Side(text, fallback)

    return side(source), side(target)


def _is_core(text: str) -> bool:
    from dynsub_cli.store.backends import is_url

    return not is_url(text) and text.endswith(".toml")
