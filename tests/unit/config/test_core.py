"""core.toml: loading, defaults, and errors that name the file, the section and the key."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from dynsub_cli import config
from dynsub_cli.config import CoreConfig
from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import ConfigError, ExitCode

MINIMAL = """\
[network]
mcc = "001"
mnc = "01"
name = "test"

[pki]
core_cert = "pki/core.pem"
core_key = "pki/core.key"
core_chain = "pki/chain.pem"
trust_anchors = ["pki/root.pem"]
manufacturer_cas = ["pki/mfr.pem"]

[supi]
msin_start = "0000000001"
msin_end = "0000000099"

[operator]
op_file = "op.hex"

[suci]
profile_a_key_file = "a.key"
profile_a_key_id = 1
profile_b_key_file = "/abs/b.key"
profile_b_key_id = 2

[store]
path = "store.sqlite"
key_file = "store.key"

[enrollment]
default_service_type = "miot"
default_plan = "free"

[service_types.miot]
sst = 3
ambr_ul = "1 Mbps"
ambr_dl = 2000

[plans.free]
service_types = ["miot"]
"""


def _load(tmp_path: Path, text: str) -> CoreConfig:
    path = tmp_path / "core.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(path)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    assert info.value.exit_code == ExitCode.CONFIG
    return info.value.message


def test_minimal_file_gets_the_documented_defaults(tmp_path: Path) -> None:
    cfg = _load(tmp_path, MINIMAL)
    assert cfg.listen.host == "127.0.0.1"
    assert cfg.listen.port == 38412
    assert cfg.supi.routing_indicator == "0000"
    assert cfg.operator.amf == bytes.fromhex("8000")
    assert cfg.enrollment.reonboarding is Reonboarding.SAME_RECORD
    assert cfg.enrollment.blocklist == ()
    assert cfg.pki.crls == ()
    assert cfg.limits.timeout_seconds == 30.0
    assert cfg.limits.max_frame == 65535
    assert cfg.service_types["miot"].ambr_ul == 1_000_000
    assert cfg.service_types["miot"].ambr_dl == 2000
    assert cfg.service_types["miot"].sd is None
    assert cfg.service_types["miot"].dnn == "internet"
    assert cfg.plans["free"].requires == ()
    assert cfg.supi.capacity == 99
    assert cfg.supi_for("0000000007") == "imsi-001010000000007"


def test_relative_paths_resolve_against_the_file_folder(tmp_path: Path) -> None:
    cfg = _load(tmp_path, MINIMAL)
    assert cfg.pki.core_cert == tmp_path / "pki/core.pem"
    assert cfg.pki.trust_anchors == (tmp_path / "pki/root.pem",)
    assert cfg.store.path == tmp_path / "store.sqlite"
    assert cfg.suci.profile_b_key_file == Path("/abs/b.key")


def test_relative_paths_do_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "core.toml").write_text(MINIMAL, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    cfg = config.load(Path("core.toml"))
    assert cfg.store.path == tmp_path / "store.sqlite"


def test_unknown_key_is_named_with_file_and_section(tmp_path: Path) -> None:
    message = _error(tmp_path, MINIMAL + '\n[listen]\nhots = "0.0.0.0"\n')
    assert message.startswith(f"{tmp_path / 'core.toml'}: [listen] ")
    assert 'unknown key "hots" (did you mean "host"?)' in message


def test_unknown_section_is_named(tmp_path: Path) -> None:
    message = _error(tmp_path, MINIMAL + "\n[limit]\nmax_frame = 1000\n")
    assert 'unknown section "limit" (did you mean "limits"?)' in message


def test_unknown_key_in_a_named_table(tmp_path: Path) -> None:
    message = _error(tmp_path, MINIMAL.replace("sst = 3", "sst = 3\nsdd = 'abcdef'"))
    assert "[service_types.miot]" in message
    assert 'unknown key "sdd" (did you mean "sd"?)' in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("sst = 3", 'sst = "3"', '[service_types.miot] sst: expected an integer, got string "3"'),
        (
            'mcc = "001"',
            "mcc = 1",
            "[network] mcc: expected a string, got integer 1",
        ),
        (
            'trust_anchors = ["pki/root.pem"]',
            'trust_anchors = "pki/root.pem"',
            '[pki] trust_anchors: expected an array of strings, got string "pki/root.pem"',
        ),
        (
            "profile_a_key_id = 1",
            "profile_a_key_id = true",
            "[suci] profile_a_key_id: expected an integer, got boolean true",
        ),
        (
            "ambr_dl = 2000",
            "ambr_dl = 2.5",
            "[service_types.miot] ambr_dl: expected a string or an integer, got float 2.5",
        ),
    ],
)
def test_type_errors_name_the_key_and_the_expected_type(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    assert old in MINIMAL
    assert expected in _error(tmp_path, MINIMAL.replace(old, new))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('mnc = "01"', 'mnc = "1"', "[network] mnc: must be 2 or 3 digits"),
        ('msin_end = "0000000099"', 'msin_end = "99"', "as many digits as msin_start"),
        ('msin_end = "0000000099"', 'msin_end = "0000000000"', "is below msin_start"),
        ('msin_start = "0000000001"', 'msin_start = "00000000001"', "must be 1 to 10 digits"),
        ("profile_b_key_id = 2", "profile_b_key_id = 256", "profile_b_key_id: must be 0-255"),
        ("sst = 3", "sst = 3\nsd = 'xyz'", 'sd: must be 6 hex digits, got "xyz"'),
        ('ambr_ul = "1 Mbps"', 'ambr_ul = "1 Mbit"', '"1 Mbit" is not a bit rate'),
        ('default_plan = "free"', 'default_plan = "gold"', 'unknown plan "gold"; defined: free'),
        (
            'default_service_type = "miot"',
            'default_service_type = "embb"',
            'unknown service type "embb"; defined: miot',
        ),
        (
            "[enrollment]",
            '[enrollment]\nreonboarding = "again"',
            "reonboarding: one of: same-record, new-record, refuse",
        ),
        (
            "[enrollment]",
            '[enrollment]\nblocklist = ["490154203237519"]',
            '"490154203237519" is not an IMEI',
        ),
        ("[plans.free]", "[plans.free]\nrequires = ['acount']", 'requires: unknown field "acount"'),
        (
            'service_types = ["miot"]',
            'service_types = ["miot", "embb"]',
            '[plans.free] service_types: unknown service type "embb"',
        ),
        ("[plans.free]", "[plans.free]\nrequires = ['account']", "must require no billing"),
        ('core_key = "pki/core.key"', "", "[pki]: missing key 'core_key'"),
    ],
)
def test_invalid_values_are_explained(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in MINIMAL
    assert expected in _error(tmp_path, MINIMAL.replace(old, new, 1))


def test_the_plan_requirement_message_lists_allowed_fields(tmp_path: Path) -> None:
    text = MINIMAL + '\n[plans.metered]\nrequires = ["acount"]\nservice_types = ["miot"]\n'
    message = _error(tmp_path, text)
    assert re.search(
        r'core\.toml: \[plans\.metered\] requires: unknown field "acount"; '
        r"allowed: account, contact, purchase_order$",
        message,
    )


def test_the_default_service_type_must_be_allowed_by_the_default_plan(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        "[plans.free]", "[service_types.embb]\nsst = 1\nambr_ul = 1\nambr_dl = 1\n\n[plans.free]"
    ).replace('default_service_type = "miot"', 'default_service_type = "embb"')
    assert 'not allowed by the default plan "free"' in _error(tmp_path, text)


def test_a_valid_blocklist_is_kept(tmp_path: Path) -> None:
    cfg = _load(
        tmp_path, MINIMAL.replace("[enrollment]", '[enrollment]\nblocklist = ["490154203237518"]')
    )
    assert cfg.enrollment.blocklist == ("490154203237518",)


def test_missing_section_and_bad_toml(tmp_path: Path) -> None:
    without_store = MINIMAL.replace('[store]\npath = "store.sqlite"\nkey_file = "store.key"\n', "")
    assert without_store != MINIMAL
    assert _error(tmp_path, without_store).endswith("core.toml: missing section [store]")
    assert "not valid TOML" in _error(tmp_path, "[network\n")
    with pytest.raises(ConfigError, match="not found"):
        config.load(tmp_path / "nope.toml")


def test_check_files_lists_missing_files_and_open_secrets(tmp_path: Path) -> None:
    cfg = _load(tmp_path, MINIMAL)
    with pytest.raises(ConfigError) as info:
        cfg.check_files()
    assert f"{tmp_path / 'pki/core.pem'}: not found" in info.value.message
    assert f"{tmp_path / 'store.key'}: not found" in info.value.message

    paths = [
        cfg.pki.core_cert,
        cfg.pki.core_chain,
        *cfg.pki.trust_anchors,
        *cfg.pki.manufacturer_cas,
    ]
    secrets = [
        cfg.pki.core_key,
        cfg.operator.op_file,
        cfg.suci.profile_a_key_file,
        cfg.store.key_file,
    ]
    for path in [*paths, *secrets]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.chmod(path, 0o600)
    os.chmod(cfg.store.key_file, 0o644)
    with pytest.raises(ConfigError) as info:
        cfg.check_files()
    assert info.value.message == (
        "core configuration: /abs/b.key: not found; "
        f"{cfg.store.key_file}: a secret readable by others (mode 0644); "
        f"run: chmod 600 {cfg.store.key_file}"
    )
