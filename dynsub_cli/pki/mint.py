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

When the run ends (finished, a worker error) the parent *settles* its leftover reservations,
and a run whose process died is settled by the next one (:mod:`dynsub_cli.pki.recovery`).
Ctrl-C must stop the job within a second (the user asked for it to stop), and settling 10^5
reservations, syncing the folders and writing a manifest of 10^4 rows do not fit in that: so an
interrupted run stops its workers, waits briefly for the last sync, says how many devices are on
disk, and leaves the rest to the next run's recovery, exactly as if it had been killed (which
loses nothing a crash would not: every placed folder is committed or found again from disk).

Renames are done by the parent, never by a worker, so a worker orphaned by a killed parent
cannot put a folder in place after that settling. What a device folder holds, and how it is
written, is :mod:`dynsub_cli.pki.device_folder`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import multiprocessing
import os
import queue
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from dynsub_cli.errors import BadInput, DynsubError, FileError, Interrupted, PkiError
from dynsub_cli.files import make_private_dir, pem_certificate
from dynsub_cli.pki import csr, device_folder, hsm, manifest, pem, profiles, recovery
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.imei import check_tac, split
from dynsub_cli.pki.issue import NO_EXPIRY, Issuer, Subject, Template, generate_key
from dynsub_cli.pki.ledger import Issued, Ledger, Reservation, RunLock, device_serial, iso_utc
from dynsub_cli.pki.profiles import DEVICE, KeyType
from dynsub_cli.pki.signer import Signer, SignerSource
from dynsub_cli.pki.stamp import Stamp

MAX_CHUNK = 64  # small enough for a smooth progress bar and a quick stop on Ctrl-C
IN_PROCESS_UP_TO = 16  # devices minted without worker processes (a trial, a test)
FLUSH_EVERY = 512  # devices placed between two background syncs (see _Flusher)
# After Ctrl-C, how long to wait for the placed folders to reach the disk before saying how many
# did: the rest of the second the user is promised goes to stopping the workers.
INTERRUPT_SYNC_SECONDS = 0.4
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
    # The roots the UE trusts to authenticate a core (trust.pem); empty: the PKI's own root.
    # Another root when the operator branch has its own.
    trust_anchors: tuple[x509.Certificate, ...] = ()
    # Sign these CSRs (one device each, keys stay in the devices) instead of making keys;
    # count is then their number. Refused CSRs are listed in the manifest.
    csrs: tuple[csr.Request, ...] = ()
    refused_csrs: tuple[csr.Refused, ...] = ()


@dataclass(frozen=True)
class MintResult:
    run: str
    out: Path
    tac: str
    workers: int
    devices: tuple[Issued, ...]
    manifest: manifest.Manifest
    recovered: tuple[recovery.Settled, ...]
    seconds: float


# --- worker side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Setup:
    """Everything a worker needs, sent once when it starts."""

    ca_cert_pem: bytes
    signer: SignerSource  # each worker opens its own signer: no CA key bytes cross the pipe
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
    stamp: Stamp | None  # None: each certificate goes through cryptography's builder
    signer: Signer  # the CA's, which signs the stamped certificates
    ca_cert: x509.Certificate
    not_after: str


_worker: _Worker | None = None
_worker_error: DynsubError | None = None


def _make_worker(setup: _Setup) -> _Worker:
    """Parse the CA, open its signer and lay out the certificates once for all the devices
    one process mints."""
    ca_cert = x509.load_pem_x509_certificate(setup.ca_cert_pem)
    signer = setup.signer.open()
    template = Template(DEVICE, Issuer(ca_cert, signer))
    samples = tuple(
        (
            _subject(setup, imei, device_serial(*split(imei))),
            generate_key(setup.key_type).public_key(),
        )
        for imei in _SAMPLE_IMEIS
    )
    stamp = Stamp.make(template, samples, not_before=setup.not_before, not_after=setup.not_after)
    return _Worker(
        setup=setup,
        template=template,
        stamp=stamp,
        signer=signer,
        ca_cert=ca_cert,
        not_after=iso_utc(setup.not_after),
    )


#: Two devices the stamp is laid out and checked on (valid IMEIs; never written anywhere).
_SAMPLE_IMEIS = ("356938035643809", "490154203237518")


