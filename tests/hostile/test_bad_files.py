"""Issue 9, class 8: every file a command reads, damaged or replaced by another, ends in a
documented exit status and a message that names the file; never "internal error" (exit 1).

The options are enumerated from the click command tree, so an option added later is fed bad
bytes too; a new command that takes a file must get a valid invocation in BASES below (the test
says so). Each example copies a working world (a PKI, a device, a core folder with its store, a
UE state file) and damages one file: random bytes, a mutated copy of the real file, another
dynsub file, non-UTF-8 text, TOML nested deeper than the parser recurses.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynsub_cli import config
from dynsub_cli.cli import main
from dynsub_cli.core import setup
from dynsub_cli.core.assembly import open_store
from dynsub_cli.errors import ExitCode
from dynsub_cli.pki import authority, mint, revocation
from dynsub_cli.ue import state
from tests.unit.ue.test_state import STATE

# A closed port on 127.0.0.1: a command that gets as far as connecting fails with NETWORK.
CLOSED = "127.0.0.1:1"
# Every damaged command ends in well under this; it only bounds a hang (a core that serves).
HANG_SECONDS = 30


@dataclass(frozen=True)
class World:
    root: Path
    held_port: int  # bound by the test: `core serve` loads everything, then cannot listen

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def device(self) -> Path:
        imeis = [name for name in os.listdir(self.root / "devices") if name.isdigit()]
        return self.root / "devices" / sorted(imeis)[0]

    @property
    def core(self) -> Path:
        return self.root / "core"

    def files(self) -> list[Path]:
        found = [p for p in sorted(self.root.rglob("*")) if p.is_file() and not p.is_symlink()]
        return [p for p in found if not p.name.endswith(".lock")]


# For each command that takes a file: a valid invocation, as {parameter name: value}. A value may
# name a world path: {pki}, {device}, {devices}, {core}, {state}, {cert}, {crl}, {port}, {out}.
# Each parameter with a click.Path type is then given a damaged file in turn.
BASES: dict[str, dict[str, Any]] = {
    "pki init": {"folder": "{out}/newpki"},
    "pki mint": {"pki_dir": "{pki}", "out": "{out}/minted", "count": "1", "workers": "1"},
    "pki verify": {"cert": "{cert}", "pki_dir": "{pki}", "crl_file": "{crl}"},
    "pki show": {"cert": "{cert}"},
    "pki revoke": {"pki_dir": "{pki}", "cert": "{cert}"},
    "pki crl": {"pki_dir": "{pki}", "out": "{out}/crl.pem"},
    "core init": {
        "folder": "{out}/newcore",
        "pki_folder": "{pki}",
        "manufacturer_cas": "{pki}/manufacturer.pem",
        "device_roots": "{pki}/root.pem",
        "crls": "{crl}",
    },
    "core serve": {"config_file": "{core}/core.toml", "listen": "127.0.0.1:{port}"},
    "core reload": {"config_file": "{core}/core.toml"},
    "core radius-config": {"folder": "{out}/radius", "config_file": "{core}/core.toml"},
    "ue onboard": {"device": "{device}", "core": CLOSED, "state_file": "{out}/ue.toml"},
    "ue register": {"state_file": "{state}", "core": CLOSED},
    "ue load": {"devices_folder": "{devices}", "core": CLOSED, "count": "1"},
    "crypto keygen": {"profile": "A", "out": "{out}/hn.key"},
    "store list": {"config_path": "{core}/core.toml"},
    "store show": {"config_path": "{core}/core.toml", "target": "imsi-001010000000001"},
    "store export": {"config_path": "{core}/core.toml"},
    "store stats": {"config_path": "{core}/core.toml"},
    "store events": {"config_path": "{core}/core.toml"},
    "store suspend": {"config_path": "{core}/core.toml", "supi": "imsi-001010000000001"},
    "store resume": {"config_path": "{core}/core.toml", "supi": "imsi-001010000000001"},
    "store delete": {
        "config_path": "{core}/core.toml",
        "supi": "imsi-001010000000001",
        "yes": True,
    },
    "store copy": {
        "source": "{core}/core.toml",
        "target": "{out}/copy.sqlite",
        "key_file": "{core}/secrets/store.key",
    },
    "demo": {"workdir": "{out}/demo"},
}


# A damaged subscription store is class 10 of issue 9 (checked at open, tests of its own): its
# pages decode to text that is not UTF-8 (UnicodeDecodeError out of store.Subscriptions). Damage
# it here too once the store refuses a damaged file at open.
NOT_DAMAGED_HERE = {"subscriptions.sqlite"}

# Which world folder a folder-taking parameter's files come from (to damage one of them).
FOLDERS = {
    "{pki}": "pki",
    "{device}": "device",
    "{devices}": "devices",
    "{core}/core.toml": "core",
}


def _commands(group: click.Group, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}".strip()
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path, command


def _file_parameters() -> list[tuple[str, str]]:
    found = []
    for path, command in _commands(main):
        for param in command.params:
            if isinstance(param.type, click.Path | click.File):
                found.append((path, str(param.name)))
    return found


FILE_PARAMETERS = _file_parameters()


def test_every_command_that_takes_a_file_has_a_valid_invocation() -> None:
    missing = sorted({command for command, _ in FILE_PARAMETERS} - set(BASES))
    assert not missing, f"add a valid invocation of {missing} to BASES in {__file__}"
    assert len(FILE_PARAMETERS) >= 35  # the enumeration itself works


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("world")
    pki = authority.init(root / "pki", authority.InitOptions())
    mint.mint(authority.load(root / "pki"), mint.MintRequest(out=root / "devices", count=1))
    revocation.write_crl(pki)
    setup.init(root / "core", root / "pki")
    open_store(config.load(root / "core" / config.FILE_NAME)).close()
    state.save(root / "ue-state.toml", STATE)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield World(root, held.getsockname()[1])


class Hung(BaseException):  # not an Exception: the CLI's catch-all must not take it
    pass


@contextlib.contextmanager
def _bounded() -> Iterator[None]:
    def stop(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"still running after {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _argv(command: str, values: dict[str, Any]) -> list[str]:
    cmd: click.Command = main
    for name in command.split():
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[name]
    argv = command.split()
    for param in cmd.params:
        value = values.get(str(param.name))
        if value is None:
            continue
        if isinstance(param, click.Argument):
            argv.append(str(value))
        elif value is True:
            argv.append(param.opts[0])
        else:
            argv += [param.opts[0], str(value)]
    return argv


# Damage: what the file holds instead of its own bytes.
TOML_TOO_DEEP = b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n"


def _mutated(original: bytes) -> st.SearchStrategy[bytes]:
    if not original:
        return st.binary(max_size=64)
    flips = st.lists(
        st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)), min_size=1, max_size=8
    )

    def flip(changes: list[tuple[int, int]]) -> bytes:
        data = bytearray(original)
        for index, value in changes:
            data[index] = value
        return bytes(data)

    return st.one_of(
        flips.map(flip),
        st.integers(0, len(original) - 1).map(lambda n: original[:n]),
        st.binary(min_size=1, max_size=16).map(lambda extra: original + extra),
    )


GARBAGE = [
    b"",
    b"\xff\xfe\x00\x01 not utf-8",
    TOML_TOO_DEEP,
    b"x = " + b"{a = " * 3000 + b"1" + b"}" * 3000,
    bytes(range(256)),
]


def _damage(original: bytes, others: list[bytes]) -> st.SearchStrategy[tuple[bool, bytes]]:
    """(whether the bytes are garbage that no reader can take for its file, the bytes).

    More examples, to search harder once: DYNSUB_BAD_FILE_EXAMPLES=200 pytest tests/hostile
    """
    garbage = st.one_of(st.binary(min_size=1, max_size=512), st.sampled_from(GARBAGE[1:]))
    plausible = st.one_of(_mutated(original), st.sampled_from([*others, b""]))
    return st.one_of(garbage.map(lambda b: (True, b)), plausible.map(lambda b: (False, b)))


def _run(argv: list[str]) -> Result:
    with _bounded():
        return CliRunner().invoke(main, argv, catch_exceptions=False)


@pytest.mark.parametrize(("command", "param"), FILE_PARAMETERS, ids=lambda v: str(v))
@settings(
    max_examples=int(os.environ.get("DYNSUB_BAD_FILE_EXAMPLES", "12")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_a_damaged_file_gets_a_documented_exit_and_names_the_file(
    world: World, command: str, param: str, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory(dir=world.root.parent) as scratch:
        here = Path(scratch)
        copy = here / "world"
        shutil.copytree(world.root, copy, symlinks=True)
        (here / "out").mkdir()
        copied = World(copy, world.held_port)
        names = {
            "pki": copied.pki,
            "device": copied.device,
            "devices": copy / "devices",
            "core": copied.core,
            "state": copy / "ue-state.toml",
            "cert": copied.device / "device.pem",
            "crl": copied.pki / "crl.pem",
            "port": world.held_port,
            "out": here / "out",
        }
        base = BASES[command]
        values = {k: v.format(**names) if isinstance(v, str) else v for k, v in base.items()}
        others = [p.read_bytes() for p in copied.files()]
        folder_key = FOLDERS.get(str(base.get(param, "")))
        if folder_key is not None and data.draw(st.booleans(), label="damage inside the folder"):
            folder = names[folder_key]
            assert isinstance(folder, Path)
            inside = [
                p for p in copied.files() if folder in p.parents and p.name not in NOT_DAMAGED_HERE
            ]
            target = data.draw(st.sampled_from(inside), label="damaged file")
        else:
            target = here / "damaged"
            values[param] = target
        existed = target.exists()
        original = target.read_bytes() if existed else b""
        garbage, damage = data.draw(_damage(original, others), label="bytes")
        target.write_bytes(damage)  # a file of the world keeps its mode
        if not existed:
            target.chmod(data.draw(st.sampled_from([0o600, 0o644]), label="mode"))
        argv = _argv(command, values)
        result = _run(argv)

    output = (result.stdout + result.stderr).replace("\n", " ")[:2000]
    context = f"dynsub {' '.join(argv)} with {target.name} damaged: exit {result.exit_code}\n"
    assert result.exit_code in {int(code) for code in ExitCode}, context + output
    assert result.exit_code != ExitCode.INTERNAL, context + output
    assert "Traceback" not in output, context + output
    if garbage and result.exit_code in (ExitCode.BAD_INPUT, ExitCode.IO, ExitCode.CONFIG):
        # The message names the file at fault (or, for a damaged folder, the folder); a valid
        # file in the wrong place may be refused for what it says instead (a wrong issuer).
        assert target.name in output or target.parent.name in output, context + output
