"""`core serve --processes N`: one listening socket, N serving processes, one supervisor.

Theory of operation. One Python process runs one core at a time (one GIL), so a core uses
more CPUs by serving from several processes. The supervisor (the process the user started)
binds the listening socket itself, so that a port already in use is still refused with the
usual error, and forks the serving processes; each inherits the socket and accepts from it.
Every serving process wakes for a new connection and the first to accept takes it, which is
the least busy one, so load spreads by itself. Each serving process opens its own store
connection after the fork (nothing of SQLite or OpenSSL crosses a fork); SQLite's WAL and
busy timeout, or PostgreSQL, serialise their writes.

The first serving process starts alone: a configuration that cannot serve (a bad key, a
damaged store) fails there, once, with its error and exit status, before the others start.
When all listen, the supervisor logs one "listening on" line and writes the pid and ready
files; SIGHUP to it reaches every serving process (each reads core.toml again), SIGINT and
SIGTERM stop them all, each with its grace period. A serving process that dies stops the
core: the supervisor logs which one and how, stops the rest and exits with a failure status,
for the service manager to restart (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

from dynsub_cli.errors import ExitCode

#: The signals the supervisor passes on to the serving processes.
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class Worker:
    """What a serving process knows of itself: its number, the socket, how to say it listens."""

    index: int
    count: int
    listener: socket.socket
    _ready: int  # the write end of the supervisor's ready pipe

    def listening(self) -> None:
        """Tell the supervisor this process accepts connections now."""
        os.write(self._ready, b"\x01")
        os.close(self._ready)


@dataclass(frozen=True)
class Ended:
    """The supervisor's view of how the core ended: its exit status."""

    status: int


def start(
    count: int,
    listener: socket.socket,
    *,
    on_listening: Callable[[], None],
    log: Callable[[str], None],
) -> Worker | Ended:
    """Fork ``count`` serving processes on ``listener``.

    Returns a :class:`Worker` in each serving process (which then serves and exits), and
    :class:`Ended` in the supervisor once they have all stopped. ``on_listening`` runs in the
    supervisor when every serving process listens.
    """
    children: dict[int, int] = {}  # pid -> index
    stopping = False

    def forward(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        if signum != signal.SIGHUP:
            stopping = True
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM if signum != signal.SIGHUP else signal.SIGHUP)

    previous = {signum: signal.signal(signum, forward) for signum in _FORWARDED}
    supervisor = os.getpid()

    def fork(index: int) -> Worker | int:
        """The worker in the child; in the supervisor, the pipe it says it listens on."""
        read, write = os.pipe()
        # Signals wait until the child has its own handlers: the supervisor's would make
        # the child signal its siblings.
        signal.pthread_sigmask(signal.SIG_BLOCK, _FORWARDED)
        try:
            pid = os.fork()
            if pid == 0:
                os.close(read)
                for signum, handler in previous.items():
                    signal.signal(signum, handler)
                _stop_with(supervisor)
                return Worker(index, count, listener, write)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _FORWARDED)
        os.close(write)
        children[pid] = index
        return read

    def ready(read: int) -> bool:
        """Wait until the serving process says it listens; False if it ended first."""
        try:
            return os.read(read, 1) == b"\x01"
        finally:
            os.close(read)

    first = fork(0)
    if isinstance(first, Worker):
        return first
    if not ready(first):
        # It failed to start and said why on stderr, once: its status is the core's.
        return Ended(_reap_all(children, log=None))
    for index in range(1, count):
        made = fork(index)
        if isinstance(made, Worker):
            return made
        if not ready(made):
            log(f"serving process {index} did not start; stopping the core")
            forward(signal.SIGTERM, None)
            return Ended(_reap_all(children, log=log) or ExitCode.INTERNAL)
    if not stopping:
        on_listening()
    status = _supervise(children, stop=lambda: forward(signal.SIGTERM, None), log=log,
                        stopping=lambda: stopping)  # fmt: skip
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    return Ended(status)


def _stop_with(supervisor: int) -> None:
    """SIGTERM this serving process when its supervisor dies, even by SIGKILL: an orphan
    would go on holding the port (Linux prctl PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != supervisor:  # it died before the call took effect
        os.kill(os.getpid(), signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


def _supervise(
    children: dict[int, int],
    *,
    stop: Callable[[], None],
    log: Callable[[str], None],
    stopping: Callable[[], bool],
) -> int:
    """Wait for every serving process; the first that dies uninvited stops the others."""
    status = 0
    while children:
        pid, code = os.wait()  # a signal handler runs and the wait resumes (PEP 475)
        index = children.pop(pid, None)
        if index is None:
            continue
        exit_status = os.waitstatus_to_exitcode(code)
        if stopping():
            if exit_status not in (0, -signal.SIGTERM, -signal.SIGINT):
                status = status or ExitCode.INTERNAL
            continue
        log(f"serving process {index} (pid {pid}) {_how(exit_status)}; stopping the core")
        status = exit_status if exit_status > 0 else ExitCode.INTERNAL
        stop()
    return status


def _reap_all(children: dict[int, int], *, log: Callable[[str], None] | None) -> int:
    status = 0
    while children:
        pid, code = os.wait()
        index = children.pop(pid, None)
        exit_status = os.waitstatus_to_exitcode(code)
        if index is not None and exit_status != 0:
            status = status or (exit_status if exit_status > 0 else ExitCode.INTERNAL)
            if log is not None:
                log(f"serving process {index} (pid {pid}) {_how(exit_status)}")
    return status


def _how(exit_status: int) -> str:
    if exit_status < 0:
        return f"was killed by {signal.Signals(-exit_status).name}"
    return f"exited with status {exit_status}"


def share_limit(value: int, count: int) -> int:
    """A core-wide limit as each of ``count`` serving processes applies it: its share, so that
    together they hold no more than the configured total (docs/operations.md)."""
    return max(1, -(-value // count))
