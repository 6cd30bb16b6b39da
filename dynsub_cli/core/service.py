"""`dynsub core serve`: the configuration, the store and the TCP server, put together.

Start-up checks everything before the port is bound (files, keys, store), so a wrong
configuration is a clear error and not a core that refuses every UE. While serving, the CRLs
named in core.toml are read again when their files change (:class:`CrlWatch`), so that a
revocation published with `dynsub pki crl` refuses the device at its next connection, without a
restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from dynsub_cli.aaa.server import Accepted, RadiusServer
from dynsub_cli.aaa.server import serve as radius_serve
from dynsub_cli.config import CoreConfig
from dynsub_cli.core import assembly, policy
from dynsub_cli.core.audit import AuditTrail
from dynsub_cli.core.network import Network
from dynsub_cli.core.operations import Operations
from dynsub_cli.core.prefork import Worker, share_limit
from dynsub_cli.core.procedure import LogRecord
from dynsub_cli.core.server import Limits, Server, Tap
from dynsub_cli.core.session import CoreSession
from dynsub_cli.eap.server import Authenticated
from dynsub_cli.errors import AuthenticationError, DynsubError, NetworkError
from dynsub_cli.files import read_secret
from dynsub_cli.nas import codec
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import MmCause
from dynsub_cli.pki import pem

Stamp = tuple[int, int, int] | None  # (inode, mtime ns, size) of a file; None: unreadable


def stamps(paths: Sequence[Path]) -> tuple[Stamp, ...]:
    found: list[Stamp] = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            found.append(None)
            continue
        found.append((info.st_ino, info.st_mtime_ns, info.st_size))
    return tuple(found)


class CrlWatch:
    """The network with the CRLs as they are on disk now, checked once per connection.

    One stat per CRL file per connection: `dynsub pki crl` replaces the file atomically (a new
    inode), so a changed stamp means a whole new CRL. A CRL that no longer reads keeps the last
    good one in force (its revocations stay) and is logged once.
    """

    def __init__(
        self,
        network: Network,
        paths: Sequence[Path],
        log: Callable[[LogRecord], None],
        *,
        seen: tuple[Stamp, ...] | None = None,
    ) -> None:
        """``seen``: the stamps taken before ``network`` read the CRLs (default: now)."""
        self.network = network
        self._paths = tuple(paths)
        self._log = log
        self._seen = stamps(self._paths) if seen is None else seen
        self._lock = threading.Lock()  # sessions are made in worker threads (core.server)

    def current(self) -> Network:
        with self._lock:
            return self._current()

    def replace(self, network: Network, seen: tuple[Stamp, ...]) -> None:
        """A reload (core.operations): ``network`` for new connections, its CRLs watched from
        now on; ``seen`` are their stamps taken before ``network`` read them."""
        with self._lock:
            self.network = network
            self._paths = tuple(network.config.pki.crls)
            self._seen = seen

    def _current(self) -> Network:
        stamps_now = stamps(self._paths)
        if stamps_now == self._seen:
            return self.network
        self._seen = stamps_now
        try:
            crls = tuple(pem.read_crl(path) for path in self._paths)
        except DynsubError as err:
            self._log(
                LogRecord("-", "crl", "failed", f"{err.message}; the previous CRLs stay in force")
            )
            return self.network
        self.network = dataclasses.replace(self.network, crls=crls)
        revoked = sum(len(crl) for crl in crls)
        self._log(LogRecord("-", "crl", "ok", f"CRLs read again: {revoked} revoked certificate(s)"))
        return self.network


def _share_limits(config: CoreConfig, count: int) -> CoreConfig:
    """The limits one of ``count`` serving processes applies, so that together they hold the
    configured totals: connections, connections per peer, challenges per SUPI."""
    limits = config.limits
    shared = dataclasses.replace(
        limits,
        max_connections=share_limit(limits.max_connections, count),
        max_connections_per_peer=share_limit(limits.per_peer, count),
        challenges_per_minute=share_limit(limits.challenges_per_minute, count),
    )
    return dataclasses.replace(config, limits=shared)


def _failed(step: str, problem: str) -> LogRecord:
    return LogRecord("-", step, "failed", problem)


async def serve(
    config: CoreConfig,
    stop: asyncio.Event,
    *,
    listen: tuple[str, int] | None = None,
    log: Callable[[LogRecord], None] = lambda record: None,
    ready: Callable[[str, int], None] = lambda host, port: None,
    tap: Tap | None = None,
    config_file: Path | None = None,
    reload: asyncio.Event | None = None,
    ready_file: Path | None = None,
    worker: Worker | None = None,
) -> None:
    """Serve until ``stop`` is set; committed records are never lost on the way out.
    ``tap`` traces every connection's bytes (dynsub_cli.pcap). Setting ``reload`` reads
    ``config_file`` again (core.operations); ``ready_file`` is written once the core listens.
    As one ``worker`` of `core serve --processes N` (core.prefork), serve on its socket with
    this process's share of the limits; its supervisor writes the pid and ready files."""
    count = worker.count if worker is not None else 1

    def shape(config: CoreConfig) -> CoreConfig:
        return _share_limits(config, count) if count > 1 else config

    config = shape(config)
    ops = Operations(
        config,
        log,
        config_file=config_file,
        ready_file=ready_file,
        pid_file=worker is None,
        shape=shape,
    )
    log = ops.log
    with assembly.open_store(config) as store, contextlib.ExitStack() as running:
        # Stamped before loading, so that a CRL replaced while the core starts is read again.
        seen = stamps(config.pki.crls)
        audit = AuditTrail(store, on_failure=lambda problem: log(_failed("audit", problem)))
        network = assembly.network(config, store, audit=audit)
        watch = CrlWatch(network, config.pki.crls, log, seen=seen)
        # What start-up loaded (modules, certificates, keys, the network) lives as long as the
        # core: moved out of the cyclic collector's way, so that its collections only walk
        # what connections make.
        gc.freeze()
        ops.start(store, audit, watch)
        running.callback(ops.stop)
        limits = Limits(
            timeout_seconds=config.limits.timeout_seconds,
            max_connections=config.limits.max_connections,
            max_frame=config.limits.max_frame,
            max_per_peer=config.limits.per_peer,
            first_pdu_seconds=config.limits.first_pdu,
        )

        def refused(peer: str, why: str) -> None:
            ops.refused(peer, why)
            log(LogRecord(peer, "connection", "refused", why))

        # TS 24.501 5.5.1.2.5: #22 (congestion) tells the UE to try again later.
        busy = codec.encode(m.RegistrationReject(MmCause.CONGESTION))
        server = Server(
            lambda peer: CoreSession(watch.current(), peer, log=log),
            limits=limits,
            on_refused=refused,
            busy=busy,
            tap=tap,
            on_open=ops.opened,
            on_close=ops.closed,
        )
        host, port = listen or (config.listen.host, config.listen.port)
        bound = await server.start(host, port, listener=worker.listener if worker else None)
        dcs = await _radius_server(config, watch, log)
        ops.listening(*bound)
        ready(*bound)
        reloading = asyncio.create_task(ops.reloads(reload or asyncio.Event()))
        try:
            await server.serve_until(stop)
        finally:
            reloading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reloading
            if dcs is not None:
                dcs.close()
        await audit.drain()


