"""Writing files so that a crash leaves either the old file or the whole new one.

Every file dynsub writes goes through :func:`write_atomic`: a temporary file in the same folder,
fsync, rename over the target, fsync of the folder. Secrets (keys, state files) are created
0600 from the first byte, never chmod-ed after the fact.
"""

from __future__ import annotations

import binascii
import contextlib
import fcntl
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from dynsub_cli.errors import AlreadyExists, DynsubError, FileError

SECRET_MODE = 0o600
PUBLIC_MODE = 0o644
PRIVATE_DIR_MODE = 0o700


def write_atomic(
    path: Path, data: bytes, *, mode: int = PUBLIC_MODE, overwrite: bool = True
) -> None:
    """Write ``data`` to ``path`` atomically with permission bits ``mode``.

    With ``overwrite=False`` an existing file is never replaced (the final step is a hard link,
    which fails if the name exists), so two writers racing for one name cannot both win.
    """
    with writing_atomic(path, mode=mode, overwrite=overwrite) as out:
        out.write(data)


@contextlib.contextmanager
def writing_atomic(
    path: Path, *, mode: int = PUBLIC_MODE, overwrite: bool = True
) -> Iterator[BinaryIO]:
    """A file to write ``path`` through piece by piece, put in place whole (and synced) when
    the block ends, as :func:`write_atomic` does: an export of a large store streams into it
    instead of being built in memory first. If the block raises, ``path`` is left as it was."""
    folder = path.parent
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise FileError(f"{folder}: cannot create a file here: {err.strerror}") from err
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            yield out
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError as err:
                raise AlreadyExists(f"{path}: already exists; refusing to overwrite it") from err
            tmp.unlink()
        fsync_dir(folder)
    except OSError as err:
        raise FileError(f"{path}: cannot write: {err.strerror}") from err
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_secret(path: Path, data: bytes, *, overwrite: bool = True) -> None:
    """Write a secret (private key, K, state file) atomically, readable by the owner only."""
    write_atomic(path, data, mode=SECRET_MODE, overwrite=overwrite)


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new entry in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_private_dir(path: Path, *, exist_ok: bool = True) -> None:
    """Create ``path`` (and parents) with mode 0700 for the last component."""
    try:
        path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=exist_ok)
        os.chmod(path, PRIVATE_DIR_MODE)
    except FileExistsError as err:
        raise AlreadyExists(f"{path}: already exists") from err
    except OSError as err:
        raise FileError(f"{path}: cannot create folder: {err.strerror}") from err


def read_bytes(path: Path, what: str = "file") -> bytes:
    """Read a file, turning OSError into a message that names the file and what it was for."""
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise FileError(f"{path}: {what} not found") from err
    except OSError as err:
        raise FileError(f"{path}: cannot read {what}: {err.strerror}") from err


def check_writable(path: Path, what: str) -> None:
    """Raise FileError unless a file can be written at ``path`` now (by creating and removing
    a temporary file beside it): for work that must not be done only to be lost at the end."""
    if path.is_dir():
        raise FileError(f"{path}: is a folder; give the {what} a file name")
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except FileNotFoundError as err:
        raise FileError(f"{path.parent}: no such folder for the {what}; create it first") from err
    except OSError as err:
        raise FileError(f"{path.parent}: cannot write the {what} here: {err.strerror}") from err


def exposure(path: Path) -> str | None:
    """Why the secret ``path`` is not private, or None when it is only ours (or cannot be
    stat-ed: reading it will say why).

    Private means owned by the user dynsub runs as, and neither readable nor writable by group
    or others. A file another user owns is not ours even at 0600: that user can read it, and can
    chmod it open again at any time (OpenSSH refuses such a key file for the same reason).
    """
    try:
        st = path.stat()
    except OSError:
        return None
    return _exposure(path, st)


def _exposure(path: Path, st: os.stat_result) -> str | None:
    if st.st_uid != os.geteuid():
        return (
            f"{path}: a secret owned by another user (uid {st.st_uid}, dynsub runs as uid "
            f"{os.geteuid()}); that user can read it: make a copy of your own, or run: "
            f"chown {os.geteuid()} {path}"
        )
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode_text = f"{stat.S_IMODE(st.st_mode):04o}"
        return f"{path}: a secret readable by others (mode {mode_text}); run: chmod 600 {path}"
    return None


def check_private(path: Path, what: str) -> Path:
    """``path`` itself, once it is known to be private (see :func:`exposure`); for a secret that
    another module reads (a CA key parsed by the PKI), so that every secret follows one rule."""
    problem = exposure(path)
    if problem is not None:
        raise FileError(f"{problem} ({what})")
    return path


