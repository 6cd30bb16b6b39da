"""Batch minting of device certificates: the factory job behind ``dynsub pki mint``.

Theory of operation. The parent process reserves the run's IMEIs in the ledger, then hands
chunks of them to worker processes (one per core). A worker generates each device's key,
signs its certificate with a :class:`~dynsub_cli.pki.issue.Template` prepared once per worker,
and writes the device's files into ``OUT/.<IMEI>.partial``. The parent renames each finished
folder to ``OUT/<IMEI>`` (atomic: the folder appears whole or not at all) and then commits the
chunk to the ledger in one transaction. So at any instant:

- a ``reserved`` ledger row has no folder yet, or a complete one whose commit was cut short;
- an ``issued`` row always has its complete folder;
- a ``.partial`` folder belongs to a reserved row and is never taken for a device.

When the run ends in any way (finished, Ctrl-C, a worker error) the parent *settles* its
leftover reservations: a reserved IMEI whose folder is in place is committed from that folder,
any other is released and its ``.partial`` folder removed. A run whose process died (kill -9,
power cut) cannot settle itself; the next run finds it open with its lock file free and settles
it, writing that run's manifest. Renames are done by the parent, never by a worker, so a worker
orphaned by a killed parent cannot put a folder in place after that settling.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import multiprocessing
import os
import secrets
import shutil
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from dynsub_cli.errors import BadInput, FileError, Interrupted, PkiError
from dynsub_cli.files import make_private_dir, write_atomic
from dynsub_cli.pki import manifest, pem, profiles
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.imei import check_tac
from dynsub_cli.pki.issue import NO_EXPIRY, Issuer, Subject, Template, generate_key
from dynsub_cli.pki.ledger import Issued, Ledger, Reservation, RunLock, device_serial
from dynsub_cli.pki.profiles import DEVICE, KeyType

DEVICE_CERT = "device.pem"
DEVICE_KEY = "device.key"
CHAIN = "chain.pem"
TRUST = "trust.pem"
P12 = "device.p12"
PARTIAL = ".partial"
SHARED = ".shared"
MAX_CHUNK = 64  # small enough for a smooth progress bar and a quick stop on Ctrl-C
IN_PROCESS_UP_TO = 16  # devices minted without worker processes (a trial, a test)
FLUSH_EVERY = 512  # devices placed between two background syncs (see _Flusher)
CLOCK_SKEW = dt.timedelta(minutes=5)  # notBefore slightly in the past: verifiers' clocks vary


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) or 1


@dataclass(frozen=True)
class MintRequest:
    """What ``dynsub pki mint`` was asked for."""

    out: Path
    count: int = 1
    tac: str | None = None  # None: the PKI's default TAC
    first_snr: int | None = None  # None: after the highest serial in the ledger
    workers: int | None = None  # None: one per core
    not_after: dt.datetime = NO_EXPIRY
    p12_password: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Settled:
    """What settling an open run did: folders committed from disk, reservations released."""

    run: str
    committed: int
    released: int
    manifest: manifest.Manifest | None


@dataclass(frozen=True)
class MintResult:
    run: str
    out: Path
    tac: str
    workers: int
    devices: tuple[Issued, ...]
    manifest: manifest.Manifest
    recovered: tuple[Settled, ...]
    seconds: float


# --- worker side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Setup:
    """Everything a worker needs, sent once when it starts."""

    ca_cert_pem: bytes
    ca_key_pem: bytes = field(repr=False)
    chain_file: str  # the run's one read-only copy of chain.pem, hard-linked into each device
    trust_file: str  # likewise for trust.pem
    key_type: KeyType
    manufacturer: str
    out: str
    not_before: dt.datetime
    not_after: dt.datetime
    p12_password: bytes | None = field(repr=False)


@dataclass
class _Worker:
    setup: _Setup
    template: Template
    ca_cert: x509.Certificate
    not_after: str


_worker: _Worker | None = None


def _make_worker(setup: _Setup) -> _Worker:
    """Parse the CA once for all the devices one process mints."""
    ca_cert = x509.load_pem_x509_certificate(setup.ca_cert_pem)
    ca_key = serialization.load_pem_private_key(setup.ca_key_pem, password=None)
    issuer = Issuer(ca_cert, ca_key)  # type: ignore[arg-type]
    return _Worker(
        setup=setup,
        template=Template(DEVICE, issuer),
        ca_cert=ca_cert,
        not_after=_iso(setup.not_after),
    )


def _init_worker(setup: _Setup) -> None:
    """Runs once in each pool worker: its CA, and Ctrl-C left to the parent."""
    global _worker  # per-process state of a pool worker
    # The parent decides what an interrupt means and stops the pool; a worker finishes its chunk.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker = _make_worker(setup)
    _watch_parent()


def _watch_parent() -> None:
    """End this worker if the minting process dies, instead of idling forever on the queue.

    Workers are forked by the forkserver, so os.getppid() names the server, which outlives a
    killed mint; multiprocessing's parent sentinel is the minting process itself.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return  # not a worker process (a test running the worker's code in-process)

    def watch() -> None:
        parent.join()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _write_new(path: str, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from the first byte; open + write + close, nothing else."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


Row = tuple[str, str, str, str, str]  # imei, serial, certificate serial, fingerprint, notAfter


def _mint_chunk(chunk: Sequence[tuple[str, str, int]]) -> list[Row]:
    """The pool's task: a chunk minted by this worker process."""
    assert _worker is not None, "worker not initialised"
    return _mint_with(_worker, chunk)


def _mint_with(worker: _Worker, chunk: Sequence[tuple[str, str, int]]) -> list[Row]:
    """Mint (imei, tac, snr) devices into ``.partial`` folders; the parent renames them.

    All keys and certificates of the chunk are made first, then all folders written: the two
    phases each keep their code and data hot in the CPU caches, which measured about a quarter
    faster per device than alternating them (benchmarks/mint.py).
    """
    setup = worker.setup
    rows: list[Row] = []
    files: list[tuple[bytes, bytes, bytes | None]] = []
    for imei, tac, snr in chunk:
        serial = device_serial(tac, snr)
        key = generate_key(setup.key_type)
        cert = worker.template.issue(
            Subject(imei, setup.manufacturer, serial_number=serial, imei=imei),
            key.public_key(),
            not_before=setup.not_before,
            not_after=setup.not_after,
        )
        bundle = None
        if setup.p12_password is not None:
            bundle = pkcs12.serialize_key_and_certificates(
                imei.encode(),
                key,
                cert,
                [worker.ca_cert],
                serialization.BestAvailableEncryption(setup.p12_password),
            )
        cert_pem = cert.public_bytes(pem.PEM)
        files.append((cert_pem, pem.key_bytes(key), bundle))
        certificate_serial = format(cert.serial_number, "x")
        rows.append((imei, serial, certificate_serial, _fingerprint(cert_pem), worker.not_after))
    for row, (cert_pem, key_pem, bundle) in zip(rows, files, strict=True):
        _write_device(f"{setup.out}/.{row[0]}{PARTIAL}", cert_pem, key_pem, bundle, setup)
    return rows


def _fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the DER certificate, from the PEM we write anyway.

    Certificate.fingerprint() costs as much again as the PEM encoding (a hash object and a
    second DER copy through the bindings); decoding the base64 body and hashlib are a fifth of
    that. a2b_base64 skips the line breaks (RFC 7468 section 2 lines of 64 characters).
    """
    body = cert_pem.split(b"-----")[2]  # between "BEGIN CERTIFICATE" and "END CERTIFICATE"
    return hashlib.sha256(binascii.a2b_base64(body)).hexdigest()


def _write_device(
    partial: str, cert_pem: bytes, key_pem: bytes, bundle: bytes | None, setup: _Setup
) -> None:
    try:
        os.mkdir(partial, 0o700)
    except FileExistsError:
        shutil.rmtree(partial)  # left by an earlier attempt at this same reservation
        os.mkdir(partial, 0o700)
    try:
        _write_new(f"{partial}/{DEVICE_CERT}", cert_pem, 0o644)
        _write_new(f"{partial}/{DEVICE_KEY}", key_pem, 0o600)
        # Identical in every device: a hard link is one syscall and no new inode.
        os.link(setup.chain_file, f"{partial}/{CHAIN}")
        os.link(setup.trust_file, f"{partial}/{TRUST}")
        if bundle is not None:
            _write_new(f"{partial}/{P12}", bundle, 0o600)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- parent side ----------------------------------------------------------------------------


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _chunks(reservations: Sequence[Reservation], workers: int) -> list[list[tuple[str, str, int]]]:
    # Four chunks per worker at least, so that the last chunks spread over every core.
    size = max(1, min(MAX_CHUNK, -(-len(reservations) // (workers * 4))))
    items = [(r.imei, r.tac, r.snr) for r in reservations]
    return [items[i : i + size] for i in range(0, len(items), size)]


def _place(out: Path, rows: Sequence[Row]) -> list[Issued]:
    """Rename finished ``.partial`` folders into place (the parent alone does this)."""
    placed = []
    for imei, serial, certificate_serial, fingerprint, not_after in rows:
        try:
            os.rename(f"{out}/.{imei}{PARTIAL}", f"{out}/{imei}")
        except OSError as err:
            raise FileError(
                f"{out / imei}: cannot put the device folder in place ({err.strerror}); "
                "is something else using that name?"
            ) from err
        placed.append(Issued(imei, serial, certificate_serial, fingerprint, not_after))
    return placed


def _read_device(folder: Path, imei: str) -> Issued | None:
    """The ledger row of a device folder that is in place, or None if it is not one of ours."""
    try:
        cert = x509.load_pem_x509_certificate((folder / DEVICE_CERT).read_bytes())
    except (OSError, ValueError):
        return None
    if profiles.imei_of(cert) != imei:
        return None
    serial = profiles.subject_value(cert.subject, x509.NameOID.SERIAL_NUMBER) or ""
    return Issued(
        imei,
        serial,
        format(cert.serial_number, "x"),
        cert.fingerprint(hashes.SHA256()).hex(),
        _iso(cert.not_valid_after_utc),
    )


def settle(ledger: Ledger, run: str, out: Path) -> tuple[int, int]:
    """Commit or release every reservation ``run`` left open; returns (committed, released)."""
    committed: list[Issued] = []
    released: list[str] = []
    for reservation in ledger.reserved(run):
        imei = reservation.imei
        found = _read_device(out / imei, imei) if (out / imei).is_dir() else None
        if found is not None:
            committed.append(found)
        else:
            shutil.rmtree(out / f".{imei}{PARTIAL}", ignore_errors=True)
            released.append(imei)
    if committed:
        ledger.commit(run, committed)
    if released:
        ledger.release(run, released)
    return len(committed), len(released)


def _sweep_partials(ledger: Ledger, out: Path) -> None:
    """Remove ``.partial`` folders no open reservation owns (left by orphaned workers)."""
    for partial in out.glob(f".*{PARTIAL}"):
        found = ledger.find(partial.name[1 : -len(PARTIAL)])
        if found is None or found[0] != "reserved":
            shutil.rmtree(partial, ignore_errors=True)


def settle_dead_runs(ledger: Ledger) -> list[Settled]:
    """Settle runs whose process died, and write their manifests."""
    done = []
    for run in ledger.dead_runs():
        lock = RunLock(ledger.locks, run.id)
        if not lock.try_acquire():
            continue  # another rerun is settling it right now
        try:
            if run.id not in {r.id for r in ledger.open_runs()}:
                continue  # it finished (or was settled) between our look and our lock
            committed, released = settle(ledger, run.id, run.out)
            _sweep_partials(ledger, run.out)
            issued = ledger.issued(run.id)
            written = None
            if issued and run.out.is_dir():
                written = manifest.write(run.out, run.id, run.tac, "recovered", issued)
            ledger.finish_run(run.id, "recovered")
        finally:
            lock.release()
        done.append(Settled(run.id, committed, released, written))
    return done


def _shared_copy(out: Path, name: str, data: bytes) -> Path:
    """``OUT/.shared/<sha256>-<name>``: one read-only copy that device folders hard-link to."""
    folder = out / SHARED
    folder.mkdir(mode=0o755, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}-{name}"
    if not path.exists():
        write_atomic(path, data, mode=0o444)
    return path


def _setup(pki: Pki, request: MintRequest, out: Path) -> _Setup:
    issuer = pki.manufacturer_issuer()
    key_type = KeyType.of(issuer.key)
    if key_type is None:
        raise PkiError(f"{pki.manufacturer_key}: not an ECDSA P-256/P-384 key")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if request.not_after <= now:
        raise BadInput(f"notAfter {request.not_after:%Y-%m-%d}: already in the past")
    if request.not_after > issuer.certificate.not_valid_after_utc and request.not_after != (
        NO_EXPIRY
    ):
        raise BadInput(
            f"notAfter {request.not_after:%Y-%m-%d}: later than the manufacturer CA's own "
            f"notAfter ({issuer.certificate.not_valid_after_utc:%Y-%m-%d})"
        )
    chain_pem = issuer.certificate.public_bytes(pem.PEM)
    return _Setup(
        ca_cert_pem=chain_pem,
        ca_key_pem=pem.key_bytes(issuer.key),
        chain_file=str(_shared_copy(out, CHAIN, chain_pem)),
        trust_file=str(_shared_copy(out, TRUST, pki.load_root().public_bytes(pem.PEM))),
        key_type=pki.key_type,
        manufacturer=pki.manufacturer,
        out=str(out),
        not_before=now - CLOCK_SKEW,
        not_after=request.not_after,
        p12_password=request.p12_password,
    )


def _pool(workers: int, setup: _Setup) -> ProcessPoolExecutor:
    # forkserver: workers are forked from a clean single-threaded server, not from a parent
    # that may run a progress-bar thread; the server imports this module once for all of them.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(setup,)
    )


class _Flusher:
    """Writes placed device folders to disk in the background while the workers mint on.

    The run ends with one ``os.sync()`` so that what it reports survives a power cut. Left to
    the end, that sync waited for every folder of the run (about 15 us a device on this
    project's VMs, a tenth of minting one); started every few hundred devices from a thread,
    the disk writes overlap the minting and the final sync only waits for the last few.
    ``os.sync()`` rather than an fsync per file: one call instead of three per device.
    """

    def __init__(self, every: int = FLUSH_EVERY) -> None:
        self._every = every
        self._since = 0
        self._thread: threading.Thread | None = None

    def placed(self, count: int) -> None:
        self._since += count
        if self._since < self._every or (self._thread is not None and self._thread.is_alive()):
            return
        self._since = 0
        self._thread = threading.Thread(target=os.sync, name="mint-flush", daemon=True)
        self._thread.start()

    def finish(self) -> None:
        """Wait for a background sync, then sync what is left."""
        if self._thread is not None:
            self._thread.join()
        os.sync()


def _run_chunks(
    pool: ProcessPoolExecutor,
    chunks: Sequence[Sequence[tuple[str, str, int]]],
    on_rows: Callable[[list[Row]], None],
) -> None:
    pending: set[Future[list[Row]]] = {pool.submit(_mint_chunk, chunk) for chunk in chunks}
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                on_rows(future.result())
    except BaseException:
        # Stop: drop what has not started, let running chunks finish, keep what finished.
        pool.shutdown(wait=True, cancel_futures=True)
        for future in pending:
            if future.done() and not future.cancelled() and future.exception() is None:
                on_rows(future.result())
        raise


def mint(
    pki: Pki, request: MintRequest, *, progress: Callable[[int], None] | None = None
) -> MintResult:
    """Mint ``request.count`` devices; ``progress(n)`` is called as each chunk is committed.

    Workers start from a forkserver, so a script that calls this needs multiprocessing's
    ``if __name__ == "__main__":`` guard (the ``dynsub`` command and ``python -m`` have it).
    """
    started = time.perf_counter()
    tac = request.tac or pki.tac
    check_tac(tac)
    workers = default_workers() if request.workers is None else request.workers
    if workers < 1:
        raise BadInput(f"--workers {workers}: needs at least one worker")
    if request.count < 1:
        raise BadInput(f"--count {request.count}: mint at least one device")
    out = request.out.absolute()
    if not out.exists():
        make_private_dir(out)
    elif not out.is_dir():
        raise FileError(f"{out}: exists and is not a folder; --out needs a folder")
    setup = _setup(pki, request, out)
    advance = progress or (lambda count: None)

    with Ledger(pki.ledger) as ledger:
        recovered = settle_dead_runs(ledger)
        run = new_run_id()
        with RunLock(ledger.locks, run):
            # Refused (overlapping range, TAC full) before anything is recorded.
            reservations = ledger.reserve(run, out, tac, request.count, request.first_snr)
            outcome = "failed"
            flusher = _Flusher()
            try:

                def commit(rows: list[Row]) -> None:
                    ledger.commit(run, _place(out, rows))
                    flusher.placed(len(rows))
                    advance(len(rows))

                chunks = _chunks(reservations, workers)
                if request.count <= IN_PROCESS_UP_TO:
                    # A handful of devices: starting worker processes would cost more than
                    # minting them (a few hundred ms against a few ms).
                    workers = 1
                    worker = _make_worker(setup)
                    for chunk in chunks:
                        commit(_mint_with(worker, chunk))
                else:
                    workers = min(workers, len(chunks))
                    with _pool(workers, setup) as pool:
                        _run_chunks(pool, chunks, commit)
                outcome = "done"
            except KeyboardInterrupt:
                outcome = "interrupted"  # reported below, once everything is settled
            except BrokenProcessPool as err:
                raise PkiError(
                    "a minting worker died (out of memory? killed?); the devices minted so far "
                    "are kept and recorded; rerun to mint the rest"
                ) from err
            except OSError as err:
                raise FileError(f"{out}: cannot write device folders: {err}") from err
            finally:
                settle(ledger, run, out)
                ledger.finish_run(run, outcome)
                devices = ledger.issued(run)
                flusher.finish()  # the folders and manifest outlive a power cut once we return
                written = manifest.write(out, run, tac, outcome, devices)
    if outcome == "interrupted":
        raise Interrupted(
            f"minting interrupted: {len(devices)} of {request.count} devices were minted and "
            f"recorded (manifest {written.csv}); nothing half-written is left. Rerun to mint "
            "more: serials continue after the highest"
        )
    return MintResult(
        run=run,
        out=out,
        tac=tac,
        workers=workers,
        devices=tuple(devices),
        manifest=written,
        recovered=tuple(recovered),
        seconds=time.perf_counter() - started,
    )
