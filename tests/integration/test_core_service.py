"""`core serve` over real TCP: a UE onboards and registers through the client shell."""

from __future__ import annotations

from pathlib import Path

from dynsub_cli.config import load
from dynsub_cli.core.assembly import open_store
from dynsub_cli.ue import client
from tests.flow import make_lab
from tests.server import running_core


def test_onboard_then_register_over_tcp(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    config = load(lab.config_file)
    state_file = tmp_path / "ue.toml"
    with running_core(config) as core:
        address = (core.host, core.port)
        report = client.onboard(lab.devices[0], address, state_file)
        again = client.register(state_file, address)
    assert report.supi is not None
    assert again.supi == report.supi
    assert oct(state_file.stat().st_mode & 0o777) == "0o600"
    steps = [(s.procedure, s.name) for s in report.steps]
    assert ("onboarding", "EAP-TLS") in steps
    assert ("registration", "5G AKA") in steps
    with open_store(config) as store:
        assert store.get(report.supi).sqn > 0
    assert not core.refusals()


def test_the_tls_key_log_is_written_on_request_and_private(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    keylog = tmp_path / "keys.log"
    with running_core(load(lab.config_file)) as core:
        client.onboard(
            lab.devices[0], (core.host, core.port), tmp_path / "ue.toml", tls_keylog=keylog
        )
    assert keylog.stat().st_mode & 0o777 == 0o600
    labels = {line.split()[0] for line in keylog.read_text().splitlines()}
    # RFC 8446 / NSS key log: the TLS 1.3 secrets, the exporter one included (EAP-TLS keys).
    assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET"} <= labels
    assert "EXPORTER_SECRET" in labels
