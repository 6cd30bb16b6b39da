"""Test helper: a throwaway PostgreSQL 15 cluster in a temporary folder, never the system one.

The cluster listens on 127.0.0.1 and a free port, with its unix socket in its own folder, so it
cannot collide with a system cluster on 5432. initdb and postgres refuse to run as root: when
the tests run as root (CI does) both run under ``runuser -u postgres`` and the folder is owned
by postgres. Local (socket) connections are trusted, for the fixture's own administration;
TCP connections need a password (scram-sha-256), as a real deployment does.

Each test gets a store of its own (:meth:`Cluster.new_database`): a schema of one shared
database, named by ``search_path`` in the URL. A schema costs nothing to make; a database is a
7 MB copy of the template, and a few hundred of them made the cluster slow to remove.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

BIN = Path("/usr/lib/postgresql/15/bin")
ROLE = "dynsub"
DATABASE = "dynsub_tests"
PASSWORD = "dynsub-test-password"
# Guards against a hang, not a timing: a cluster that takes this long to start is broken.
START_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _as_owner(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@dataclass
class Cluster:
    folder: Path
    port: int
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "run"

    def url(self, name: str = "public", *, password: bool = False) -> str:
        """The URL of the store ``name`` (a schema of the tests' database)."""
        secret = f":{PASSWORD}" if password else ""
        return (
            f"postgresql://{ROLE}{secret}@127.0.0.1:{self.port}/{DATABASE}"
            f"?options=-csearch_path%3D{name}"
        )

    def admin(self, name: str = "public") -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection over the cluster's unix socket, in store ``name``."""
        return psycopg.connect(
            host=str(self.socket_dir), port=self.port, user="postgres", dbname=DATABASE,
            options=f"-csearch_path={name}", autocommit=True,
        )  # fmt: skip

    def new_database(self) -> str:
        """A new empty store location (a schema owned by the test role); returns its name."""
        name = f"t{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f"CREATE SCHEMA {name} AUTHORIZATION {ROLE}")
        return name

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_owner([str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", str(START_TIMEOUT),
                       "-l", str(self.folder / "log"), *args]),
            check=True, capture_output=True, timeout=START_TIMEOUT + 10,
        )  # fmt: skip

    def start(self) -> None:
        self.pg_ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode)

    def log(self) -> str:
        return (self.folder / "log").read_text(errors="replace")


@contextlib.contextmanager
def cluster(*, durable: bool = False) -> Iterator[Cluster]:
    """initdb, start, yield, stop, remove the folder.

    ``durable``: fsync every commit, as a production server does (benchmarks); tests skip it.
    """
    folder = Path(tempfile.mkdtemp(prefix="dynsub-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    folder.chmod(0o700)
    port = _free_port()
    found = Cluster(folder, port)
    run_dir = found.socket_dir
    pwfile = folder / "pw"
    try:
        subprocess.run(
            _as_owner(["mkdir", "-m", "700", str(run_dir)]), check=True, timeout=START_TIMEOUT
        )
        subprocess.run(
            _as_owner(["sh", "-c", f"umask 077; printf %s postgres > {pwfile}"]),
            check=True, timeout=START_TIMEOUT,
        )  # fmt: skip
        subprocess.run(
            _as_owner([str(BIN / "initdb"), "-D", str(found.data), "-U", "postgres",
                       "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile", str(pwfile),
                       "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
            check=True, capture_output=True, timeout=START_TIMEOUT,
        )  # fmt: skip
        settings = (
            "listen_addresses = '127.0.0.1'\n"
            f"port = {port}\n"
            f"unix_socket_directories = '{run_dir}'\n"
            "max_connections = 200\n"
        )
        if not durable:
            # A throwaway cluster: losing it in a power cut is fine, and tests run faster.
            settings += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        subprocess.run(
            _as_owner(["sh", "-c", f"cat >> {found.data / 'postgresql.conf'}"]),
            input=settings.encode(), check=True, timeout=START_TIMEOUT,
        )  # fmt: skip
        found.start()
        with psycopg.connect(
            host=str(run_dir), port=port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
            conn.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
        yield found
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            found.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
