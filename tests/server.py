"""Test helper: a real `core serve` (same code path) on 127.0.0.1 in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dynsub_cli.config import CoreConfig
from dynsub_cli.core import service
from dynsub_cli.core.session import LogRecord


@dataclass
class RunningCore:
    host: str
    port: int
    log: list[LogRecord] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def refusals(self) -> list[LogRecord]:
        return [record for record in self.log if record.outcome == "refused"]


@contextmanager
def running_core(config: CoreConfig) -> Iterator[RunningCore]:
    """Serve ``config`` on 127.0.0.1, any free port, until the block ends."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()
    core = RunningCore("127.0.0.1", 0)
    failure: list[BaseException] = []

    def ready(host: str, port: int) -> None:
        core.host, core.port = host, port
        started.set()

    async def main() -> None:
        await service.serve(config, stop, listen=("127.0.0.1", 0), log=core.log.append, ready=ready)

    def run() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as err:  # reported to the test below
            failure.append(err)
            started.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="core", daemon=True)
    thread.start()
    started.wait(timeout=30)
    if failure:
        raise failure[0]
    try:
        yield core
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
