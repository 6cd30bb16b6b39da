"""The committed man pages are exactly what the click definitions generate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dynsub_cli.cli import main
from dynsub_cli.cli.manpages import EXAMPLES, render_all
from dynsub_cli.errors import ExitCode
from tests.cli.commandlines import dynsub_invocations, parse_error

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


SECTIONS = ("NAME", "SYNOPSIS", "DESCRIPTION", "EXAMPLES", "FILES", "EXIT STATUS", "SEE ALSO")


def test_every_page_has_the_sections_a_reader_looks_for() -> None:
    for name, text in render_all(main).items():
        headings = [line[4:].strip('"') for line in text.splitlines() if line.startswith(".SH ")]
        missing = [s for s in SECTIONS if s not in headings]
        assert not missing, f"{name}: no {missing}"
        for file in ("core.toml", "ledger.sqlite", "ue\\-state.toml", "subscriptions.sqlite"):
            assert file in text, f"{name}: FILES lacks {file}"


def test_every_example_parses_against_the_cli() -> None:
    for page, examples in EXAMPLES.items():
        for _, commands in examples:
            for command in commands.splitlines():
                for words in dynsub_invocations(command):
                    problem = parse_error(words)
                    assert problem is None, f"{page}: {command!r}: {problem}"


def test_the_kdf_list_is_a_table() -> None:
    page = render_all(main)["dynsub-crypto.1"]
    assert page.startswith("'\\\" t\n")  # man(1) runs tbl
    table = page[page.index(".TS\n") : page.index(".TE\n")]
    assert "kausf\\-eap\\-tls\t\\-\\-key EMSK\tT{\n(B / 6.1.3.1)\nT}" in table


@pytest.mark.parametrize("name", sorted(render_all(main)))
def test_man_renders_each_page_without_warnings(name: str) -> None:
    result = subprocess.run(
        ["man", "--warnings", "-l", str(MAN / name)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MANPAGER": "cat", "MANWIDTH": "80"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    assert "EXIT STATUS" in result.stdout


def test_the_pages_are_installed_with_the_package() -> None:
    """`man dynsub` works in the activated venv: the pages sit in <venv>/share/man/man1,
    where man-db looks beside <venv>/bin (installed by `pip install -e .` as by a plain one)."""
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        ["man", "-w", "dynsub"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
        check=False,
    )
    installed = Path(sys.prefix) / "share" / "man" / "man1" / "dynsub.1"
    assert result.stdout.strip() == str(installed), (
        f"{result.stdout}{result.stderr}: reinstall with pip install -e '.[test]'"
    )


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_the_shell(shell: str) -> None:
    result = CliRunner().invoke(main, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert "_DYNSUB_COMPLETE" in result.stdout


def test_the_completion_script_completes_commands() -> None:
    result = CliRunner().invoke(
        main,
        [],
        prog_name="dynsub",
        env={
            "_DYNSUB_COMPLETE": "bash_complete",
            "COMP_WORDS": "dynsub store li",
            "COMP_CWORD": "2",
        },
    )
    assert result.stdout.split() == ["plain,list"]
