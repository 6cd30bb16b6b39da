"""Running the core as a service: metrics and health, the ready and pid files, reload on SIGHUP.

Theory of operation. `core serve` (core.service) hands this module its log, its connection
callbacks and the :class:`~dynsub_cli.core.service.CrlWatch` that holds the Network new
connections get. A reload reads core.toml and every file it names into a whole new Network
(the same ``assembly.network`` as at start-up, so a reloaded core is checked like a started
one) and swaps it in at once: connections accepted afterwards use it, sessions in flight keep
the Network they started with. A file that does not read or validate keeps the old Network in
force and is logged; nothing a reload finds wrong stops the core. What cannot change while
serving (the store, the address, the limits, the metrics address) is kept and logged.

The pid file (``core.pid`` next to core.toml) lets `dynsub core reload --config` find the
process; the ready file (`core serve --ready-file`) is written once the core listens, so that
scripts need not parse the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography import x509

from dynsub_cli import config as configs
from dynsub_cli.config import CoreConfig
from dynsub_cli.core import assembly
from dynsub_cli.core.audit import AuditTrail
from dynsub_cli.core.metrics import Endpoint, Health, Metrics
from dynsub_cli.core.network import Network
from dynsub_cli.core.procedure import LogRecord
from dynsub_cli.errors import DynsubError, FileError, NotFound
from dynsub_cli.files import write_atomic
from dynsub_cli.store.backend import SubscriptionStore

PID_FILE = "core.pid"
#: The CRL files' (inode, mtime, size) stamps, as core.service.CrlWatch keeps them.
Stamps = tuple[tuple[int, int, int] | None, ...]


class Watch(Protocol):
    """The holder of the Network new connections get (core.service.CrlWatch)."""

    network: Network

    def replace(self, network: Network, seen: Stamps) -> None:
        """Swap ``network`` in; ``seen``: the CRL files' stamps taken before it read them."""


def pid_file(config_file: Path) -> Path:
    return config_file.absolute().parent / PID_FILE


def send_reload(config_file: Path) -> int:
    """SIGHUP to the core serving ``config_file``; returns its pid."""
    path = pid_file(config_file)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError as err:
        raise NotFound(
            f"{path}: no pid file: is a `dynsub core serve` of {config_file} running?"
        ) from err
    except OSError as err:
        raise FileError(f"{path}: cannot read: {err.strerror}") from err
    if not text.isdigit():
        raise FileError(f"{path}: not a process id: {text[:40]!r} (remove the file)")
    pid = int(text)
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError as err:
        raise NotFound(f"{path}: process {pid} is not running (a stale pid file)") from err
    except PermissionError as err:
        raise FileError(f"{path}: process {pid} belongs to another user") from err
    return pid


