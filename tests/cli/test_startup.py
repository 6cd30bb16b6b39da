"""Start-up: a command imports its own group and what it drives, nothing else (issue 11).

What is held here is which modules a command has imported when it exits (``sys.modules`` of a
fresh interpreter); how long that takes is benchmarks/startup.py's business, never a test's.
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

import dynsub_cli.store
from dynsub_cli.cli import GROUPS, main
from dynsub_cli.errors import ExitCode
from dynsub_cli.pki import constants as pki_constants
from dynsub_cli.pki.authority import InitOptions
from dynsub_cli.pki.defects import Defect
from dynsub_cli.pki.profiles import KeyType
from dynsub_cli.pki.revocation import Reason

#: What only some commands need, and what each costs at start-up.
HEAVY = (
    "rich",  # tables and progress for people
    "asyncio",  # the core's and the UE's network shells
    "sqlite3",
    "cryptography.x509",
    "OpenSSL",  # pyOpenSSL, EAP-TLS
    "importlib.metadata",
    "dynsub_cli.core",
    "dynsub_cli.store",
    "dynsub_cli.config.core",
    "dynsub_cli.nas.codec",
    "dynsub_cli.pki",
    "dynsub_cli.ue",
    "dynsub_cli.aaa",
)
GROUP_MODULES = tuple(entry.module for entry in GROUPS.values())
#: Under a heavy name, but holding only what the options show: the UE's bounds, the store's
#: states and formats, the PKI's defaults and choices (and their packages, which import nothing).
LIGHT = (
    "dynsub_cli.ue",
    "dynsub_cli.store",
    "dynsub_cli.store.constants",
    "dynsub_cli.pki",
    "dynsub_cli.pki.constants",
)

#: TS 35.208 test set 1, and its RES.
MILENAGE = [
    *("crypto", "milenage", "--k", "465b5ce8b199b49faa5f0a2ee238a6bc"),
    *("--op", "cdc202d5123e20f62b6d676ac72cb318", "--rand", "23553cbe9637a89d218ae64dae47bf35"),
    *("--sqn", "ff9bb4d0b607", "--amf", "b9b9"),
]
RES = "a54211d5e3ba50bf"


#: `dynsub ARGS` as the console script runs it, noting at exit every module it imported.
PROBE = """
import atexit, sys

noted = sys.argv.pop(1)


def note():
    with open(noted, "w") as file:
        file.write("\\n".join(sorted(sys.modules)))


atexit.register(note)
from dynsub_cli.cli import main

main(prog_name="dynsub")
"""


def dynsub(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``dynsub ARGS`` in a fresh interpreter: what it did, and the modules it imported."""
    noted = folder / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(noted), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    modules = set(noted.read_text().splitlines())
    assert {"click", "dynsub_cli.cli"} <= modules, "the probe noted no modules"
    return done, modules


