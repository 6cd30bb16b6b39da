"""A device folder as `dynsub pki mint` writes it (:mod:`dynsub_cli.pki.device_folder`): the UE's
factory credentials.

device.pem (the device certificate), device.key (its private key), chain.pem (the
manufacturer CA: what the UE presents besides its certificate) and trust.pem (the roots the UE
trusts to authenticate a core).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from dynsub_cli.eap.credentials import Credentials
from dynsub_cli.errors import BadInput, FileError
from dynsub_cli.files import read_bytes, read_secret
from dynsub_cli.pki import device_folder, pem, profiles


@dataclass(frozen=True, eq=False)
class Device:
    folder: Path
    imei: str
    credentials: Credentials = field(repr=False)
    trust_anchors: tuple[x509.Certificate, ...]


def load(folder: Path) -> Device:
    if not folder.is_dir():
        raise FileError(
            f"{folder}: no such device folder (mint one with: dynsub pki mint --pki DIR --out DIR)"
        )
    cert_path = folder / device_folder.DEVICE_CERT
    if not cert_path.exists():
        raise FileError(_not_a_device_folder(folder))
    cert_pem = read_bytes(cert_path, "device certificate")
    imei = profiles.imei_of(pem.certificates_from(cert_pem, str(cert_path))[0])
    if imei is None:
        raise BadInput(f"{cert_path}: not a device certificate (no IMEI)")
    key_path = folder / device_folder.DEVICE_KEY
    key_pem = read_secret(key_path, "device private key")
    chain = tuple(pem.read_certificates(folder / device_folder.CHAIN, "device chain"))
    try:
        credentials = Credentials.from_pem(cert_pem, key_pem, chain=chain)
    except BadInput as err:  # the certificate and chain were read above: the key is at fault
        raise BadInput(f"{key_path}: {err.message}") from err
    anchors = tuple(pem.read_certificates(folder / device_folder.TRUST, "trust anchors"))
    return Device(folder, imei, credentials, anchors)


#: How many devices a "not a device folder" message lists by name.
_LISTED = 5


def _not_a_device_folder(folder: Path) -> str:
    """Why ``folder`` is no device folder, and which device folders it holds, if any: the
    output folder of a mint run given in place of one of its devices."""
    inside: list[str] = []
    try:
        with os.scandir(folder) as entries:
            # A minted device folder is named by its IMEI (15 digits): going by the name needs
            # no stat per entry, so the output of a run of 200000 devices is listed at once.
            inside = sorted(
                e.name for e in entries if e.name.isdigit() and len(e.name) == 15 and e.is_dir()
            )
    except OSError:
        pass
    total = len(inside)
    message = f"{folder}: not a device folder (it has no {device_folder.DEVICE_CERT})"
    if not total:
        return message + "; mint devices with: dynsub pki mint --pki DIR --out DIR"
    shown = inside[:_LISTED]
    names = ", ".join(shown) + (f" and {total - len(shown)} more" if total > _LISTED else "")
    first = folder / inside[0]
    return f"{message}; it holds {total} device folder(s): {names}; give one of them, e.g. {first}"