class Operations:
    """One `core serve`'s metrics endpoint, ready and pid files, and reloads."""

    def __init__(
        self,
        config: CoreConfig,
        log: Callable[[LogRecord], None],
        *,
        config_file: Path | None = None,
        ready_file: Path | None = None,
        pid_file: bool = True,
        shape: Callable[[CoreConfig], CoreConfig] = lambda config: config,
    ) -> None:
        """``pid_file``: write core.pid next to ``config_file`` once listening (a serving
        process of `core serve --processes N` leaves that to its supervisor, and ``shape``s
        each configuration it reads to its share of the limits)."""
        self._shape = shape
        self.config = config
        self._config_file = config_file
        self._write_pid_file = pid_file
        self._ready_file = ready_file
        self._inner_log = log
        self._watch: Watch | None = None
        self.metrics: Metrics | None = None
        if config.metrics.listen is not None:
            self.metrics = Metrics(self._crls)
        self._endpoint: Endpoint | None = None
        self._health: Health | None = None
        self._pid_written: Path | None = None
        self.metrics_address: tuple[str, int] | None = None

    def log(self, record: LogRecord) -> None:
        """The core's log, counted on the way (core.metrics)."""
        if self.metrics is not None:
            self.metrics.observe(record)
        self._inner_log(record)

    def _crls(self) -> tuple[x509.CertificateRevocationList, ...]:
        return self._watch.network.crls if self._watch is not None else ()

    def start(self, store: SubscriptionStore, audit: AuditTrail, watch: Watch) -> None:
        """Before the core binds: the metrics endpoint (unready until ``listening``)."""
        self._store, self._audit, self._watch = store, audit, watch
        listen = self.config.metrics.listen
        if self.metrics is None or listen is None:
            return
        self._health = Health(store, self._crls_problem)
        self._endpoint = Endpoint(self.metrics, self._health)
        self.metrics_address = self._endpoint.start(*listen)
        self.log(
            LogRecord(
                "-",
                "metrics",
                "ok",
                "serving /metrics, /healthz, /readyz on "
                f"{self.metrics_address[0]}:{self.metrics_address[1]}",
            )
        )

    def _crls_problem(self) -> str | None:
        if self._watch is None:
            return "the CRLs are not loaded yet"
        named, loaded = len(self.config.pki.crls), len(self._watch.network.crls)
        return None if named == loaded else f"{loaded} of {named} CRLs loaded"

    # --- connection callbacks of core.server --------------------------------------------

    def opened(self, peer: str) -> None:
        if self.metrics is not None:
            self.metrics.opened(peer)

    def closed(self, peer: str) -> None:
        if self.metrics is not None:
            self.metrics.closed(peer)

    def refused(self, peer: str, why: str) -> None:
        if self.metrics is not None:
            self.metrics.refused(peer, why)

    # --- listening and stopping ---------------------------------------------------------

    def listening(self, host: str, port: int) -> None:
        """The core is bound: ready, and the pid and ready files written."""
        if self._health is not None:
            self._health.listening = True
        if self._config_file is not None and self._write_pid_file:
            path = pid_file(self._config_file)
            try:
                write_atomic(path, f"{os.getpid()}\n".encode())
                self._pid_written = path
            except DynsubError as err:
                # A read-only core folder still serves; only `core reload` needs the file.
                self.log(
                    LogRecord(
                        "-",
                        "pid-file",
                        "failed",
                        f"{err.message}; send SIGHUP to pid {os.getpid()} to reload",
                    )
                )
        if self._ready_file is not None:
            document: dict[str, object] = {"host": host, "port": port, "pid": os.getpid()}
            if self.metrics_address is not None:
                document["metrics"] = f"{self.metrics_address[0]}:{self.metrics_address[1]}"
            write_atomic(self._ready_file, (json.dumps(document) + "\n").encode())

    def stop(self) -> None:
        if self._health is not None:
            self._health.listening = False
        if self._endpoint is not None:
            self._endpoint.stop()
        # Only our own pid file: a second core on the same core.toml may have replaced it.
        if self._pid_written is not None:
            with contextlib.suppress(OSError):
                if self._pid_written.read_text().strip() == str(os.getpid()):
                    self._pid_written.unlink()
        if self._ready_file is not None:
            with contextlib.suppress(OSError):
                self._ready_file.unlink()

    # --- reload -------------------------------------------------------------------------

    async def reloads(self, requested: asyncio.Event) -> None:
        """Reload each time ``requested`` is set (SIGHUP), until cancelled."""
        while True:
            await requested.wait()
            requested.clear()
            try:
                await asyncio.to_thread(self.reload)
            except Exception as err:  # a bug must not end reloading, nor the core
                self.log(
                    LogRecord(
                        "-",
                        "reload",
                        "failed",
                        f"{type(err).__name__}: {err}; the previous configuration stays in force",
                    )
                )

    def reload(self) -> bool:
        """Read core.toml and its files again; True if the new configuration is in force."""
        if self._config_file is None or self._watch is None:
            self.log(LogRecord("-", "reload", "failed", "no core.toml to read again"))
            return False
        # Imported here: core.service imports this module to serve.
        from dynsub_cli.core.service import stamps

        try:
            new = self._shape(configs.load(self._config_file))
            seen = stamps(new.pki.crls)
            network = assembly.network(new, self._store, audit=self._audit)
        except DynsubError as err:
            self.log(
                LogRecord(
                    "-",
                    "reload",
                    "failed",
                    f"{err.message}; the previous configuration stays in force",
                )
            )
            return False
        kept = [
            f"[{name}]"
            for name, before, after in (
                ("store", self.config.store, new.store),
                ("listen", self.config.listen, new.listen),
                ("limits", self.config.limits, new.limits),
                ("metrics", self.config.metrics, new.metrics),
            )
            if before != after
        ]
        self._watch.replace(network, seen)
        self.config = new
        note = f"; {', '.join(kept)} changed: restart the core to apply" if kept else ""
        self.log(
            LogRecord(
                "-",
                "reload",
                "ok",
                f"{self._config_file} read again: new connections get it{note}",
            )
        )
        return True
