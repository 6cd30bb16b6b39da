"""Test helper: a real `core serve` (same code path) on 127.0.0.1 in a background thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dynsub_cli.config import CoreConfig
from dynsub_cli.core import service
from dynsub_cli.core.procedure import LogRecord


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
    core = RunningCore("127.0.0.1", 0)
    with service.background(config, log=core.log.append) as (core.host, core.port):
        yield core
