"""`dynsub core serve`: the configuration, the store and the TCP server, put together.

Start-up checks everything before the port is bound (files, keys, store), so a wrong
configuration is a clear error and not a core that refuses every UE.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from dynsub_cli.config import CoreConfig
from dynsub_cli.core.network import Network, open_store
from dynsub_cli.core.server import Limits, Server
from dynsub_cli.core.session import CoreSession, LogRecord
from dynsub_cli.nas import codec
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import MmCause


async def serve(
    config: CoreConfig,
    stop: asyncio.Event,
    *,
    listen: tuple[str, int] | None = None,
    log: Callable[[LogRecord], None] = lambda record: None,
    ready: Callable[[str, int], None] = lambda host, port: None,
) -> None:
    """Serve until ``stop`` is set; committed records are never lost on the way out."""
    with open_store(config) as store:
        network = Network.load(config, store)
        limits = Limits(
            timeout_seconds=config.limits.timeout_seconds,
            max_connections=config.limits.max_connections,
            max_frame=config.limits.max_frame,
        )

        def refused(peer: str, why: str) -> None:
            log(LogRecord(peer, "connection", "refused", why))

        # TS 24.501 5.5.1.2.5: #22 (congestion) tells the UE to try again later.
        busy = codec.encode(m.RegistrationReject(MmCause.CONGESTION))
        server = Server(
            lambda peer: CoreSession(network, peer, log=log),
            limits=limits,
            on_refused=refused,
            busy=busy,
        )
        host, port = listen or (config.listen.host, config.listen.port)
        bound = await server.start(host, port)
        ready(*bound)
        await server.serve_until(stop)
