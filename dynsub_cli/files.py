"""Writing files so that a crash leaves either the old file or the whole new one.

Every file dynsub writes goes through :func:`write_atomic`: a temporary file in the same folder,
fsync, rename over the target, fsync of the folder. Secrets (keys, state files) are created
0600 from the first byte, never chmod-ed after the fact.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dynsub_cli.errors import AlreadyExists, FileError

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
    folder = path.parent
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise FileError(f"{folder}: cannot create a file here: {err.strerror}") from err
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)
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
    """Why the secret ``path`` is not private (readable or writable by group or others), or
    None when it is only its owner's (or cannot be stat-ed: reading it will say why)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode_text = f"{stat.S_IMODE(mode):04o}"
        return f"{path}: a secret readable by others (mode {mode_text}); run: chmod 600 {path}"
    return None


def read_secret(path: Path, what: str) -> bytes:
    """Read a secret (a private key, K), refusing one that others may read, as ssh does: a
    secret that leaked may already be someone else's."""
    data = read_bytes(path, what)
    problem = exposure(path)
    if problem is not None:
        raise FileError(f"{problem} ({what})")
    return data


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
