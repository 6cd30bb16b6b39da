"""The committed man pages are exactly what the click definitions generate."""

from __future__ import annotations

from pathlib import Path

from dynsub_cli.cli import main
from dynsub_cli.cli.manpages import render_all
from dynsub_cli.errors import ExitCode

MAN = Path(__file__).resolve().parents[2] / "man"


def test_man_pages_match_the_code() -> None:
    pages = render_all(main)
    stale = [
        name
        for name, text in pages.items()
        if not (MAN / name).is_file() or (MAN / name).read_text(encoding="utf-8") != text
    ]
    extra = sorted(p.name for p in MAN.glob("*.1") if p.name not in pages)
    hint = "run: python -m dynsub_cli.cli.manpages man/"
    assert not stale, f"man pages out of date: {stale}; {hint}"
    assert not extra, f"man pages no longer generated: {extra}; {hint}"


def test_every_exit_code_is_documented() -> None:
    page = (MAN / "dynsub.1").read_text(encoding="utf-8")
    for code in ExitCode:
        assert f"\\fB{int(code)}\\fR ({code.name})" in page


def test_every_command_has_a_page_section() -> None:
    pages = render_all(main)
    for name in main.list_commands(None):  # type: ignore[arg-type]
        assert f"dynsub-{name}.1" in pages
