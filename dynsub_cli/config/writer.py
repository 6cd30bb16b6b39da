"""Writing core.toml with comments a person can follow.

tomli-w writes no comments, so each section is rendered on its own with tomli-w and a comment
block is put above it. Paths inside the core folder are written relative to it, so the folder
can be moved as a whole. tests/unit/config/test_writer.py checks that what is written loads back
to the same values.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tomli_w

from dynsub_cli.config.core import (
    BILLING_FIELDS,
    FILE_NAME,
    IMSI_DIGITS,
    AuthenticationConfig,
    CoreConfig,
    EnrollmentConfig,
    ListenConfig,
    NetworkConfig,
    OperatorConfig,
    PkiConfig,
    Plan,
    ServiceType,
    StoreConfig,
    SuciConfig,
    SupiConfig,
    parse,
)
from dynsub_cli.config.units import format_bitrate
from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import ConfigError
from dynsub_cli.files import write_atomic

#: Where ``core init`` puts the secrets and the store, relative to the core folder.
DEFAULT_OP_FILE = Path("secrets/op.hex")
DEFAULT_SUCI_A_KEY = Path("secrets/suci-profile-a.key")
DEFAULT_SUCI_B_KEY = Path("secrets/suci-profile-b.key")
DEFAULT_STORE_KEY = Path("secrets/store.key")
DEFAULT_STORE = Path("subscriptions.sqlite")

_COMMENTS: dict[str, str] = {
    "header": """\
dynsub core configuration (man dynsub-core).
Relative paths are relative to the folder of this file. Unknown keys are errors.""",
    "network": """\
The PLMN this core serves. Every SUPI it allocates is imsi-<mcc><mnc><msin>.""",
    "listen": """\
TCP address of the onboarding and registration service (2-byte length + NAS PDU).
Read by Wireshark with: -d tcp.port==PORT,nas-5gs""",
    "pki": """\
core_cert/core_key/core_chain: what the core presents in EAP-TLS (operator branch).
trust_anchors: roots the core trusts for device chains.
manufacturer_cas: only devices issued by these CAs may onboard.
crls: revocation lists checked for every device certificate (may be empty); a CRL file
replaced while the core runs is read again at the next connection.""",
    "supi": """\
MSINs handed out to new subscriptions, inclusive, all with the same number of digits.
A SUPI is never reused, even after its subscription is deleted.
allocation: "random" (the default: SUPIs cannot be enumerated) or "sequential".
routing_indicator: TS 23.003 2.2B, 1-4 digits, sent to UEs for their SUCI.""",
    "operator": """\
op_file: the operator's OP (32 hex digits), readable by the owner only (chmod 600).
amf: the Authentication Management Field for 5G AKA (4 hex digits).""",
    "suci": """\
Home network private keys for SUCI concealment (TS 33.501 Annex C), chmod 600.
Profile A is X25519, Profile B is secp256r1; key ids are 0-255, one per key.""",
    "store": """\
