"""Everything the command line shows: rich tables and progress for people, JSON for scripts.

Only this module imports rich, and only to draw for people: JSON, plain rows and diagnostics
on a stream that is not a terminal are written without it, so that a script running
``dynsub`` does not pay for importing rich. JSON goes to stdout; diagnostics and progress go
to stderr, so ``dynsub ... --json | jq`` always reads clean JSON.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, Protocol

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

    #: rich's consoles on stdout and stderr, made on first use (:func:`__getattr__`).
    out: Console
    err: Console

_Stream = Literal["out", "err"]


def __getattr__(name: str) -> Console:
    # `render.out` and `render.err` are made when first asked for, not on import.
    if name not in ("out", "err"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rich.console import Console

    console = Console(stderr=name == "err", highlight=False, soft_wrap=True)
    globals()[name] = console
    return console


def _console(name: _Stream) -> Console:
    """``out`` or ``err``, made now if need be (or as a test replaced it)."""
    console: Console = getattr(sys.modules[__name__], name)
    return console


def _is_terminal(name: _Stream) -> bool:
    """Whether ``out`` or ``err`` writes to a terminal, by rich's rules (TTY_COMPATIBLE, then
    FORCE_COLOR, then isatty), asking rich only once its console is made."""
    console = globals().get(name)
    if console is not None:
        return bool(console.is_terminal)
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    force_color = os.environ.get("FORCE_COLOR")
    if force_color is not None:
        return force_color != ""
    stream = sys.stdout if name == "out" else sys.stderr
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


def _diagnostic(label: str, style: str, message: str) -> None:
    """``dynsub: <label>: <message>`` on stderr, the label coloured on a terminal."""
    if not _is_terminal("err"):
        sys.stderr.write(f"dynsub: {label}: {message}\n")
        sys.stderr.flush()
        return
    from rich.markup import escape

    _console("err").print(f"[{style}]dynsub: {label}:[/] {escape(message)}", highlight=False)


def error(message: str) -> None:
    """An error line on stderr: ``dynsub: error: <message>``."""
    _diagnostic("error", "bold red", message)


def hint(message: str) -> None:
    """What to try next, on the line after an error: ``dynsub: hint: <message>``."""
    _diagnostic("hint", "cyan", message)


def warn(message: str) -> None:
    _diagnostic("warning", "yellow", message)


def info(message: str) -> None:
    """A diagnostic line for people, on stderr."""
    if not _is_terminal("err"):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        return
    _console("err").print(message, markup=False, highlight=False)


def line(text: str) -> None:
    """One plain line on stdout (what a command reports, not a diagnostic)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def data(text: str) -> None:
    """Exported data on stdout, exactly as given."""
    sys.stdout.write(text)
    sys.stdout.flush()


def traceback_of(error: BaseException) -> None:
    """The traceback of an error on stderr (for -v)."""
    import traceback

    traceback.print_exception(error, file=sys.stderr)


def emit_json(value: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


#: ctx.meta key of what a failing command adds to its JSON error object.
_FAILURE_DETAILS = "dynsub.failure_details"


def failure_details(**fields: Any) -> None:
    """Fields a failing ``--json`` command puts beside ``error`` in its one JSON object (the
    steps done so far, the result of a check), for the root's catch site to print."""
    click.get_current_context().meta.setdefault(_FAILURE_DETAILS, {}).update(fields)


def json_error(
    ctx: click.Context,
    *,
    code: str,
    exit_status: int,
    message: str,
    hint: str | None,
    step: str | None = None,
) -> None:
    """The one JSON object of a failed ``--json`` command, on stdout: the command's details,
    then ``error`` with the same fields whatever failed."""
    document = dict(ctx.meta.get(_FAILURE_DETAILS, {}))
    document["error"] = {
        "code": code,
        "exit_status": exit_status,
        "message": message,
        "hint": hint,
        "step": step,
    }
    emit_json(document)


#: Columns whose values are identifiers: a table never breaks them across lines, and shortens
#: the other columns first when the terminal is narrow.
IDENTIFIERS = frozenset({"SUPI", "IMEI", "certificate", "fingerprint", "peer"})
# Narrowest an other column gets before the table gives way to plain rows.
_NARROWEST = 6


def key_values(title: str, rows: Sequence[tuple[str, Any]]) -> None:
    """A two-column table of fields and values on stdout; when stdout is not a terminal,
    ``# title`` then one ``field<TAB>value`` line per field."""
    if not _is_terminal("out"):
        line(f"# {title}")
        for key, value in rows:
            line(f"{key}\t{_plain(value)}")
        return
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in rows:
        table.add_row(key, _cell(value))
    _console("out").print(table)


def table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    whole: frozenset[str] = IDENTIFIERS,
) -> None:
    """A table with a header row on stdout.

    Columns named in ``whole`` are never broken across lines. On a terminal too narrow for
    them and the other columns at a few characters each, and whenever stdout is not a
    terminal, the table is plain rows instead: ``# title``, the header, then one record per
    line, the fields separated by tabs (``grep``, ``cut -f``, ``grep -v '^#'``).
    """
    plain = [[_plain(value) for value in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in plain]) for i, name in enumerate(columns)]
    kept = [name in whole for name in columns]
    # Each column adds one border and two characters of padding; the table one border more.
    narrowest = sum(w if k else min(w, _NARROWEST) for w, k in zip(widths, kept, strict=True))
    if not _is_terminal("out") or narrowest + 3 * len(columns) + 1 > _console("out").width:
        line(f"# {title}")
        for fields in [list(columns), *plain]:
            line("\t".join(fields))
        return
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for name, width, keep in zip(columns, widths, kept, strict=True):
        if keep:
            t.add_column(name, no_wrap=True, min_width=width)
        else:
            t.add_column(name, overflow="fold")
    for row in rows:
        t.add_row(*(_cell(value) for value in row))
    _console("out").print(t)


