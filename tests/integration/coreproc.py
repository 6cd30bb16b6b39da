"""Test helper: the real `dynsub core serve` as a subprocess, as a user runs it.

The core logs one JSON object per line on stderr (``--log-json``); a reader thread keeps the
pipe drained and the lines, so a busy core never blocks on a full pipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START_TIMEOUT = 30.0


def command(config_file: Path, *args: str) -> list[str]:
    """The command line of `dynsub core serve` with this interpreter (the project's venv)."""
    return [
        sys.executable,
        "-m",
        "dynsub_cli",
        "core",
        "serve",
        "--config",
        str(config_file),
        *args,
    ]


@dataclass
class CoreProcess:
    process: subprocess.Popen[str]
    host: str = ""
    port: int = 0
    lines: list[str] = field(default_factory=list)
    _listening: threading.Event = field(default_factory=threading.Event)
    _reader: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def events(self) -> list[dict[str, Any]]:
        """The JSON log lines (anything else, e.g. an error message, is left out)."""
        found: list[dict[str, Any]] = []
        for line in list(self.lines):
            try:
                document = json.loads(line)
            except ValueError:
                continue
            if isinstance(document, dict):
                found.append(document)
        return found

    def stderr(self) -> str:
        return "\n".join(self.lines)

    def send(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def serving_processes(self) -> list[int]:
        """The pids of a supervisor's serving processes (`core serve --processes N`)."""
        pid = self.process.pid
        with contextlib.suppress(FileNotFoundError):
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return []

    def crash(self) -> None:
        """SIGKILL to the serving processes and the supervisor at once, as a power cut or
        the OOM killer ends a whole service: nobody gets to finish anything."""
        for pid in self.serving_processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.send_signal(signal.SIGKILL)

    def wait(self, timeout: float = 30.0) -> int:
        """Wait for the process to end and for its last log line to be read."""
        code = self.process.wait(timeout=timeout)
        if self._reader is not None:
            self._reader.join(timeout=timeout)
        return code

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            if not self._listening.is_set() and '"event": "listening"' in line:
                document = json.loads(line)
                self.host, self.port = document["host"], int(document["port"])
                self._listening.set()
        self._listening.set()  # the process ended: whoever waits for it must look


def start(config_file: Path, extra: Sequence[str] = ("--listen", "127.0.0.1:0")) -> CoreProcess:
    """Start `core serve`; returns once it listens (RuntimeError with its stderr if it died)."""
    process = subprocess.Popen(
        [*command(config_file, *extra), "--log-json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    core = CoreProcess(process)
    core._reader = threading.Thread(target=core._read, name="core-stderr", daemon=True)
    core._reader.start()
    if not core._listening.wait(START_TIMEOUT) or not core.port:
        process.kill()
        core.wait()
        raise RuntimeError(f"dynsub core serve did not start:\n{core.stderr()}")
    return core


@contextmanager
def running(config_file: Path) -> Iterator[CoreProcess]:
    """A core process for the block; killed at the end if the test left it running."""
    core = start(config_file)
    try:
        yield core
    finally:
        if core.process.poll() is None:
            core.process.kill()
        core.wait()
