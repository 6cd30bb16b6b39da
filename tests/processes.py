"""Test helpers: the `dynsub` command as real subprocesses, as a user or a CI script runs it.

Every command runs as ``python -m dynsub_cli`` with the interpreter running the tests, so the
code under test is the one in this checkout's venv. ``served_core`` runs `dynsub core serve` in
the background and reads where it listens from its JSON log; ``live_capture`` runs tshark on
the loopback interface.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Guards against a hang, not timings: a step that takes this long is broken.
HANG = 120.0


def dynsub(*args: str | Path, cwd: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    """Run one `dynsub` command to the end; fail the test unless it exits with ``expect``."""
    done = subprocess.run(
        [sys.executable, "-m", "dynsub_cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=_env(),
        timeout=HANG,
        check=False,
    )
    assert done.returncode == expect, (
        f"dynsub {' '.join(map(str, args))}: exit {done.returncode}, expected {expect}\n"
        f"stdout: {done.stdout}\nstderr: {done.stderr}"
    )
    return done


def _env() -> dict[str, str]:
    # Rich would wrap tables to the width of a terminal the test runner may not have.
    return {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200", "NO_COLOR": "1"}


@dataclass
class ServedCore:
    """A `dynsub core serve --log-json` subprocess and the JSON lines it logged so far."""

    process: subprocess.Popen[str]
    host: str = ""
    port: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # stderr lines that are not JSON
    exit_code: int | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def records(self) -> list[dict[str, Any]]:
        """Procedure steps only (not the listening/stopped events)."""
        return [line for line in self.lines if "event" not in line]

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns the exit status."""
        if self.exit_code is None:
            self.process.send_signal(signal.SIGTERM)
            self.exit_code = self.process.wait(timeout=HANG)
        return self.exit_code


@contextlib.contextmanager
def served_core(
    config_file: Path, *, cwd: Path, args: tuple[str | Path, ...] = ()
) -> Iterator[ServedCore]:
    """`dynsub core serve` on 127.0.0.1, any free port, until the block ends (then SIGTERM);
    ``args`` are more options of `core serve`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dynsub_cli", "core", "serve", "--config", str(config_file),
         "--listen", "127.0.0.1:0", "--log-json", *map(str, args)],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=_env(),
    )  # fmt: skip
    core = ServedCore(process)
    listening = threading.Event()

    def drain() -> None:
        # Read every line, so that the core never blocks on a full pipe.
        assert process.stderr is not None
        for raw in process.stderr:
            try:
                line = json.loads(raw)
            except json.JSONDecodeError:
                core.other.append(raw.rstrip("\n"))
                continue
            core.lines.append(line)
            if line.get("event") == "listening":
                core.host, core.port = line["host"], int(line["port"])
                listening.set()
        listening.set()  # the process ended: wake the waiter below

    reader = threading.Thread(target=drain, name="core-stderr", daemon=True)
    reader.start()
    try:
        listening.wait(timeout=HANG)
        assert core.port, f"core serve did not start: exit {process.poll()}, {core.other}"
        yield core
    finally:
        if process.poll() is None:
            core.stop()
        else:
            core.exit_code = process.returncode
        reader.join(timeout=HANG)


# --- live capture ---------------------------------------------------------------------------


def tshark() -> str:
    path = shutil.which("tshark")
    assert path, "tshark is not on PATH: install it (Debian: apt-get install tshark; .ci/run does)"
    return path


class CaptureNotPermitted(Exception):
    """dumpcap may not open the loopback interface (not root, no capture capability)."""


@dataclass
class LiveCapture:
    """What tshark captured so far: the file, its log, and which TCP connections have closed."""

    path: Path
    log: list[str] = field(default_factory=list)
    _fins: dict[int, set[str]] = field(default_factory=dict)  # stream -> ports that sent FIN
    _closed: set[int] = field(default_factory=set)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def saw(self, stream: int, port: str, fin: bool, reset: bool) -> None:
        with self._changed:
            if fin:
                self._fins.setdefault(stream, set()).add(port)
            if reset or len(self._fins.get(stream, ())) == 2:
                self._closed.add(stream)
            self._changed.notify_all()

    def wait_closed(self, connections: int) -> None:
        """Until tshark has seen ``connections`` TCP connections close (FIN both ways or RST).

        dumpcap hands packets over in blocks, so packets sent just before the capture stops
        could be lost; waiting for the last connection's close means the file holds them all.
        """
        with self._changed:
            done = self._changed.wait_for(lambda: len(self._closed) >= connections, HANG)
        assert done, f"tshark saw {len(self._closed)} of {connections} connections close"


@contextlib.contextmanager
def live_capture(path: Path, port: int) -> Iterator[LiveCapture]:
    """tshark writing what crosses TCP ``port`` on the loopback interface to ``path``.

    Returns once tshark says the capture has started, so nothing sent afterwards is missed;
    the block's end stops it with SIGINT. While it writes the file, tshark also prints one
    line per packet (stream, FIN, RST, source port) that :meth:`LiveCapture.wait_closed` uses.
    """
    process = subprocess.Popen(
        [tshark(), "-i", "lo", "-f", f"tcp port {port}", "-w", str(path), "-P", "-l",
         "-T", "fields", "-e", "tcp.stream", "-e", "tcp.flags.fin", "-e", "tcp.flags.reset",
         "-e", "tcp.srcport"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )  # fmt: skip
    capture = LiveCapture(path)
    started = threading.Event()

    def drain_log() -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            capture.log.append(raw.rstrip("\n"))
            # tshark 4.0 logs "Capture started." then "File: ..." once dumpcap has the
            # interface open and the file created.
            if "Capture started" in raw or "File:" in raw:
                started.set()
        started.set()

    def drain_packets() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            stream, fin, reset, port = [*raw.rstrip("\n").split("\t"), "", "", ""][:4]
            if stream.isdigit():
                capture.saw(int(stream), port, fin in ("1", "True"), reset in ("1", "True"))

    readers = [
        threading.Thread(target=drain_log, name="tshark-stderr", daemon=True),
        threading.Thread(target=drain_packets, name="tshark-stdout", daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        started.wait(timeout=HANG)
        if process.poll() is not None:
            readers[0].join(timeout=HANG)
            text = "\n".join(capture.log)
            if "permission" in text.lower() and os.geteuid() != 0:
                raise CaptureNotPermitted(text)
            raise AssertionError(f"tshark could not capture on lo: {text}")
        yield capture
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=HANG)
        for reader in readers:
            reader.join(timeout=HANG)
