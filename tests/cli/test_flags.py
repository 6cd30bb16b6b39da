"""Errors below cli/ name parameters, never flags; cli/flags.py names the flag of each."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dynsub_cli.cli import flags
from dynsub_cli.errors import BadInput, DynsubError, Rejected

PACKAGE = Path(__file__).resolve().parents[2] / "dynsub_cli"
BELOW_CLI = sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "cli")
_FLAG = re.compile(r"(?<![\w-])--[a-z]")
#: Flags of other programs, which a message may well name.
_FOREIGN = ("softhsm2-util --show-slots",)


def _strings(node: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


@pytest.mark.parametrize("path", BELOW_CLI, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_error_below_cli_names_a_flag(path: Path) -> None:
    """This includes the dialogue ERROR a UE receives (core/provisioning.py)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        f"line {node.lineno}: {text!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Raise)
        for text in _strings(node)
        if _FLAG.search(text) and not any(foreign in text for foreign in _FOREIGN)
    ]
    assert not found, "name the parameter (parameter=...), cli/flags.py the flag:\n" + "\n".join(
        found
    )


def test_every_parameter_named_below_cli_has_a_flag() -> None:
    named = {
        keyword.value.value
        for path in BELOW_CLI
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg == "parameter" and isinstance(keyword.value, ast.Constant)
        if isinstance(keyword.value.value, str)
    }
    assert named, "the scan found no parameter=...: it is broken"
    assert named <= set(flags.FLAGS), f"add to cli/flags.py FLAGS: {named - set(flags.FLAGS)}"


def test_the_scan_catches_a_flag() -> None:
    tree = ast.parse('raise BadInput(f"{x}: use --force")')
    assert any(_FLAG.search(text) for text in _strings(tree))


@pytest.mark.parametrize(
    ("err", "shown"),
    [
        (BadInput("`count` 0: mint at least one device", parameter="count"), "--count 0: mint"),
        (BadInput("choose another, or pass `force`", parameter="force"), "or pass --force"),
        (
            Rejected("plan 'metered' needs billing information: account", 7, parameter="billing"),
            "account (--account or --billing FIELD=VALUE)",
        ),
        (BadInput("`count` 0: no flag known", parameter="unknown"), "`count` 0: no flag known"),
        (DynsubError("nothing named"), "nothing named"),
    ],
)
def test_describe_shows_the_flag_of_the_parameter(err: DynsubError, shown: str) -> None:
    assert shown in flags.describe(err)
    assert "--" not in err.describe()  # the lower layers' own words name no flag
