"""Test helper: a real FreeRADIUS (`freeradius -f -d DIR`) on 127.0.0.1 and a free UDP port.

The folder is what `dynsub core radius-config` wrote. FreeRADIUS logs to DIR/log/radius.log
(the folder's log section); it is ready when that log says so. ``stop`` and ``start`` let a
test take it away mid-run and bring it back, as an outage does.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HANG = 60.0  # guards against a hang, not a timing


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def executable() -> str:
    path = shutil.which("freeradius") or shutil.which("radiusd")
    assert path, "FreeRADIUS is not on PATH (Debian: apt-get install freeradius; .ci/run does)"
    return path


@dataclass
class FreeRadius:
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.folder / "log" / "radius.log"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def start(self) -> None:
        before = len(self.log_text())
        self.process = subprocess.Popen(
            [executable(), "-f", "-d", str(self.folder)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + HANG
        while "Ready to process requests" not in self.log_text()[before:]:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise AssertionError(
                    f"freeradius exited {self.process.returncode}: {err}\n{self.log_text()}"
                )
            assert time.monotonic() < deadline, f"freeradius did not start:\n{self.log_text()}"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=HANG)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=HANG)
        self.process = None


@contextlib.contextmanager
def running(folder: Path) -> Iterator[FreeRadius]:
    server = FreeRadius(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()
