"""The PKI folder: ``dynsub pki init`` creates it, every other command loads it.

A PKI folder (0700) holds the CA hierarchy of docs/architecture.md section 5, the core certificate,
the
minting ledger and the revocation list, described by ``pki.toml``:

```
DIR/pki.toml             what this PKI is (MCC, MNC, names, key type, default TAC) and its files
DIR/root.pem  root.key   the ecosystem root both UEs and cores trust
DIR/manufacturer.pem .key   issues device certificates and the CRL
DIR/operator.pem .key       issues the core certificate
DIR/core.pem  core.key   the onboarding core (AUSF) certificate
DIR/core-chain.pem       what the core sends after its certificate: the operator CA
DIR/ledger.sqlite        every IMEI ever minted here (dynsub_cli.pki.ledger)
DIR/revoked.toml         revoked device certificates (dynsub_cli.pki.revocation)
DIR/crl.pem              the last CRL written by ``dynsub pki crl``
```

Keys are 0600 from their first byte. ``pki.toml`` is written last, so a folder with a
``pki.toml`` is a complete PKI.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w
from cryptography import x509

from dynsub_cli.errors import AlreadyExists, BadInput, ConfigError, DynsubError, FileError
from dynsub_cli.files import make_private_dir, read_toml, write_atomic, write_secret
from dynsub_cli.pki import hsm, pem
from dynsub_cli.pki import imei as imei_rules
from dynsub_cli.pki.constants import (
    DEFAULT_CA_DAYS,
    DEFAULT_CORE_DAYS,
    DEFAULT_MANUFACTURER,
    DEFAULT_OPERATOR,
)
from dynsub_cli.pki.issue import Issuer, Subject, Template, generate_key
from dynsub_cli.pki.profiles import CORE, MANUFACTURER_CA, OPERATOR_CA, ROOT, KeyType
from dynsub_cli.pki.signer import KeyFileSigner, Signer

CONFIG_NAME = "pki.toml"
FORMAT = 1
ROOT_NAME = "3GPP device ecosystem root"
ECOSYSTEM = "3GPP device ecosystem"
#: Reporting Body Identifier 00 is the one for test IMEIs: a PKI made without a TAC draws the
#: other six digits at random, so that two PKIs never share one by default (two makers with one
#: TAC would issue the same IMEIs).
TEST_TAC_PREFIX = "00"

FILES = {
    "root_cert": "root.pem",
    "root_key": "root.key",
    "manufacturer_cert": "manufacturer.pem",
    "manufacturer_key": "manufacturer.key",
    "operator_cert": "operator.pem",
    "operator_key": "operator.key",
    "core_cert": "core.pem",
    "core_key": "core.key",
    "core_chain": "core-chain.pem",
    "crl": "crl.pem",
    "ledger": "ledger.sqlite",
    "revocations": "revoked.toml",
}
IDENTITY_KEYS = {"format", "mcc", "mnc", "manufacturer", "operator", "key_type", "tac"}
#: The CAs whose key may live in a PKCS#11 token instead of a file: [keys] <role> = "pkcs11:..."
CA_ROLES = ("root", "manufacturer", "operator")


def core_dns_name(mcc: str, mnc: str) -> str:
    """TS 23.003 28.3.2.3: the AUSF's FQDN, MNC written with three digits."""
    return f"ausf.5gc.mnc{int(mnc):03d}.mcc{mcc}.3gppnetwork.org"


