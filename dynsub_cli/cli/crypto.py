"""`dynsub crypto`: 3GPP functions by hand, for checking SIMs and traces.

Thin: each command parses its options (hex in, with errors naming the option), calls one
function of :mod:`dynsub_cli.security`, and renders a table or ``--json``. The SUCI commands
import SUCI, ECIES and the NAS code points when they run: Milenage and the KDFs need none of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dynsub_cli.cli import render
from dynsub_cli.errors import BadInput
from dynsub_cli.security import aka, keys, milenage

if TYPE_CHECKING:
    from dynsub_cli.nas.enums import ProtectionScheme
    from dynsub_cli.security.suci import Suci

JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")


def _hex(option: str, value: str, length: int | None = None) -> bytes:
    """Octets from a hex option; spaces and colons are allowed, a 0x prefix too."""
    text = re.sub(r"[\s:]", "", value)
    text = text[2:] if text.lower().startswith("0x") else text
    try:
        octets = bytes.fromhex(text)
    except ValueError as err:
        raise BadInput(f"{option}: not hexadecimal: {value!r}") from err
    if length is not None and len(octets) != length:
        raise BadInput(
            f"{option}: expected {length} octets ({2 * length} hex digits), got {len(octets)}"
        )
    return octets


def _show(title: str, rows: Sequence[tuple[str, Any]], as_json: bool) -> None:
    if as_json:
        render.emit_json(dict(rows))
    else:
        render.key_values(title, rows)


@click.group()
def crypto() -> None:
    """3GPP functions by hand: Milenage, SUCI conceal/deconceal, key derivations."""


# --- milenage ------------------------------------------------------------------------------


@crypto.command("milenage")
@click.option("--k", "k_hex", required=True, metavar="HEX", help="Subscriber key K (16 octets).")
@click.option("--op", "op_hex", metavar="HEX", help="Operator variant OP (16 octets).")
@click.option("--opc", "opc_hex", metavar="HEX", help="OPc (16 octets), instead of --op.")
@click.option("--rand", "rand_hex", required=True, metavar="HEX", help="RAND (16 octets).")
@click.option("--sqn", "sqn_hex", required=True, metavar="HEX", help="SQN (6 octets).")
@click.option("--amf", "amf_hex", required=True, metavar="HEX", help="AMF (2 octets).")
@JSON
def milenage_command(
    k_hex: str,
    op_hex: str | None,
    opc_hex: str | None,
    rand_hex: str,
    sqn_hex: str,
    amf_hex: str,
    as_json: bool,
) -> None:
    """MILENAGE f1..f5* (TS 35.206): OPc, MAC-A, MAC-S, RES, CK, IK, AK, AK* and AUTN."""
    if (op_hex is None) == (opc_hex is None):
        raise BadInput("give exactly one of --op or --opc")
    k = _hex("--k", k_hex, 16)
    rand = _hex("--rand", rand_hex, 16)
    sqn = _hex("--sqn", sqn_hex, 6)
    amf = _hex("--amf", amf_hex, 2)
    result = milenage.milenage(
        k,
        rand=rand,
        sqn=sqn,
        amf=amf,
        op=_hex("--op", op_hex, 16) if op_hex is not None else None,
        opc=_hex("--opc", opc_hex, 16) if opc_hex is not None else None,
    )
    autn = aka.build_autn(k, result.opc, rand, int.from_bytes(sqn, "big"), amf)
    rows = [
        ("opc", result.opc.hex()),
        ("mac_a", result.mac_a.hex()),
        ("mac_s", result.mac_s.hex()),
        ("res", result.res.hex()),
        ("ck", result.ck.hex()),
        ("ik", result.ik.hex()),
        ("ak", result.ak.hex()),
        ("ak_star", result.ak_star.hex()),
        ("autn", autn.hex()),
    ]
    _show("MILENAGE (TS 35.206)", rows, as_json)


# --- suci ----------------------------------------------------------------------------------


def _scheme(name: str) -> ProtectionScheme:
    """--scheme null, A or B (--profile A or B): the protection scheme of TS 33.501 C.1."""
    from dynsub_cli.nas.enums import ProtectionScheme

    return {
        "null": ProtectionScheme.NULL,
        "a": ProtectionScheme.PROFILE_A,
        "b": ProtectionScheme.PROFILE_B,
    }[name.lower()]


def _suci_rows(value: Suci) -> list[tuple[str, Any]]:
    return [
        ("suci", value.to_string()),
        ("nai", value.to_nai()),
        ("supi_type", value.supi_type),
        ("home_network", value.home_network_identifier),
        ("routing_indicator", value.routing_indicator),
        ("protection_scheme", value.protection_scheme),
        ("hn_key_id", value.hn_key_id),
        ("scheme_output", value.scheme_output.hex()),
    ]


@crypto.group("suci")
def suci_group() -> None:
    """SUCI conceal and deconceal (TS 33.501 Annex C, null scheme and Profiles A/B)."""


@suci_group.command("conceal")
@click.option("--supi", help="An IMSI SUPI: imsi-<digits>.")
@click.option("--nai", help="A network specific identifier SUPI: user@realm.")
@click.option(
    "--scheme",
    type=click.Choice(["null", "A", "B"], case_sensitive=False),
    required=True,
    help="Protection scheme: null, Profile A (X25519) or Profile B (P-256).",
)
@click.option("--hn-public", metavar="HEX", help="Home network public key (Profiles A/B).")
@click.option("--key-id", type=click.IntRange(0, 255), default=None, help="HN public key id.")
@click.option("--routing-indicator", default="0", show_default=True, help="1 to 4 digits.")
@click.option(
    "--mnc-length",
    type=click.Choice(["2", "3"]),
    default="2",
    show_default=True,
    help="Digits of the MNC in the IMSI.",
)
@click.option("--eph-private", metavar="HEX", help="Ephemeral private key: to reproduce vectors.")
@JSON
def conceal_command(
    supi: str | None,
    nai: str | None,
    scheme: str,
    hn_public: str | None,
    key_id: int | None,
    routing_indicator: str,
    mnc_length: str,
    eph_private: str | None,
    as_json: bool,
) -> None:
    """Conceal a SUPI into a SUCI (UE side)."""
    from dynsub_cli.nas.enums import ProtectionScheme
    from dynsub_cli.security import suci

    if (supi is None) == (nai is None):
        raise BadInput("give exactly one of --supi imsi-<digits> or --nai user@realm")
    if supi is not None and not supi.startswith("imsi-"):
        raise BadInput(f"--supi {supi!r}: expected imsi-<digits> (use --nai for user@realm)")
    chosen = _scheme(scheme)
    if chosen != ProtectionScheme.NULL and hn_public is None:
        raise BadInput(f"--hn-public is needed for --scheme {scheme}")
    value = suci.conceal(
        supi if supi is not None else f"nai-{nai}",
        scheme=chosen,
        hn_public_key=_hex("--hn-public", hn_public) if hn_public is not None else b"",
        hn_key_id=(key_id if key_id is not None else (0 if chosen == ProtectionScheme.NULL else 1)),
        routing_indicator=routing_indicator,
        mnc_length=int(mnc_length),
        eph_private_key=_hex("--eph-private", eph_private, 32) if eph_private else None,
    )
    _show("SUCI", _suci_rows(value), as_json)


@suci_group.command("deconceal")
@click.option("--suci", "suci_text", required=True, help="suci-0-<mcc>-<mnc>-... string.")
@click.option("--hn-private", metavar="HEX", help="Home network private key (32 octets).")
@JSON
def deconceal_command(suci_text: str, hn_private: str | None, as_json: bool) -> None:
    """Recover the SUPI from a SUCI (home network side)."""
    from dynsub_cli.nas.enums import ProtectionScheme
    from dynsub_cli.security import suci
    from dynsub_cli.security.ecies import HomeNetworkKey

    value = suci.parse(suci_text)
    hn_keys: dict[int, HomeNetworkKey] = {}
    if value.protection_scheme != ProtectionScheme.NULL:
        if hn_private is None:
            raise BadInput("--hn-private is needed to deconceal a Profile A/B SUCI")
        scheme = ProtectionScheme(value.protection_scheme)
        hn_keys[value.hn_key_id] = HomeNetworkKey(scheme, _hex("--hn-private", hn_private, 32))
    supi = suci.deconceal(value, hn_keys)
    _show("SUCI deconcealed", [("supi", supi), *_suci_rows(value)], as_json)


# --- keygen --------------------------------------------------------------------------------


@crypto.command("keygen")
@click.option(
    "--profile",
    type=click.Choice(["A", "B"], case_sensitive=False),
    required=True,
    help="A: X25519; B: P-256 (public key compressed).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the private key as PKCS#8 PEM (mode 0600).",
)
@JSON
def keygen_command(profile: str, out: Path | None, as_json: bool) -> None:
    """Generate a home network key pair for SUCI Profile A or B."""
    from dynsub_cli.files import write_secret
    from dynsub_cli.security.ecies import HomeNetworkKey

    key = HomeNetworkKey.generate(_scheme(profile))
    if out is not None:
        write_secret(out, key.to_pem(), overwrite=False)
    rows: list[tuple[str, Any]] = [
        ("profile", profile.upper()),
        ("private_key", key.private_key.hex()),
        ("public_key", key.public_key.hex()),
    ]
    if out is not None:
        rows.append(("pem_file", str(out)))
    _show("Home network key", rows, as_json)


# --- kdf -----------------------------------------------------------------------------------


def _snn(snn: str | None, mcc: str | None, mnc: str | None) -> str:
    if snn is not None:
        return snn
    if mcc is None or mnc is None:
        raise BadInput("give --snn, or --mcc and --mnc to build the serving network name")
    return keys.serving_network_name(mcc, mnc)


def _need(option: str, value: str | None) -> str:
    if value is None:
        raise BadInput(f"{option} is needed for this derivation")
    return value


class _Inputs:
    """The options of `dynsub crypto kdf`, with helpers that name the option on errors."""

    def __init__(self, **options: Any) -> None:
        self.o = options

    def octets(self, option: str, length: int | None = None) -> bytes:
        name = option.lstrip("-").replace("-", "_")
        return _hex(option, _need(option, self.o[name]), length)

    def snn(self) -> str:
        return _snn(self.o["snn"], self.o["mcc"], self.o["mnc"])


def _kausf(i: _Inputs) -> list[tuple[str, Any]]:
    ck_ik = i.octets("--key", 32)
    value = keys.kausf_5g_aka(ck_ik[:16], ck_ik[16:], i.snn(), i.octets("--sqn-xor-ak", 6))
    return [("kausf", value.hex())]


def _kausf_eap_tls(i: _Inputs) -> list[tuple[str, Any]]:
    return [("kausf", keys.kausf_eap_tls(i.octets("--key")).hex())]


def _res_star(i: _Inputs) -> list[tuple[str, Any]]:
    ck_ik = i.octets("--key", 32)
    rand = i.octets("--rand", 16)
    value = keys.res_star(ck_ik[:16], ck_ik[16:], i.snn(), rand, i.octets("--res"))
    return [("res_star", value.hex()), ("hres_star", keys.hres_star(rand, value).hex())]


def _hres_star(i: _Inputs) -> list[tuple[str, Any]]:
    return [("hres_star", keys.hres_star(i.octets("--rand", 16), i.octets("--res-star", 16)).hex())]


def _kseaf(i: _Inputs) -> list[tuple[str, Any]]:
    return [("kseaf", keys.kseaf(i.octets("--key", 32), i.snn()).hex())]


def _kamf(i: _Inputs) -> list[tuple[str, Any]]:
    value = keys.kamf(i.octets("--key", 32), _need("--supi", i.o["supi"]), i.octets("--abba"))
    return [("kamf", value.hex())]


def _nas_keys(i: _Inputs) -> list[tuple[str, Any]]:
    derived = keys.nas_keys(i.octets("--key", 32), i.o["nea"], i.o["nia"])
    return [("k_nas_enc", derived.k_nas_enc.hex()), ("k_nas_int", derived.k_nas_int.hex())]


_DERIVATIONS: dict[str, Callable[[_Inputs], list[tuple[str, Any]]]] = {
    "kausf": _kausf,
    "kausf-eap-tls": _kausf_eap_tls,
    "res-star": _res_star,
    "hres-star": _hres_star,
    "kseaf": _kseaf,
    "kamf": _kamf,
    "nas-keys": _nas_keys,
}


@crypto.command("kdf")
@click.argument("name", type=click.Choice(sorted(_DERIVATIONS)))
@click.option("--key", metavar="HEX", help="Input key (see the list above).")
@click.option("--snn", help="Serving network name, e.g. 5G:mnc001.mcc001.3gppnetwork.org.")
@click.option("--mcc", help="MCC, to build the serving network name instead of --snn.")
@click.option("--mnc", help="MNC, to build the serving network name instead of --snn.")
@click.option("--sqn-xor-ak", metavar="HEX", help="SQN xor AK (6 octets), for kausf.")
@click.option("--rand", metavar="HEX", help="RAND (16 octets).")
@click.option("--res", metavar="HEX", help="RES from f2, for res-star.")
@click.option("--res-star", metavar="HEX", help="RES* (16 octets), for hres-star.")
@click.option("--supi", help="SUPI for kamf: imsi-<digits> or nai-<user@realm>.")
@click.option("--abba", metavar="HEX", default="0000", show_default=True, help="ABBA, for kamf.")
@click.option("--nea", type=click.IntRange(0, 15), default=2, show_default=True, help="NEA id.")
@click.option("--nia", type=click.IntRange(0, 15), default=2, show_default=True, help="NIA id.")
@JSON
def kdf_command(name: str, as_json: bool, **options: Any) -> None:
    """A named key derivation of TS 33.501 Annex A.

    \b
    kausf          --key CK||IK, --snn, --sqn-xor-ak      (A.2)
    kausf-eap-tls  --key EMSK                             (B / 6.1.3.1)
    res-star       --key CK||IK, --snn, --rand, --res     (A.4, with HRES* of A.5)
    hres-star      --rand, --res-star                     (A.5)
    kseaf          --key KAUSF, --snn                     (A.6)
    kamf           --key KSEAF, --supi, --abba            (A.7)
    nas-keys       --key KAMF, --nea, --nia               (A.8)
    """
    rows = _DERIVATIONS[name](_Inputs(**options))
    _show(f"KDF {name} (TS 33.501 Annex A)", rows, as_json)