The subscription store and the 32-byte key that seals K and OPc in it (chmod 600).
path: a SQLite file (one core). Or, for several cores sharing one PostgreSQL database,
url = "postgresql://USER@HOST:PORT/DATABASE" with the password in password_file (chmod 600)
or in libpq's PGPASSFILE/PGPASSWORD. The store key stays with the cores, never in the database.""",
    "enrollment": """\
reonboarding: what a device that onboards again gets:
  "same-record" keeps its SUPI and replaces K/OPc (the SQN restarts at 0),
  "new-record" marks the old record "replaced" and allocates a new SUPI,
  "refuse" rejects it as already onboarded.
blocklist: IMEIs that may never onboard.
on_revocation: what happens to a subscription whose device certificate a CRL lists:
  "suspend" (the default) suspends it at its next registration; "ignore" keeps serving it.
The default service type and plan are what a UE gets when it asks for nothing;
the default plan must need no billing information.""",
    "service_types": """\
Service types a UE may choose: S-NSSAI (sst 0-255, optional sd of 6 hex digits),
the data network (dnn) and the aggregate bit rates, e.g. "10 Mbps" (decimal units:
bps, Kbps, Mbps, Gbps, Tbps) or an integer in bit/s.""",
    "plans": f"""\
Billing plans: which service types they allow and which billing information the UE
must supply (requires; allowed fields: {", ".join(BILLING_FIELDS)}).""",
    "metrics": """\
Prometheus /metrics, /healthz and /readyz of the core (docs/operations.md).""",
    "hooks": """\
The onboarding provisioning hook: an executable (JSON on stdin and stdout) or an HTTP URL
(JSON POST), consulted before each commit (docs/operations.md).""",
    "limits": """\
timeout_seconds: a silent peer is dropped after this long (at most 3600).
max_connections: concurrent UE connections; the core closes any beyond it at once.
max_frame: largest NAS PDU accepted, in bytes (at most 65535; at least the largest
message a UE sends while onboarding, 1506 with these names: checked at load).
max_connections_per_peer: connections one host may hold at once (default 64, at most
  max_connections).
first_pdu_seconds: a new connection must send its first PDU within this long (default 5,
  at most timeout_seconds).
challenges_per_minute: 5G AKA challenges one SUPI may be sent per minute.""",
    "authentication": """\
Who checks the factory certificate: "builtin" (the core's AUSF) or "radius" (an AAA
server as Default Credentials Server, e.g. FreeRADIUS from `dynsub core radius-config`):
address HOST:PORT, secret_file (0600), timeout_seconds per try, retries after the first.""",
    "radius_server": """\
The built-in EAP-TLS server answering RADIUS, as another AMF's DCS: listen HOST:PORT,
secret_file (0600), clients: the NAS addresses allowed in.""",
}


def _comment(text: str) -> str:
    return "\n".join(f"# {line}" if line else "#" for line in text.splitlines()) + "\n"


def _path(path: Path, base: Path) -> str:
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _store(store: StoreConfig, base: Path) -> dict[str, str]:
    if store.url is None:
        return {"path": _path(store.path, base), "key_file": _path(store.key_file, base)}
    table = {"url": store.url, "key_file": _path(store.key_file, base)}
    if store.password_file is not None:
        table["password_file"] = _path(store.password_file, base)
    return table


def _tables(config: CoreConfig, base: Path) -> dict[str, dict[str, Any]]:
    pki = config.pki
    types: dict[str, Any] = {}
    for name, t in config.service_types.items():
        entry: dict[str, Any] = {"description": t.description, "sst": t.sst}
        if t.sd is not None:
            entry["sd"] = t.sd
        entry |= {
            "dnn": t.dnn,
            "ambr_ul": format_bitrate(t.ambr_ul),
            "ambr_dl": format_bitrate(t.ambr_dl),
        }
        types[name] = entry
    plans = {
        name: {
            "description": p.description,
            "requires": list(p.requires),
            "service_types": list(p.service_types),
        }
        for name, p in config.plans.items()
    }
    return {
        "network": {
            "mcc": config.network.mcc,
            "mnc": config.network.mnc,
            "name": config.network.name,
        },
        "listen": {"host": config.listen.host, "port": config.listen.port},
        "pki": {
            "core_cert": _path(pki.core_cert, base),
            "core_key": _path(pki.core_key, base),
            "core_chain": _path(pki.core_chain, base),
            "trust_anchors": [_path(p, base) for p in pki.trust_anchors],
            "manufacturer_cas": [_path(p, base) for p in pki.manufacturer_cas],
            "crls": [_path(p, base) for p in pki.crls],
        },
        "supi": {
            "msin_start": config.supi.msin_start,
            "msin_end": config.supi.msin_end,
            "routing_indicator": config.supi.routing_indicator,
            "allocation": config.supi.allocation.value,
        },
        "operator": {
            "op_file": _path(config.operator.op_file, base),
            "amf": config.operator.amf.hex(),
        },
        "suci": {
            "profile_a_key_file": _path(config.suci.profile_a_key_file, base),
            "profile_a_key_id": config.suci.profile_a_key_id,
            "profile_b_key_file": _path(config.suci.profile_b_key_file, base),
            "profile_b_key_id": config.suci.profile_b_key_id,
        },
        "store": _store(config.store, base),
        "enrollment": {
            "reonboarding": config.enrollment.reonboarding.value,
            "default_service_type": config.enrollment.default_service_type,
            "default_plan": config.enrollment.default_plan,
            "blocklist": list(config.enrollment.blocklist),
            "on_revocation": config.enrollment.on_revocation.value,
        },
        "service_types": types,
        "plans": plans,
        "limits": {
            "timeout_seconds": config.limits.timeout_seconds,
            "max_connections": config.limits.max_connections,
            "max_frame": config.limits.max_frame,
            "challenges_per_minute": config.limits.challenges_per_minute,
            # Unset, these follow max_connections and timeout_seconds (see the comment).
            **_set(
                max_connections_per_peer=config.limits.max_connections_per_peer,
                first_pdu_seconds=config.limits.first_pdu_seconds,
            ),
        },
        **_aaa_tables(config, base),
        **_operations(config, base),
    }


