"""The UE's state file: the generated subscription, as the UE keeps it between runs.

TOML, mode 0600, written atomically (a crash leaves the old file or the whole new one), and
only after the core has confirmed the record. It holds K, so it is the UE's secret: the USIM of
this toolkit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from dynsub_cli.errors import BadInput
from dynsub_cli.files import check_private, kind_of, parse_toml, read_limited, write_secret
from dynsub_cli.pki.imei import is_valid_imei

FORMAT = 1


@dataclass(frozen=True, slots=True)
class HomeNetworkKey:
    scheme: int  # 1 = Profile A (X25519), 2 = Profile B (P-256)
    key_id: int
    public_key: bytes


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
    home_network_keys: tuple[HomeNetworkKey, ...]
    allowed_nssai: tuple[tuple[int, str | None], ...]  # (sst, sd hex or None)
    ambr_uplink_bps: int
    ambr_downlink_bps: int
    service_type: str
    plan: str

    @property
    def msin(self) -> str:
        return self.supi.removeprefix("imsi-")[len(self.mcc) + len(self.mnc) :]

    def preferred_key(self) -> HomeNetworkKey | None:
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
    """Read the state file, refusing any field that is missing, unknown or out of range.

    What the file holds is checked before whether it is private, so that another file given in
    its place (a certificate) is named as such instead of being asked to be chmod-ed.
    """
    what = "UE state file"
    raw = read_limited(path, what)
    kind = kind_of(raw)
    if kind is not None:
        raise BadInput(f"{path}: {kind}, not a UE state file. {_WRITTEN_BY}")
    doc = parse_toml(raw, path, what, BadInput)
    if doc.get("format") != FORMAT and {"files", "format"} <= set(doc):
        raise BadInput(f"{path}: a PKI file (pki.toml), not a UE state file. {_WRITTEN_BY}")
    if "format" not in doc:
        raise BadInput(f"{path}: not a UE state file (no format key). {_WRITTEN_BY}")
    if doc["format"] != FORMAT:
        raise BadInput(f"{path}: state file format {doc['format']!r} is not {FORMAT}")
    check_private(path, what)
    top = _Table(path, "", doc)
    top.take("format", int)
    sub = top.table("subscription")
    usim = top.table("usim")
    mcc = sub.text("mcc", lambda v: _digits(v, 3, 3), "3 digits")
    mnc = sub.text("mnc", lambda v: _digits(v, 2, 3), "2 or 3 digits")
    supi = sub.text(
        "supi",
        lambda v: v.startswith(f"imsi-{mcc}{mnc}") and _digits(v[5:], 6, 15),
        f"imsi-{mcc}{mnc} and the MSIN, at most 15 digits in all (TS 23.003 2.2)",
    )
    state = UeState(
        supi=supi,
        imei=sub.text("imei", is_valid_imei, "an IMEI: 15 digits with its Luhn check digit"),
        mcc=mcc,
        mnc=mnc,
        routing_indicator=sub.text(
            "routing_indicator", lambda v: _digits(v, 1, 4), "1 to 4 digits (TS 23.003 2.2B)"
        ),
        k=usim.octets("k", (16,)),
        opc=usim.octets("opc", (16,)),
        amf=usim.octets("amf", (2,)),
        sqn_ms=usim.integer("sqn_ms", 0, SQN_MAX, "TS 33.102: SQN is 48 bits"),
        home_network_keys=tuple(
            _home_network_key(key) for key in top.tables("home_network_keys", required=False)
        ),
        allowed_nssai=tuple(_snssai(item) for item in sub.tables("allowed_nssai")),
        ambr_uplink_bps=sub.integer("ambr_uplink_bps", 1, MAX_BPS, "bit/s"),
        ambr_downlink_bps=sub.integer("ambr_downlink_bps", 1, MAX_BPS, "bit/s"),
        service_type=sub.text("service_type", bool, "a name"),
        plan=sub.text("plan", bool, "a name"),
    )
    for table in (sub, usim, top):
        table.finish()
    return state


_WRITTEN_BY = (
    "A UE state file is what onboarding writes (dynsub ue onboard); onboard again to get one"
)

#: TS 33.102 C.1.1: SQN is 48 bits.
SQN_MAX = 2**48 - 1
#: The AMBR as the store keeps it: a signed 64-bit integer.
MAX_BPS = 2**63 - 1
#: TS 33.501 C.3.4: Profile A public keys are 32 octets (X25519), Profile B's a SEC1 point,
#: compressed (33) or not (65).
_PUBLIC_KEY_OCTETS = {1: (32,), 2: (33, 65)}


def _digits(value: str, shortest: int, longest: int) -> bool:
    return value.isascii() and value.isdigit() and shortest <= len(value) <= longest


def _home_network_key(table: _Table) -> HomeNetworkKey:
    scheme = table.integer("scheme", 1, 2, "1 = Profile A, 2 = Profile B")
    key = HomeNetworkKey(
        scheme,
        table.integer("key_id", 0, 255, "TS 24.501 9.11.3.4: one octet"),
        table.octets("public_key", _PUBLIC_KEY_OCTETS[scheme]),
    )
    table.finish()
    return key


def _snssai(table: _Table) -> tuple[int, str | None]:
    sst = table.integer("sst", 0, 255, "TS 23.003 28.4.2: one octet")
    sd = table.take("sd", str, required=False)
    if sd is not None and not (len(sd) == 6 and _is_hex(sd)):
        raise table.error("sd", f'"{sd}" is not 6 hex digits (TS 23.003 28.4.2)')
    table.finish()
    return sst, sd


def _is_hex(value: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in value)


_TYPE_NAMES = {int: "an integer", str: "a string", list: "an array", dict: "a table"}


class _Table:
    """One table of the state file: each field taken once, by type; the rest is refused."""

    def __init__(self, path: Path, name: str, table: Any) -> None:
        self.path = path
        self.name = name
        self._table: dict[str, Any] = dict(table)
        self._known: list[str] = []

    def error(self, key: str, message: str) -> BadInput:
        where = f"[{self.name}] " if self.name else ""
        return BadInput(f"{self.path}: {where}{key}: {message}. {_WRITTEN_BY}")

    def take(self, key: str, kind: type, *, required: bool = True) -> Any:
        self._known.append(key)
        if key not in self._table:
            if required:
                raise self.error(key, "missing table" if kind is dict else "missing")
            return None
        value = self._table.pop(key)
        # TOML booleans are Python ints: a boolean is never a number here.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise self.error(key, f"expected {_TYPE_NAMES[kind]}, got {type(value).__name__}")
        return value

    def text(self, key: str, ok: Callable[[str], bool], expected: str) -> str:
        value: str = self.take(key, str)
        if not ok(value):
            raise self.error(key, f'"{value[:40]}" is not {expected}')
        return value

    def integer(self, key: str, low: int, high: int, why: str) -> int:
        value: int = self.take(key, int)
        if not low <= value <= high:
            raise self.error(key, f"{value} is outside {low}-{high} ({why})")
        return value

    def octets(self, key: str, sizes: tuple[int, ...]) -> bytes:
        value: str = self.take(key, str)
        lengths = " or ".join(str(2 * n) for n in sizes)
        if not (_is_hex(value) and len(value) in {2 * n for n in sizes}):
            raise self.error(key, f"must be {lengths} hex digits")
        return bytes.fromhex(value)

    def table(self, key: str) -> _Table:
        name = f"{self.name}.{key}" if self.name else key
        return _Table(self.path, name, self.take(key, dict))

    def tables(self, key: str, *, required: bool = True) -> list[_Table]:
        items = self.take(key, list, required=required) or []
        name = f"{self.name}.{key}" if self.name else key
        found = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise self.error(f"{key}[{index}]", f"expected a table, got {type(item).__name__}")
            found.append(_Table(self.path, f"{name}[{index}]", item))
        return found

    def finish(self) -> None:
        if self._table:
            where = f"[{self.name}]" if self.name else "top level"
            raise BadInput(
                f"{self.path}: {where}: unknown key(s) {', '.join(sorted(self._table))} "
                f"(known: {', '.join(self._known)}). {_WRITTEN_BY}"
            )


def check_replaceable(path: Path) -> None:
    """Refuse to write the state over a file that is not a state file (a device certificate
    given as the state file by mistake would be lost)."""
    if not path.is_file():
        return
    head = read_limited(path, "UE state file")
    found = kind_of(head)
    if found is None and head:
        try:
            doc = parse_toml(head, path, "UE state file", BadInput)
        except BadInput:
            doc = {}
        if "usim" not in doc:
            found = "a file that is not a UE state file"
    if found is not None:
        raise BadInput(
            f"{path}: {found}; refusing to write the UE state over it: give a new file name"
        )
