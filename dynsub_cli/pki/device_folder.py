"""A minted device's folder: what it holds, how it is written whole, how it is read back.

``OUT/<IMEI>/`` holds ``device.pem`` (the device certificate), ``device.key`` (its PKCS#8 key,
0600), ``chain.pem`` (the manufacturer CA: what the UE presents besides its certificate),
``trust.pem`` (the root the UE trusts to authenticate a core) and, when asked for,
``device.p12``; a device minted from its CSR has no ``device.key`` (it keeps its own).
``chain.pem`` and ``trust.pem`` are the same for every device of a run: hard links to one
read-only copy in ``OUT/.shared/``.

A folder is written as ``OUT/.<IMEI>.partial`` and renamed to ``OUT/<IMEI>`` once whole, so a
device folder appears whole or not at all (:mod:`dynsub_cli.pki.mint` says who renames when).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from dynsub_cli.errors import FileError
from dynsub_cli.files import write_atomic
from dynsub_cli.pki import profiles
from dynsub_cli.pki.ledger import Issued, iso_utc

DEVICE_CERT = "device.pem"
DEVICE_KEY = "device.key"
CHAIN = "chain.pem"
TRUST = "trust.pem"
P12 = "device.p12"
PARTIAL = ".partial"
SHARED = ".shared"


def partial(out: str | Path, imei: str) -> str:
    """Where the folder of ``imei`` is written before it is renamed into place."""
    return f"{out}/.{imei}{PARTIAL}"


def partial_imei(path: Path) -> str:
    """The IMEI whose folder ``OUT/.<IMEI>.partial`` is being written."""
    return path.name[1 : -len(PARTIAL)]


def _write_new(path: str, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from the first byte; open + write + close, nothing else."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def write_partial(
    path: str,
    cert_pem: bytes,
    key_pem: bytes | None,
    bundle: bytes | None,
    *,
    chain_file: str,
    trust_file: str,
) -> None:
    """Write a device folder at ``path`` (see :func:`partial`); nothing is left on failure."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        shutil.rmtree(path)  # left by an earlier attempt at this same reservation
        os.mkdir(path, 0o700)
    try:
        _write_new(f"{path}/{DEVICE_CERT}", cert_pem, 0o644)
        if key_pem is not None:  # None: the device made its key and sent a CSR
            _write_new(f"{path}/{DEVICE_KEY}", key_pem, 0o600)
        # Identical in every device: a hard link is one syscall and no new inode.
        os.link(chain_file, f"{path}/{CHAIN}")
        os.link(trust_file, f"{path}/{TRUST}")
        if bundle is not None:
            _write_new(f"{path}/{P12}", bundle, 0o600)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def place(out: Path, imei: str) -> None:
    """Rename the finished folder of ``imei`` into place: it appears whole, atomically."""
    try:
        os.rename(partial(out, imei), f"{out}/{imei}")
    except OSError as err:
        raise FileError(
            f"{out / imei}: cannot put the device folder in place ({err.strerror}); "
            "is something else using that name?"
        ) from err


def read_issued(folder: Path, imei: str) -> Issued | None:
    """The ledger row of a device folder in place, or None if it is not a device of ours."""
    try:
        cert = x509.load_pem_x509_certificate((folder / DEVICE_CERT).read_bytes())
    except (OSError, ValueError):
        return None
    if profiles.imei_of(cert) != imei:
        return None
    serial = profiles.subject_value(cert.subject, x509.NameOID.SERIAL_NUMBER) or ""
    return Issued(
        imei,
        serial,
        format(cert.serial_number, "x"),
        cert.fingerprint(hashes.SHA256()).hex(),
        iso_utc(cert.not_valid_after_utc),
    )


def shared_copy(out: Path, name: str, data: bytes) -> Path:
    """``OUT/.shared/<sha256>-<name>``: one read-only copy that device folders hard-link to."""
    folder = out / SHARED
    folder.mkdir(mode=0o755, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}-{name}"
    if not path.exists():
        write_atomic(path, data, mode=0o444)
    return path
