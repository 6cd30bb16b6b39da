"""core.toml: what a core serves, to whom, and with which secrets (docs/architecture.md section 6).

:func:`load` parses and validates the file without touching the files it names, so commands
that only need the store (``dynsub store ...``) work on a machine without the PKI;
:meth:`CoreConfig.check_files` checks those files when the core is about to serve.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from dynsub_cli.config import wire
from dynsub_cli.config.reader import Section, describe, unknown_names
from dynsub_cli.config.units import MAX_BITRATE, is_hex, is_imei, parse_bitrate
from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import ConfigError
from dynsub_cli.files import exposure, parse_toml, read_limited

#: The name of the file ``dynsub core init`` writes into a core folder.
FILE_NAME = "core.toml"

DEFAULT_PORT = 38412  # the NGAP port (TS 38.412): a reminder that this is the N2 side
DEFAULT_ROUTING_INDICATOR = "0000"
DEFAULT_AMF = bytes.fromhex("8000")  # TS 33.102 Annex H: the AMF "separation bit" set
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_CONNECTIONS = 256
DEFAULT_MAX_CONNECTIONS_PER_PEER = 64
DEFAULT_FIRST_PDU_SECONDS = 5.0
DEFAULT_CHALLENGES_PER_MINUTE = 120
MAX_FRAME_LIMIT = 0xFFFF  # the 2-byte length prefix of the TCP framing (docs/protocol.md section 1)
MIN_FRAME_LIMIT = 512  # the lower bound of the key; wire.check sets the real one from the names
#: A NAS procedure answers within seconds (TS 24.501 10.2: T3560 is 6 s); a timeout above an
#: hour keeps a dead peer's slot for good, and asyncio refuses an infinite one late.
MAX_TIMEOUT = 3600.0
#: Linux's default ceiling on a process's open files (fs.nr_open): each connection takes one.
MAX_CONNECTIONS_LIMIT = 1_048_576
#: TS 23.003 9.1: a DNN (APN) is at most 100 octets.
MAX_DNN_OCTETS = 100
DEFAULT_HOOK_TIMEOUT = 5.0
IMSI_DIGITS = 15  # TS 23.003 2.2: an IMSI has at most 15 digits

#: Billing information a plan may require the UE to supply during onboarding.
BILLING_FIELDS: tuple[str, ...] = ("account", "contact", "purchase_order")


@dataclass(frozen=True)
class NetworkConfig:
    mcc: str
    mnc: str
    name: str

    @property
    def plmn(self) -> str:
        """MCC and MNC digits, the prefix of every SUPI this core allocates."""
        return self.mcc + self.mnc


@dataclass(frozen=True)
class ListenConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT


@dataclass(frozen=True)
class PkiConfig:
    core_cert: Path
    core_key: Path
    core_chain: Path
    trust_anchors: tuple[Path, ...]  # roots the core trusts for device chains
    manufacturer_cas: tuple[Path, ...]  # the manufacturer CAs whose devices may onboard
    crls: tuple[Path, ...] = ()


class Allocation(StrEnum):
    """How MSINs are handed out (core.toml [supi] allocation)."""

    #: Drawn at random from the free MSINs of the range, so that the SUPIs of a core cannot be
    #: enumerated by probing 1, 2, 3 ... (the default).
    RANDOM = "random"
    #: One above the highest allocated: predictable, for lab set-ups that want it.
    SEQUENTIAL = "sequential"


class OnRevocation(StrEnum):
    """What the core does with a subscription whose device certificate a CRL lists."""

    SUSPEND = "suspend"  # suspend it, say why, refuse its registrations (the default)
    IGNORE = "ignore"  # keep serving it: revocation only stops new onboardings


@dataclass(frozen=True)
class SupiConfig:
    msin_start: str
    msin_end: str
    routing_indicator: str = DEFAULT_ROUTING_INDICATOR
    allocation: Allocation = Allocation.RANDOM

    @property
    def capacity(self) -> int:
        return int(self.msin_end) - int(self.msin_start) + 1


@dataclass(frozen=True)
class OperatorConfig:
    op_file: Path  # 0600 file holding the operator's OP as 32 hex digits
    amf: bytes = DEFAULT_AMF


@dataclass(frozen=True)
class SuciConfig:
    profile_a_key_file: Path  # TS 33.501 C.3.4.1: X25519 home network private key
    profile_a_key_id: int
    profile_b_key_file: Path  # TS 33.501 C.3.4.2: secp256r1 home network private key
    profile_b_key_id: int


#: URL schemes of a PostgreSQL store (libpq connection URIs).
STORE_URL_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class StoreConfig:
    """[store]: ``path`` (a SQLite file, the default) or ``url`` (PostgreSQL, shared by
    several cores), and the key that seals K and OPc, which stays with the core."""

    path: Path  # the SQLite file; unused when url is set
    key_file: Path
    url: str | None = None  # postgresql://user@host:port/database, no password in it
    password_file: Path | None = None  # the database password (0600); else libpq's PGPASSWORD...

    @property
    def location(self) -> str:
        """Where the store is, for messages: the file, or the URL (it holds no password)."""
        return self.url if self.url is not None else str(self.path)


@dataclass(frozen=True)
class EnrollmentConfig:
    default_service_type: str
    default_plan: str
    reonboarding: Reonboarding = Reonboarding.SAME_RECORD
    blocklist: tuple[str, ...] = ()  # IMEIs refused whatever their certificate says
    on_revocation: OnRevocation = OnRevocation.SUSPEND


@dataclass(frozen=True)
class ServiceType:
    name: str
    sst: int  # TS 23.501 5.15.2.2: Slice/Service Type
    ambr_ul: int  # bit/s
    ambr_dl: int  # bit/s
    sd: str | None = None  # Slice Differentiator, 6 hex digits (lower case)
    dnn: str = "internet"  # the data network the subscription's session reaches
    description: str = ""


@dataclass(frozen=True)
class Plan:
    name: str
    service_types: tuple[str, ...]
    requires: tuple[str, ...] = ()  # billing fields (BILLING_FIELDS) the UE must supply
    description: str = ""


@dataclass(frozen=True)
class LimitsConfig:
    timeout_seconds: float = DEFAULT_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_frame: int = MAX_FRAME_LIMIT
    #: Connections one peer host may hold at once, so that one host cannot take every slot
    #: (None: DEFAULT_MAX_CONNECTIONS_PER_PEER, at most max_connections).
    max_connections_per_peer: int | None = None
    #: How long a new connection may take to send its first whole PDU
    #: (None: DEFAULT_FIRST_PDU_SECONDS, at most timeout_seconds).
    first_pdu_seconds: float | None = None
    #: 5G AKA challenges one SUPI may be sent per minute (probes bump its SQN).
    challenges_per_minute: int = DEFAULT_CHALLENGES_PER_MINUTE

    @property
    def per_peer(self) -> int:
        chosen = self.max_connections_per_peer
        return (
            chosen
            if chosen is not None
            else min(DEFAULT_MAX_CONNECTIONS_PER_PEER, self.max_connections)
        )

    @property
    def first_pdu(self) -> float:
        chosen = self.first_pdu_seconds
        return (
            chosen if chosen is not None else min(DEFAULT_FIRST_PDU_SECONDS, self.timeout_seconds)
        )


class EapServerKind(StrEnum):
    """Which EAP server authenticates the factory certificate ([authentication] server)."""

    BUILTIN = "builtin"  # the core's own AUSF (TS 33.501 Annex B); KAUSF from the EMSK
    RADIUS = "radius"  # an AAA server as the DCS (TS 33.501 I.2.2.2.2); KAUSF from the MSK


DEFAULT_RADIUS_PORT = 1812  # RFC 2865 3 (IANA "radius")


@dataclass(frozen=True)
class AuthenticationConfig:
    server: EapServerKind = EapServerKind.BUILTIN
    #: The AAA server (server = "radius"): address, 0600 shared secret, per-try timeout, and
    #: retransmissions after the first try (RFC 5080 2.2.1).
    host: str = "127.0.0.1"
    port: int = DEFAULT_RADIUS_PORT
    secret_file: Path | None = None
    timeout_seconds: float = 3.0
    retries: int = 2


@dataclass(frozen=True)
class RadiusServerConfig:
    """The built-in EAP-TLS server answering RADIUS, as another AMF's DCS ([radius_server])."""

    host: str
    port: int
    secret_file: Path
    clients: tuple[str, ...] = ("127.0.0.1",)  # source addresses of the NAS allowed in


