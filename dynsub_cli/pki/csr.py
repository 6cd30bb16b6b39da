"""Device certificate requests (PKCS#10, RFC 2986): the key stays in the device.

A device with a secure element makes its own key pair and sends a CSR; the factory signs. Each
request is checked before any IMEI is given to it:

- its signature verifies under the key it carries (proof of possession, RFC 2986 section 3);
- that key fits the device profile (``profiles.DEVICE.key_types``);
- an IMEI it names (a ``urn:gsma:imei`` SAN or a 15-digit CN) belongs to the run's TAC: a
  request made for another range is not this factory's to sign.

The certificate's IMEI comes from the ledger as for any minted device. A refused request is
reported by file and reason, and the run goes on with the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from dynsub_cli.errors import BadInput, FileError
from dynsub_cli.files import read_bytes
from dynsub_cli.pki import imei as imei_rules
from dynsub_cli.pki import profiles
from dynsub_cli.pki.pem import DECODE_ERRORS
from dynsub_cli.pki.profiles import KeyType

SUFFIXES = (".csr", ".pem", ".der", ".req")
_IMEI_ERRORS: tuple[type[Exception], ...] = (*DECODE_ERRORS, BadInput)


@dataclass(frozen=True)
class Request:
    """A CSR that passed every check: what minting needs from it."""

    source: str  # the file it came from
    public_key: bytes  # SubjectPublicKeyInfo, DER
    sha256: str  # of the DER request, lowercase hex: what the manifest records


@dataclass(frozen=True)
class Refused:
    source: str
    reason: str


def files(path: Path) -> list[Path]:
    """The CSR files of ``path``: the file itself, or a folder's *.csr/*.pem/*.der/*.req."""
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES)
        if not found:
            raise BadInput(f"{path}: holds no CSR file ({', '.join(SUFFIXES)})")
        return found
    if not path.exists():
        raise FileError(f"{path}: no such CSR file or folder")
    return [path]


def _claimed_imei(csr: x509.CertificateSigningRequest) -> str | None:
    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
            if uri.startswith(imei_rules.URN_PREFIX):
                return imei_rules.parse_imei_urn(uri)
    except x509.ExtensionNotFound:
        pass
    common_name = profiles.subject_value(csr.subject, NameOID.COMMON_NAME)
    return common_name if common_name and len(common_name) == 15 and common_name.isdigit() else None


def check(data: bytes, source: str, tac: str) -> Request | Refused:
    """``data`` (PEM or DER) as a :class:`Request`, or why it is refused."""
    try:
        if b"-----BEGIN" in data:
            csr = x509.load_pem_x509_csr(data)
        else:
            csr = x509.load_der_x509_csr(data)
        der = csr.public_bytes(serialization.Encoding.DER)
        key = csr.public_key()
    except UnsupportedAlgorithm as err:
        return Refused(source, f"key type not allowed ({err}); the device profile wants ECDSA")
    except DECODE_ERRORS as err:
        return Refused(source, f"not a PKCS#10 certificate request ({err})")
    key_type = KeyType.of(key)
    if key_type not in profiles.DEVICE.key_types:
        allowed = ", ".join(sorted(k.label for k in profiles.DEVICE.key_types))
        found = key_type.label if key_type else profiles.key_label(key)
        return Refused(
            source, f"key type not allowed ({found}; the device profile allows {allowed})"
        )
    try:
        valid = csr.is_signature_valid
    except DECODE_ERRORS as err:
        return Refused(source, f"signature cannot be checked ({err})")
    if not valid:
        return Refused(source, "signature does not verify: no proof of possession (RFC 2986 3)")
    try:
        claimed = _claimed_imei(csr)
    except _IMEI_ERRORS as err:
        return Refused(source, f"the IMEI it names does not decode ({err})")
    if claimed is not None and not claimed.startswith(tac):
        return Refused(
            source, f"IMEI {claimed} outside the TAC range of this run ({tac}: {tac}xxxxxxx)"
        )
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Request(source, spki, hashlib.sha256(der).hexdigest())


def read(paths: Sequence[Path], tac: str) -> tuple[list[Request], list[Refused]]:
    """Every CSR of ``paths`` checked: the good ones, and the refused ones with reasons."""
    good: list[Request] = []
    refused: list[Refused] = []
    for path in paths:
        outcome = check(read_bytes(path, "CSR"), str(path), tac)
        if isinstance(outcome, Request):
            good.append(outcome)
        else:
            refused.append(outcome)
    return good, refused
