"""Writing core.toml: comments for people, and exactly the same values when read back."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from dynsub_cli import config
from dynsub_cli.config import (
    CoreConfig,
    LimitsConfig,
    ListenConfig,
    Plan,
    ServiceType,
)
from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import AlreadyExists, ConfigError

PKI = {
    "core_cert": Path("pki/core.pem"),
    "core_key": Path("pki/core.key"),
    "core_chain": Path("pki/chain.pem"),
    "trust_anchors": [Path("pki/root.pem")],
    "manufacturer_cas": [Path("pki/mfr-a.pem"), Path("/elsewhere/mfr-b.pem")],
}


def _default(tmp_path: Path, **options: object) -> CoreConfig:
    return config.default_config(tmp_path, mcc="001", mnc="01", **PKI, **options)  # type: ignore[arg-type]


def test_write_default_loads_back_to_the_same_values(tmp_path: Path) -> None:
    path = config.write_default(tmp_path, mcc="001", mnc="01", **PKI)  # type: ignore[arg-type]
    assert path == tmp_path / "core.toml"
    assert config.load(path) == _default(tmp_path)


def test_the_written_file_has_a_comment_above_every_section(tmp_path: Path) -> None:
    path = config.write_default(tmp_path, mcc="001", mnc="01", **PKI)  # type: ignore[arg-type]
    lines = path.read_text(encoding="utf-8").splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("[")]
    # Every section but those a default core leaves out (they say more than the defaults).
    optional = {"authentication", "radius_server", "metrics", "hooks"}
    written = {lines[i].strip("[]").split(".")[0] for i in headers}
    assert written == set(config.core.SECTIONS) - optional
    for index in headers:
        above = lines[index - 1]
        # A section starts after its comment block, or after the blank line that ends the
        # previous [service_types.x] / [plans.x] table of the same kind.
        assert above.startswith("#") or (above == "" and "." in lines[index])


def test_paths_inside_the_folder_are_written_relative(tmp_path: Path) -> None:
    path = config.write_default(tmp_path, mcc="001", mnc="01", **PKI)  # type: ignore[arg-type]
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data["pki"]["core_cert"] == "pki/core.pem"
    assert data["pki"]["manufacturer_cas"] == ["pki/mfr-a.pem", "/elsewhere/mfr-b.pem"]
    assert data["store"]["key_file"] == "secrets/store.key"


def test_a_customised_configuration_round_trips(tmp_path: Path) -> None:
    types = {
        "iot": ServiceType(
            name="iot", sst=3, sd="0a0b0c", dnn="iot.apn", ambr_ul=9_600, ambr_dl=123_456_789
        ),
        "video": ServiceType(name="video", sst=1, ambr_ul=2_000_000_000, ambr_dl=10**12),
    }
    plans = {
        "free": Plan(name="free", service_types=("iot",)),
        "business": Plan(
            name="business",
            service_types=("video", "iot"),
            requires=("account", "purchase_order"),
            description='Invoiced "monthly"',
        ),
    }
    original = _default(
        tmp_path,
        service_types=types,
        plans=plans,
        listen=ListenConfig(host="127.0.0.2", port=0),
        msin_start="0000000500",
        msin_end="0000000999",
        network_name="Ünïcode network",
    )
    original = replace(
        original,
        limits=LimitsConfig(timeout_seconds=2.5, max_connections=3, max_frame=4096),
        enrollment=replace(
            original.enrollment,
            reonboarding=Reonboarding.NEW_RECORD,
            blocklist=("490154203237518",),
        ),
    )
    path = config.write(original, tmp_path / "core.toml")
    assert config.load(path) == original


def test_write_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    config.write_default(tmp_path, mcc="001", mnc="01", **PKI)  # type: ignore[arg-type]
    with pytest.raises(AlreadyExists):
        config.write_default(tmp_path, mcc="001", mnc="01", **PKI)  # type: ignore[arg-type]
    config.write_default(tmp_path, mcc="999", mnc="99", overwrite=True, **PKI)  # type: ignore[arg-type]
    assert config.load(tmp_path / "core.toml").network.plmn == "99999"


def test_default_msin_range_fills_the_imsi(tmp_path: Path) -> None:
    two = _default(tmp_path)
    assert (two.supi.msin_start, two.supi.msin_end) == ("0000000001", "9999999999")
    three = config.default_config(tmp_path, mcc="310", mnc="410", **PKI)  # type: ignore[arg-type]
    assert len(three.supi.msin_start) == 9
    assert len(three.supi_for(three.supi.msin_end)) == len("imsi-") + 15


def test_default_needs_a_plan_without_billing_requirements(tmp_path: Path) -> None:
    plans = {"paid": Plan(name="paid", service_types=("miot",), requires=("account",))}
    with pytest.raises(ConfigError, match="no plan without billing"):
        _default(tmp_path, plans=plans)


def test_bitrates_format_and_parse() -> None:
    assert config.parse_bitrate("10 Mbps") == 10_000_000
    assert config.parse_bitrate("7kbps") == 7000
    assert config.parse_bitrate(42) == 42
    assert config.format_bitrate(10_000_000) == "10 Mbps"
    assert config.format_bitrate(1500) == "1500 bps"
    assert config.format_bitrate(3 * 10**12) == "3 Tbps"
    for bad in ("0 Mbps", "-1 Mbps", "ten Mbps", "1.5 Mbps", "5 parsecs"):
        with pytest.raises(ValueError, match=r"not a bit rate|must be positive"):
            config.parse_bitrate(bad)
    with pytest.raises(ValueError, match="positive"):
        config.parse_bitrate(0)
