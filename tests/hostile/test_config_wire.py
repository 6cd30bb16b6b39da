"""Issue 9, class 7: `core serve` refuses, at load, a core.toml that would break every onboarding.

Each case changes one key of the core.toml that `core init` wrote. On the code before this
test, the core served each of them: the ones that reach the wire failed every onboarding at the
subscription offer (after EAP-TLS), and the others were taken silently (an infinite timeout, two
SUCI keys under one id). Now `dynsub core serve` exits with CONFIG (7) before it listens, and the
message names the file, the section and the key.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from dynsub_cli import config
from dynsub_cli.config import wire
from dynsub_cli.core import setup
from dynsub_cli.errors import ConfigError, ExitCode
from dynsub_cli.pki import authority

# `core serve` refuses at once; a core that serves instead is stopped after this long.
SERVE_BOUND = 20.0

Edit = Callable[[dict[str, Any]], None]


def _set(section: str, key: str, value: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        table = doc
        for part in section.split("."):
            table = table[part]
        table[key] = value

    return edit


def _many_service_types(count: int, description: str) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        for n in range(count):
            doc["service_types"][f"type{n}"] = {
                "sst": 1,
                "ambr_ul": "1 Mbps",
                "ambr_dl": "1 Mbps",
                "description": description,
            }

    return edit


def _long_name(doc: dict[str, Any]) -> None:
    name = "n" * 300
    doc["service_types"][name] = dict(doc["service_types"]["miot"])
    doc["plans"]["trial"]["service_types"].append(name)


# (case, the edit, what the refusal names)
CASES: list[tuple[str, Edit, str]] = [
    (
        "AMBR beyond 64 bits",
        _set("service_types.miot", "ambr_ul", "20000000 Tbps"),
        "[service_types.miot] ambr_ul:",
    ),
    (
        "AMBR beyond a signed 64-bit store column",
        _set("service_types.embb", "ambr_dl", 2**63),
        "[service_types.embb] ambr_dl:",
    ),
    (
        "more service types than one NAS message holds",
        _many_service_types(80, "d" * 1000),
        "[service_types] / [plans]: the subscription offer of 82 service type(s)",
    ),
    (
        "a description too long for its field",
        _set("service_types.miot", "description", "d" * 70_000),
        "[service_types.miot] description: longer than 65535 octets",
    ),
    (
        "a service type name too long for the plan's list",
        _long_name,
        "the service type name is 300 octets",
    ),
    (
        "a plan description too long",
        _set("plans.trial", "description", "d" * 66_000),
        "[plans.trial] description: longer than 65535 octets",
    ),
    ("equal Profile A/B key ids", _set("suci", "profile_b_key_id", 1), "[suci] profile_b_key_id:"),
    ("an infinite timeout", _set("limits", "timeout_seconds", float("inf")), "timeout_seconds:"),
    ("a NaN timeout", _set("limits", "timeout_seconds", float("nan")), "timeout_seconds:"),
    ("a zero timeout", _set("limits", "timeout_seconds", 0), "timeout_seconds:"),
    ("a timeout of 31 years", _set("limits", "timeout_seconds", 1e9), "timeout_seconds:"),
    ("max_connections 1e21", _set("limits", "max_connections", 1e21), "max_connections:"),
    ("max_connections 10**21", _set("limits", "max_connections", 10**21), "max_connections:"),
    ("negative max_connections", _set("limits", "max_connections", -5), "max_connections:"),
    (
        "max_frame below an EAP-TLS fragment",
        _set("limits", "max_frame", 600),
        "[limits] max_frame: 600 is below",
    ),
    ("a DNN of 200 octets", _set("service_types.miot", "dnn", "d" * 200), "dnn:"),
]


@pytest.fixture(scope="module")
def core_toml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wire")
    authority.init(root / "pki", authority.InitOptions())
    return setup.init(root / "core", root / "pki").config_file


def _broken(core_toml: Path, name: str, edit: Edit) -> Path:
    doc = tomllib.loads(core_toml.read_text(encoding="utf-8"))
    edit(doc)
    path = core_toml.with_name(f"broken-{abs(hash(name))}.toml")
    path.write_text(tomli_w.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "edit", "named"), CASES, ids=[c[0] for c in CASES])
def test_core_serve_refuses_it_at_load_naming_the_key(
    core_toml: Path, name: str, edit: Edit, named: str
) -> None:
    path = _broken(core_toml, name, edit)
    command = [sys.executable, "-m", "dynsub_cli", "core", "serve", "--config", str(path)]
    process = subprocess.Popen(
        [*command, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = process.communicate(timeout=SERVE_BOUND)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"{name}: core serve took the configuration and served; stderr:\n{stderr}")
    assert process.returncode == ExitCode.CONFIG, stderr
    assert f"{path}: " in stderr
    assert named in stderr, stderr
    assert "Traceback" not in stderr


def test_the_default_configuration_fits_with_room_to_spare(core_toml: Path) -> None:
    """The check measures the real OFFER: the defaults are far below the frame's limit."""
    cfg = config.load(core_toml)
    size = wire.offer_octets(cfg)
    assert 100 < size < 1000, size
    assert wire.largest_uplink(cfg) > wire.EAP_MAX_PACKET


def test_the_offer_limit_is_the_frame_limit_to_the_octet(core_toml: Path) -> None:
    """Grow one description until the OFFER is one octet over 65535: that file is refused and
    the one an octet shorter is served, so the limit is the encoder's, not an estimate."""
    cfg = config.load(core_toml)
    room = 0xFFFF - wire.offer_octets(cfg)
    base = cfg.service_types["miot"].description
    fits = _broken(core_toml, "fits", _set("service_types.miot", "description", base + "x" * room))
    assert wire.offer_octets(config.load(fits)) == 0xFFFF
    over = _broken(
        core_toml, "over", _set("service_types.miot", "description", base + "x" * (room + 1))
    )
    with pytest.raises(ConfigError, match="is 65536 octets; one NAS message carries at most 65535"):
        config.load(over)
