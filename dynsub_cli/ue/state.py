"""The UE's state file: the generated subscription, as the UE keeps it between runs.

TOML, mode 0600, written atomically (a crash leaves the old file or the whole new one), and
only after the core has confirmed the record. It holds K, so it is the UE's secret: the USIM of
this toolkit.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from dynsub_cli.errors import BadInput
from dynsub_cli.files import read_secret, write_secret
from dynsub_cli.nas.dialogue import HomeNetworkPublicKey

FORMAT = 1


@dataclass(frozen=True, slots=True)
class UeState:
    supi: str  # imsi-<mcc><mnc><msin>
    imei: str
    mcc: str
    mnc: str
    routing_indicator: str
    k: bytes = field(repr=False)
    opc: bytes = field(repr=False)
    amf: bytes
    #: TS 33.102 C.1: the highest SQN the USIM has accepted (0: none yet).
    sqn_ms: int
    home_network_keys: tuple[HomeNetworkPublicKey, ...]
    allowed_nssai: tuple[tuple[int, str | None], ...]  # (sst, sd hex or None)
    ambr_uplink_bps: int
    ambr_downlink_bps: int
    service_type: str
    plan: str

    @property
    def msin(self) -> str:
        return self.supi.removeprefix("imsi-")[len(self.mcc) + len(self.mnc) :]

    def preferred_key(self) -> HomeNetworkPublicKey | None:
        """Profile B where the network offers it (its curve is the one of our PKI), else A."""
        return max(self.home_network_keys, key=lambda key: key.scheme, default=None)

    def with_sqn(self, sqn_ms: int) -> UeState:
        return replace(self, sqn_ms=sqn_ms)


def save(path: Path, state: UeState) -> None:
    document: dict[str, Any] = {
        "format": FORMAT,
        "subscription": {
            "supi": state.supi,
            "imei": state.imei,
            "mcc": state.mcc,
            "mnc": state.mnc,
            "routing_indicator": state.routing_indicator,
            "service_type": state.service_type,
            "plan": state.plan,
            "ambr_uplink_bps": state.ambr_uplink_bps,
            "ambr_downlink_bps": state.ambr_downlink_bps,
            "allowed_nssai": [
                {"sst": sst, **({"sd": sd} if sd else {})} for sst, sd in state.allowed_nssai
            ],
        },
        "usim": {
            "k": state.k.hex(),
            "opc": state.opc.hex(),
            "amf": state.amf.hex(),
            "sqn_ms": state.sqn_ms,
        },
        "home_network_keys": [
            {"scheme": key.scheme, "key_id": key.key_id, "public_key": key.public_key.hex()}
            for key in state.home_network_keys
        ],
    }
    write_secret(path, tomli_w.dumps(document).encode())


def load(path: Path) -> UeState:
    raw = read_secret(path, "UE state file")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
        if doc.get("format") != FORMAT:
            raise BadInput(f"{path}: state file format {doc.get('format')!r} is not {FORMAT}")
        sub, usim = doc["subscription"], doc["usim"]
        return UeState(
            supi=sub["supi"],
            imei=sub["imei"],
            mcc=sub["mcc"],
            mnc=sub["mnc"],
            routing_indicator=sub["routing_indicator"],
            k=bytes.fromhex(usim["k"]),
            opc=bytes.fromhex(usim["opc"]),
            amf=bytes.fromhex(usim["amf"]),
            sqn_ms=int(usim["sqn_ms"]),
            home_network_keys=tuple(
                HomeNetworkPublicKey(
                    int(k["scheme"]), int(k["key_id"]), bytes.fromhex(k["public_key"])
                )
                for k in doc.get("home_network_keys", [])
            ),
            allowed_nssai=tuple((int(s["sst"]), s.get("sd")) for s in sub["allowed_nssai"]),
            ambr_uplink_bps=int(sub["ambr_uplink_bps"]),
            ambr_downlink_bps=int(sub["ambr_downlink_bps"]),
            service_type=sub["service_type"],
            plan=sub["plan"],
        )
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, KeyError, ValueError, TypeError) as err:
        raise BadInput(
            f"{path}: not a dynsub UE state file ({type(err).__name__}: {err}); "
            "onboard the device again (`dynsub ue onboard`)"
        ) from err