def _plain(value: Any) -> str:
    """A value on one line, for plain rows."""
    if value is None:
        return "-"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value).replace("\t", " ").replace("\n", " ")


def _cell(value: Any) -> str:
    """Data never read as rich markup: an audit reason like "[test]" stays as it is."""
    from rich.markup import escape

    if value is None:
        return "-"
    if isinstance(value, Mapping):
        return escape(", ".join(f"{k}={v}" for k, v in value.items()))
    if isinstance(value, list | tuple):
        return escape("\n".join(str(v) for v in value))
    return escape(str(value))


class Advance(Protocol):
    def __call__(self, count: int = 1) -> None: ...

    def stage(self, description: str) -> None:
        """Say what the job does now (before its first step, say)."""


@contextmanager
def progress(description: str, total: int, *, enabled: bool) -> Iterator[Advance]:
    """A progress bar on stderr when ``enabled`` and stderr is a terminal; otherwise silent.

    Yields a callable that advances the bar by ``count`` steps.
    """
    if not enabled or not _is_terminal("err"):
        yield _Quiet()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=_console("err"),
        transient=False,
    )
    with bar:
        yield _Bar(bar, bar.add_task(description, total=total), description)


class _Quiet:
    def __call__(self, count: int = 1) -> None:
        return None

    def stage(self, description: str) -> None:
        return None


class _Bar:
    def __init__(self, bar: Progress, task: TaskID, description: str) -> None:
        self._bar, self._task, self._description = bar, task, description

    def __call__(self, count: int = 1) -> None:
        self._bar.update(self._task, advance=count, description=self._description)

    def stage(self, description: str) -> None:
        self._bar.update(self._task, description=description)


# --- the core's log ----------------------------------------------------------------------


class _Record(Protocol):
    @property
    def peer(self) -> str: ...
    @property
    def step(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def imei(self) -> str | None: ...
    @property
    def supi(self) -> str | None: ...
    @property
    def cause(self) -> int | None: ...
    @property
    def procedure(self) -> str | None: ...
    @property
    def refusal(self) -> str | None: ...
    @property
    def seconds(self) -> float | None: ...


def _now() -> str:
    """UTC to the hundredth of a second; the formatted second is reused while it lasts (a busy
    core writes hundreds of lines a second, and strftime was a visible part of each)."""
    global _formatted_second
    now = time.time()
    second = int(now)
    formatted = _formatted_second  # one read: another thread may replace it meanwhile
    if formatted[0] != second:
        formatted = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        _formatted_second = formatted
    return f"{formatted[1]}.{int((now - second) * 100):02d}Z"


_formatted_second: tuple[int, str] = (-1, "")


def _log(document: dict[str, Any], text: str, as_json: bool) -> None:
    line = json.dumps(document) if as_json else text
    with _log_lock:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


_log_lock = threading.Lock()


def log_line(record: _Record, *, as_json: bool) -> None:
    """One line per procedure step, from any thread."""
    now = _now()
    if as_json:
        _log_json(record, now)
        return
    who = " ".join(
        f"{k}={v}" for k, v in (("imei", record.imei), ("supi", record.supi)) if v is not None
    )
    title = None
    if record.cause is not None:
        from dynsub_cli.nas.enums import cause_title  # the core has imported NAS already

        title = cause_title(record.cause)
    cause = f" cause=#{record.cause}" if record.cause is not None else ""
    if title is not None:  # TS 24.501 table 9.11.3.2.1, as people read it
        cause += f' "{title}"'
    text = f"{now} {record.peer} {record.step}: {record.outcome}: {record.message}{cause} {who}"
    _log({}, text.rstrip(), False)


def _log_json(record: _Record, now: str) -> None:
    document = {
        "time": now,
        "peer": record.peer,
        "step": record.step,
        "outcome": record.outcome,
        "message": record.message,
        "imei": record.imei,
        "supi": record.supi,
        "cause": record.cause,
        # What the metrics count by (docs/operations.md), for log pipelines too.
        "procedure": record.procedure,
        "refusal": record.refusal,
        "seconds": record.seconds,
    }
    _log(document, "", True)


def listening(host: str, port: int, *, as_json: bool) -> None:
    _log(
        {"time": _now(), "event": "listening", "host": host, "port": port},
        f"{_now()} dynsub core: listening on {host}:{port}",
        as_json,
    )


def stopped(*, as_json: bool) -> None:
    _log({"time": _now(), "event": "stopped"}, f"{_now()} dynsub core: stopped", as_json)


class _Step(Protocol):
    @property
    def procedure(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def seconds(self) -> float: ...


def ue_step(step: _Step) -> None:
    """A UE step as it completes, with its time since the procedure started."""
    took = f"({step.seconds * 1000:.1f} ms)"
    if not _is_terminal("err"):
        sys.stderr.write(f"✓ {step.procedure} {step.name}: {step.detail} {took}\n")
        sys.stderr.flush()
        return
    from rich.markup import escape

    _console("err").print(
        f"[green]✓[/] {escape(step.procedure)} [bold]{escape(step.name)}[/]: "
        f"{escape(step.detail)} [dim]{took}[/]",
        highlight=False,
    )