def _subject(setup: _Setup, imei: str, serial: str) -> Subject:
    """What a device certificate names: the IMEI (CN and SAN) and the device serial."""
    return Subject(imei, setup.manufacturer, serial_number=serial, imei=imei)


def _init_worker(setup: _Setup) -> None:
    """Runs once in each pool worker: its CA, and Ctrl-C left to the parent."""
    global _worker, _worker_error  # per-process state of a pool worker
    # The parent decides what an interrupt means and stops the pool; a worker finishes its chunk.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _worker = _make_worker(setup)
    except DynsubError as err:
        # An initializer that raises breaks the pool ("a worker died"); keep the reason (a
        # token the worker cannot open, say) and give it back with the first chunk instead.
        _worker_error = err
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


Row = tuple[str, str, str, str, str]  # imei, serial, certificate serial, fingerprint, notAfter
#: What a worker mints: imei, tac, snr, and the device's own public key (DER) from its CSR, or
#: None to generate the key pair here.
Item = tuple[str, str, int, bytes | None]


def _mint_chunk(chunk: Sequence[Item]) -> list[Row]:
    """The pool's task: a chunk minted by this worker process."""
    if _worker is None:
        raise _worker_error or PkiError("a minting worker was not initialised")
    return _mint_with(_worker, chunk)


def _mint_with(worker: _Worker, chunk: Sequence[Item]) -> list[Row]:
    """Mint (imei, tac, snr) devices into ``.partial`` folders; the parent renames them.

    The chunk goes through each step as a whole (keys, certificates, files) rather than device
    by device: each step's code and data then stay in the CPU caches, which measured about a
    quarter faster per device than alternating them, and signing a chunk's certificates in one
    run spares a token's signature a further tenth (benchmarks/mint.py).
    """
    setup = worker.setup
    serials = [device_serial(tac, snr) for _, tac, snr, _ in chunk]
    keys = [generate_key(setup.key_type) if requested is None else None for *_, requested in chunk]
    devices = [
        (
            _subject(setup, imei, serial),
            key.public_key() if key is not None else _public_key(requested),
        )
        for (imei, _, _, requested), serial, key in zip(chunk, serials, keys, strict=True)
    ]
    rows: list[Row] = []
    files: list[tuple[bytes, bytes | None, bytes | None]] = []
    for (imei, *_), serial, key, (der, certificate_number) in zip(
        chunk, serials, keys, _certificates(worker, devices), strict=True
    ):
        bundle = None
        if setup.p12_password is not None and key is not None:
            bundle = pkcs12.serialize_key_and_certificates(
                imei.encode(),
                key,
                x509.load_der_x509_certificate(der),
                [worker.ca_cert],
                serialization.BestAvailableEncryption(setup.p12_password),
            )
        files.append(
            (pem_certificate(der), pem.key_bytes(key) if key is not None else None, bundle)
        )
        fingerprint = hashlib.sha256(der).hexdigest()
        rows.append((imei, serial, format(certificate_number, "x"), fingerprint, worker.not_after))
    for row, (cert_pem, key_pem, bundle) in zip(rows, files, strict=True):
        device_folder.write_partial(
            device_folder.partial(setup.out, row[0]),
            cert_pem,
            key_pem,
            bundle,
            chain_file=setup.chain_file,
            trust_file=setup.trust_file,
        )
    return rows


def _public_key(der: bytes | None) -> ec.EllipticCurvePublicKey:
    key = serialization.load_der_public_key(der or b"")
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise PkiError("a CSR's key is not ECDSA; csr.check lets only profile keys through")
    return key


def _certificates(
    worker: _Worker, devices: Sequence[tuple[Subject, ec.EllipticCurvePublicKey]]
) -> list[tuple[bytes, int]]:
    """The devices' certificates (DER) and serial numbers: stamped where the worker has a stamp
    a device fits (dynsub_cli/pki/stamp.py), else built by cryptography."""
    stamp = worker.stamp
    if stamp is None:
        return [_built(worker, subject, public_key) for subject, public_key in devices]
    prepared = [stamp.prepare(subject, public_key) for subject, public_key in devices]
    sign = worker.signer.sign
    signatures = iter([sign(tbs) for tbs, _ in filter(None, prepared)])
    return [
        (stamp.signed(stamped[0], next(signatures)), stamped[1])
        if stamped is not None
        else _built(worker, subject, public_key)
        for (subject, public_key), stamped in zip(devices, prepared, strict=True)
    ]


