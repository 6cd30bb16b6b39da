"""Onboardings per second on one core process, against a bare mutual TLS 1.3 handshake loop.

    python -m benchmarks.onboard [--n1 30] [--n20 120] [--max-seconds 60]
    python -m benchmarks.onboard --stores [--n20 120]   # SQLite vs PostgreSQL, see stores()
    python -m benchmarks.onboard --scaling [--n20 200]  # core serve --processes 1 vs 2

The core is the real `dynsub core serve`, started as a subprocess: it is what users run (CLI,
config, store with fsync-ed commits, one log line per step on stderr, asyncio with one sans-I/O
session per connection), and it has a GIL of its own. The UEs run as threads in this process
(the real client shell, `ue.client`), so the two sides share no interpreter.

Rows, each with 1 and with 20 concurrent UEs (clients):

- TLS handshake: a bare pyOpenSSL mutual TLS 1.3 handshake over TCP on 127.0.0.1 with the same
  certificates (device certificate and key as client, core certificate and key as server),
  a one-byte reply (the size of EAP-TLS's success indication), and the same chain checks as
  the flow: the core's ``Network.verify_device`` on the server, ``pki.verify.verify_core`` on
  the client. The server is a separate process (multiprocessing), one thread per connection.
- onboarding: the onboarding procedure only (EAP-TLS, security mode, the dialogue, the commit).
- ue onboard: onboarding then the 5G AKA registration on a second connection, as `dynsub ue
  onboard` does (the state file is written too).
- registration: a normal registration (SUCI with the home network key, 5G AKA, security mode,
  REGISTRATION ACCEPT/COMPLETE) by a UE onboarded before the cell, as `dynsub ue register`
  does: one UE per concurrent slot, each with its own state file.
- via FreeRADIUS (``--radius``): the onboarding procedure through a second core whose
  [authentication] relays EAP to a real FreeRADIUS (`dynsub core radius-config`, reject_delay
  0), in the same run as the built-in rows; "x built-in" is the built-in onboarding rate over
  this one. Its server CPU is the core's only (FreeRADIUS runs in its own process).

With --scaling, onboardings and registrations with 20 UEs spread over two client processes
(so that one client interpreter does not cap the rate), against `core serve --processes 1`
and `--processes 2`; "ceiling" is what the machine could do at most with every CPU busy and
both sides' CPU per operation paid on it.

Columns: rate (completed per second over the wall time of the cell), p50/p99 latency of one
operation, the cost relative to the TLS handshake at the same concurrency (TLS rate / rate),
and the CPU time per operation of the server process and of this (client) process. Every
onboarding uses a fresh device, so each one commits a new record. Counts and time are bounded.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from OpenSSL import SSL

from benchmarks._tls import context as tls_context
from dynsub_cli.config import load
from dynsub_cli.core import assembly
from dynsub_cli.pki import verify
from dynsub_cli.store import Subscriptions, load_key
from dynsub_cli.ue import client
from dynsub_cli.ue import device as devices
from dynsub_cli.ue.onboarding import Onboarding
from tests.flow import make_lab
from tests.processes import serve_command

HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the baseline: bare mutual TLS 1.3 -----------------------------------------------------------


def tls_server(config_file: Path, store_file: Path, ready: Connection) -> None:
    """The baseline server process: accept, handshake, check the device chain, reply, close."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it with SIGTERM
    config = load(config_file)
    store = Subscriptions.open(store_file, load_key(config.store.key_file))
    network = assembly.network(config, store)
    context = tls_context(network.credentials)
    # The core's EAP-TLS server also accepts whatever OpenSSL sees and decides afterwards.
    context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *_: True)
    listener = socket.create_server((HOST, 0), backlog=256)
    ready.send(listener.getsockname()[1])

    def serve(sock: socket.socket) -> None:
        with sock:
            conn = SSL.Connection(context, sock)
            conn.set_accept_state()
            conn.do_handshake()
            leaf = conn.get_peer_certificate(as_cryptography=True)
            assert leaf is not None
            network.verify_device([leaf, *(conn.get_peer_cert_chain(as_cryptography=True) or [])])
            conn.sendall(b"\x00")
            conn.shutdown()

    while True:
        sock, _ = listener.accept()
        threading.Thread(target=serve, args=(sock,), daemon=True).start()


