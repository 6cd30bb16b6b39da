"""`dynsub pki`: the factory PKI.

Each command imports the PKI (and so cryptography) when it runs, so that `dynsub pki --help`
does not pay for it (issue 11: start-up); the defaults and choices its options show come from
the light :mod:`dynsub_cli.pki.constants`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dynsub_cli.cli import render
from dynsub_cli.errors import BadInput, CertificateRefused
from dynsub_cli.pki import constants

if TYPE_CHECKING:
    from dynsub_cli.pki import authority, csr, defects
    from dynsub_cli.pki.verify import DeviceIdentity

PKI_DIR = click.Path(file_okay=False, path_type=Path)
FILE = click.Path(dir_okay=False, path_type=Path)
JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
PKI_OPTION = click.option(
    "--pki",
    "pki_dir",
    type=PKI_DIR,
    required=True,
    help="The PKI folder made by 'dynsub pki init'.",
)


@click.group()
def pki() -> None:
    """Factory PKI: CA hierarchy, device certificates in bulk, verify, show, revoke, CRL.

    A PKI folder holds the ecosystem root, a manufacturer CA that signs device certificates, an
    operator CA that signs the core certificate, the minting ledger and the revocation list.
    Device certificates follow one profile table for both minting and checking: ECDSA P-256,
    subject CN = IMEI, SAN urn:gsma:imei (RFC 7254), the "3GPP device" policy, clientAuth,
    notAfter 99991231235959Z unless set.
    """


def _paths(pki_obj: authority.Pki) -> dict[str, str]:
    return {
        "folder": str(pki_obj.root),
        "root_cert": str(pki_obj.root_cert),
        "manufacturer_cert": str(pki_obj.manufacturer_cert),
        "operator_cert": str(pki_obj.operator_cert),
        "core_cert": str(pki_obj.core_cert),
        "core_key": str(pki_obj.core_key),
        "core_chain": str(pki_obj.core_chain),
        "ledger": str(pki_obj.ledger),
    }


@pki.command("init")
@click.argument("folder", type=PKI_DIR)
@click.option("--mcc", default="001", show_default=True, help="Mobile Country Code of the core.")
@click.option("--mnc", default="01", show_default=True, help="Mobile Network Code of the core.")
@click.option(
    "--manufacturer",
    default=constants.DEFAULT_MANUFACTURER,
    show_default=True,
    help="Manufacturer name: the O of the manufacturer CA and of every device.",
)
@click.option(
    "--operator",
    default=constants.DEFAULT_OPERATOR,
    show_default=True,
    help="Operator name: the O of the operator CA and of the core certificate.",
)
@click.option(
    "--key-type",
    type=click.Choice(constants.KEY_TYPES),
    default=constants.DEFAULT_KEY_TYPE,
    show_default=True,
    help="ECDSA curve for every key of this PKI (devices included).",
)
@click.option(
    "--tac",
    help="The Type Allocation Code (8 digits) this PKI allocates IMEIs from, and no other; "
    "default: 00 and six random digits (a re-init with --force keeps the folder's).",
)
@click.option(
    "--ca-days",
    type=int,
    default=constants.DEFAULT_CA_DAYS,
    show_default=True,
    help="Validity of the three CA certificates, in days.",
)
@click.option(
    "--core-days",
    type=int,
    default=constants.DEFAULT_CORE_DAYS,
    show_default=True,
    help="Validity of the core certificate, in days.",
)
@click.option("--force", is_flag=True, help="Replace the CAs of an existing PKI (ledger kept).")
@click.option(
    "--pkcs11-token",
    metavar="LABEL",
    help="Generate CA keys inside this PKCS#11 token (non-extractable) instead of key files.",
)
@click.option(
    "--pkcs11-module",
    metavar="PATH",
    default=constants.SOFTHSM_MODULE,
    show_default=True,
    help="The token's PKCS#11 library.",
)
@click.option(
    "--pkcs11-pin-file",
    type=FILE,
    help=f"0600 file holding the token's user PIN (default: the {constants.PIN_ENV} variable).",
)
@click.option(
    "--pkcs11-keys",
    default="manufacturer",
    show_default=True,
    metavar="CA[,CA]",
    help="Which CA keys go into the token: manufacturer, root, operator.",
)
@JSON
def init_command(
    folder: Path,
    mcc: str,
    mnc: str,
    manufacturer: str,
    operator: str,
    key_type: str,
    tac: str | None,
    ca_days: int,
    core_days: int,
    force: bool,
    pkcs11_token: str | None,
    pkcs11_module: str,
    pkcs11_pin_file: Path | None,
    pkcs11_keys: str,
    as_json: bool,
) -> None:
    """Create a PKI in FOLDER: root, manufacturer CA, operator CA, core certificate.

    Keys are written 0600 in a 0700 folder; FOLDER/pki.toml describes the PKI. An existing PKI
    is refused (exit 5) unless --force.

    With --pkcs11-token, the CA keys named by --pkcs11-keys are generated inside the token,
    non-extractable, and pki.toml names each by an RFC 7512 pkcs11: URI; mint, crl and core
    init then sign through the token (PIN from --pkcs11-pin-file, 0600, else the
    DYNSUB_PKCS11_PIN variable). Token problems exit 6 (module or token failure), 11 (wrong
    or missing PIN) or 14 (token or key not found).
    """
    from dynsub_cli.pki import authority
    from dynsub_cli.pki.profiles import KeyType

    created = authority.init(
        folder,
        authority.InitOptions(
            mcc=mcc,
            mnc=mnc,
            manufacturer=manufacturer,
            operator=operator,
            key_type=KeyType(key_type),
            tac=tac,
            ca_days=ca_days,
            core_days=core_days,
            force=force,
            token=None
            if pkcs11_token is None
            else authority.TokenOptions(
                token=pkcs11_token,
                module=pkcs11_module,
                pin_file=pkcs11_pin_file.absolute() if pkcs11_pin_file else None,
                roles=frozenset(r.strip() for r in pkcs11_keys.split(",") if r.strip()),
            ),
        ),
    )
    info: dict[str, Any] = {
        "mcc": created.mcc,
        "mnc": created.mnc,
        "manufacturer": created.manufacturer,
        "operator": created.operator,
        "key_type": created.key_type.value,
        "tac": created.tac,
        "core_dns_name": created.core_dns_name,
        **_paths(created),
    }
    if as_json:
        render.emit_json(info)
        return
    render.key_values(f"PKI created in {created.root}", list(info.items()))


def _not_after(value: str) -> dt.datetime:
    from dynsub_cli.pki.issue import NO_EXPIRY

    if value == "never":
        return NO_EXPIRY
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as err:
        raise BadInput(
            f"--not-after {value!r}: give 'never' or an ISO date such as 2040-12-31"
        ) from err
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


@pki.command("mint")
@PKI_OPTION
@click.option(
    "--out",
    type=PKI_DIR,
    required=True,
    help="Folder that receives one folder per device (named by IMEI) and the manifests.",
)
@click.option("--count", type=int, default=1, show_default=True, help="Devices to mint.")
@click.option(
    "--csr",
    "csr_path",
    type=click.Path(path_type=Path),
    help="Sign these PKCS#10 requests (a file, or a folder of *.csr/*.pem/*.der/*.req) instead "
    "of making keys: one device per CSR, no device.key written; --count is ignored.",
)
@click.option(
    "--defect",
    type=click.Choice(constants.DEFECTS),
    metavar="NAME",
    help="Mint devices wrong on purpose, breaking exactly this one rule (for QA and CI); "
    "each folder holds a DEFECT file, and the ledger keeps them apart from good devices. "
    f"NAME: {', '.join(constants.DEFECTS)}.",
)
@click.option("--tac", help="Type Allocation Code (8 digits): only the PKI's own is accepted.")
@click.option(
    "--first-snr",
    type=int,
    help="First serial number (0-999999); default: after the highest in the ledger.",
)
@click.option("--workers", type=int, help="Worker processes; default: one per core.")
@click.option(
    "--not-after",
    default="never",
    show_default=True,
    help="Device notAfter: 'never' (99991231235959Z, RFC 5280 4.1.2.5) or an ISO date.",
)
@click.option(
    "--p12-password-file",
    type=FILE,
    help="Also write device.p12 (key, certificate, chain) encrypted with this file's password.",
)
@click.option(
    "--trust",
    "trust_files",
    type=FILE,
    multiple=True,
    help="Root(s) the UE trusts to authenticate a core, written to trust.pem; default: this "
    "PKI's root. Give the operator's root when it is not this PKI's. Repeatable.",
)
@JSON
def mint_command(
    pki_dir: Path,
    out: Path,
    count: int,
    csr_path: Path | None,
    defect: str | None,
    tac: str | None,
    first_snr: int | None,
    workers: int | None,
    not_after: str,
    p12_password_file: Path | None,
    trust_files: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Mint device certificates in bulk, each IMEI once, with a manifest (CSV and JSON).

    Each device folder holds device.pem, device.key (PKCS#8, 0600), chain.pem (the
    manufacturer CA), trust.pem (the root the UE trusts to authenticate a core: this PKI's, or
    those of --trust) and, with --p12-password-file, device.p12. IMEIs are TAC + serial +
    Luhn digit, recorded in the PKI's ledger so none is issued twice, even by two runs at
    once. Ctrl-C stops at once and leaves only whole devices, all recorded; the run is then
    left open, and the next run settles it (as it does a run that was killed), writes its
    manifest and mints on after the highest serial.
    """
    from dynsub_cli.files import read_bytes
    from dynsub_cli.pki import authority, csr, defects, mint, pem

    loaded = authority.load(pki_dir)
    if defect is not None:
        _mint_defects(loaded, defects.Defect(defect), out, count, tac, as_json)
        return
    password = None
    if p12_password_file is not None:
        password = read_bytes(p12_password_file, "PKCS#12 password file").rstrip(b"\r\n")
        if not password:
            raise BadInput(f"{p12_password_file}: the PKCS#12 password file is empty")
        try:  # RFC 7292 B.1: the password is a BMPString, which cryptography takes as UTF-8
            password.decode("utf-8")
        except UnicodeDecodeError as err:
            raise BadInput(
                f"{p12_password_file}: the PKCS#12 password file is not UTF-8 text (byte "
                f"{err.start}); write the password as text"
            ) from err
    requests: list[csr.Request] = []
    refused: list[csr.Refused] = []
    if csr_path is not None:
        requests, refused = csr.read(csr.files(csr_path), loaded.own_tac(tac))
        count = len(requests)
    request = mint.MintRequest(
        out=out,
        count=count,
        csrs=tuple(requests),
        refused_csrs=tuple(refused),
        tac=tac,
        first_snr=first_snr,
        workers=workers,
        not_after=_not_after(not_after),
        p12_password=password,
        trust_anchors=tuple(
            anchor for path in trust_files for anchor in pem.read_certificates(path, "trust anchor")
        ),
    )
    with render.progress("minting", max(count, 1), enabled=not as_json) as advance:
        result = mint.mint(loaded, request, progress=advance, stage=advance.stage)
    summary: dict[str, Any] = {
        "run": result.run,
        "out": str(result.out),
        "count": len(result.devices),
        "tac": result.tac,
        "first_imei": result.devices[0].imei if result.devices else None,
        "last_imei": result.devices[-1].imei if result.devices else None,
        "manifest_csv": str(result.manifest.csv),
        "manifest_json": str(result.manifest.json),
        "workers": result.workers,
        "trust_anchors": [
            anchor.subject.rfc4514_string()
            for anchor in request.trust_anchors or (loaded.load_root(),)
        ],
        "seconds": round(result.seconds, 3),
        "recovered_runs": [
            {
                "run": s.run,
                "outcome": s.outcome,
                "devices": s.devices,
                "committed": s.committed,
                "released": s.released,
            }
            for s in result.recovered
        ],
    }
    if csr_path is not None:
        summary["refused"] = [{"csr": r.source, "reason": r.reason} for r in refused]
    if as_json:
        render.emit_json(summary)
        _refused_csrs(refused, result.devices)
        return
    for settled in result.recovered:
        how = "was interrupted" if settled.outcome == "interrupted" else "had died"
        render.warn(
            f"run {settled.run} {how}; settled it first: {settled.devices} device(s) in its "
            f"manifest ({settled.committed} found complete on disk), released "
            f"{settled.released} unused reservation(s)"
        )
    rate = len(result.devices) / result.seconds if result.seconds else 0.0
    render.info(
        f"minted {len(result.devices)} device(s), IMEI {summary['first_imei']} .. "
        f"{summary['last_imei']}, in {result.seconds:.1f} s ({rate:.0f}/s, "
        f"{result.workers} worker(s))"
    )
    render.key_values(
        "minting run",
        [
            ("run", result.run),
            ("devices", f"{result.out}/<IMEI>/"),
            ("manifest (CSV)", result.manifest.csv),
            ("manifest (JSON)", result.manifest.json),
        ],
    )
    for item in refused:
        render.warn(f"{item.source}: CSR refused: {item.reason}")
    _refused_csrs(refused, result.devices)