@dataclass(frozen=True)
class Pki:
    """A loaded PKI folder: its identity and the paths of its files (all absolute)."""

    root: Path
    mcc: str
    mnc: str
    manufacturer: str
    operator: str
    key_type: KeyType
    tac: str
    root_cert: Path
    root_key: Path = field(repr=False)
    manufacturer_cert: Path
    manufacturer_key: Path = field(repr=False)
    operator_cert: Path
    operator_key: Path = field(repr=False)
    core_cert: Path
    core_key: Path = field(repr=False)
    core_chain: Path
    crl: Path
    ledger: Path
    revocations: Path
    #: (CA role, RFC 7512 URI) of each CA key held in a token; the others are key files.
    token_keys: tuple[tuple[str, str], ...] = ()

    def own_tac(self, tac: str | None) -> str:
        """The TAC a run allocates from: this PKI's own. A PKI owns its TAC, so another is
        refused: two manufacturers minting in one TAC would issue the same IMEIs."""
        if tac is None or tac == self.tac:
            return self.tac
        imei_rules.check_tac(tac)  # a malformed one is named as such first
        raise BadInput(
            f"TAC {tac} is not this PKI's: it allocates IMEIs of TAC {self.tac} only (pki.toml "
            f"tac); leave `tac` out, or make a PKI of its own for TAC {tac}",
            parameter="tac",
        )

    @property
    def core_dns_name(self) -> str:
        return core_dns_name(self.mcc, self.mnc)

    @property
    def trust_anchors(self) -> Path:
        """The file a UE or core loads its trusted roots from."""
        return self.root_cert

    def load_root(self) -> x509.Certificate:
        return pem.read_certificate(self.root_cert, "root CA certificate")

    def load_manufacturer(self) -> x509.Certificate:
        return pem.read_certificate(self.manufacturer_cert, "manufacturer CA certificate")

    def manufacturer_issuer(self) -> Issuer:
        """The manufacturer CA with its signer: what signs devices and the CRL."""
        return Issuer(self.load_manufacturer(), self.manufacturer_signer())

    def manufacturer_signer(self) -> Signer:
        return self.signer("manufacturer")

    def signer(self, role: str) -> Signer:
        """The signer of the ``role`` CA (root, manufacturer, operator): token or key file."""
        uri = dict(self.token_keys).get(role)
        if uri is not None:
            return hsm.TokenKey.parse(uri, f"{self.root / CONFIG_NAME}: keys.{role}").open()
        paths = {
            "root": self.root_key,
            "manufacturer": self.manufacturer_key,
            "operator": self.operator_key,
        }
        if role not in paths:
            raise BadInput(f"CA {role!r}: the CAs are {', '.join(CA_ROLES)}")
        return KeyFileSigner.read(paths[role], f"{role} CA key")


@dataclass(frozen=True)
class InitOptions:
    mcc: str = "001"
    mnc: str = "01"
    manufacturer: str = DEFAULT_MANUFACTURER
    operator: str = DEFAULT_OPERATOR
    key_type: KeyType = KeyType.P256
    tac: str | None = None  # None: the folder's own (re-init), else drawn (draw_tac)
    ca_days: int = DEFAULT_CA_DAYS
    core_days: int = DEFAULT_CORE_DAYS
    force: bool = False
    token: TokenOptions | None = None  # CA keys generated in a PKCS#11 token


@dataclass(frozen=True)
class TokenOptions:
    """Which CA keys ``init`` generates in a PKCS#11 token, and how to reach it."""

    token: str  # the token label
    module: str = hsm.SOFTHSM_MODULE
    pin_file: Path | None = None  # None: the PIN comes from DYNSUB_PKCS11_PIN
    roles: frozenset[str] = frozenset({"manufacturer"})


def _check_plmn(mcc: str, mnc: str) -> None:
    # TS 23.003 2.2: MCC is three digits, MNC two or three.
    if not (len(mcc) == 3 and mcc.isdigit() and mcc.isascii()):
        raise BadInput(f"MCC {mcc!r}: a Mobile Country Code is exactly 3 decimal digits")
    if not (len(mnc) in (2, 3) and mnc.isdigit() and mnc.isascii()):
        raise BadInput(f"MNC {mnc!r}: a Mobile Network Code is 2 or 3 decimal digits")


def draw_tac() -> str:
    """A TAC of its own for a new PKI: RBI 00 (test IMEIs) and six random digits."""
    return TEST_TAC_PREFIX + f"{secrets.randbelow(10**6):06d}"