def tls_handshake(device: devices.Device, port: int) -> None:
    """One client handshake with the device's credentials; the core's chain is checked."""
    context = tls_context(device.credentials)
    checked: list[bool] = []

    def check(conn: SSL.Connection, *_: object) -> bool:
        if not checked:  # once per handshake, as eap.openssl does
            checked.append(True)
            chain = conn.get_peer_cert_chain(as_cryptography=True) or []
            verify.verify_core(chain, device.trust_anchors)
        return True

    context.set_verify(SSL.VERIFY_PEER, check)
    with socket.create_connection((HOST, port), timeout=30) as sock:
        sock.settimeout(None)  # pyOpenSSL wants a blocking socket
        conn = SSL.Connection(context, sock)
        conn.set_connect_state()
        conn.do_handshake()
        if conn.recv(1) != b"\x00":
            raise RuntimeError("the TLS server did not answer")


# --- the core ------------------------------------------------------------------------------------


def start_core(
    config_file: Path, log_file: Path, processes: int = 1
) -> tuple[subprocess.Popen[bytes], int]:
    """`dynsub core serve` on a free port of 127.0.0.1; its log goes to ``log_file``."""
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            serve_command(config_file, "--listen", f"{HOST}:0", "--processes", str(processes)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        for line in log_file.read_text().splitlines():
            if "listening on" in line:
                return process, int(line.rpartition(":")[2])
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the core did not start:\n{log_file.read_text()}")


def onboarding_only(device_dir: Path, port: int) -> None:
    onboarding = Onboarding(devices.load(device_dir))
    client.run(
        onboarding,
        onboarding.start(),
        (HOST, port),
        name="onboarding",
        timeout=30,
        on_step=lambda step: None,
    )
    assert onboarding.has_result


def start_radius_core(
    config_file: Path, work: Path
) -> tuple[subprocess.Popen[bytes], int, subprocess.Popen[bytes]]:
    """FreeRADIUS from `core radius-config`, and a core beside ``config_file`` pointed at it."""
    folder = work / "freeradius"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    subprocess.run(
        [sys.executable, "-m", "dynsub_cli", "core", "radius-config", str(folder), "--config",
         str(config_file), "--listen", f"{HOST}:{port}", "--reject-delay", "0"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    radius = subprocess.Popen(
        ["freeradius", "-f", "-d", str(folder)], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    log = folder / "log" / "radius.log"
    deadline = time.monotonic() + 30
    while not (log.exists() and "Ready to process requests" in log.read_text()):
        if radius.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"FreeRADIUS did not start: {radius.poll()}")
        time.sleep(0.05)
    radius_config = config_file.with_name("core-radius.toml")
    radius_config.write_text(
        config_file.read_text()
        + f'\n[authentication]\nserver = "radius"\naddress = "{HOST}:{port}"\n'
        + f'secret_file = "{folder / "shared-secret"}"\n'
    )
    core, core_port = start_core(radius_config, work / "core-radius.log")
    return core, core_port, radius


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its living children so far (Linux /proc;
    threads included): a core's supervisor and its serving processes together."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    own = (int(fields[11]) + int(fields[12])) / CLK_TCK
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(cpu_seconds(int(child)) for child in children)


def _registered_ues(device_dirs: Sequence[Path], port: int, folder: Path) -> Callable[[], None]:
    """Onboard each device once (not measured); the job registers one of them."""
    folder.mkdir()
    state_files: list[Path] = []
    for n, device_dir in enumerate(device_dirs):
        state_files.append(folder / f"ue-{n}.toml")
        client.onboard(device_dir, (HOST, port), state_files[-1], register=False)
    return _registering(state_files, port)


def _registering(state_files: Sequence[Path], port: int) -> Callable[[], None]:
    """A job that registers one of the UEs of ``state_files``, never one UE twice at once
    (one state file is one UE)."""
    idle = list(state_files)
    lock = threading.Lock()

    def job() -> None:
        with lock:
            state_file = idle.pop()
        try:
            client.register(state_file, (HOST, port))
        finally:
            with lock:
                idle.append(state_file)

    return job


def _client(
    kind: str, items: list[Path], port: int, n: int, concurrency: int, start: Any, out: Any
) -> None:
    """One client process of :func:`measure_spread`: ``concurrency`` UEs as threads."""
    fresh = iter(items)
    take = threading.Lock()

    def onboard_next() -> None:
        with take:
            device = next(fresh)
        onboarding_only(device, port)

    job = _registering(items, port) if kind == "registration" else onboard_next
    start.wait()
    out.send(measure(kind, job, n=n, concurrency=concurrency, server_pid=os.getpid(),
                     max_seconds=60.0))  # fmt: skip


def measure_spread(
    kind: str,
    items: list[Path],
    port: int,
    *,
    n: int,
    concurrency: int,
    clients: int,
    server_pid: int,
) -> Cell:
    """Like :func:`measure` with the UEs spread over ``clients`` processes, so that one
    client interpreter's GIL does not cap what a core with several processes can serve.
    Onboardings take ``items`` (device folders, one per operation); registrations
    cycle ``items`` (state files, one per concurrent UE)."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(clients + 1)
    pipes, processes = [], []
    for index in range(clients):
        mine = items[index::clients]
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_client,
            args=(kind, mine, port, n // clients, concurrency // clients, start, sender),
        )
        process.start()
        pipes.append(receiver)
        processes.append(process)
    start.wait()
    server_before, began = cpu_seconds(server_pid), time.perf_counter()
    cells: list[Cell] = [pipe.recv() for pipe in pipes]
    seconds = time.perf_counter() - began
    server_cpu = cpu_seconds(server_pid) - server_before
    for process in processes:
        process.join()
    latencies = tuple(latency for cell in cells for latency in cell.latencies)
    return Cell(
        kind,
        concurrency,
        latencies,
        seconds,
        server_cpu / len(latencies),
        sum(cell.client_cpu * len(cell.latencies) for cell in cells) / len(latencies),
    )


# --- measuring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    name: str
    concurrency: int
    latencies: tuple[float, ...]
    seconds: float
    server_cpu: float
    client_cpu: float

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def quantile(self, q: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]


def measure(
    name: str,
    job: Callable[[], None],
    *,
    n: int,
    concurrency: int,
    server_pid: int,
    max_seconds: float,
) -> Cell:
    """Run ``job`` ``n`` times on ``concurrency`` threads (or until ``max_seconds``)."""
    tickets = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[BaseException] = []
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        while time.monotonic() < deadline and not failures:
            with lock:
                if next(tickets) >= n:
                    return
            started = time.perf_counter()
            try:
                job()
            except BaseException as err:
                failures.append(err)
                return
            with lock:
                latencies.append(time.perf_counter() - started)

    server_before, client_before = cpu_seconds(server_pid), time.process_time()
    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{name}: an operation failed") from failures[0]
    done = len(latencies)
    return Cell(
        name,
        concurrency,
        tuple(latencies),
        seconds,
        (cpu_seconds(server_pid) - server_before) / done,
        (time.process_time() - client_before) / done,
    )


def _print(cells: list[Cell]) -> None:
    baseline = {c.concurrency: c for c in cells if c.name == "TLS handshake"}
    builtin = {c.concurrency: c for c in cells if c.name == "onboarding"}
    header = (
        f"{'UEs':>3}  {'operation':<14} {'n':>4} {'rate/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'x TLS':>6} {'server CPU ms/op':>17} {'client CPU ms/op':>17}"
    )
    print(header)
    print("-" * len(header))
    for cell in cells:
        ratio = baseline[cell.concurrency].rate / cell.rate
        print(
            f"{cell.concurrency:>3}  {cell.name:<14} {len(cell.latencies):>4} {cell.rate:>8.1f} "
            f"{cell.quantile(50) * 1e3:>8.1f} {cell.quantile(99) * 1e3:>8.1f} {ratio:>6.2f} "
            f"{cell.server_cpu * 1e3:>17.2f} {cell.client_cpu * 1e3:>17.2f}"
            + (
                f"   x built-in {builtin[cell.concurrency].rate / cell.rate:.2f}"
                if cell.name == "via FreeRADIUS"
                else ""
            )
        )


# --- the store backends: SQLite with one core, PostgreSQL with one and two ---------------------


def _pg_configs(lab_config: Path, url: str, password_file: Path, count: int) -> list[Path]:
    """``count`` copies of the lab's core.toml on the PostgreSQL store at ``url``."""
    import dataclasses

    from dynsub_cli import config
    from dynsub_cli.config import StoreConfig

    base = load(lab_config)
    store = StoreConfig(base.store.path, base.store.key_file, url, password_file)
    shared = dataclasses.replace(base, store=store)
    return [
        config.write(shared, lab_config.with_name(f"core-pg-{n}.toml"), overwrite=True)
        for n in range(count)
    ]


def stores(n: int, concurrency: int, max_seconds: float) -> None:
    """Onboardings/s (the onboarding procedure, each a new record) with ``concurrency`` UEs:
    SQLite with one core (the baseline), PostgreSQL with one and with two core processes
    sharing one database, UEs spread round-robin over the cores. PostgreSQL runs in a
    throwaway local cluster with fsync on, as SQLite's commits are (synchronous=FULL)."""
    from tests import postgres

    with (
        tempfile.TemporaryDirectory(prefix="dynsub-bench-") as tmp,
        postgres.cluster(durable=True) as cluster,
    ):
        work = Path(tmp)
        warmup = 3
        setups = [("SQLite", 1), ("PostgreSQL", 1), ("PostgreSQL", 2)]
        needed = (n + warmup * 2) * len(setups)
        print(f"minting {needed} devices; PostgreSQL on port {cluster.port} ...", file=sys.stderr)
        lab = make_lab(work, devices=needed)
        fresh: Iterator[Path] = iter(lab.devices)
        take = threading.Lock()
        password_file = lab.core / "secrets" / "pg-password"
        password_file.write_text(postgres.PASSWORD + "\n")
        password_file.chmod(0o600)
        cells: list[tuple[str, int, Cell]] = []
        for backend, count in setups:
            if backend == "SQLite":
                files = [lab.config_file]
            else:
                url = cluster.url(cluster.new_database())
                files = _pg_configs(lab.config_file, url, password_file, count)
            started = [start_core(f, work / f"core-{backend}-{count}-{i}.log") for i, f in
                       enumerate(files)]  # fmt: skip
            ports = itertools.cycle([port for _, port in started])
            try:

                def job(ports: Iterator[int] = ports) -> None:
                    with take:
                        device, port = next(fresh), next(ports)
                    onboarding_only(device, port)

                for _ in range(warmup * count):
                    job()
                cell = measure(
                    "onboarding",
                    job,
                    n=n,
                    concurrency=concurrency,
                    server_pid=started[0][0].pid,
                    max_seconds=max_seconds,
                )
                cells.append((backend, count, cell))
            finally:
                for process, _ in started:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=30)
    base = cells[0][2].rate
    print(f"onboarding procedure, {concurrency} concurrent UEs (threads of this process), ")
    print(f"{os.cpu_count()} CPUs shared by the cores, the database and the UEs\n")
    header = (
        f"{'store':<11} {'cores':>5} {'n':>4} {'rate/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'x SQLite':>9}"
    )
    print(header)
    print("-" * len(header))
    for backend, count, cell in cells:
        print(
            f"{backend:<11} {count:>5} {len(cell.latencies):>4} {cell.rate:>8.1f} "
            f"{cell.quantile(50) * 1e3:>8.1f} {cell.quantile(99) * 1e3:>8.1f} "
            f"{cell.rate / base:>9.2f}"
        )


def _unbounded_challenges(lab_config: Path) -> None:
    """A benchmark registers each UE hundreds of times a minute: lift the per-SUPI challenge
    budget (a defence against probes, limits.challenges_per_minute) for the run."""
    import dataclasses

    from dynsub_cli import config

    base = load(lab_config)
    limits = dataclasses.replace(base.limits, challenges_per_minute=1_000_000)
    config.write(dataclasses.replace(base, limits=limits), lab_config, overwrite=True)


def scaling(n: int, concurrency: int = 20, clients: int = 2) -> list[tuple[int, Cell]]:
    """Onboardings and registrations per second with ``concurrency`` UEs spread over
    ``clients`` processes, against `core serve --processes 1` and `--processes 2` on the same
    store, one after the other."""
    setups = (1, 2)
    with tempfile.TemporaryDirectory(prefix="dynsub-bench-") as tmp:
        work = Path(tmp)
        needed = concurrency + n * len(setups)
        print(f"minting {needed} devices and a core in {work} ...", file=sys.stderr)
        lab = make_lab(work, devices=needed)
        _unbounded_challenges(lab.config_file)
        fresh = iter(lab.devices[concurrency:])
        cells: list[tuple[int, Cell]] = []
        states: list[Path] = []
        for processes in setups:
            core, port = start_core(lab.config_file, work / f"core-{processes}.log", processes)
            try:
                if not states:
                    folder = work / "registered"
                    folder.mkdir()
                    for index, device_dir in enumerate(lab.devices[:concurrency]):
                        states.append(folder / f"ue-{index}.toml")
                        client.onboard(device_dir, (HOST, port), states[-1], register=False)
                devices_now = [next(fresh) for _ in range(n)]
                for kind, items in (("onboarding", devices_now), ("registration", states)):
                    cell = measure_spread(
                        kind, items, port, n=n, concurrency=concurrency, clients=clients,
                        server_pid=core.pid,
                    )  # fmt: skip
                    cells.append((processes, cell))
            finally:
                core.send_signal(signal.SIGTERM)
                core.wait(timeout=30)
    return cells


def _print_scaling(cells: list[tuple[int, Cell]]) -> None:
    one = {cell.name: cell for processes, cell in cells if processes == 1}
    header = (
        f"{'processes':>9}  {'operation':<13} {'n':>4} {'rate/s':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'x 1 process':>11} {'server CPU ms/op':>17} {'client':>7} "
        f"{'ceiling/s':>9}"
    )
    print(header)
    print("-" * len(header))
    for processes, cell in cells:
        print(
            f"{processes:>9}  {cell.name:<13} {len(cell.latencies):>4} {cell.rate:>8.1f} "
            f"{cell.quantile(50) * 1e3:>8.1f} {cell.quantile(99) * 1e3:>8.1f} "
            f"{cell.rate / one[cell.name].rate:>11.2f} {cell.server_cpu * 1e3:>17.2f} "
            f"{cell.client_cpu * 1e3:>7.2f} {_ceiling(cell):>9.1f}"
        )
    print(
        "\nceiling: what the machine could do with every CPU busy, the core's CPU and the "
        "UEs' CPU per operation both paid here: 2 processes can only show more than 1 where "
        "1 is below it"
    )


def flow(n1: int, n20: int, max_seconds: float, *, radius: bool = False) -> list[Cell]:
    """The main table: every row with 1 and with 20 UEs against one core process."""
    plan = [(1, n1), (20, n20)]
    warmup = 3
    with tempfile.TemporaryDirectory(prefix="dynsub-bench-") as tmp:
        work = Path(tmp)
        rows = 3 if radius else 2
        ues = max(concurrency for concurrency, _ in plan)  # registering UEs, onboarded first
        needed = warmup * rows + sum(n for _, n in plan) * rows + ues
        print(f"minting {needed} devices and a core in {work} ...", file=sys.stderr)
        lab = make_lab(work, devices=needed)
        _unbounded_challenges(lab.config_file)
        fresh: Iterator[Path] = iter(lab.devices[ues:])
        take = threading.Lock()

        def next_device() -> Path:
            with take:
                return next(fresh)

        baseline_device = devices.load(lab.devices[0])
        core, core_port = start_core(lab.config_file, work / "core.log")
        receiver, sender = multiprocessing.get_context("spawn").Pipe(duplex=False)
        tls = multiprocessing.get_context("spawn").Process(
            target=tls_server, args=(lab.config_file, work / "tls.sqlite", sender), daemon=True
        )
        tls.start()
        relay: tuple[subprocess.Popen[bytes], int, subprocess.Popen[bytes]] | None = None
        try:
            tls_port = int(receiver.recv())
            assert tls.pid is not None
            states = itertools.count()

            def full() -> None:
                client.onboard(next_device(), (HOST, core_port), work / f"ue-{next(states)}.toml")

            jobs: list[tuple[str, Callable[[], None], int]] = [
                ("TLS handshake", lambda: tls_handshake(baseline_device, tls_port), tls.pid),
                ("onboarding", lambda: onboarding_only(next_device(), core_port), core.pid),
                ("ue onboard", full, core.pid),
            ]
            if radius:
                relay = start_radius_core(lab.config_file, work)
                relayed, relayed_port = relay[0], relay[1]
                jobs.append(
                    (
                        "via FreeRADIUS",
                        lambda: onboarding_only(next_device(), relayed_port),
                        relayed.pid,
                    )
                )
            registered = _registered_ues(lab.devices[:ues], core_port, work / "registered")
            jobs.append(("registration", registered, core.pid))
            for _, job, _ in jobs:  # warm up caches, imports and connections
                for _ in range(warmup):
                    job()
            cells = [
                measure(
                    name,
                    job,
                    n=n,
                    concurrency=concurrency,
                    server_pid=pid,
                    max_seconds=max_seconds,
                )
                for concurrency, n in plan
                for name, job, pid in jobs
            ]
        finally:
            if relay is not None:
                relay[0].send_signal(signal.SIGTERM)
                relay[0].wait(timeout=30)
                relay[2].terminate()
                relay[2].wait(timeout=30)
            tls.terminate()
            core.send_signal(signal.SIGTERM)
            core.wait(timeout=30)
    return cells


def run(*, n1: int = 30, n20: int = 120, scaling_n: int = 200) -> dict[str, Any]:
    """The figures `benchmarks.run_all` keeps: rates, latencies and the ratios of issue 11's
    targets (onboarding vs TLS at 1 and 20 UEs, registrations, 2 processes vs 1)."""
    cells = flow(n1, n20, 60.0)
    tls = {c.concurrency: c for c in cells if c.name == "TLS handshake"}
    figures: dict[str, Any] = {}
    for cell in cells:
        key = f"{cell.name.replace(' ', '_')}_{cell.concurrency}ue"
        figures[key] = {
            "rate_per_s": round(cell.rate, 1),
            "p50_ms": round(cell.quantile(50) * 1e3, 1),
            "p99_ms": round(cell.quantile(99) * 1e3, 1),
            "x_tls": round(tls[cell.concurrency].rate / cell.rate, 2),
            "server_cpu_ms": round(cell.server_cpu * 1e3, 2),
            "client_cpu_ms": round(cell.client_cpu * 1e3, 2),
        }
    spread = scaling(scaling_n)
    one = {cell.name: cell.rate for processes, cell in spread if processes == 1}
    for processes, cell in spread:
        figures[f"{cell.name}_20ue_{processes}_processes"] = {
            "rate_per_s": round(cell.rate, 1),
            "p50_ms": round(cell.quantile(50) * 1e3, 1),
            "p99_ms": round(cell.quantile(99) * 1e3, 1),
            "x_1_process": round(cell.rate / one[cell.name], 2),
            "server_cpu_ms": round(cell.server_cpu * 1e3, 2),
            "client_cpu_ms": round(cell.client_cpu * 1e3, 2),
            "machine_ceiling_per_s": round(_ceiling(cell), 1),
        }
    return figures


def _ceiling(cell: Cell) -> float:
    """Operations per second this machine could do at most with the core and the UEs on it:
    every CPU busy, each operation costing the server's CPU and the client's."""
    return len(os.sched_getaffinity(0)) / (cell.server_cpu + cell.client_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n1", type=int, default=30, help="operations per cell with 1 UE")
    parser.add_argument("--n20", type=int, default=120, help="operations per cell with 20 UEs")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time cap per cell")
    parser.add_argument(
        "--stores",
        action="store_true",
        help="compare the store backends instead: SQLite (1 core), PostgreSQL (1 and 2 cores)",
    )
    parser.add_argument(
        "--radius", action="store_true", help="add the onboarding row through FreeRADIUS"
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="compare `core serve --processes 1` and `--processes 2` instead (20 UEs in two "
        "client processes)",
    )
    args = parser.parse_args()
    if args.scaling:
        print(f"{os.cpu_count()} CPUs shared by the core's processes and the UEs' processes\n")
        _print_scaling(scaling(args.n20))
        return
    if args.stores:
        stores(args.n20, 20, args.max_seconds)
        return
    cells = flow(args.n1, args.n20, args.max_seconds, radius=args.radius)
    print(f"one `dynsub core serve` process; UEs as threads of another process; {os.cpu_count()}")
    print("CPUs (shared); x TLS = TLS handshakes per second / operations per second\n")
    _print(cells)


if __name__ == "__main__":
    main()