def _aaa_tables(config: CoreConfig, base: Path) -> dict[str, dict[str, Any]]:
    """[authentication] and [radius_server], written only when they say more than defaults."""
    tables: dict[str, dict[str, Any]] = {}
    auth = config.authentication
    if auth != AuthenticationConfig():
        tables["authentication"] = {
            "server": auth.server.value,
            "address": f"{auth.host}:{auth.port}",
            **({"secret_file": _path(auth.secret_file, base)} if auth.secret_file else {}),
            "timeout_seconds": auth.timeout_seconds,
            "retries": auth.retries,
        }
    dcs = config.radius_server
    if dcs is not None:
        tables["radius_server"] = {
            "listen": f"{dcs.host}:{dcs.port}",
            "secret_file": _path(dcs.secret_file, base),
            "clients": list(dcs.clients),
        }
    return tables


def _set(**values: object) -> dict[str, object]:
    return {key: value for key, value in values.items() if value is not None}


def _operations(config: CoreConfig, base: Path) -> dict[str, dict[str, Any]]:
    """[metrics] and [hooks], written only when set: a default core.toml has neither."""
    tables: dict[str, dict[str, Any]] = {}
    if config.metrics.listen is not None:
        host, port = config.metrics.listen
        tables["metrics"] = {"listen": f"{host}:{port}"}
    hook = config.hooks.onboarding
    if hook is not None:
        entry: dict[str, Any] = {}
        if hook.url is not None:
            entry["url"] = hook.url
        else:
            entry["command"] = [_path(Path(hook.command[0]), base), *hook.command[1:]]
        entry |= {"timeout_seconds": hook.timeout_seconds, "on_error": hook.on_error.value}
        tables["hooks"] = {"onboarding": entry}
    return tables


def dumps(config: CoreConfig, base: Path) -> str:
    """core.toml text for ``config``; paths under ``base`` are written relative to it."""
    parts = [_comment(_COMMENTS["header"])]
    for name, table in _tables(config, base).items():
        parts.append(_comment(_COMMENTS[name]) + tomli_w.dumps({name: table}))
    return "\n".join(parts)


def write(config: CoreConfig, path: Path, *, overwrite: bool = False) -> Path:
    """Write ``config`` to ``path`` atomically; an existing file is kept unless ``overwrite``."""
    text = dumps(config, path.absolute().parent)
    # What is written is what `core serve` will load: refuse here, with the same message, a
    # configuration it would refuse (core init must not leave a core that cannot serve).
    parse(tomllib.loads(text), file=str(path), base=path.absolute().parent)
    write_atomic(path, text.encode("utf-8"), overwrite=overwrite)
    return path