def check_private_fd(fd: int, path: Path, what: str) -> None:
    """:func:`check_private` on an open file: for a secret dynsub appends to (a TLS key log),
    where the file may exist before dynsub opens it."""
    problem = _exposure(path, os.fstat(fd))
    if problem is not None:
        raise FileError(f"{problem} ({what})")


def read_secret(path: Path, what: str) -> bytes:
    """Read a secret (a private key, K), refusing one that others may read, as ssh does: a
    secret that leaked may already be someone else's."""
    data = read_bytes(path, what)
    check_private(path, what)
    return data


#: The largest text file (TOML, PEM) dynsub reads whole: far above any it writes, so that a
#: device node or a huge file named by mistake is refused instead of filling the memory.
MAX_TEXT_FILE = 16 * 1024 * 1024


def read_limited(path: Path, what: str, limit: int = MAX_TEXT_FILE) -> bytes:
    """Read at most ``limit`` bytes of ``path``; a longer file (or /dev/zero) is refused."""
    if path.is_dir():
        raise FileError(f"{path}: is a folder, not a {what}")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError as err:
        raise FileError(f"{path}: {what} not found") from err
    except OSError as err:
        raise FileError(f"{path}: cannot read {what}: {err.strerror}") from err
    if len(data) > limit:
        raise FileError(f"{path}: larger than {limit // (1024 * 1024)} MiB: not a {what}")
    return data


def parse_toml(
    data: bytes, path: Path, what: str, error: type[DynsubError] = FileError
) -> dict[str, Any]:
    """The TOML document in ``data`` (read from ``path``); anything that is not TOML text raises
    ``error`` naming the file and what is wrong, never UnicodeDecodeError or RecursionError."""
    seen = kind_of(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        found = f"{seen}, " if seen else ""
        raise error(
            f"{path}: {found}not a {what}: not UTF-8 text (byte {err.start} is "
            f"0x{data[err.start]:02x}); a {what} is TOML"
        ) from err
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        found = f"{seen}, not a {what}" if seen else f"not valid TOML: {err}"
        raise error(f"{path}: {found}") from err
    except RecursionError as err:  # tomllib recurses once per nesting level
        raise error(f"{path}: not a {what}: arrays or tables nested too deeply") from err


def read_toml(path: Path, what: str, error: type[DynsubError] = FileError) -> dict[str, Any]:
    """Read and parse the TOML file ``path`` (see :func:`parse_toml`)."""
    return parse_toml(read_limited(path, what), path, what, error)


# What a file holds, from its first bytes, for messages about a file given in the wrong place.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"-----BEGIN CERTIFICATE-----", "a PEM certificate"),
    (b"-----BEGIN X509 CRL-----", "a PEM CRL"),
    (b"-----BEGIN PRIVATE KEY-----", "a PEM private key"),
    (b"-----BEGIN EC PRIVATE KEY-----", "a PEM private key"),
    (b"-----BEGIN ENCRYPTED PRIVATE KEY-----", "a PEM private key"),
    (b"-----BEGIN PUBLIC KEY-----", "a PEM public key"),
    (b"SQLite format 3\x00", "an SQLite database"),
)


def kind_of(data: bytes) -> str | None:
    """``"a PEM certificate"``, ``"an SQLite database"``...: what ``data`` holds, when its
    first bytes say so; None otherwise (the caller then says what it expected)."""
    head = data.lstrip()[:64]
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head.startswith(b"-----BEGIN "):
        return "a PEM file"
    return None


#: RFC 7468 2: base64 in lines of 64 characters between the labels.
_PEM_LINE = re.compile(b".{1,64}", re.DOTALL)


def pem_certificate(der: bytes) -> bytes:
    """A DER certificate as PEM, byte for byte as cryptography's ``public_bytes(PEM)`` and
    ``ssl.DER_cert_to_PEM_cert`` write it: one base64 call and one split, for the mint (a
    file per device) and the store's exports (a record per device) alike."""
    lines = b"\n".join(_PEM_LINE.findall(binascii.b2a_base64(der, newline=False)))
    return b"-----BEGIN CERTIFICATE-----\n" + lines + b"\n-----END CERTIFICATE-----\n"


@contextlib.contextmanager
def locked(path: Path, what: str) -> Iterator[None]:
    """Hold an exclusive fcntl lock on ``<path>.lock`` for the block (across processes).

    The kernel drops the lock when the process dies, so a crash never leaves it held.
    """
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, SECRET_MODE)
    except OSError as err:
        raise FileError(f"{lock_path}: cannot lock the {what}: {err.strerror}") from err
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
