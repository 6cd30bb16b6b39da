"""Tables: plain rows for scripts, identifiers never broken, other columns shortened first."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from dynsub_cli.cli import render

SUPI, IMEI = "imsi-001010000000001", "001001000000007"
REASON = "a reason long enough to be worth shortening"
COLUMNS = ["SUPI", "IMEI", "state", "reason", "created"]
ROWS: list[list[str | None]] = [
    [SUPI, IMEI, "active", REASON, "2026-11-28T17:48:46Z"],
    ["imsi-001010000000002", "001001000000015", "suspended", None, "2026-11-28T17:48:47Z"],
]


def _terminal(monkeypatch: pytest.MonkeyPatch, width: int) -> io.StringIO:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=width, color_system=None)
    monkeypatch.setattr(render, "out", console)
    return screen


def test_not_a_terminal_gives_one_record_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    render.table("2 subscription(s)", COLUMNS, ROWS)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "# 2 subscription(s)"
    assert lines[1] == "\t".join(COLUMNS)
    assert lines[2].split("\t") == [SUPI, IMEI, "active", REASON, ROWS[0][4]]
    assert lines[3].split("\t")[3] == "-"
    assert len(lines) == 4


@pytest.mark.parametrize("width", [200, 100, 90])
def test_identifiers_stay_whole_in_a_narrow_terminal(
    monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    screen = _terminal(monkeypatch, width)
    render.table("2 subscription(s)", COLUMNS, ROWS)
    shown = screen.getvalue()
    assert max(len(row) for row in shown.splitlines()) <= width
    for identifier in (SUPI, IMEI, "imsi-001010000000002", "001001000000015"):
        assert identifier in shown, shown
    if width < 120:  # the reason column is what gave way
        assert REASON not in shown


def test_a_terminal_too_narrow_for_the_identifiers_gets_plain_rows(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    screen = _terminal(monkeypatch, 50)
    render.table("2 subscription(s)", COLUMNS, ROWS)
    assert screen.getvalue() == ""  # nothing drawn as a broken table
    assert f"{SUPI}\t{IMEI}\tactive" in capsys.readouterr().out


def test_key_values_for_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    render.key_values(SUPI, [("IMEI", IMEI), ("billing", {"account": "acme"})])
    assert capsys.readouterr().out == f"# {SUPI}\nIMEI\t{IMEI}\nbilling\taccount=acme\n"