def _mint_defects(
    loaded: authority.Pki,
    defect: defects.Defect,
    out: Path,
    count: int,
    tac: str | None,
    as_json: bool,
) -> None:
    from dynsub_cli.pki import defects

    made = defects.mint(loaded, defect, out, count=count, tac=tac)
    summary: dict[str, Any] = {
        "defect": defect.value,
        "rule": defect.rule.value,
        "count": len(made.devices),
        "imeis": [m.imei for m in made.devices],
        "out": str(out.absolute()),
        "manifest_csv": str(made.manifest_csv),
        "manifest_json": str(made.manifest_json),
        "crl": str(made.crl) if made.crl else None,
    }
    if as_json:
        render.emit_json(summary)
        return
    render.info(
        f"minted {len(made.devices)} device(s) with defect {defect.value} "
        f"(breaks rule {defect.rule.value}): {', '.join(summary['imeis'])}"
    )
    if made.crl is not None:
        render.info(f"revoked them; CRL written to {made.crl}")


def _refused_csrs(refused: list[csr.Refused], signed: Sequence[object]) -> None:
    """Exit 3 when every CSR was refused; a partly refused run exits 0 and lists them."""
    if refused and not signed:
        raise BadInput(f"every CSR ({len(refused)}) was refused; see the reasons above")