async def _radius_server(
    config: CoreConfig, watch: CrlWatch, log: Callable[[LogRecord], None]
) -> asyncio.DatagramTransport | None:
    """[radius_server]: the built-in EAP-TLS server as another AMF's DCS (docs/aaa.md), with
    the trust, CRLs and device policy of NAS onboarding."""
    settings = config.radius_server
    if settings is None:
        return None
    secret = read_secret(settings.secret_file, "RADIUS shared secret").strip()

    def admit(identity: str, result: Authenticated) -> None:
        claimed = _ONBOARDING_NAI.match(identity)
        refused = policy.check(watch.current(), claimed and claimed[1], result.identity)
        if refused is not None:
            raise AuthenticationError(f"{refused.refusal.meaning}: {refused}")

    def note(line: str) -> None:
        log(LogRecord("radius", "radius-server", "refused", line))

    def accepted(done: Accepted) -> None:
        log(LogRecord(done.peer, "radius-server", "ok", f"Access-Accept: {done.identity}",
                      imei=done.result.identity.imei))  # fmt: skip

    endpoint = RadiusServer(
        assembly.radius_server_eap(watch.current),
        secret,
        clients=settings.clients,
        admit=admit,
        log=note,
        accepted=accepted,
    )
    transport, port = await radius_serve(endpoint, settings.host, settings.port)
    log(LogRecord("-", "radius-server", "ok", f"RADIUS server on {settings.host}:{port}"))
    return transport


#: TS 23.003 2.2B: the onboarding SUCI (null scheme) of an IMEI, as a NAI.
_ONBOARDING_NAI = re.compile(r"type1\.rid[0-9]+\.schid0\.useridimei-([0-9]{15})@")

#: How long `background` waits for the core to bind, and to stop.
_START_SECONDS = 30.0


@contextmanager
def background(
    config: CoreConfig,
    *,
    listen: tuple[str, int] = ("127.0.0.1", 0),
    log: Callable[[LogRecord], None] = lambda record: None,
) -> Iterator[tuple[str, int]]:
    """`core serve` in a thread with its own event loop, for the block; yields the address.

    The same code path as `dynsub core serve`, for `dynsub demo` and the tests. A core that
    fails to start raises here; one that fails while serving raises when the block ends.
    """
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    bound: list[tuple[str, int]] = []
    failure: list[BaseException] = []

    def on_ready(host: str, port: int) -> None:
        bound.append((host, port))
        ready.set()

    def run() -> None:
        try:
            loop.run_until_complete(serve(config, stop, listen=listen, log=log, ready=on_ready))
        except BaseException as err:  # handed to the caller's thread below
            failure.append(err)
        finally:
            ready.set()
            loop.close()

    thread = threading.Thread(target=run, name="dynsub-core", daemon=True)
    thread.start()
    ready.wait(timeout=_START_SECONDS)
    if not bound:
        thread.join(timeout=_START_SECONDS)
        if failure and isinstance(failure[0], DynsubError):
            raise failure[0]
        raise NetworkError(
            f"the core did not start on {listen[0]}"
            + (f": {failure[0]}" if failure else f" within {_START_SECONDS:.0f} s")
        ) from (failure[0] if failure else None)
    try:
        yield bound[0]
    finally:
        # RuntimeError: the loop is already closed, because serve() has ended on its own.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=_START_SECONDS)
    if failure:  # the core failed while the block was using it
        raise failure[0]
