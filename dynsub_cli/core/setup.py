"""`dynsub core init`: a core folder whose defaults let a freshly minted device onboard as is.

The folder holds core.toml, the store (created on first serve) and ``secrets/`` (0700): the
operator's OP, the home network SUCI keys for Profiles A and B, and the store key, each 0600.
The core's certificate, the trust anchors and the manufacturer CA stay in the PKI folder and
are named by path, so that a CRL written later by `dynsub pki crl` is what the core reads.

The devices a core accepts default to those of its own PKI. When they come from another
manufacturer, under another root (a separate root per branch, docs/architecture.md section 5), the
core is given
that manufacturer's root, CA and CRL instead; each is checked here, so that a core which could
never accept a device is refused at init rather than at the first onboarding.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dynsub_cli import config
from dynsub_cli.config import ListenConfig
from dynsub_cli.errors import AlreadyExists, BadInput
from dynsub_cli.files import make_private_dir, write_secret
from dynsub_cli.nas.enums import ProtectionScheme
from dynsub_cli.pki import authority, pem, profiles, revocation, verify
from dynsub_cli.security.ecies import HomeNetworkKey
from dynsub_cli.store.sealing import generate_key_file


@dataclass(frozen=True)
class CoreFolder:
    folder: Path
    config_file: Path
    listen: ListenConfig
    mcc: str
    mnc: str
    # The manufacturer CAs no CRL covers (as verify.label names them): their revoked devices
    # would onboard.
    unrevocable: tuple[str, ...] = ()


@dataclass(frozen=True)
class Devices:
    """Whose devices a core accepts: files as a manufacturer hands them over."""

    roots: tuple[Path, ...]
    manufacturer_cas: tuple[Path, ...]
    crls: tuple[Path, ...] = ()


def init(
    folder: Path,
    pki_folder: Path,
    *,
    listen: ListenConfig | None = None,
    force: bool = False,
    devices: Devices | None = None,
) -> CoreFolder:
    """Make the core folder; ``devices=None`` accepts the devices of ``pki_folder`` itself."""
    pki = authority.load(pki_folder)
    target = folder / config.FILE_NAME
    if target.exists() and not force:
        raise AlreadyExists(
            f"{target}: a core is already set up here; use `force` to rewrite its "
            "configuration (secrets and store are kept)",
            parameter="force",
        )
    if devices is None:
        if not pki.crl.exists():
            # An empty CRL, so that revocations written later reach the core by the same path.
            revocation.write_crl(pki)
        devices = Devices((pki.trust_anchors,), (pki.manufacturer_cert,), (pki.crl,))
    elif not devices.roots:  # another manufacturer under this PKI's own root
        devices = dataclasses.replace(devices, roots=(pki.trust_anchors,))
    unrevocable = _check_devices(devices)
    make_private_dir(folder)
    make_private_dir(folder / "secrets")
    loaded = config.default_config(
        folder,
        mcc=pki.mcc,
        mnc=pki.mnc,
        core_cert=pki.core_cert,
        core_key=pki.core_key,
        core_chain=pki.core_chain,
        trust_anchors=[path.absolute() for path in devices.roots],
        manufacturer_cas=[path.absolute() for path in devices.manufacturer_cas],
        crls=[path.absolute() for path in devices.crls],
        listen=listen,
    )
    written = config.write(loaded, target, overwrite=force)
    # Secrets are made once: a stored subscription needs the store key it was sealed with,
    # and a UE's state file the home network keys it conceals its SUPI with.
    fresh: dict[Path, Callable[[], bytes]] = {
        loaded.operator.op_file: lambda: (secrets.token_bytes(16).hex() + "\n").encode(),
        loaded.suci.profile_a_key_file: lambda: HomeNetworkKey.generate(
            ProtectionScheme.PROFILE_A
        ).to_pem(),
        loaded.suci.profile_b_key_file: lambda: HomeNetworkKey.generate(
            ProtectionScheme.PROFILE_B
        ).to_pem(),
    }
    for path, make in fresh.items():
        if not path.exists():
            write_secret(path, make(), overwrite=False)
    if not loaded.store.key_file.exists():
        generate_key_file(loaded.store.key_file)
    return CoreFolder(folder, written, loaded.listen, pki.mcc, pki.mnc, unrevocable)


def _check_devices(devices: Devices) -> tuple[str, ...]:
    """Refuse device trust that can accept no device; name the CAs no CRL covers."""
    if not devices.roots or not devices.manufacturer_cas:
        raise BadInput("a core needs at least one device root and one manufacturer CA")
    roots = [c for p in devices.roots for c in pem.read_certificates(p, "device root")]
    for root in roots:
        if not profiles.is_ca(root):
            raise BadInput(f"device root {verify.label(root)}: not a CA certificate")
    cas = [c for p in devices.manufacturer_cas for c in pem.read_certificates(p, "manufacturer CA")]
    for ca in cas:
        problems = profiles.check(profiles.MANUFACTURER_CA, ca)
        if problems:
            broken = "; ".join(map(str, problems))
            raise BadInput(f"manufacturer CA {verify.label(ca)}: not a manufacturer CA ({broken})")
        if not any(verify.issued_by(ca, root) for root in roots):
            raise BadInput(
                f"manufacturer CA {verify.label(ca)}: signed by none of the device roots (its "
                f"issuer: {ca.issuer.rfc4514_string()}); add its root with `devices.roots`, or "
                "its devices can never onboard",
                parameter="devices.roots",
            )
    covered = set()
    for path in devices.crls:
        crl = pem.read_crl(path)
        issuer = next((ca for ca in cas if ca.subject == crl.issuer), None)
        if issuer is None or not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
            raise BadInput(
                f"{path}: a CRL of {crl.issuer.rfc4514_string()}, not signed by any of the "
                "manufacturer CAs; give each manufacturer CA's own CRL"
            )
        covered.add(issuer.subject)
    return tuple(verify.label(ca) for ca in cas if ca.subject not in covered)