def _commands_of(group: str) -> list[str]:
    found = main.commands[group]
    assert isinstance(found, click.Group), group
    return sorted(found.commands)


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["-h"]])
def test_version_and_help_import_no_command_group(tmp_path: Path, args: list[str]) -> None:
    done, modules = dynsub(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert "dynsub" in done.stdout
    assert not _loaded(modules, HEAVY + GROUP_MODULES)


@pytest.mark.parametrize(
    "args",
    [
        ["core", "--help"],
        ["core", "serve", "--help"],
        ["demo", "--help"],
        ["crypto", "--help"],
        ["ue", "--help"],
        ["ue", "onboard", "--help"],
        ["ue", "load", "--help"],
        # Every command of store and pki (`store --help` imported SQLite and every backend,
        # `pki --help` cryptography and the whole PKI, before).
        *([group, "--help"] for group in ("store", "pki")),
        *(
            [group, command, "--help"]
            for group in ("store", "pki")
            for command in _commands_of(group)
        ),
    ],
    ids=" ".join,
)
def test_the_help_of_a_group_imports_its_own_commands_only(tmp_path: Path, args: list[str]) -> None:
    """Help is read before anything runs: it must not wait for the core, the store, the PKI
    or the UE (`core --help` imported 400 modules in 0.96 s before)."""
    done, modules = dynsub(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert "Usage: dynsub" in done.stdout
    own = GROUPS[args[0]].module
    assert own in modules
    loaded = _loaded(modules, HEAVY + tuple(m for m in GROUP_MODULES if m != own))
    assert [m for m in loaded if m not in LIGHT] == []


def test_the_pki_choices_are_the_values_of_its_enums() -> None:
    """pki/constants.py cannot hold these enums (their members carry cryptography objects):
    the lists `dynsub pki --help` offers are their values, in their order."""
    assert tuple(k.value for k in KeyType) == pki_constants.KEY_TYPES
    assert tuple(d.value for d in Defect) == pki_constants.DEFECTS
    assert tuple(r.value for r in Reason) == pki_constants.REASONS
    assert KeyType(pki_constants.DEFAULT_KEY_TYPE) is InitOptions().key_type


def test_the_store_hands_out_on_first_use_the_names_it_declares() -> None:
    """dynsub_cli.store imports its public names when first asked for (PEP 562): each one is
    the object its declared import (what mypy reads) names, and no other name is made up."""
    tree = ast.parse(Path(dynsub_cli.store.__file__ or "").read_text(encoding="utf-8"))
    declared = {
        alias.name: node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module != "typing"
        for alias in node.names
    }
    assert sorted(declared) == sorted(dynsub_cli.store.__all__)
    for name, home in declared.items():
        assert getattr(dynsub_cli.store, name) is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        dynsub_cli.store.nothing  # type: ignore[attr-defined]  # noqa: B018


def test_milenage_imports_only_what_milenage_needs(tmp_path: Path) -> None:
    done, modules = dynsub(tmp_path, *MILENAGE)
    assert done.returncode == 0, done.stderr
    assert f"res\t{RES}" in done.stdout.splitlines()
    assert {"dynsub_cli.cli.crypto", "dynsub_cli.security.milenage"} <= modules
    others = tuple(m for m in GROUP_MODULES if m != "dynsub_cli.cli.crypto")
    assert not _loaded(modules, HEAVY + others)
    # The SUCI commands' ECIES and NAS code points are theirs alone.
    assert not _loaded(modules, ("dynsub_cli.security.suci", "dynsub_cli.security.ecies"))
    assert not _loaded(modules, ("dynsub_cli.nas", "dynsub_cli.files"))


def test_an_error_on_a_pipe_imports_no_rich(tmp_path: Path) -> None:
    done, modules = dynsub(tmp_path, *MILENAGE[:-1], "b9")
    assert done.returncode == ExitCode.BAD_INPUT, done.stderr
    assert done.stderr == "dynsub: error: --amf: expected 2 octets (4 hex digits), got 1\n"
    assert "dynsub_cli.cli.crypto" in modules
    assert not _loaded(modules, ("rich",))


def test_completing_the_group_names_imports_no_group(tmp_path: Path) -> None:
    done, modules = dynsub(
        tmp_path,
        env={"_DYNSUB_COMPLETE": "bash_complete", "COMP_WORDS": "dynsub ", "COMP_CWORD": "1"},
    )
    assert done.returncode == 0, done.stderr
    names = [line.split(",")[1] for line in done.stdout.splitlines()]
    assert names == sorted([*GROUPS, "completion"])
    assert not _loaded(modules, HEAVY + GROUP_MODULES)


def test_each_group_is_listed_with_the_first_sentence_of_its_own_help() -> None:
    for name, entry in GROUPS.items():
        group = main.commands[name]
        assert group.name == name
        assert group.get_short_help_str(limit=1000) == entry.help, f"GROUPS[{name!r}].help"


@pytest.mark.parametrize("width", [60, 80, 120])
def test_help_lists_the_groups_as_click_lists_the_loaded_groups(width: int) -> None:
    ctx = click.Context(main, info_name="dynsub", terminal_width=width, max_content_width=width)
    lazy, whole = ctx.make_formatter(), ctx.make_formatter()
    main.format_commands(ctx, lazy)
    click.Group.format_commands(main, ctx, whole)  # click's own: it imports every group
    assert "crypto" in whole.getvalue()
    assert lazy.getvalue() == whole.getvalue()


def test_the_tree_is_whole_for_whoever_walks_it() -> None:
    assert set(main.commands) == {*GROUPS, "completion"}
    assert len(main.commands) == len(GROUPS) + 1
    for name, command in main.commands.items():
        assert isinstance(command, click.Command), name
        # Every command of a group loaded on use takes -v too (cli/__init__.py _equip).
        leaves = command.commands.values() if isinstance(command, click.Group) else [command]
        for leaf in leaves:
            assert any("-v" in p.opts for p in leaf.params), f"{name} {leaf.name}"
    assert "nothing" not in main.commands
    with pytest.raises(KeyError):
        main.commands["nothing"]
