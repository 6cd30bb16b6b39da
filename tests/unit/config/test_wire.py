"""config/wire.py: the OFFER and the uplink sizes come from the real encoders, and `core init`
refuses to write a configuration `core serve` would refuse."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from dynsub_cli import config
from dynsub_cli.config import ServiceType, wire
from dynsub_cli.eap.fragments import DEFAULT_MAX_PACKET
from dynsub_cli.errors import ConfigError
from dynsub_cli.nas import codec, dialogue
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import PayloadContainerType


def _config(tmp_path: Path, **options: object) -> config.CoreConfig:
    return config.default_config(
        tmp_path,
        mcc="001",
        mnc="01",
        core_cert=Path("c.pem"),
        core_key=Path("c.key"),
        core_chain=Path("chain.pem"),
        trust_anchors=[Path("root.pem")],
        manufacturer_cas=[Path("m.pem")],
        **options,  # type: ignore[arg-type]
    )


def test_the_eap_packet_size_is_the_eap_layers() -> None:
    assert wire.EAP_MAX_PACKET == DEFAULT_MAX_PACKET


def test_the_offer_is_what_the_core_sends(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    offer = wire.offer(cfg)
    assert [s.name for s in offer.service_types] == list(cfg.service_types)
    assert dialogue.decode(dialogue.encode(offer)) == offer
    plain = codec.encode(
        m.DlNasTransport(
            PayloadContainerType(dialogue.PAYLOAD_CONTAINER_TYPE), dialogue.encode(offer)
        )
    )
    assert wire.offer_octets(cfg) == len(plain) + 7  # TS 24.501 9.1.1: the security header


def test_core_init_refuses_to_write_what_serve_would_refuse(tmp_path: Path) -> None:
    huge = ServiceType(name="miot", sst=3, ambr_ul=2**64, ambr_dl=1)
    types = {"miot": huge}
    cfg = _config(tmp_path, service_types=types, plans={"p": config.Plan("p", ("miot",))})
    target = tmp_path / config.FILE_NAME
    with pytest.raises(ConfigError, match=r"\[service_types.miot\] ambr_ul: 18446744073709551616"):
        config.write(cfg, target)
    assert not target.exists()


def test_equal_key_ids_are_refused_when_written(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    same = dataclasses.replace(cfg.suci, profile_b_key_id=cfg.suci.profile_a_key_id)
    with pytest.raises(ConfigError, match=r"\[suci\] profile_b_key_id: 1 is also profile_a_key_id"):
        config.write(dataclasses.replace(cfg, suci=same), tmp_path / config.FILE_NAME)
