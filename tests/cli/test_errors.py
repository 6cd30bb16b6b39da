"""The catch site: one JSON error object for every --json command, -v anywhere, exit codes.

Each command that takes --json is run down a failure path here; the test fails when a command
gains --json without a row below, so the shape cannot drift for a new command either.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from dynsub_cli.cli import main
from dynsub_cli.errors import ExitCode

ERROR_FIELDS = {"code", "exit_status", "message", "hint", "step"}


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        elif any(isinstance(p, click.Option) and "--json" in p.opts for p in command.params):
            yield (*path, name)


def _garbage(folder: Path) -> Path:
    path = folder / "garbage.pem"
    path.write_text("not a certificate\n")
    return path


def _empty(folder: Path) -> Path:
    path = folder / "empty"
    path.mkdir(exist_ok=True)
    return path


def _a_file(folder: Path, name: str = "a-file") -> Path:
    path = folder / name
    path.write_text("x")
    return path


NO_CONFIG = "no/core.toml"
MILENAGE = ["--k", "zz", "--op", "00" * 16, "--rand", "00" * 16, "--sqn", "00" * 6]
# A failing command line per command, built in a fresh folder. The failure is the command's
# own (a file it cannot use, a value it refuses), not click's parsing.
FAILURES: dict[tuple[str, ...], Callable[[Path], list[str | Path]]] = {
    ("pki", "init"): lambda d: [_a_file(d) / "pki"],
    ("pki", "mint"): lambda d: ["--pki", _empty(d), "--out", d / "out"],
    ("pki", "verify"): lambda d: [_garbage(d), "--pki", _empty(d)],
    ("pki", "show"): lambda d: [_garbage(d)],
    ("pki", "revoke"): lambda d: ["--pki", _empty(d), _garbage(d)],
    ("pki", "crl"): lambda d: ["--pki", _empty(d)],
    ("core", "init"): lambda d: [d / "core", "--pki", _empty(d)],
    ("core", "radius-config"): lambda d: [d / "radius", "--config", d / NO_CONFIG],
    ("ue", "onboard"): lambda d: ["--device", _empty(d), "--core", "127.0.0.1:9"],
    ("ue", "register"): lambda d: ["--state", d / "none.toml", "--core", "127.0.0.1:9"],
    ("ue", "load"): lambda d: ["--devices", _empty(d), "--core", "127.0.0.1:9", "--count", "1"],
    ("crypto", "milenage"): lambda d: [*MILENAGE, "--amf", "8000"],
    ("crypto", "suci", "conceal"): lambda d: ["--scheme", "null", "--supi", "imsi-12x"],
    ("crypto", "suci", "deconceal"): lambda d: ["--suci", "suci-garbage"],
    ("crypto", "keygen"): lambda d: ["--profile", "a", "--out", _a_file(d) / "key.pem"],
    ("crypto", "kdf"): lambda d: ["kseaf", "--key", "zz", "--snn", "5G:mnc001.mcc001"],
    ("store", "list"): lambda d: ["--config", d / NO_CONFIG],
    ("store", "show"): lambda d: ["--config", d / NO_CONFIG, "imsi-001010000000001"],
    ("store", "stats"): lambda d: ["--config", d / NO_CONFIG],
    ("store", "events"): lambda d: ["--config", d / NO_CONFIG],
    ("store", "suspend"): lambda d: ["--config", d / NO_CONFIG, "imsi-001010000000001"],
    ("store", "resume"): lambda d: ["--config", d / NO_CONFIG, "imsi-001010000000001"],
    ("store", "delete"): lambda d: ["--config", d / NO_CONFIG, "imsi-001010000000001", "--yes"],
    ("store", "copy"): lambda d: ["--from", d / NO_CONFIG, "--to", d / "copy.sqlite"],
    ("demo",): lambda d: ["--workdir", _a_file(d, "pki").parent],  # its pki/ is a file there
}


def _error_object(result: Result) -> dict[str, Any]:
    document = json.loads(result.stdout)  # exactly one JSON document, nothing else
    assert isinstance(document, dict), document
    error: dict[str, Any] = document["error"]
    assert set(error) == ERROR_FIELDS, error
    assert error["exit_status"] == result.exit_code
    assert error["code"] == ExitCode(result.exit_code).name
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["hint"] is None or isinstance(error["hint"], str)
    return error


def test_every_json_command_has_a_failure_row() -> None:
    assert set(_commands(main)) == set(FAILURES)


@pytest.mark.parametrize("command", list(FAILURES), ids=" ".join)
def test_a_failing_json_command_prints_one_error_object(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    result = run(*command, *FAILURES[command](tmp_path), "--json")
    assert result.exit_code not in (ExitCode.OK, ExitCode.INTERNAL, ExitCode.USAGE), (
        result.exit_code,
        result.output,
    )
    error = _error_object(result)
    assert error["message"] in result.stderr  # the same words people read


def test_a_usage_error_with_json_is_an_error_object_too() -> None:
    result = run("store", "list", "--json")  # --config is missing
    assert result.exit_code == ExitCode.USAGE
    error = _error_object(result)
    assert "--config" in error["message"]
    assert "Usage:" in result.stderr


def test_without_json_nothing_goes_to_stdout_on_failure(tmp_path: Path) -> None:
    result = run("store", "list", "--config", tmp_path / NO_CONFIG)
    assert result.exit_code == ExitCode.IO or result.exit_code == ExitCode.CONFIG
    assert result.stdout == ""


def test_a_failed_onboarding_keeps_its_steps_beside_the_error(tmp_path: Path) -> None:
    result = run("ue", "onboard", *FAILURES[("ue", "onboard")](tmp_path), "--json")
    document = json.loads(result.stdout)
    assert document["outcome"] == "failed"
    assert document["steps"] == []
    assert document["error"]["exit_status"] == result.exit_code


@pytest.mark.parametrize("where", ["first", "last", "middle"])
def test_verbose_is_accepted_anywhere_on_the_line(where: str, tmp_path: Path) -> None:
    line = ["store", "list", "--config", str(tmp_path / NO_CONFIG)]
    at = {"first": 0, "middle": 2, "last": len(line)}[where]
    line.insert(at, "-v")
    result = run(*line)
    assert result.exit_code in (ExitCode.IO, ExitCode.CONFIG), result.output
    assert "Traceback" in result.stderr


def test_export_open5gs_without_secrets_is_a_usage_error(tmp_path: Path) -> None:
    result = run("store", "export", "--config", tmp_path / NO_CONFIG, "--format", "open5gs")
    assert result.exit_code == ExitCode.USAGE
    assert "--format open5gs needs --reveal-secrets" in result.stderr


def test_a_bind_to_an_address_this_machine_lacks_does_not_blame_another_core(
    tmp_path: Path,
) -> None:
    from tests.unit.pki.factory import make_pki

    pki = make_pki(tmp_path / "pki")
    assert run("core", "init", tmp_path / "core", "--pki", pki.root).exit_code == 0
    # 192.0.2.1 (TEST-NET-1, RFC 5737) is on no interface: bind() fails at once, no packet sent.
    result = run(
        "core", "serve", "--config", tmp_path / "core/core.toml", "--listen", "192.0.2.1:0"
    )
    assert result.exit_code == ExitCode.NETWORK
    assert "cannot listen on 192.0.2.1:0" in result.stderr
    assert "another core" not in result.stderr
    assert "not an address of this machine" in result.stderr
