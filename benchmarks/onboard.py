"""Onboardings per second on one core process, against a bare mutual TLS 1.3 handshake loop.

    python -m benchmarks.onboard [--n1 30] [--n20 120] [--max-seconds 60]
    python -m benchmarks.onboard --stores [--n20 120]   # SQLite vs PostgreSQL, see stores()

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
- via FreeRADIUS (``--radius``): the onboarding procedure through a second core whose
  [authentication] relays EAP to a real FreeRADIUS (`dynsub core radius-config`, reject_delay
  0), in the same run as the built-in rows; "x built-in" is the built-in onboarding rate over
  this one. Its server CPU is the core's only (FreeRADIUS runs in its own process).

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

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
from tests.integration import coreproc

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


def start_core(config_file: Path, log_file: Path) -> tuple[subprocess.Popen[bytes], int]:
    """`dynsub core serve` on a free port of 127.0.0.1; its log goes to ``log_file``."""
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            coreproc.command(config_file, "--listen", f"{HOST}:0"),
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
    """User + system CPU time of a process so far (Linux /proc; its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


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
    args = parser.parse_args()
    if args.stores:
        stores(args.n20, 20, args.max_seconds)
        return
    plan = [(1, args.n1), (20, args.n20)]
    warmup = 3
    with tempfile.TemporaryDirectory(prefix="dynsub-bench-") as tmp:
        work = Path(tmp)
        rows = 3 if args.radius else 2
        needed = warmup * rows + sum(n for _, n in plan) * rows
        print(f"minting {needed} devices and a core in {work} ...", file=sys.stderr)
        lab = make_lab(work, devices=needed)
        fresh: Iterator[Path] = iter(lab.devices)
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
        radius: tuple[subprocess.Popen[bytes], int, subprocess.Popen[bytes]] | None = None
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
            if args.radius:
                radius = start_radius_core(lab.config_file, work)
                relayed, relayed_port = radius[0], radius[1]
                jobs.append(
                    (
                        "via FreeRADIUS",
                        lambda: onboarding_only(next_device(), relayed_port),
                        relayed.pid,
                    )
                )
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
                    max_seconds=args.max_seconds,
                )
                for concurrency, n in plan
                for name, job, pid in jobs
            ]
        finally:
            if radius is not None:
                radius[0].send_signal(signal.SIGTERM)
                radius[0].wait(timeout=30)
                radius[2].terminate()
                radius[2].wait(timeout=30)
            tls.terminate()
            core.send_signal(signal.SIGTERM)
            core.wait(timeout=30)
    print(f"one `dynsub core serve` process; UEs as threads of another process; {os.cpu_count()}")
    print("CPUs (shared); x TLS = TLS handshakes per second / operations per second\n")
    _print(cells)


if __name__ == "__main__":
    main()