def _built(
    worker: _Worker, subject: Subject, public_key: ec.EllipticCurvePublicKey
) -> tuple[bytes, int]:
    setup = worker.setup
    cert = worker.template.issue(
        subject, public_key, not_before=setup.not_before, not_after=setup.not_after
    )
    return cert.public_bytes(serialization.Encoding.DER), cert.serial_number


# --- parent side ----------------------------------------------------------------------------


def new_run_id() -> str:
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _chunk_size(count: int, workers: int) -> int:
    # Four chunks per worker at least, so that the last chunks spread over every core.
    return max(1, min(MAX_CHUNK, -(-count // (workers * 4))))


def _chunks(
    reservations: Sequence[Reservation], workers: int, requests: Sequence[bytes] = ()
) -> list[list[Item]]:
    size = _chunk_size(len(reservations), workers)
    keys = list(requests) if requests else [None] * len(reservations)
    items = [(r.imei, r.tac, r.snr, key) for r, key in zip(reservations, keys, strict=True)]
    return [items[i : i + size] for i in range(0, len(items), size)]


def _place(out: Path, rows: Sequence[Row]) -> list[Issued]:
    """Rename finished ``.partial`` folders into place (the parent alone does this)."""
    placed = []
    for imei, serial, certificate_serial, fingerprint, not_after in rows:
        device_folder.place(out, imei)
        placed.append(Issued(imei, serial, certificate_serial, fingerprint, not_after))
    return placed


def _setup(pki: Pki, request: MintRequest, out: Path) -> _Setup:
    issuer = pki.manufacturer_issuer()
    if KeyType.of(issuer.signer.public_key()) is None:
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
    for anchor in request.trust_anchors:
        if not profiles.is_ca(anchor):
            raise BadInput(
                f"trust anchor {anchor.subject.rfc4514_string()}: not a CA certificate "
                "(basicConstraints CA:TRUE missing); the UE's trust anchors are the roots it "
                "authenticates a core with"
            )
    chain_pem = issuer.certificate.public_bytes(pem.PEM)
    trust_pem = pem.certificate_bytes(request.trust_anchors or [pki.load_root()])
    return _Setup(
        ca_cert_pem=chain_pem,
        signer=issuer.signer.source(),
        chain_file=str(device_folder.shared_copy(out, device_folder.CHAIN, chain_pem)),
        trust_file=str(device_folder.shared_copy(out, device_folder.TRUST, trust_pem)),
        key_type=pki.key_type,
        manufacturer=pki.manufacturer,
        out=str(out),
        not_before=now - CLOCK_SKEW,
        not_after=request.not_after,
        p12_password=request.p12_password,
    )


def _pool(workers: int, setup: _Setup) -> ProcessPoolExecutor:
    """The worker processes, forked from this process when that is safe, else a forkserver.

    Forking this process is cheapest (the workers inherit its imports: the forkserver costs a
    new interpreter and importing this module again, about 0.3 s of a 500-device run), and
    safe only while it runs no other thread, since a fork copies just the calling thread and a
    lock another thread held would stay locked in the child for good. With fork the executor
    starts its workers before its own management thread. A progress bar on a terminal runs a
    thread, so an interactive run uses the forkserver: workers forked from a clean
    single-threaded server that imports this module once for all of them. So does a token
    signer, whose PKCS#11 library a child must initialise anew (PKCS#11 v2.40 5.4); the
    server imports python-pkcs11 for the workers (``hsm.PRELOAD``), as it imports this module.
    """
    if threading.active_count() == 1 and not isinstance(setup.signer, hsm.TokenKey):
        context: multiprocessing.context.BaseContext = multiprocessing.get_context("fork")
    else:
        forkserver = multiprocessing.get_context("forkserver")
        # A missing preload is skipped by the server: a PKI without a token needs no pkcs11.
        forkserver.set_forkserver_preload([__name__, *hsm.PRELOAD])
        context = forkserver
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(setup,)
    )


def _started() -> None:
    """A worker's first task, which does nothing: submitting it starts the worker."""


@contextmanager
def _started_pool(
    workers: int, setup: _Setup, stage: Callable[[str], None]
) -> Iterator[ProcessPoolExecutor]:
    """:func:`_pool`, its workers started at once rather than at their first chunk: each opens
    its signer and lays out its certificates while this process settles earlier runs and
    reserves the IMEIs, instead of after it. (A forkserver that is not running yet is started
    first, before this returns: it forks the workers only once it has imported their code.)"""
    stage(f"starting {workers} workers")
    with _pool(workers, setup) as pool:
        for _ in range(workers):
            pool.submit(_started)
        yield pool


class _Flusher:
    """Writes placed device folders to disk in the background while the workers mint on.

    The run ends with one ``os.sync()`` so that what it reports survives a power cut. Left to
    the end, that sync waited for every folder of the run (about 15 us a device on this
    project's VMs, a tenth of minting one); started every few hundred devices from a thread,
    the disk writes overlap the minting and the final sync only waits for the last few.
    ``os.sync()`` rather than an fsync per file: one call instead of three per device.
    It counts the devices a finished sync covered, which is what an interrupted run may call
    minted.
    """

    def __init__(self, every: int = FLUSH_EVERY) -> None:
        self._every = every
        self._since = 0
        self._placed = 0
        self.synced = 0  # devices placed before a sync that has returned: on disk
        self._thread: threading.Thread | None = None

    def placed(self, count: int) -> None:
        self._since += count
        self._placed += count
        if self._since < self._every or (self._thread is not None and self._thread.is_alive()):
            return
        self._start()

    def _start(self) -> None:
        self._since = 0
        covered = self._placed

        def sync() -> None:
            os.sync()
            self.synced = max(self.synced, covered)

        self._thread = threading.Thread(target=sync, name="mint-flush", daemon=True)
        self._thread.start()

    def finish(self, timeout: float | None = None) -> int:
        """Wait for a background sync, then sync what is left; returns ``synced``.

        With ``timeout``, stop waiting after that many seconds (the sync goes on by itself):
        the caller then reports only ``synced`` devices as on disk.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(timeout)
        if self.synced < self._placed or self._thread is None:
            if self._thread is None or not self._thread.is_alive():
                self._start()
            if self._thread is not None:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                self._thread.join(left)
        return self.synced


def _run_chunks(
    pool: ProcessPoolExecutor,
    chunks: Sequence[Sequence[Item]],
    on_rows: Callable[[list[Row]], None],
) -> None:
    pending: set[Future[list[Row]]] = set()
    # Finished chunks arrive through a queue rather than concurrent.futures.wait(), which
    # takes every pending future's lock in a Python loop: a Ctrl-C landing inside it left a
    # lock taken, and the pool's shutdown below then waited on it for ever. A blocking get
    # on a SimpleQueue holds nothing when it is interrupted.
    finished: queue.SimpleQueue[Future[list[Row]]] = queue.SimpleQueue()
    try:
        # Submitted inside the try: a Ctrl-C while submitting must cancel what was submitted,
        # not leave the pool's shutdown to mint every chunk first.
        for chunk in chunks:
            future = pool.submit(_mint_chunk, chunk)
            pending.add(future)
            future.add_done_callback(finished.put)
        while pending:
            future = finished.get()
            pending.discard(future)
            on_rows(future.result())
    except BaseException:
        # Stop: drop what has not started, let running chunks finish, keep what finished.
        pool.shutdown(wait=True, cancel_futures=True)
        for future in pending:
            if future.done() and not future.cancelled() and future.exception() is None:
                on_rows(future.result())
        raise


def _interrupted(run: str, out: Path, count: int, placed: int, synced: int) -> str:
    """What an interrupted run tells the user: what is kept, and what the next run will do."""
    on_disk = min(placed, synced)
    text = (
        f"minting interrupted: {on_disk} of {count} devices minted, on disk and in the ledger "
        f"(run {run})"
    )
    if placed > on_disk:
        text += (
            f"; {placed - on_disk} more were put in place in the last moment and are still "
            "being written to disk (a power cut now would lose them, and the next run would "
            "then give their IMEIs back)"
        )
    return (
        f"{text}. The run is left open: the next `dynsub pki mint` with this PKI settles it "
        f"first, keeping every whole device folder in {out}, giving back the {count - placed} "
        f"IMEIs never used and writing manifest-{run}.csv/.json; nothing half-written is taken "
        "for a device. Serials then continue after the highest"
    )


def _requests_by_imei(
    reservations: Sequence[Reservation], requests: Sequence[csr.Request]
) -> dict[str, csr.Request]:
    return {r.imei: c for r, c in zip(reservations, requests, strict=False)}


def mint(
    pki: Pki,
    request: MintRequest,
    *,
    progress: Callable[[int], None] | None = None,
    stage: Callable[[str], None] = lambda what: None,
) -> MintResult:
    """Mint ``request.count`` devices; ``progress(n)`` is called as each chunk is committed,
    ``stage(what)`` before each step that takes a while before the first device (reserving a
    large run's IMEIs, starting the workers).

    Workers start from a forkserver, so a script that calls this needs multiprocessing's
    ``if __name__ == "__main__":`` guard (the ``dynsub`` command and ``python -m`` have it).
    """
    started = time.perf_counter()
    tac = pki.own_tac(request.tac)
    check_tac(tac)
    workers = default_workers() if request.workers is None else request.workers
    if workers < 1:
        raise BadInput(f"`workers` {workers}: needs at least one worker", parameter="workers")
    count = len(request.csrs) if request.csrs or request.refused_csrs else request.count
    if request.csrs and request.p12_password is not None:
        raise BadInput("a PKCS#12 file needs the device key, which a CSR's device keeps")
    if count < 1 and not request.refused_csrs:
        raise BadInput(f"`count` {request.count}: mint at least one device", parameter="count")
    out = request.out.absolute()
    if not out.exists():
        make_private_dir(out)
    elif not out.is_dir():
        raise FileError(f"{out}: exists and is not a folder; `out` needs a folder", parameter="out")
    setup = _setup(pki, request, out)
    advance = progress or (lambda count: None)
    # A handful of devices: starting worker processes would cost more than minting them (a
    # few hundred ms against a few ms).
    in_process = count <= IN_PROCESS_UP_TO
    workers = 1 if in_process else min(workers, -(-count // _chunk_size(count, workers)))
    pool_or_none = nullcontext() if in_process else _started_pool(workers, setup, stage)

    with pool_or_none as pool, Ledger(pki.ledger) as ledger:
        recovered = recovery.settle_dead_runs(ledger)
        run = new_run_id()
        with RunLock(ledger.locks, run):
            # Refused (overlapping range, TAC full) before anything is recorded.
            stage(f"reserving {count} IMEIs")
            reservations = ledger.reserve(run, out, tac, count, request.first_snr) if count else []
            outcome = "failed"
            flusher = _Flusher()
            placed = 0
            try:

                def commit(rows: list[Row]) -> None:
                    nonlocal placed
                    ledger.commit(run, _place(out, rows))
                    placed += len(rows)
                    flusher.placed(len(rows))
                    advance(len(rows))

                chunks = _chunks(reservations, workers, [c.public_key for c in request.csrs])
                if pool is None:
                    worker = _make_worker(setup)
                    for chunk in chunks:
                        commit(_mint_with(worker, chunk))
                else:
                    stage("minting")
                    _run_chunks(pool, chunks, commit)
                    # Every chunk is in: the workers exit while the run is settled and its
                    # manifest written (leaving the pool's block waits for them).
                    pool.shutdown(wait=False)
                outcome = "done"
            except KeyboardInterrupt:
                outcome = "interrupted"  # reported below
            except BrokenProcessPool as err:
                raise PkiError(
                    "a minting worker died (out of memory? killed?); the devices minted so far "
                    "are kept and recorded; rerun to mint the rest"
                ) from err
            except OSError as err:
                raise FileError(f"{out}: cannot write device folders: {err}") from err
            finally:
                if outcome == "interrupted":
                    # Left open for the next run's recovery (module docstring): what is placed
                    # is committed already, and the rest is settled from the disk by it.
                    ledger.mark_interrupted(run)
                    synced = flusher.finish(timeout=INTERRUPT_SYNC_SECONDS)
                else:
                    recovery.settle(ledger, run, out)
                    ledger.finish_run(run, outcome)
                    devices = ledger.issued(run)
                    flusher.finish()  # the folders and manifest outlive a power cut once we return
                    written = manifest.write(
                        out,
                        run,
                        tac,
                        outcome,
                        devices,
                        requests=_requests_by_imei(reservations, request.csrs)
                        if request.csrs or request.refused_csrs
                        else None,
                        refused=request.refused_csrs,
                    )
    if outcome == "interrupted":
        raise Interrupted(_interrupted(run, out, count, placed, synced))
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