def _tac_of(folder: Path, options: InitOptions) -> str:
    if options.tac is not None:
        return options.tac
    try:  # re-initialised with force: the ledger is kept, and so is its TAC
        return str(load(folder).tac)
    except DynsubError:
        return draw_tac()


def init(folder: Path, options: InitOptions, *, now: dt.datetime | None = None) -> Pki:
    """Create the CA hierarchy and core certificate in ``folder``; refuse an existing PKI."""
    _check_plmn(options.mcc, options.mnc)
    tac = _tac_of(folder.absolute(), options)
    imei_rules.check_tac(tac)
    for what, days in (("ca_days", options.ca_days), ("core_days", options.core_days)):
        if days < 1:
            raise BadInput(f"`{what}` {days}: a validity needs at least one day", parameter=what)
    folder = folder.absolute()
    existing = [name for name in (CONFIG_NAME, *FILES.values()) if (folder / name).exists()]
    config_exists = (folder / CONFIG_NAME).exists()
    if existing and not options.force and (config_exists or set(existing) - {FILES["ledger"]}):
        raise AlreadyExists(
            f"{folder}: already holds a PKI ({', '.join(sorted(existing))}); "
            "choose another folder, or pass `force` to replace its CAs (the ledger is kept)",
            parameter="force",
        )
    make_private_dir(folder)
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    ca_until = now + dt.timedelta(days=options.ca_days)
    key_type = options.key_type

    signers = _new_signers(options)
    root_key = signers["root"]
    root = Template(ROOT, None).issue(
        Subject(ROOT_NAME, ECOSYSTEM),
        root_key.public_key(),
        not_before=now,
        not_after=ca_until,
        self_key=root_key,
    )
    root_issuer = Issuer(root, root_key)
    maker_key = signers["manufacturer"]
    maker = Template(MANUFACTURER_CA, root_issuer).issue(
        Subject(f"{options.manufacturer} CA", options.manufacturer),
        maker_key.public_key(),
        not_before=now,
        not_after=ca_until,
    )
    operator_key = signers["operator"]
    operator = Template(OPERATOR_CA, root_issuer).issue(
        Subject(f"{options.operator} CA", options.operator),
        operator_key.public_key(),
        not_before=now,
        not_after=ca_until,
    )
    dns_name = core_dns_name(options.mcc, options.mnc)
    core_key = generate_key(key_type)  # the core's TLS key: a file the core reads
    core = Template(CORE, Issuer(operator, operator_key)).issue(
        Subject(dns_name, options.operator, dns_name=dns_name),
        core_key.public_key(),
        not_before=now,
        not_after=min(now + dt.timedelta(days=options.core_days), ca_until),
    )

    path = {key: folder / name for key, name in FILES.items()}
    token_keys: dict[str, str] = {}
    for role, signer in signers.items():
        key_path = path[f"{role}_key"]
        if isinstance(signer, hsm.Pkcs11Signer):
            token_keys[role] = signer.token_key.uri()
            key_path.unlink(missing_ok=True)  # a --force over a PKI whose key was a file
        elif isinstance(signer, KeyFileSigner):
            write_secret(key_path, pem.key_bytes(signer.key))
    write_atomic(path["root_cert"], pem.certificate_bytes([root]))
    write_atomic(path["manufacturer_cert"], pem.certificate_bytes([maker]))
    write_atomic(path["operator_cert"], pem.certificate_bytes([operator]))
    write_secret(path["core_key"], pem.key_bytes(core_key))
    write_atomic(path["core_cert"], pem.certificate_bytes([core]))
    write_atomic(path["core_chain"], pem.certificate_bytes([operator]))
    # A new manufacturer CA starts with no revocations and no CRL; IMEIs in the ledger stay
    # allocated whatever CA signed them, so the ledger is kept.
    for stale in (path["revocations"], path["crl"]):
        stale.unlink(missing_ok=True)
    config: dict[str, Any] = {
        "format": FORMAT,
        "mcc": options.mcc,
        "mnc": options.mnc,
        "manufacturer": options.manufacturer,
        "operator": options.operator,
        "key_type": key_type.value,
        "tac": tac,
        "files": dict(FILES),
    }
    if token_keys:
        config["keys"] = token_keys
    write_atomic(folder / CONFIG_NAME, tomli_w.dumps(config).encode("utf-8"))
    return load(folder)


