"""A device folder as `dynsub pki mint` writes it (:mod:`dynsub_cli.pki.device_folder`): the UE's
factory credentials.

device.pem (the device certificate), device.key (its private key), chain.pem (the
manufacturer CA: what the UE presents besides its certificate) and trust.pem (the roots the UE
trusts to authenticate a core).
"""

from __future__ import annotations

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
        raise FileError(f"{folder}: no such device folder (mint one with `dynsub pki mint`)")
    cert_path = folder / device_folder.DEVICE_CERT
    cert_pem = read_bytes(cert_path, "device certificate")
    imei = profiles.imei_of(pem.certificates_from(cert_pem, str(cert_path))[0])
    if imei is None:
        raise BadInput(f"{cert_path}: not a device certificate (no IMEI)")
    credentials = Credentials.from_pem(
        cert_pem,
        read_secret(folder / device_folder.DEVICE_KEY, "device private key"),
        chain=tuple(pem.read_certificates(folder / device_folder.CHAIN, "device chain")),
    )
    anchors = tuple(pem.read_certificates(folder / device_folder.TRUST, "trust anchors"))
    return Device(folder, imei, credentials, anchors)
