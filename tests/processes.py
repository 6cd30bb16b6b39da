"""Test helpers: the `dynsub` command as real subprocesses, as a user or a CI script runs it.

Every command runs as ``python -m dynsub_cli`` with the interpreter running the tests, so the
code under test is the one in this checkout's venv. ``start_core`` and ``served_core`` run
`dynsub core serve` in the background and read where it listens from its JSON log;
``live_capture`` runs tshark on the loopback interface.
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


def serve_command(config_file: Path, *args: str | Path) -> list[str]:
    """The command line of `dynsub core serve` with this interpreter (the checkout's venv)."""
    return [sys.executable, "-m", "dynsub_cli", "core", "serve", "--config", str(config_file),
            *map(str, args)]  # fmt: skip


@dataclass
class ServedCore:
    """A `dynsub core serve --log-json` subprocess and what it wrote on stderr so far.

    A reader thread drains the pipe, so that a busy core never blocks on a full pipe, and keeps
    every line: ``lines`` as written, ``events`` the JSON objects among them, ``other`` the rest.
    """

    process: subprocess.Popen[str]
    host: str = ""
    port: int = 0
    lines: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    _listening: threading.Event = field(default_factory=threading.Event)
    _reader: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self._reader = threading.Thread(target=self._read, name="core-stderr", daemon=True)
        self._reader.start()

    @property
    def address(self) -> str:
        """Where it listens, as `--core` takes it."""
        return f"{self.host}:{self.port}"

    @property
    def sockaddr(self) -> tuple[str, int]:
        """Where it listens, as a socket (and the UE client) takes it."""
        return self.host, self.port

    def records(self) -> list[dict[str, Any]]:
        """Procedure steps only (not the listening/stopped events)."""
        return [event for event in self.events if "event" not in event]

    def stderr(self) -> str:
        return "\n".join(self.lines)

    def send(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it, unless it ended; returns the exit status."""
        if self.process.poll() is None:
            self.send(signal.SIGTERM)
        return self.wait()

    def wait(self, timeout: float = HANG) -> int:
        """Wait for the process to end and for its last log line to be read."""
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return code

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
        self.send(signal.SIGKILL)

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.lines.append(raw.rstrip("\n"))
            try:
                event = json.loads(raw)
            except json.JSONDecodeError:
                event = None
            if not isinstance(event, dict):
                self.other.append(self.lines[-1])
                continue
            self.events.append(event)
            if event.get("event") == "listening" and not self._listening.is_set():
                self.host, self.port = event["host"], int(event["port"])
                self._listening.set()
        self._listening.set()  # the process ended: whoever waits for it must look


def start_core(config_file: Path, *args: str | Path, cwd: Path | None = None) -> ServedCore:
    """`dynsub core serve --log-json` with more options ``args``; returns once it listens
    (where its ``--listen`` or its config file says), or fails the test with its stderr."""
    process = subprocess.Popen(
        serve_command(config_file, "--log-json", *args),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=_env(),
    )
    core = ServedCore(process)
    if not core._listening.wait(HANG) or not core.port:
        process.kill()
        raise AssertionError(f"core serve did not start: exit {core.wait()}\n{core.stderr()}")
    return core


@contextlib.contextmanager
def served_core(
    config_file: Path, *, cwd: Path | None = None, args: tuple[str | Path, ...] = ()
) -> Iterator[ServedCore]:
    """`dynsub core serve` on 127.0.0.1, any free port, until the block ends (then SIGTERM,
    unless the test ended it); ``args`` are more options of `core serve`."""
    core = start_core(config_file, "--listen", "127.0.0.1:0", *args, cwd=cwd)
    try:
        yield core
    finally:
        core.stop()


# --- live capture ---------------------------------------------------------------------------


def tshark() -> str:
    path = shutil.which("tshark")
    assert path, "tshark is not on PATH: install it (Debian: apt-get install tshark; .ci/run does)"
    return path


class CaptureNotPermitted(Exception):
    """dumpcap may not open the loopback interface (not root, no capture capability)."""


def check_capture_permitted() -> None:
    """Raise CaptureNotPermitted at once when this user may not capture on lo.

    ``dumpcap -L -i lo`` opens the interface to list its link types and returns within a
    fraction of a second, so the answer comes before any core or tshark is started (a tshark
    that fails late would otherwise look like a capture that saw nothing).
    """
    dumpcap = shutil.which("dumpcap")
    assert dumpcap, (
        "dumpcap is not on PATH: install wireshark-common (scripts/install-test-deps does)"
    )
    result = subprocess.run(
        [dumpcap, "-L", "-i", "lo"], capture_output=True, text=True, timeout=HANG, check=False
    )
    if result.returncode == 0:
        return
    text = result.stderr.strip()
    if "permission" in text.lower() or "not permitted" in text.lower():
        raise CaptureNotPermitted(
            f"{text.splitlines()[0] if text else 'permission denied'} (root may capture; so "
            "may a member of the wireshark group once dpkg-reconfigure wireshark-common allows "
            "non-superusers, or a dumpcap with setcap cap_net_raw,cap_net_admin=ep)"
        )
    raise AssertionError(f"dumpcap cannot open lo: {text}")


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
    check_capture_permitted()
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