def load(folder: Path) -> Pki:
    """Read ``folder/pki.toml``; unknown or missing keys are errors that name the key."""
    folder = folder.absolute()
    config_path = folder / CONFIG_NAME
    if not config_path.exists():
        raise FileError(
            f"{folder}: not a dynsub PKI (no {CONFIG_NAME}); create one with: dynsub pki init"
            f" {folder}"
        )
    config = read_toml(config_path, "PKI configuration", ConfigError)

    def text(key: str) -> str:
        value = config.get(key)
        if not isinstance(value, str):
            raise ConfigError(f"{config_path}: key {key!r} must be a string")
        return value

    unknown = set(config) - IDENTITY_KEYS - {"files", "keys"}
    if unknown:
        raise ConfigError(f"{config_path}: unknown key {sorted(unknown)[0]!r}")
    if config.get("format") != FORMAT:
        raise ConfigError(f"{config_path}: format {config.get('format')!r}; this dynsub reads 1")
    files = config.get("files")
    if not isinstance(files, dict):
        raise ConfigError(f"{config_path}: table [files] missing")
    unknown = set(files) - set(FILES)
    if unknown:
        raise ConfigError(f"{config_path}: unknown key 'files.{sorted(unknown)[0]}'")
    paths: dict[str, Path] = {}
    for key in FILES:
        value = files.get(key)
        if not isinstance(value, str):
            raise ConfigError(f"{config_path}: key 'files.{key}' must be a string")
        paths[key] = folder / value  # relative paths resolve against the PKI folder
    token_keys = config.get("keys", {})
    if not isinstance(token_keys, dict):
        raise ConfigError(f"{config_path}: [keys] must be a table of CA role = pkcs11: URI")
    for role, uri in token_keys.items():
        if role not in CA_ROLES or not isinstance(uri, str):
            raise ConfigError(
                f"{config_path}: key 'keys.{role}': wants one of {', '.join(CA_ROLES)} "
                "= a pkcs11: URI (RFC 7512)"
            )
        try:
            hsm.TokenKey.parse(uri, f"keys.{role}")
        except BadInput as err:
            raise ConfigError(f"{config_path}: {err.message}") from err
    try:
        key_type = KeyType(text("key_type"))
        _check_plmn(text("mcc"), text("mnc"))
        imei_rules.check_tac(text("tac"))
    except ValueError as err:
        raise ConfigError(f"{config_path}: key 'key_type': {err}") from err
    except BadInput as err:
        raise ConfigError(f"{config_path}: {err.message}") from err
    return Pki(
        root=folder,
        mcc=text("mcc"),
        mnc=text("mnc"),
        manufacturer=text("manufacturer"),
        operator=text("operator"),
        key_type=key_type,
        tac=text("tac"),
        **paths,
        token_keys=tuple(sorted(token_keys.items())),
    )


def _new_signers(options: InitOptions) -> dict[str, Signer]:
    """A fresh key for each CA: in the token for the roles it holds, else a key file."""
    token = options.token
    roles = token.roles if token is not None else frozenset()
    unknown = roles - set(CA_ROLES)
    if unknown:
        raise BadInput(f"CA {sorted(unknown)[0]!r}: the CAs are {', '.join(CA_ROLES)}")
    signers: dict[str, Signer] = {}
    for role in CA_ROLES:
        if token is not None and role in roles:
            label = f"dynsub {role} CA"
            key = hsm.generate(token.module, token.token, label, options.key_type, token.pin_file)
            signers[role] = key.open()
        else:
            signers[role] = KeyFileSigner.generate(options.key_type)
    return signers
