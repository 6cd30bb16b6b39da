"""The PKI folder: init, load, permissions, refusing to overwrite."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dynsub_cli.errors import AlreadyExists, BadInput, ConfigError, FileError
from dynsub_cli.pki import authority, pem
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.profiles import KeyType
from dynsub_cli.pki.verify import verify_core
from tests.unit.pki.factory import make_pki


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_the_hierarchy_with_private_keys_0600(pki: Pki) -> None:
    assert _mode(pki.root) == 0o700
    for key in (pki.root_key, pki.manufacturer_key, pki.operator_key, pki.core_key):
        assert _mode(key) == 0o600, key
    root = pki.load_root()
    assert root.subject.rfc4514_string() == (
        "CN=3GPP device ecosystem root,O=3GPP device ecosystem"
    )
    maker = pki.load_manufacturer()
    assert maker.issuer == root.subject
    assert (pki.root / "pki.toml").is_file()


def test_load_reads_back_what_init_wrote(tmp_path: Path) -> None:
    made = make_pki(tmp_path / "p", mcc="262", mnc="01", manufacturer="ACME", tac="35123400")
    loaded = authority.load(tmp_path / "p")
    assert loaded == made
    assert loaded.core_dns_name == "ausf.5gc.mnc001.mcc262.3gppnetwork.org"
    assert (loaded.mcc, loaded.mnc, loaded.manufacturer, loaded.tac) == (
        "262",
        "01",
        "ACME",
        "35123400",
    )


def test_a_core_can_be_configured_from_the_pki(pki: Pki) -> None:
    core = pem.read_certificate(pki.core_cert)
    pem.read_key(pki.core_key)
    chain = pem.read_certificates(pki.core_chain)
    anchors = pem.read_certificates(pki.trust_anchors)
    verify_core([core, *chain], anchors, dns_name=pki.core_dns_name)


def test_three_digit_mnc_is_kept(tmp_path: Path) -> None:
    assert make_pki(tmp_path / "p", mnc="456").core_dns_name == (
        "ausf.5gc.mnc456.mcc001.3gppnetwork.org"
    )


def test_an_existing_pki_is_refused_without_force(pki: Pki) -> None:
    before = pki.root_cert.read_bytes()
    with pytest.raises(AlreadyExists, match="pass `force`") as raised:
        authority.init(pki.root, authority.InitOptions())
    assert raised.value.parameter == "force"  # cli/ names its flag
    assert pki.root_cert.read_bytes() == before


def test_force_replaces_the_cas_and_keeps_the_ledger(pki: Pki) -> None:
    pki.ledger.write_bytes(b"kept")
    before = pki.root_cert.read_bytes()
    again = authority.init(pki.root, authority.InitOptions(force=True))
    assert again.root_cert.read_bytes() != before
    assert pki.ledger.read_bytes() == b"kept"


def test_p384(tmp_path: Path) -> None:
    made = make_pki(tmp_path / "p", key_type=KeyType.P384)
    assert KeyType.of(made.load_root().public_key()) is KeyType.P384
    assert made.key_type is KeyType.P384


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mcc": "01"}, "Mobile Country Code"),
        ({"mnc": "1"}, "Mobile Network Code"),
        ({"tac": "123"}, "Type Allocation Code"),
        ({"ca_days": 0}, "at least one day"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, options: dict[str, object], message: str) -> None:
    with pytest.raises(BadInput, match=message):
        make_pki(tmp_path / "p", **options)
    assert not (tmp_path / "p").exists()


def test_load_of_a_folder_without_pki(tmp_path: Path) -> None:
    with pytest.raises(FileError, match="dynsub pki init"):
        authority.load(tmp_path)


def test_unknown_key_is_named(pki: Pki) -> None:
    config = pki.root / "pki.toml"
    config.write_text('colour = "blue"\n' + config.read_text())
    with pytest.raises(ConfigError, match="unknown key 'colour'"):
        authority.load(pki.root)


def test_bad_value_is_named(pki: Pki) -> None:
    config = pki.root / "pki.toml"
    config.write_text(config.read_text().replace('key_type = "p256"', 'key_type = "rsa"'))
    with pytest.raises(ConfigError, match="key_type"):
        authority.load(pki.root)