@dataclass(frozen=True)
class MetricsConfig:
    """Where Prometheus scrapes the core, with /healthz and /readyz (docs/operations.md)."""

    listen: tuple[str, int] | None = None  # None: no metrics endpoint


class HookFailure(StrEnum):
    """What an onboarding gets when its hook fails, times out or answers garbage."""

    DENY = "deny"
    ALLOW = "allow"  # the policy's answer stands


@dataclass(frozen=True)
class HookConfig:
    """``[hooks.onboarding]``: an executable (JSON on stdin and stdout) or an HTTP URL."""

    command: tuple[str, ...] = ()  # the executable and its arguments
    url: str | None = None
    timeout_seconds: float = DEFAULT_HOOK_TIMEOUT
    on_error: HookFailure = HookFailure.DENY


@dataclass(frozen=True)
class HooksConfig:
    onboarding: HookConfig | None = None


@dataclass(frozen=True)
class CoreConfig:
    network: NetworkConfig
    pki: PkiConfig
    supi: SupiConfig
    operator: OperatorConfig
    suci: SuciConfig
    store: StoreConfig
    enrollment: EnrollmentConfig
    service_types: Mapping[str, ServiceType]
    plans: Mapping[str, Plan]
    listen: ListenConfig = field(default_factory=ListenConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    authentication: AuthenticationConfig = field(default_factory=AuthenticationConfig)
    radius_server: RadiusServerConfig | None = None
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    hooks: HooksConfig = field(default_factory=HooksConfig)

    def supi_for(self, msin: str) -> str:
        """TS 23.003 2.2A: an IMSI-type SUPI, ``imsi-<mcc><mnc><msin>``."""
        return f"imsi-{self.network.plmn}{msin}"

    def secret_files(self) -> tuple[Path, ...]:
        return (
            self.pki.core_key,
            self.operator.op_file,
            self.suci.profile_a_key_file,
            self.suci.profile_b_key_file,
            self.store.key_file,
            *((self.store.password_file,) if self.store.password_file is not None else ()),
            *filter(None, (self.authentication.secret_file,)),
            *((self.radius_server.secret_file,) if self.radius_server else ()),
        )

    def check_files(self) -> None:
        """Every file the core reads exists; secrets are readable by their owner only.

        Raises one ConfigError that lists every problem, so a user fixes them in one go.
        """
        problems: list[str] = []
        public = [self.pki.core_cert, self.pki.core_chain]
        public += [*self.pki.trust_anchors, *self.pki.manufacturer_cas, *self.pki.crls]
        for path in [*public, *self.secret_files()]:
            if not path.is_file():
                problems.append(f"{path}: not found")
        problems += filter(None, (exposure(path) for path in self.secret_files()))
        if problems:
            raise ConfigError("core configuration: " + "; ".join(problems))


SECTIONS = (
    "network",
    "listen",
    "pki",
    "supi",
    "operator",
    "suci",
    "store",
    "enrollment",
    "service_types",
    "plans",
    "limits",
    "authentication",
    "radius_server",
    "metrics",
    "hooks",
)


def load(path: Path) -> CoreConfig:
    """Read and validate ``core.toml``. Raises ConfigError naming the file, section and key."""
    if path.is_dir():
        inside = path / FILE_NAME
        hint = (
            f"the core configuration in it is {inside}"
            if inside.is_file()
            else f"it holds no {FILE_NAME} (dynsub core init DIR writes one)"
        )
        raise ConfigError(f"{path}: a folder, not a core configuration file; {hint}")
    if not path.exists():
        raise ConfigError(
            f"{path}: not found (`dynsub core init DIR` writes DIR/{FILE_NAME}; give its path "
            "with `config`)",
            parameter="config",
        )
    data = parse_toml(
        read_limited(path, "core configuration"), path, "core configuration", ConfigError
    )
    _refuse_other_files(data, path)
    return parse(data, file=str(path), base=path.absolute().parent)


def _refuse_other_files(data: Mapping[str, Any], path: Path) -> None:
    """Another dynsub file given where core.toml was meant: say which, not "unknown section"."""
    if "files" in data and "format" in data:
        raise ConfigError(
            f"{path}: a PKI file (the pki.toml of dynsub pki init), not a core configuration; "
            f"give the {FILE_NAME} of a core folder (`dynsub core init` writes one)"
        )
    if "usim" in data or "subscription" in data:
        raise ConfigError(
            f"{path}: a UE state file, not a core configuration; give the {FILE_NAME} of a "
            "core folder"
        )


def parse(data: Mapping[str, Any], *, file: str, base: Path) -> CoreConfig:
    """Validate the parsed TOML ``data``; relative paths resolve against ``base``."""
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{file}: " + unknown_names("section", unknown, list(SECTIONS)))

    def section(name: str, *, required: bool = True) -> Section:
        table = data.get(name)
        if table is None:
            if required:
                raise ConfigError(f"{file}: missing section [{name}]")
            table = {}
        if not isinstance(table, Mapping):
            raise ConfigError(f"{file}: {name} must be a table [{name}], got {describe(table)}")
        return Section(file, base, name, table)

    network = _network(section("network"))
    service_types = {
        name: _service_type(Section(file, base, f"service_types.{name}", table))
        for name, table in _named_tables(file, "service_types", data).items()
    }
    plans = {
        name: _plan(Section(file, base, f"plans.{name}", table), service_types)
        for name, table in _named_tables(file, "plans", data).items()
    }
    config = CoreConfig(
        network=network,
        listen=_listen(section("listen", required=False)),
        pki=_pki(section("pki")),
        supi=_supi(section("supi"), network),
        operator=_operator(section("operator")),
        suci=_suci(section("suci")),
        store=_store(section("store")),
        enrollment=_enrollment(section("enrollment"), service_types, plans),
        service_types=service_types,
        plans=plans,
        limits=_limits(section("limits", required=False)),
        authentication=_authentication(section("authentication", required=False)),
        radius_server=_radius_server(data, section),
        metrics=_metrics(section("metrics", required=False)),
        hooks=_hooks(section("hooks", required=False)),
    )
    wire.check(config, file)
    return config


def _named_tables(file: str, name: str, data: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    tables = data.get(name)
    if not isinstance(tables, Mapping) or not tables:
        raise ConfigError(f"{file}: define at least one [{name}.<name>] table")
    for key, table in tables.items():
        if not isinstance(table, Mapping):
            raise ConfigError(
                f"{file}: [{name}] {key}: expected a table [{name}.{key}], got {describe(table)}"
            )
    return dict(tables)


def _digits(value: str, lengths: tuple[int, ...]) -> bool:
    return value.isascii() and value.isdigit() and len(value) in lengths


def _network(s: Section) -> NetworkConfig:
    mcc = s.check("mcc", s.text("mcc"), lambda v: _digits(v, (3,)), "must be 3 digits")
    mnc = s.check("mnc", s.text("mnc"), lambda v: _digits(v, (2, 3)), "must be 2 or 3 digits")
    name = s.text("name", "dynsub")
    s.finish()
    return NetworkConfig(mcc=mcc, mnc=mnc, name=name)


def _listen(s: Section) -> ListenConfig:
    host = s.text("host", ListenConfig.host)
    port = s.check(
        "port", s.integer("port", DEFAULT_PORT), lambda v: 0 <= v <= 0xFFFF, "must be 0-65535"
    )
    s.finish()
    return ListenConfig(host=host, port=port)


def _pki(s: Section) -> PkiConfig:
    config = PkiConfig(
        core_cert=s.path("core_cert"),
        core_key=s.path("core_key"),
        core_chain=s.path("core_chain"),
        trust_anchors=s.paths("trust_anchors"),
        manufacturer_cas=s.paths("manufacturer_cas"),
        crls=s.paths("crls", ()),
    )
    if not config.trust_anchors:
        raise s.error("trust_anchors", "name at least one root certificate")
    if not config.manufacturer_cas:
        raise s.error("manufacturer_cas", "name at least one manufacturer CA certificate")
    s.finish()
    return config


def _supi(s: Section, network: NetworkConfig) -> SupiConfig:
    width = IMSI_DIGITS - len(network.plmn)
    start = s.text("msin_start")
    end = s.text("msin_end")
    for key, value in (("msin_start", start), ("msin_end", end)):
        s.check(
            key,
            value,
            lambda v: _digits(v, tuple(range(1, width + 1))),
            f'must be 1 to {width} digits (an IMSI has at most 15 digits), got "{value}"',
        )
    if len(start) != len(end):
        raise s.error("msin_end", f'must have as many digits as msin_start "{start}"')
    if int(start) > int(end):
        raise s.error("msin_end", f'"{end}" is below msin_start "{start}"')
    # TS 23.003 2.2B: the Routing Indicator is 1 to 4 decimal digits.
    ri = s.check(
        "routing_indicator",
        s.text("routing_indicator", DEFAULT_ROUTING_INDICATOR),
        lambda v: _digits(v, (1, 2, 3, 4)),
        "must be 1 to 4 digits",
    )
    allocation = _choice(s, "allocation", Allocation, Allocation.RANDOM)
    s.finish()
    return SupiConfig(msin_start=start, msin_end=end, routing_indicator=ri, allocation=allocation)


E = TypeVar("E", bound=StrEnum)


def _choice(s: Section, key: str, kind: type[E], default: E) -> E:
    """A key whose value is one member of ``kind``."""
    value = s.text(key, default.value)
    allowed = ", ".join(member.value for member in kind)
    s.check(key, value, lambda v: v in {member.value for member in kind}, f"one of: {allowed}")
    return kind(value)


def _operator(s: Section) -> OperatorConfig:
    op_file = s.path("op_file")
    amf = s.check("amf", s.text("amf", DEFAULT_AMF.hex()), lambda v: is_hex(v, 4), "4 hex digits")
    s.finish()
    return OperatorConfig(op_file=op_file, amf=bytes.fromhex(amf))


def _suci(s: Section) -> SuciConfig:
    def key_id(key: str) -> int:
        # TS 24.501 9.11.3.4: the home network public key identifier is one octet.
        value: int = s.check(key, s.integer(key), lambda v: 0 <= v <= 255, "must be 0-255")
        return value

    config = SuciConfig(
        profile_a_key_file=s.path("profile_a_key_file"),
        profile_a_key_id=key_id("profile_a_key_id"),
        profile_b_key_file=s.path("profile_b_key_file"),
        profile_b_key_id=key_id("profile_b_key_id"),
    )
    # A UE names the key it concealed its SUPI with by this id alone (TS 33.501 C.3.2), so
    # two keys with one id leave the core holding only one of them.
    if config.profile_a_key_id == config.profile_b_key_id:
        raise s.error(
            "profile_b_key_id",
            f"{config.profile_b_key_id} is also profile_a_key_id; each key needs its own id",
        )
    s.finish()
    return config


def _store(s: Section) -> StoreConfig:
    url = s.text("url", None)
    path = s.path("path", None)
    key_file = s.path("key_file")
    password_file = s.path("password_file", None)
    if url is None:
        if path is None:
            raise ConfigError(
                f"{s.where}: missing key 'path' (the SQLite store file) or 'url' (PostgreSQL)"
            )
        if password_file is not None:
            raise s.error("password_file", "is for a PostgreSQL store: set url, or remove it")
        s.finish()
        return StoreConfig(path=path, key_file=key_file)
    if path is not None:
        raise s.error("path", "give path (a SQLite file) or url (PostgreSQL), not both")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in STORE_URL_SCHEMES:
        raise s.error("url", f'must be a postgresql:// URL, got "{url}"')
    # core.toml is not a secret file (0644): a password in it would be readable by anyone.
    if parts.password is not None or "password" in urllib.parse.parse_qs(parts.query):
        raise s.error(
            "url",
            "holds a password; put it in a file readable by the core only (chmod 600) named "
            "by password_file, or in libpq's PGPASSFILE",
        )
    s.finish()
    return StoreConfig(
        path=s.base / "subscriptions.sqlite",
        key_file=key_file,
        url=url,
        password_file=password_file,
    )


def _enrollment(
    s: Section, service_types: Mapping[str, ServiceType], plans: Mapping[str, Plan]
) -> EnrollmentConfig:
    policy = s.text("reonboarding", Reonboarding.SAME_RECORD.value)
    allowed = ", ".join(p.value for p in Reonboarding)
    s.check("reonboarding", policy, lambda v: v in set(Reonboarding), f"one of: {allowed}")
    blocklist = s.text_list("blocklist", ())
    for imei in blocklist:
        if not is_imei(imei):
            raise s.error("blocklist", f'"{imei}" is not an IMEI (15 digits, Luhn check digit)')
    on_revocation = _choice(s, "on_revocation", OnRevocation, OnRevocation.SUSPEND)
    default_type = s.text("default_service_type")
    if default_type not in service_types:
        raise s.error(
            "default_service_type",
            f'unknown service type "{default_type}"; defined: {", ".join(service_types)}',
        )
    default_plan = s.text("default_plan")
    if default_plan not in plans:
        raise s.error("default_plan", f'unknown plan "{default_plan}"; defined: {", ".join(plans)}')
    plan = plans[default_plan]
    # A freshly minted device onboards with no options, so the defaults must fit.
    if plan.requires:
        raise s.error(
            "default_plan",
            f'plan "{default_plan}" requires {", ".join(plan.requires)}; the default plan must '
            "require no billing information",
        )
    if default_type not in plan.service_types:
        raise s.error(
            "default_service_type",
            f'"{default_type}" is not allowed by the default plan "{default_plan}" '
            f"(its service_types: {', '.join(plan.service_types)})",
        )
    s.finish()
    return EnrollmentConfig(
        default_service_type=default_type,
        default_plan=default_plan,
        reonboarding=Reonboarding(policy),
        blocklist=blocklist,
        on_revocation=on_revocation,
    )


def _name(s: Section, what: str) -> str:
    """The name of a [service_types.<name>] or [plans.<name>] table: it crosses the wire in
    lists of length (1 octet) | UTF-8 (docs/protocol.md section 5)."""
    name = s.name.split(".", 1)[1]
    octets = len(name.encode("utf-8"))
    if not 1 <= octets <= wire.MAX_NAME_OCTETS:
        raise ConfigError(
            f"{s.where}: the {what} name is {octets} octets in UTF-8; it must be 1 to "
            f"{wire.MAX_NAME_OCTETS} (it is sent to UEs as a 1-octet length and the name)"
        )
    return name


def _service_type(s: Section) -> ServiceType:
    name = _name(s, "service type")
    sst = s.check("sst", s.integer("sst"), lambda v: 0 <= v <= 255, "must be 0-255")
    sd = s.text("sd", None)
    if sd is not None:
        s.check("sd", sd, lambda v: is_hex(v, 6), f'must be 6 hex digits, got "{sd}"')
        sd = sd.lower()

    def bitrate(key: str) -> int:
        try:
            value = parse_bitrate(s.text_or_integer(key))
        except ValueError as err:
            raise s.error(key, str(err)) from err
        # The dialogue sends 8 octets and the store keeps a signed 64-bit integer (SQLite,
        # PostgreSQL bigint): the smaller range is the one that reaches the UE intact.
        if value > MAX_BITRATE:
            raise s.error(
                key, f"{value} bit/s is above the largest that can be sent, {MAX_BITRATE}"
            )
        return value

    config = ServiceType(
        name=name,
        sst=sst,
        sd=sd,
        ambr_ul=bitrate("ambr_ul"),
        ambr_dl=bitrate("ambr_dl"),
        dnn=s.check(
            "dnn",
            s.text("dnn", "internet"),
            lambda v: 1 <= len(v.encode("utf-8")) <= MAX_DNN_OCTETS,
            f"must be 1 to {MAX_DNN_OCTETS} octets (TS 23.003 9.1)",
        ),
        description=_description(s),
    )
    s.finish()
    return config


def _description(s: Section) -> str:
    # docs/protocol.md section 5: a field's length is 2 octets.
    text: str = s.check(
        "description",
        s.text("description", ""),
        lambda v: len(v.encode("utf-8")) <= wire.MAX_FIELD_OCTETS,
        f"longer than {wire.MAX_FIELD_OCTETS} octets in UTF-8, the most a dialogue field holds",
    )
    return text


def _plan(s: Section, service_types: Mapping[str, ServiceType]) -> Plan:
    name = _name(s, "plan")
    requires = s.text_list("requires", ())
    for item in requires:
        if item not in BILLING_FIELDS:
            raise s.error(
                "requires",
                f'unknown field "{item}"; allowed: {", ".join(BILLING_FIELDS)}',
            )
    allowed = s.text_list("service_types")
    if not allowed:
        raise s.error("service_types", "name at least one service type")
    for item in allowed:
        if item not in service_types:
            raise s.error(
                "service_types",
                f'unknown service type "{item}"; defined: {", ".join(service_types)}',
            )
    config = Plan(
        name=name,
        service_types=allowed,
        requires=requires,
        description=_description(s),
    )
    s.finish()
    return config


def _limits(s: Section) -> LimitsConfig:
    timeout = s.check(
        "timeout_seconds",
        s.number("timeout_seconds", DEFAULT_TIMEOUT),
        lambda v: math.isfinite(v) and 0 < v <= MAX_TIMEOUT,
        f"must be a number of seconds above 0 and at most {MAX_TIMEOUT:g}",
    )
    connections = s.check(
        "max_connections",
        s.integer("max_connections", DEFAULT_MAX_CONNECTIONS),
        lambda v: 1 <= v <= MAX_CONNECTIONS_LIMIT,
        f"must be 1-{MAX_CONNECTIONS_LIMIT} (each connection holds one open file)",
    )
    max_frame = s.check(
        "max_frame",
        s.integer("max_frame", MAX_FRAME_LIMIT),
        lambda v: MIN_FRAME_LIMIT <= v <= MAX_FRAME_LIMIT,
        f"must be {MIN_FRAME_LIMIT}-{MAX_FRAME_LIMIT} (the frame length prefix is 2 bytes)",
    )
    per_peer = s.check(
        "max_connections_per_peer",
        s.integer("max_connections_per_peer", None),
        lambda v: v is None or 0 < v <= connections,
        f"must be 1 to max_connections ({connections})",
    )
    first_pdu = s.check(
        "first_pdu_seconds",
        s.number("first_pdu_seconds", None),
        lambda v: v is None or 0 < v <= timeout,
        f"must be positive and at most timeout_seconds ({timeout})",
    )
    challenges = s.check(
        "challenges_per_minute",
        s.integer("challenges_per_minute", DEFAULT_CHALLENGES_PER_MINUTE),
        lambda v: v > 0,
        "must be positive",
    )
    s.finish()
    return LimitsConfig(
        timeout_seconds=timeout,
        max_connections=connections,
        max_frame=max_frame,
        max_connections_per_peer=per_peer,
        first_pdu_seconds=first_pdu,
        challenges_per_minute=challenges,
    )


def _address(s: Section, key: str, default: str | None) -> tuple[str, int]:
    value = s.text(key, default)
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 0xFFFF:
        raise s.error(key, f'must be "HOST:PORT" with a port 1-65535, got "{value}"')
    return host.strip("[]"), int(port)


def _authentication(s: Section) -> AuthenticationConfig:
    kind = s.text("server", EapServerKind.BUILTIN.value)
    allowed = ", ".join(k.value for k in EapServerKind)
    s.check("server", kind, lambda v: v in set(EapServerKind), f"one of: {allowed}")
    host, port = _address(s, "address", f"127.0.0.1:{DEFAULT_RADIUS_PORT}")
    secret = s.path("secret_file", None)
    if kind == EapServerKind.RADIUS and secret is None:
        raise s.error("secret_file", 'server = "radius" needs the RADIUS shared secret file')
    timeout = s.check(
        "timeout_seconds", s.number("timeout_seconds", 3.0), lambda v: v > 0, "must be positive"
    )
    retries = s.check("retries", s.integer("retries", 2), lambda v: 0 <= v <= 10, "must be 0-10")
    s.finish()
    return AuthenticationConfig(EapServerKind(kind), host, port, secret, timeout, retries)


def _radius_server(data: Mapping[str, Any], section: Any) -> RadiusServerConfig | None:
    if "radius_server" not in data:
        return None
    s: Section = section("radius_server")
    host, port = _address(s, "listen", None)
    config = RadiusServerConfig(
        host=host,
        port=port,
        secret_file=s.path("secret_file"),
        clients=s.text_list("clients", ("127.0.0.1",)),
    )
    s.finish()
    return config


def _metrics(s: Section) -> MetricsConfig:
    listen = s.text("listen", None)
    s.finish()
    if listen is None:
        return MetricsConfig()
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 0xFFFF:
        raise s.error("listen", f'must be "HOST:PORT" with a port 0-65535, got "{listen}"')
    return MetricsConfig(listen=(host.strip("[]"), int(port)))


def _hooks(s: Section) -> HooksConfig:
    table = s.table_or_none("onboarding")
    s.finish()
    if table is None:
        return HooksConfig()
    h = Section(s.file, s.base, "hooks.onboarding", table)
    command = h.text_or_list("command", None)
    url = h.text("url", None)
    if (command is None) == (url is None):
        raise ConfigError(f"{h.where}: give exactly one of command (an executable) or url")
    if url is not None and not url.startswith(("http://", "https://")):
        raise h.error("url", f'must be an http:// or https:// URL, got "{url}"')
    if command is not None:
        if not command or not command[0]:
            raise h.error("command", "name the executable")
        # The executable resolves like every path of core.toml; its arguments stay as given.
        command = (str(h.resolve(command[0])), *command[1:])
    timeout = h.check(
        "timeout_seconds",
        h.number("timeout_seconds", DEFAULT_HOOK_TIMEOUT),
        lambda v: 0 < v <= 300,
        "must be more than 0 and at most 300",
    )
    on_error = h.text("on_error", HookFailure.DENY.value)
    allowed = ", ".join(f.value for f in HookFailure)
    h.check("on_error", on_error, lambda v: v in set(HookFailure), f"one of: {allowed}")
    h.finish()
    return HooksConfig(
        HookConfig(
            command=tuple(command or ()),
            url=url,
            timeout_seconds=timeout,
            on_error=HookFailure(on_error),
        )
    )
