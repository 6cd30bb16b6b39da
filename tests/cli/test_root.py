"""The root command: help, version, and the single catch site for errors."""

from __future__ import annotations

import click
from click.testing import CliRunner

from dynsub_cli.cli import main
from dynsub_cli.errors import BadInput, ExitCode


def test_help_lists_the_command_groups() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for group in ("pki", "crypto", "store", "demo"):
        assert group in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert "dynsub" in result.output


def _failing_command(exc: BaseException) -> click.Command:
    @click.command("boom")
    def boom() -> None:
        raise exc

    return boom


def test_a_dynsub_error_becomes_its_exit_code_and_message() -> None:
    main.add_command(_failing_command(BadInput("x.pem: not a PEM certificate")))
    try:
        result = CliRunner().invoke(main, ["boom"])
    finally:
        main.commands.pop("boom")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "dynsub: error: x.pem: not a PEM certificate" in result.stderr
    assert "Traceback" not in result.stderr


def test_verbose_shows_the_traceback() -> None:
    main.add_command(_failing_command(BadInput("bad")))
    try:
        result = CliRunner().invoke(main, ["-v", "boom"])
    finally:
        main.commands.pop("boom")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "Traceback" in result.stderr


def test_a_bug_is_reported_as_internal() -> None:
    main.add_command(_failing_command(RuntimeError("oops")))
    try:
        result = CliRunner().invoke(main, ["boom"])
    finally:
        main.commands.pop("boom")
    assert result.exit_code == ExitCode.INTERNAL
    assert "internal error: RuntimeError: oops" in result.stderr
