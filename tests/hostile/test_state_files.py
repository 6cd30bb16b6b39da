"""Issue 9, class 11: the UE state file is checked field by field before a UE uses it.

Before this test, `sqn_ms = -32` was taken as is (and sent the UE into 5G AKA with a negative
SQN), `sqn_ms = "32"` was converted silently, unknown keys were ignored and a missing table
ended in a KeyError message. Now `dynsub ue register --state FILE` exits with BAD_INPUT (3)
before it connects, naming the file and the field. The core address is a closed port: a state
file that passed the checks would end in NETWORK (9) instead.
"""

from __future__ import annotations

import tempfile
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from click.testing import CliRunner

from dynsub_cli.cli import main
from dynsub_cli.errors import ExitCode
from dynsub_cli.ue import state
from tests.unit.ue.test_state import STATE

Edit = Callable[[dict[str, Any]], None]


def _set(table: str, key: str, value: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        (doc[table] if table else doc)[key] = value

    return edit


# (case, edit, the field the refusal names)
CASES: list[tuple[str, Edit, str]] = [
    ("negative SQN", _set("usim", "sqn_ms", -32), "[usim] sqn_ms: -32 is outside"),
    ("SQN as a string", _set("usim", "sqn_ms", "32"), "[usim] sqn_ms: expected an integer"),
    ("SQN beyond 48 bits", _set("usim", "sqn_ms", 2**48), "[usim] sqn_ms:"),
    ("SQN as a boolean", _set("usim", "sqn_ms", True), "[usim] sqn_ms: expected an integer"),
    ("unknown key in [usim]", _set("usim", "sqnms", 1), "[usim]: unknown key(s) sqnms"),
    ("unknown top-level key", _set("", "extra", 1), "top level: unknown key(s) extra"),
    ("unknown subscription key", _set("subscription", "x", "y"), "[subscription]: unknown"),
    ("K as an integer", _set("usim", "k", 5), "[usim] k: expected a string"),
    ("K too short", _set("usim", "k", "00" * 15), "[usim] k: must be 32 hex digits"),
    ("OPc not hex", _set("usim", "opc", "zz" * 16), "[usim] opc: must be 32 hex digits"),
    ("AMBR as a float", _set("subscription", "ambr_uplink_bps", 1.5), "ambr_uplink_bps:"),
    ("AMBR zero", _set("subscription", "ambr_downlink_bps", 0), "ambr_downlink_bps: 0"),
    ("SUPI of another PLMN", _set("subscription", "supi", "imsi-999990000000001"), "supi:"),
    ("IMEI check digit", _set("subscription", "imei", "001001000000008"), "imei:"),
    ("NSSAI as a string", _set("subscription", "allowed_nssai", "3"), "allowed_nssai:"),
    (
        "SST beyond one octet",
        _set("subscription", "allowed_nssai", [{"sst": 256}]),
        "[subscription.allowed_nssai[0]] sst: 256",
    ),
    (
        "home network key of an unknown scheme",
        _set("", "home_network_keys", [{"scheme": 9, "key_id": 1, "public_key": "00"}]),
        "[home_network_keys[0]] scheme: 9",
    ),
    (
        "home network key of the wrong size",
        _set("", "home_network_keys", [{"scheme": 1, "key_id": 1, "public_key": "00" * 33}]),
        "[home_network_keys[0]] public_key: must be 64 hex digits",
    ),
    ("usim as a string", _set("", "usim", "k"), "usim: expected a table"),
]


def _saved(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "ue.toml"
    state.save(path, STATE)
    return path, tomllib.loads(path.read_text(encoding="utf-8"))


def _required_fields() -> Iterator[tuple[str, str]]:
    """Every field state.save writes, as (table, key): each must be there."""
    with tempfile.TemporaryDirectory() as folder:
        _, doc = _saved(Path(folder))
    for table in ("subscription", "usim"):
        for key in doc[table]:
            yield table, key


def _register(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["ue", "register", "--state", str(path), "--core", "127.0.0.1:1"]
    )
    return result.exit_code, " ".join(result.stderr.split())


def _write(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    path.chmod(0o600)


def test_the_saved_file_itself_is_accepted(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    code, stderr = _register(path)
    assert code == ExitCode.NETWORK, stderr  # it got as far as connecting


@pytest.mark.parametrize(("name", "edit", "named"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_field_is_refused_naming_file_and_field(
    tmp_path: Path, name: str, edit: Edit, named: str
) -> None:
    path, doc = _saved(tmp_path)
    edit(doc)
    _write(path, doc)
    code, stderr = _register(path)
    assert code == ExitCode.BAD_INPUT, stderr
    assert f"{path}: " in stderr
    assert named in stderr, stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize(("table", "key"), sorted(_required_fields()))
def test_a_missing_field_is_refused_naming_it(tmp_path: Path, table: str, key: str) -> None:
    path, doc = _saved(tmp_path)
    del doc[table][key]
    _write(path, doc)
    code, stderr = _register(path)
    assert code == ExitCode.BAD_INPUT, stderr
    assert f"{path}: [{table}] {key}: missing" in stderr, stderr
