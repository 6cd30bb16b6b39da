"""`dynsub core init`: a core folder whose defaults let a freshly minted device onboard as is.

The folder holds core.toml, the store (created on first serve) and ``secrets/`` (0700): the
operator's OP, the home network SUCI keys for Profiles A and B, and the store key, each 0600.
The core's certificate, the trust anchors and the manufacturer CA stay in the PKI folder and
are named by path, so that a CRL written later by `dynsub pki crl` is what the core reads.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dynsub_cli import config
from dynsub_cli.config import ListenConfig
from dynsub_cli.errors import AlreadyExists
from dynsub_cli.files import make_private_dir, write_secret
from dynsub_cli.pki import authority, revocation
from dynsub_cli.security.ecies import HomeNetworkKey, Profile
from dynsub_cli.store.sealing import generate_key_file


@dataclass(frozen=True)
class CoreFolder:
    folder: Path
    config_file: Path
    listen: ListenConfig
    mcc: str
    mnc: str


def init(
    folder: Path, pki_folder: Path, *, listen: ListenConfig | None = None, force: bool = False
) -> CoreFolder:
    pki = authority.load(pki_folder)
    target = folder / config.FILE_NAME
    if target.exists() and not force:
        raise AlreadyExists(
            f"{target}: a core is already set up here; use --force to rewrite its "
            "configuration (secrets and store are kept)"
        )
    if not pki.crl.exists():
        # An empty CRL, so that revocations written later reach the core by the same path.
        revocation.write_crl(pki)
    make_private_dir(folder)
    make_private_dir(folder / "secrets")
    loaded = config.default_config(
        folder,
        mcc=pki.mcc,
        mnc=pki.mnc,
        core_cert=pki.core_cert,
        core_key=pki.core_key,
        core_chain=pki.core_chain,
        trust_anchors=[pki.trust_anchors],
        manufacturer_cas=[pki.manufacturer_cert],
        crls=[pki.crl],
        listen=listen,
    )
    written = config.write(loaded, target, overwrite=force)
    # Secrets are made once: a stored subscription needs the store key it was sealed with,
    # and a UE's state file the home network keys it conceals its SUPI with.
    fresh: dict[Path, Callable[[], bytes]] = {
        loaded.operator.op_file: lambda: (secrets.token_bytes(16).hex() + "\n").encode(),
        loaded.suci.profile_a_key_file: lambda: HomeNetworkKey.generate(Profile.A).to_pem(),
        loaded.suci.profile_b_key_file: lambda: HomeNetworkKey.generate(Profile.B).to_pem(),
    }
    for path, make in fresh.items():
        if not path.exists():
            write_secret(path, make(), overwrite=False)
    if not loaded.store.key_file.exists():
        generate_key_file(loaded.store.key_file)
    return CoreFolder(folder, written, loaded.listen, pki.mcc, pki.mnc)
