"""`dynsub crypto` reproduces the published vectors from the command line."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from dynsub_cli.cli import main
from dynsub_cli.errors import ExitCode
from dynsub_cli.nas.enums import ProtectionScheme
from dynsub_cli.security import keys
from dynsub_cli.security.ecies import HomeNetworkKey
from tests.unit.security._vectors import load

MILENAGE: list[dict[str, Any]] = load("milenage.json")["sets"]
SUCI = load("suci.json")


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["crypto", *args])


def run_json(*args: str) -> dict[str, Any]:
    result = run(*args, "--json")
    assert result.exit_code == ExitCode.OK, result.stderr
    value: dict[str, Any] = json.loads(result.stdout)
    return value


@pytest.mark.parametrize("v", MILENAGE, ids=lambda v: f"set{v['set']}")
def test_milenage_json_reproduces_ts_35_208(v: dict[str, Any]) -> None:
    common = ["--k", v["K"], "--rand", v["RAND"], "--sqn", v["SQN"], "--amf", v["AMF"]]
    for key_option in (["--op", v["OP"]], ["--opc", v["OPc"]]):
        out = run_json("milenage", *common, *key_option)
        assert out["opc"] == v["OPc"]
        assert (out["mac_a"], out["mac_s"], out["res"]) == (v["f1"], v["f1star"], v["f2"])
        assert (out["ck"], out["ik"]) == (v["f3"], v["f4"])
        assert (out["ak"], out["ak_star"]) == (v["f5"], v["f5star"])
        sqn_xor_ak = int(v["SQN"], 16) ^ int(v["f5"], 16)
        assert out["autn"] == f"{sqn_xor_ak:012x}{v['AMF']}{v['f1']}"


def test_milenage_table_output() -> None:
    v = MILENAGE[0]
    result = run(
        "milenage",
        "--k",
        v["K"],
        "--op",
        v["OP"],
        "--rand",
        v["RAND"],
        "--sqn",
        v["SQN"],
        "--amf",
        v["AMF"],
    )
    assert result.exit_code == ExitCode.OK
    assert v["f1"] in result.stdout
    assert "mac_a" in result.stdout


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--k", "465b5ce8b199b49faa5f0a2ee238a6bz", "--k: not hexadecimal"),
        ("--rand", "00", "--rand: expected 16 octets (32 hex digits), got 1"),
        ("--sqn", "0011223344", "--sqn: expected 6 octets"),
        ("--amf", "xyz", "--amf: not hexadecimal"),
        ("--op", "00" * 15, "--op: expected 16 octets"),
    ],
)
def test_milenage_bad_hex_names_the_option(option: str, value: str, message: str) -> None:
    v = MILENAGE[0]
    args = {
        "--k": v["K"],
        "--op": v["OP"],
        "--rand": v["RAND"],
        "--sqn": v["SQN"],
        "--amf": v["AMF"],
    }
    args[option] = value
    result = run("milenage", *[x for pair in args.items() for x in pair], "--json")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"dynsub: error: {message}" in result.stderr
    error = json.loads(result.stdout)["error"]
    assert (error["code"], error["exit_status"]) == ("BAD_INPUT", ExitCode.BAD_INPUT)
    assert message in error["message"]


def test_milenage_needs_exactly_one_of_op_and_opc() -> None:
    v = MILENAGE[0]
    common = ["--k", v["K"], "--rand", v["RAND"], "--sqn", v["SQN"], "--amf", v["AMF"]]
    result = run("milenage", *common)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "exactly one of --op or --opc" in result.stderr
    result = run("milenage", *common, "--op", v["OP"], "--opc", v["OPc"])
    assert result.exit_code == ExitCode.BAD_INPUT


PROFILES = [
    ("profile_a_imsi", "A", ["--supi", "imsi-274012001002086", "--mnc-length", "3"]),
    ("profile_b_imsi", "B", ["--supi", "imsi-274012001002086", "--mnc-length", "3"]),
    ("profile_a_nai", "A", ["--nai", "verylongusername1@3gpp.com"]),
    ("profile_b_nai", "B", ["--nai", "verylongusername1@3gpp.com"]),
]


@pytest.mark.parametrize(("case", "scheme", "identity"), PROFILES)
def test_suci_conceal_and_deconceal_reproduce_ts_33_501_c4(
    case: str, scheme: str, identity: list[str]
) -> None:
    v = SUCI[case]
    out = run_json(
        "suci",
        "conceal",
        *identity,
        "--scheme",
        scheme,
        "--hn-public",
        v["hn_public"],
        "--key-id",
        "1",
        "--eph-private",
        v["eph_private"],
    )
    expected = v["eph_public"] + v["ciphertext"] + v["mac"]
    assert out["scheme_output"] == expected
    assert out["suci"].endswith(f"-{'1' if scheme == 'A' else '2'}-1-{expected}")
    if "scheme_output_text" in v:
        assert f".{v['scheme_output_text'].lower()}@3gpp.com" in out["nai"]
    back = run_json("suci", "deconceal", "--suci", out["suci"], "--hn-private", v["hn_private"])
    supi = "imsi-274012001002086" if identity[0] == "--supi" else "nai-verylongusername1@3gpp.com"
    assert back["supi"] == supi


def test_suci_null_scheme_c421() -> None:
    out = run_json(
        "suci",
        "conceal",
        "--supi",
        "imsi-274012001002086",
        "--mnc-length",
        "3",
        "--scheme",
        "null",
        "--routing-indicator",
        "0000",
    )
    assert out["suci"] == "suci-0-274-012-0000-0-0-001002086"
    assert out["scheme_output"] == SUCI["null_scheme_imsi"]["scheme_output"]
    back = run_json("suci", "deconceal", "--suci", out["suci"])
    assert back["supi"] == "imsi-274012001002086"


def test_suci_errors() -> None:
    v = SUCI["profile_a_imsi"]
    result = run(
        "suci", "conceal", "--supi", "imsi-001010000000001", "--scheme", "A", "--hn-public", "zz"
    )
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "--hn-public: not hexadecimal" in result.stderr
    result = run("suci", "conceal", "--supi", "imsi-001010000000001", "--scheme", "B")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "--hn-public is needed" in result.stderr
    result = run("suci", "conceal", "--scheme", "null")
    assert result.exit_code == ExitCode.BAD_INPUT
    suci_text = f"suci-0-274-012-0-1-1-{v['scheme_output']}"
    result = run("suci", "deconceal", "--suci", suci_text, "--hn-private", "00" * 31)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "--hn-private: expected 32 octets" in result.stderr
    other = HomeNetworkKey.generate(ProtectionScheme.PROFILE_A)
    result = run("suci", "deconceal", "--suci", suci_text, "--hn-private", other.private_key.hex())
    assert result.exit_code == ExitCode.AUTH
    assert "MAC tag does not verify" in result.stderr
    result = run("suci", "deconceal", "--suci", "suci-9-nonsense")
    assert result.exit_code == ExitCode.BAD_INPUT


@pytest.mark.parametrize("profile", ["A", "B"])
def test_keygen(profile: str, tmp_path: Path) -> None:
    pem = tmp_path / "hn.pem"
    out = run_json("keygen", "--profile", profile, "--out", str(pem))
    key = HomeNetworkKey.from_pem(pem.read_bytes())
    assert key.private_key.hex() == out["private_key"]
    assert key.public_key.hex() == out["public_key"]
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    again = run("keygen", "--profile", profile, "--out", str(pem))
    assert again.exit_code == ExitCode.CONFLICT


def test_kdf_chain_matches_the_library() -> None:
    ck_ik = bytes(range(32))
    snn = keys.serving_network_name("001", "01")
    kausf = run_json(
        "kdf",
        "kausf",
        "--key",
        ck_ik.hex(),
        "--mcc",
        "001",
        "--mnc",
        "01",
        "--sqn-xor-ak",
        "bb52e91c747a",
    )["kausf"]
    assert (
        kausf == keys.kausf_5g_aka(ck_ik[:16], ck_ik[16:], snn, bytes.fromhex("bb52e91c747a")).hex()
    )
    kseaf = run_json("kdf", "kseaf", "--key", kausf, "--snn", snn)["kseaf"]
    assert kseaf == keys.kseaf(bytes.fromhex(kausf), snn).hex()
    kamf = run_json("kdf", "kamf", "--key", kseaf, "--supi", "imsi-001010000000001")["kamf"]
    assert kamf == keys.kamf(bytes.fromhex(kseaf), "imsi-001010000000001").hex()
    nas = run_json("kdf", "nas-keys", "--key", kamf)
    derived = keys.nas_keys(bytes.fromhex(kamf), 2, 2)
    assert (nas["k_nas_enc"], nas["k_nas_int"]) == (
        derived.k_nas_enc.hex(),
        derived.k_nas_int.hex(),
    )
    rs = run_json(
        "kdf",
        "res-star",
        "--key",
        ck_ik.hex(),
        "--snn",
        snn,
        "--rand",
        "00" * 16,
        "--res",
        "a54211d5e3ba50bf",
    )
    assert (
        rs["res_star"]
        == keys.res_star(
            ck_ik[:16], ck_ik[16:], snn, bytes(16), bytes.fromhex("a54211d5e3ba50bf")
        ).hex()
    )
    hrs = run_json("kdf", "hres-star", "--rand", "00" * 16, "--res-star", rs["res_star"])
    assert hrs["hres_star"] == rs["hres_star"]
    emsk = "ab" * 64
    assert run_json("kdf", "kausf-eap-tls", "--key", emsk)["kausf"] == "ab" * 32


def test_kdf_missing_or_bad_inputs_name_the_option() -> None:
    result = run("kdf", "kseaf", "--key", "00" * 32)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "give --snn, or --mcc and --mnc" in result.stderr
    result = run("kdf", "kamf", "--key", "00" * 32)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "--supi is needed" in result.stderr
    result = run("kdf", "kseaf", "--key", "00" * 31, "--snn", "x")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "--key: expected 32 octets" in result.stderr
    result = run("kdf", "nope")
    assert result.exit_code == ExitCode.USAGE
