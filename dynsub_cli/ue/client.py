"""The TCP shell around the UE procedures: connect, frame, time each step, save the state.

Blocking sockets with a timeout: a UE runs one procedure at a time, and a test or a load
generator that wants many UEs runs them in threads.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dynsub_cli.errors import BadInput, DynsubError, FileError, NetworkError, PeerTimeout
from dynsub_cli.files import SECRET_MODE, check_private_fd, check_writable
from dynsub_cli.nas.framing import FrameReader, frame
from dynsub_cli.ue import DEFAULT_TIMEOUT
from dynsub_cli.ue import device as devices
from dynsub_cli.ue import state as states
from dynsub_cli.ue.onboarding import DEFAULT_CHOICES, Choices, Onboarding
from dynsub_cli.ue.procedure import Output, Procedure
from dynsub_cli.ue.registration import Registration
from dynsub_cli.ue.state import UeState
from dynsub_cli.ue.trace import Connection, Trace


@dataclass(frozen=True, slots=True)
class TimedStep:
    procedure: str  # "onboarding" or "registration"
    name: str
    detail: str
    seconds: float  # since the procedure started


@dataclass
class Report:
    """What a UE command shows and prints with --json."""

    steps: list[TimedStep] = field(default_factory=list)
    supi: str | None = None
    state_file: Path | None = None
    seconds: float = 0.0

    def recording(self, on_step: OnStep) -> OnStep:
        """``on_step`` that also keeps each step in this report."""

        def record(step: TimedStep) -> None:
            self.steps.append(step)
            on_step(step)

        return record


OnStep = Callable[[TimedStep], None]


def parse_address(text: str, *, any_port: bool = False) -> tuple[str, int]:
    """HOST:PORT; with ``any_port``, port 0 (a listener's "pick a free port") is allowed."""
    host, sep, port = text.rpartition(":")
    lowest = 0 if any_port else 1
    if not sep or not host or not port.isdigit() or not lowest <= int(port) < 65536:
        raise BadInput(f"{text!r}: expected HOST:PORT, e.g. 127.0.0.1:38412")
    return host.strip("[]"), int(port)


def run(
    procedure: Procedure[UeState],
    first: Output,
    core: tuple[str, int],
    *,
    name: str,
    timeout: float,
    on_step: OnStep,
    before_send: Callable[[], None] = lambda: None,
    started: float | None = None,
    trace: Trace | None = None,
) -> None:
    """Drive ``procedure`` over one TCP connection until it is done or fails.

    Step times count from ``started`` (time.monotonic(); default: now), so that a caller that
    records steps of its own (the state file saved) shares the procedure's clock. With
    ``trace``, the connection is written to it (ue.trace) as it goes.
    """
    started = time.monotonic() if started is None else started

    def report(out: Output) -> None:
        for step in out.steps:
            on_step(TimedStep(name, step.name, step.detail, time.monotonic() - started))

    try:
        sock = socket.create_connection(core, timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as err:
        raise NetworkError(
            f"cannot connect to the core at {core[0]}:{core[1]}: {err.strerror or err} "
            "(is `dynsub core serve` running there?)"
        ) from err
    with sock, _traced(sock, procedure, trace) as connection:
        _send(sock, first.pdus, connection, procedure)
        reader = FrameReader()
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError as err:
                raise _at(
                    PeerTimeout(f"the core sent nothing for {timeout:.0f} s"), procedure
                ) from err
            except OSError as err:
                raise _at(
                    NetworkError(f"connection lost: {err.strerror or err}"), procedure
                ) from err
            if not data:
                if procedure.refusal is not None:
                    raise procedure.refusal  # the network's refusal, cut short
                raise _at(NetworkError("the core closed the connection"), procedure)
            if connection is not None:
                connection.read(data)
            for pdu in reader.feed(data):
                try:
                    out = procedure.receive(pdu)
                except DynsubError:
                    if procedure.error_response is not None:
                        # Tell the core why, if it still listens: after its own refusal it
                        # may have closed already, and the error is what the user needs.
                        with contextlib.suppress(NetworkError, PeerTimeout):
                            _send(sock, (procedure.error_response,), connection, procedure)
                    raise
                finally:
                    if connection is not None:
                        connection.received(pdu)
                report(out)
                before_send()
                if out.pdus:
                    _send(sock, out.pdus, connection, procedure)
                if out.done:
                    return


@contextlib.contextmanager
def _traced(
    sock: socket.socket, procedure: Procedure[UeState], trace: Trace | None
) -> Iterator[Connection | None]:
    if trace is None:
        yield None
        return
    connection = trace.connection(sock)
    procedure.on_plaintext = connection.plaintext
    try:
        yield connection
    finally:
        connection.close()


def _send(
    sock: socket.socket,
    pdus: tuple[bytes, ...],
    connection: Connection | None,
    procedure: Procedure[UeState],
) -> None:
    data = b"".join(frame(pdu) for pdu in pdus)
    try:
        sock.sendall(data)
    except TimeoutError as err:
        raise _at(
            PeerTimeout(f"the core took nothing for {sock.gettimeout() or 0:.0f} s"), procedure
        ) from err
    except OSError as err:
        # A core that is stopped or killed while the UE writes: ECONNRESET or EPIPE.
        raise _at(NetworkError(f"connection lost: {err.strerror or err}"), procedure) from err
    if connection is not None:
        connection.sent(pdus, data)


def _at(err: DynsubError, procedure: Procedure[UeState]) -> DynsubError:
    err.step = procedure.step
    return err


def onboard(
    device_dir: Path,
    core: tuple[str, int],
    state_file: Path,
    *,
    choices: Choices = DEFAULT_CHOICES,
    timeout: float = DEFAULT_TIMEOUT,
    on_step: OnStep = lambda step: None,
    tls_keylog: Path | None = None,
    trace: Trace | None = None,
    register: bool = True,
) -> Report:
    """Onboard with the factory certificate, save the state, then register with 5G AKA.

    ``tls_keylog`` names a file (0600, appended) for the EAP-TLS secrets in the NSS key log
    format, so that Wireshark can decrypt the TLS inside EAP; by default they stay secret.
    ``trace`` records both connections; without ``register`` the UE stops once onboarded.
    """
    started = time.monotonic()
    report = Report(state_file=state_file)
    record = report.recording(on_step)
    device = devices.load(device_dir)
    # Before the core commits a subscription whose K only this file will hold.
    states.check_replaceable(state_file)
    check_writable(state_file, "UE state file")
    with contextlib.ExitStack() as stack:
        keylog = None if tls_keylog is None else stack.enter_context(_keylog(tls_keylog))
        state = _onboard(device, core, state_file, choices, timeout, record, started, keylog, trace)
    report.supi = state.supi
    if register:
        register_state(state_file, core, timeout=timeout, on_step=record, trace=trace)
    report.seconds = time.monotonic() - started
    return report


@contextlib.contextmanager
def _keylog(path: Path) -> Iterator[Callable[[bytes], None]]:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, SECRET_MODE)
    except OSError as err:
        raise FileError(f"{path}: cannot write the TLS key log: {err.strerror}") from err
    # The key log is as secret as K: with a capture it yields KAUSF, the NAS keys, OPc and K.
    try:
        check_private_fd(fd, path, "TLS key log")
    except FileError:
        os.close(fd)
        raise
    with os.fdopen(fd, "ab", buffering=0) as out:

        def write(line: bytes) -> None:
            out.write(line + b"\n")

        yield write


def _onboard(
    device: devices.Device,
    core: tuple[str, int],
    state_file: Path,
    choices: Choices,
    timeout: float,
    record: OnStep,
    started: float,
    keylog: Callable[[bytes], None] | None,
    trace: Trace | None,
) -> UeState:
    """The onboarding connection: the state is saved before the core's SUBSCRIPTION is acked."""
    onboarding = Onboarding(device, choices, keylog=keylog)
    saved: list[UeState] = []

    def save_once_committed() -> None:
        # The SUBSCRIPTION message is the core's word that the record is committed: save
        # before acknowledging it, so a crash here leaves a UE that can register.
        if not saved and onboarding.has_result:
            states.save(state_file, onboarding.result)
            saved.append(onboarding.result)
            record(
                TimedStep("onboarding", "state", f"saved {state_file}", time.monotonic() - started)
            )

    run(
        onboarding,
        onboarding.start(),
        core,
        name="onboarding",
        timeout=timeout,
        on_step=record,
        before_send=save_once_committed,
        started=started,
        trace=trace,
    )
    return onboarding.result


def register_state(
    state_file: Path,
    core: tuple[str, int],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    on_step: OnStep = lambda step: None,
    trace: Trace | None = None,
) -> UeState:
    """A normal registration; the state file is rewritten when 5G AKA moves the SQN on."""
    state = states.load(state_file)
    registration = Registration(state)
    last = [state.sqn_ms]

    def save_sqn() -> None:
        current = registration.state
        if current.sqn_ms != last[0]:
            states.save(state_file, current)
            last[0] = current.sqn_ms

    run(
        registration,
        registration.start(),
        core,
        name="registration",
        timeout=timeout,
        on_step=on_step,
        before_send=save_sqn,
        trace=trace,
    )
    return registration.result


def register(
    state_file: Path,
    core: tuple[str, int],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    on_step: OnStep = lambda step: None,
    trace: Trace | None = None,
) -> Report:
    started = time.monotonic()
    report = Report(state_file=state_file)
    state = register_state(
        state_file, core, timeout=timeout, on_step=report.recording(on_step), trace=trace
    )
    report.supi = state.supi
    report.seconds = time.monotonic() - started
    return report