def default_config(
    directory: Path,
    *,
    mcc: str,
    mnc: str,
    core_cert: Path,
    core_key: Path,
    core_chain: Path,
    trust_anchors: Sequence[Path],
    manufacturer_cas: Sequence[Path],
    crls: Sequence[Path] = (),
    network_name: str = "dynsub test network",
    listen: ListenConfig | None = None,
    msin_start: str | None = None,
    msin_end: str | None = None,
    service_types: Mapping[str, ServiceType] | None = None,
    plans: Mapping[str, Plan] | None = None,
) -> CoreConfig:
    """The configuration ``core init`` writes: defaults that let a minted device onboard as is.

    Secrets and the store sit in ``directory`` (see the DEFAULT_* paths); creating the secret
    files is the caller's job (store.sealing.generate_key_file for the store key).
    """
    base = directory.absolute()
    width = IMSI_DIGITS - len(mcc) - len(mnc)
    types = dict(service_types) if service_types is not None else _default_service_types()
    chosen_plans = dict(plans) if plans is not None else _default_plans()
    free = [p for p in chosen_plans.values() if not p.requires]
    if not free:
        raise ConfigError("default configuration: no plan without billing requirements")
    default_plan = free[0]
    return CoreConfig(
        network=NetworkConfig(mcc=mcc, mnc=mnc, name=network_name),
        listen=listen or ListenConfig(),
        pki=PkiConfig(
            core_cert=base / core_cert,
            core_key=base / core_key,
            core_chain=base / core_chain,
            trust_anchors=tuple(base / p for p in trust_anchors),
            manufacturer_cas=tuple(base / p for p in manufacturer_cas),
            crls=tuple(base / p for p in crls),
        ),
        supi=SupiConfig(
            msin_start=msin_start or "1".rjust(width, "0"),
            msin_end=msin_end or "9" * width,
        ),
        operator=OperatorConfig(op_file=base / DEFAULT_OP_FILE),
        suci=SuciConfig(
            profile_a_key_file=base / DEFAULT_SUCI_A_KEY,
            profile_a_key_id=1,
            profile_b_key_file=base / DEFAULT_SUCI_B_KEY,
            profile_b_key_id=2,
        ),
        store=StoreConfig(path=base / DEFAULT_STORE, key_file=base / DEFAULT_STORE_KEY),
        enrollment=EnrollmentConfig(
            default_service_type=default_plan.service_types[0],
            default_plan=default_plan.name,
            reonboarding=Reonboarding.SAME_RECORD,
        ),
        service_types=types,
        plans=chosen_plans,
    )


def _default_service_types() -> dict[str, ServiceType]:
    # TS 23.501 5.15.2.2: standardised SST values; 3 is MIoT, 1 is eMBB.
    return {
        "miot": ServiceType(
            name="miot",
            sst=3,
            ambr_ul=1_000_000,
            ambr_dl=1_000_000,
            description="Massive IoT: small, infrequent data",
        ),
        "embb": ServiceType(
            name="embb",
            sst=1,
            ambr_ul=50_000_000,
            ambr_dl=100_000_000,
            description="Enhanced mobile broadband",
        ),
    }


def _default_plans() -> dict[str, Plan]:
    return {
        "trial": Plan(
            name="trial",
            service_types=("miot",),
            description="Free trial: massive IoT only, no billing information needed",
        ),
        "metered": Plan(
            name="metered",
            service_types=("miot", "embb"),
            requires=("account",),
            description="Billed per use to a customer account",
        ),
    }


def write_default(
    directory: Path,
    *,
    mcc: str,
    mnc: str,
    core_cert: Path,
    core_key: Path,
    core_chain: Path,
    trust_anchors: Sequence[Path],
    manufacturer_cas: Sequence[Path],
    crls: Sequence[Path] = (),
    overwrite: bool = False,
    **options: Any,
) -> Path:
    """Write ``directory/core.toml`` with :func:`default_config`; returns its path.

    ``options`` are the other keyword arguments of :func:`default_config`.
    """
    config = default_config(
        directory,
        mcc=mcc,
        mnc=mnc,
        core_cert=core_cert,
        core_key=core_key,
        core_chain=core_chain,
        trust_anchors=trust_anchors,
        manufacturer_cas=manufacturer_cas,
        crls=crls,
        **options,
    )
    return write(config, directory / FILE_NAME, overwrite=overwrite)