def _identity_json(identity: DeviceIdentity) -> dict[str, Any]:
    return {
        "imei": identity.imei,
        "serial": identity.serial,
        "manufacturer": identity.manufacturer,
        "issuer": identity.issuer,
        "fingerprint": identity.fingerprint,
        "not_after": identity.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


@pki.command("verify")
@click.argument("cert", type=FILE)
@PKI_OPTION
@click.option(
    "--crl",
    "crl_file",
    type=FILE,
    help="Check revocation against this CRL (PEM/DER); default: the PKI's crl.pem, if any.",
)
@click.option(
    "--chain",
    "chain_file",
    type=FILE,
    help="Intermediate CA certificates; default: the rest of CERT, else the PKI's CA.",
)
@click.option(
    "--profile",
    type=click.Choice(["device", "core"]),
    default="device",
    show_default=True,
    help="Which profile CERT must follow.",
)
@JSON
def verify_command(
    cert: Path,
    pki_dir: Path,
    crl_file: Path | None,
    chain_file: Path | None,
    profile: str,
    as_json: bool,
) -> None:
    """Check CERT: profile, chain to the PKI's root, validity and revocation.

    Revocation is checked against --crl, else the PKI's own crl.pem when it exists.

    Exit 0 when valid; exit 4 otherwise, naming every broken rule.
    """
    from dynsub_cli.pki import authority, decoding, pem
    from dynsub_cli.pki.verify import (
        claimed_imei,
        fingerprint,
        label,
        verify_core,
        verify_device,
    )

    loaded = authority.load(pki_dir)
    result: dict[str, Any] = {
        "file": str(cert),
        "valid": True,
        "profile": profile,
        "reasons": [],
        "rules": [],
        "subject": None,
        "fingerprint": None,
        "revocation_checked": crl_file is not None,
    }
    # Without --crl, the PKI's own CRL (issue 9.2): a device revoked here is refused here.
    if crl_file is None and profile == "device" and loaded.crl.exists():
        crl_file = loaded.crl
    crls = [pem.read_crl(crl_file)] if crl_file is not None else []
    result.update(revocation_checked=crl_file is not None, crl=str(crl_file) if crl_file else None)
    try:
        certs = pem.read_certificates(cert)
        if chain_file is not None:
            chain = pem.read_certificates(chain_file, "chain")
        elif len(certs) > 1:
            chain = certs[1:]
        elif profile == "device":
            chain = [loaded.load_manufacturer()]
        else:
            chain = pem.read_certificates(loaded.core_chain, "core chain")
        leaf = certs[0]
        result.update(
            subject=decoding.label(leaf), fingerprint=fingerprint(leaf), imei=claimed_imei(leaf)
        )
        if profile == "device":
            identity = verify_device([leaf, *chain], [loaded.load_root()], crls=crls)
            result.update(_identity_json(identity))
        else:
            verify_core([leaf, *chain], [loaded.load_root()], dns_name=loaded.core_dns_name)
    except CertificateRefused as refused:
        result.update(
            valid=False,
            reasons=list(refused.reasons),
            rules=sorted({rule.value for rule in refused.rules}),
        )
        render.failure_details(**result)
        raise CertificateRefused(f"{cert} ({refused.subject})", refused.failures) from None
    if as_json:
        render.emit_json(result)
        return
    render.line(f"{cert}: valid {profile} certificate ({label(leaf)})")
    if crl_file is None and profile == "device":
        render.info(
            "revocation not checked: give the CRL with --crl, or write this PKI's own "
            f"({loaded.crl}) with 'dynsub pki crl': verify then reads it"
        )


@pki.command("show")
@click.argument("cert", type=FILE)
@JSON
def show_command(cert: Path, as_json: bool) -> None:
    """Show CERT in words: subject, IMEI, policies, usages, dates, fingerprints, profile."""
    from dynsub_cli.pki import describe, pem

    described = describe.describe(pem.read_certificate(cert), str(cert))
    if as_json:
        render.emit_json(described.as_dict())
        return
    if described.profile is not None:
        profile = described.profile
    else:
        profile = f"none (closest: {described.closest_profile}, breaks: " + (
            "; ".join(described.broken_rules) + ")"
        )
    render.key_values(
        str(cert),
        [
            ("subject", described.subject),
            ("IMEI", described.imei),
            ("device serial", described.serial),
            ("certificate serial", described.certificate_serial),
            ("issuer", described.issuer),
            ("key", described.key),
            ("signature", described.signature_algorithm),
            ("not before", described.not_before),
            ("not after", described.not_after),
            ("basic constraints", described.basic_constraints),
            ("key usage", described.key_usage),
            ("extended key usage", described.extended_key_usage),
            ("policies", described.policies),
            ("subject alt names", described.subject_alt_names),
            ("SHA-256", described.sha256_fingerprint),
            ("SHA-1", described.sha1_fingerprint),
            ("profile", profile),
        ],
    )


@pki.command("revoke")
@PKI_OPTION
@click.argument("cert", type=FILE)
@click.option(
    "--reason",
    type=click.Choice(constants.REASONS),
    help="RFC 5280 reason code; omitted when not given.",
)
@JSON
def revoke_command(pki_dir: Path, cert: Path, reason: str | None, as_json: bool) -> None:
    """Revoke a device certificate of this PKI (recorded in its revocation list).

    Run 'dynsub pki crl' afterwards to publish a CRL that includes it.
    """
    from dynsub_cli.pki import authority, pem, revocation

    loaded = authority.load(pki_dir)
    entry = revocation.revoke(
        loaded,
        pem.read_certificate(cert),
        reason=revocation.Reason(reason) if reason else None,
    )
    info = {
        "serial": format(entry.serial, "x"),
        "imei": entry.imei,
        "date": entry.date.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "reason": entry.reason.value if entry.reason else None,
    }
    if as_json:
        render.emit_json(info)
        return
    render.info(
        f"revoked certificate {info['serial']} (IMEI {entry.imei}); publish it with: "
        f"dynsub pki crl --pki {pki_dir}"
    )


@pki.command("crl")
@PKI_OPTION
@click.option("--out", type=FILE, help="Where to write the CRL (PEM); default: PKI/crl.pem.")
@click.option(
    "--days",
    type=int,
    default=constants.DEFAULT_CRL_DAYS,
    show_default=True,
    help="Days until nextUpdate.",
)
@JSON
def crl_command(pki_dir: Path, out: Path | None, days: int, as_json: bool) -> None:
    """Write a CRL of every revoked device, signed by the manufacturer CA."""
    from dynsub_cli.pki import authority, revocation

    written = revocation.write_crl(authority.load(pki_dir), out, days=days)
    info = {
        "path": str(written.path),
        "crl_number": written.number,
        "revoked": written.entries,
        "next_update": written.next_update.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if as_json:
        render.emit_json(info)
        return
    render.info(
        f"CRL #{written.number} with {written.entries} revoked certificate(s) written to "
        f"{written.path} (nextUpdate {info['next_update']})"
    )
