"""The UE state file: what onboarding leaves for later registrations."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynsub_cli.errors import BadInput, FileError
from dynsub_cli.ue import state
from dynsub_cli.ue.state import HomeNetworkKey, UeState

STATE = UeState(
    supi="imsi-001010000000001",
    imei="001001000000007",
    mcc="001",
    mnc="01",
    routing_indicator="0000",
    k=bytes(range(16)),
    opc=bytes(range(16, 32)),
    amf=b"\x80\x00",
    sqn_ms=64,
    home_network_keys=(HomeNetworkKey(1, 1, b"\x01" * 32), HomeNetworkKey(2, 2, b"\x02" * 33)),
    allowed_nssai=((3, None), (1, "0000ff")),
    ambr_uplink_bps=1_000_000,
    ambr_downlink_bps=2_000_000,
    service_type="miot",
    plan="trial",
)


def test_round_trip_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "ue.toml"
    state.save(path, STATE)
    assert state.load(path) == STATE
    assert path.stat().st_mode & 0o777 == 0o600


def test_secrets_stay_out_of_repr() -> None:
    assert bytes(range(16)).hex() not in repr(STATE)
    assert "k=" not in repr(STATE)


def test_the_msin_and_the_preferred_key() -> None:
    assert STATE.msin == "0000000001"
    key = STATE.preferred_key()
    assert key is not None
    assert key.scheme == 2  # Profile B where offered


def test_a_broken_file_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "ue.toml"
    path.write_text('format = 1\n[subscription]\nsupi = "imsi-1"\n')
    path.chmod(0o600)
    with pytest.raises(BadInput, match=r"ue.toml: usim: missing table. .*dynsub ue onboard"):
        state.load(path)
    path.write_text("format = 7\n")
    with pytest.raises(BadInput, match="format 7 is not 1"):
        state.load(path)
    with pytest.raises(FileError, match="UE state file not found"):
        state.load(tmp_path / "missing.toml")


def test_a_state_file_others_can_read_is_refused(tmp_path: Path) -> None:
    # It holds K and OPc: like ssh with a private key, refuse rather than use a leaked secret.
    path = tmp_path / "ue.toml"
    state.save(path, STATE)
    path.chmod(0o644)
    with pytest.raises(FileError, match=r"readable by others \(mode 0644\); run: chmod 600"):
        state.load(path)
    path.chmod(0o600)
    assert state.load(path) == STATE
