"""How fast `dynsub pki mint` is, against baselines measured in the same run.

    python -m benchmarks.mint [--count 4000] [--rounds 1] [--dir DIR] [--openssl-count 20]
                              [--key-type p256|p384] [--no-token] [--peer [--peer-only]]

Rows of the table (one table per round):

- floor: key generation + signing the same device certificate, in this process, one core, no
  files: what cryptography can do at best per core (measured before and after the mint rows,
  averaged, because the machine is shared);
- files only: the same device folders (folder, device.pem, device.key 0600, two hard links,
  rename into place) with fixed contents and no cryptography, one process, in the same folder
  as the mint rows: what the filesystem costs per device;
- dynsub mint, 1 and 2 workers: the whole job (ledger, worker processes, device folders, manifest
  in CSV and JSON, the final sync), as `dynsub pki mint` runs it;
- openssl loop: one `openssl req` (new key + CSR) and one `openssl x509` (sign) per device, the
  script a factory would otherwise write.

Token and CSR rows (one set, after the rounds; --no-token skips the token rows; the two token
rows are measured TOKEN_ROUNDS times, alternately, the median of each kept, and again writing
to /dev/shm, where the disk does not count):

- token raw sign: the SoftHSM2 token's own signing rate, CKM_ECDSA on a digest, one process
  (the ceiling for anything signed through it, measured on a token made for the run);
- token raw sign, 2 processes: the same signatures shared by two processes started as mint's
  workers are (timed with their start): what two workers can get from the token on this
  machine at most, which on a VM whose two CPUs share a core is well under twice one;
- dynsub pki mint through the token, 2 workers: the manufacturer key in the token, each worker
  with its own session; ratio against the raw rate (target: at least 0.7);
- dynsub pki mint --csr, 2 workers: CSRs made beforehand (not timed), signed and written with
  no key generation; ratio against 2 x the floor (key generation + signing).

Peer rows (--peer; --peer-only skips everything else): `dynsub pki mint` as a user runs it (a
new process: start-up, imports, workers, ledger, manifest, final sync) against the tool a
Matter factory would use, esp-matter-mfg-tool, in its DAC-only mode (``--no-bin
--enable-dynamic-passcode``: a key pair and a DAC signed by a PAI per device, in a folder per
device, plus its CSV summaries), at 500 and 2,000 devices, alternating the two, in the same
folder. It is installed with pip into a throwaway venv in the work folder (``--peer-venv`` reuses
one); it is not a dependency of dynsub. Both durable: dynsub syncs before it returns; the peer
does not sync at all, so its timed span ends with ``os.sync()`` (what `sync` does), counted as
its cost. Target (issue 11.5): at least 3 x at 2,000 and 1.5 x at 500.

Ratios: each rate per worker against the floor, rate(w) / w / floor (target: at least 0.6), and
2 workers against 1 (target: near 2 on an idle two-core machine).

CPU columns: the machine's user and system CPU time per device during the row, from /proc/stat
(so they include the parent, the workers, the forkserver and the kernel's writeback threads).
They say where a row's time goes: the floor is all user time; whatever a mint row spends above
the floor's user time is the Python around the cryptography (PEM, the ledger, the pool), and
its system time is the filesystem.

The folder matters. On ext4 without a journal (this project's VMs), allocating an inode skips,
one by one, every inode of the block group freed in the last minute or more; in a folder where
thousands of files were just deleted (the previous run's clean-up, another test suite in /tmp)
each new file or folder then costs 100-300 us instead of 5. The "files only" row shows which
case a run was in; --dir picks the folder (default: the system temporary folder).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dynsub_cli.pki import authority, csr, device_folder, mint
from dynsub_cli.pki.imei import make_imei
from dynsub_cli.pki.issue import NO_EXPIRY, Subject, Template, generate_key
from dynsub_cli.pki.ledger import device_serial
from dynsub_cli.pki.profiles import DEVICE, KeyType


@dataclass(frozen=True)
class Row:
    """One measured row: devices per second, and the machine's CPU time per device."""

    rate: float
    user_us: float
    system_us: float


def _cpu_seconds() -> tuple[float, float]:
    """The machine's (user, system) CPU seconds so far, every core and process, /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice) / tick, (system + irq + softirq) / tick


def measured(count: int, work: Callable[[], object]) -> Row:
    user, system = _cpu_seconds()
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    user_after, system_after = _cpu_seconds()
    per_device = 1e6 / count
    return Row(
        count / elapsed, (user_after - user) * per_device, (system_after - system) * per_device
    )


def floor(pki: authority.Pki, count: int) -> None:
    """Key generation + certificate signing only, in this process."""
    template = Template(DEVICE, pki.manufacturer_issuer())
    now = dt.datetime.now(dt.UTC)
    for snr in range(count):
        imei = make_imei("99000000", snr)
        serial = device_serial("99000000", snr)
        key = generate_key(pki.key_type)
        template.issue(
            Subject(imei, pki.manufacturer, serial_number=serial, imei=imei),
            key.public_key(),
            not_before=now,
            not_after=NO_EXPIRY,
        )


def files(pki: authority.Pki, out: Path, count: int) -> None:
    """The device folders alone, written and put in place with mint's own code."""
    out.mkdir()
    setup = mint._setup(pki, mint.MintRequest(out=out), out)
    cert_pem = Path(setup.chain_file).read_bytes()  # a certificate-sized PEM
    key_pem = b"k" * 241  # the size of a P-256 PKCS#8 PEM
    for snr in range(count):
        imei = make_imei("97000000", snr)
        device_folder.write_partial(
            device_folder.partial(out, imei),
            cert_pem,
            key_pem,
            None,
            chain_file=setup.chain_file,
            trust_file=setup.trust_file,
        )
        device_folder.place(out, imei)


def dynsub_mint(pki: authority.Pki, out: Path, count: int, workers: int) -> None:
    result = mint.mint(pki, mint.MintRequest(out=out, count=count, workers=workers))
    assert len(result.devices) == count


def openssl_loop(pki: authority.Pki, work: Path, count: int) -> None:
    curve, digest = ("P-384", "sha384") if pki.key_type is KeyType.P384 else ("P-256", "sha256")
    extensions = work / "device.ext"
    extensions.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=clientAuth\n"
        "certificatePolicies=2.25.6288169333837973938869670386843066101.1.1\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
        "subjectAltName=URI:${ENV::DYNSUB_URN}\n"
    )
    for snr in range(count):
        imei = make_imei("98000000", snr)
        folder = work / imei
        folder.mkdir()
        subprocess.run(
            [
                "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", f"ec_paramgen_curve:{curve}",
                "-nodes", "-keyout", str(folder / "device.key"), "-out", str(folder / "csr.pem"),
                "-subj", f"/O={pki.manufacturer}/CN={imei}/serialNumber={snr}",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [
                "openssl", "x509", "-req", "-in", str(folder / "csr.pem"),
                "-CA", str(pki.manufacturer_cert), "-CAkey", str(pki.manufacturer_key),
                "-CAcreateserial", "-days", "3650", f"-{digest}",
                "-extfile", str(extensions), "-out", str(folder / "device.pem"),
            ],
            check=True,
            capture_output=True,
            env={"DYNSUB_URN": f"urn:gsma:imei:{imei[:8]}-{imei[8:14]}-{imei[14]}"},
        )  # fmt: skip


def make_token(work: Path) -> str:
    """A SoftHSM2 token in ``work`` for this run; SOFTHSM2_CONF and the PIN in the env."""
    tokens = work / "tokens"
    tokens.mkdir(parents=True)
    conf = work / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    os.environ["DYNSUB_PKCS11_PIN"] = "2468"
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", "2468",
         "--so-pin", "13571357"],
        check=True, capture_output=True,
    )  # fmt: skip
    return "bench"


def token_raw(pki: authority.Pki, count: int) -> None:
    signer = pki.manufacturer_signer()
    tbs = b"t" * 420  # about a device certificate's TBS
    for _ in range(count):
        signer.sign(tbs)


def _sign_in_worker(folder: Path, count: int) -> None:
    token_raw(authority.load(folder), count)


def token_raw_two(pki: authority.Pki, count: int) -> None:
    """``count`` raw signatures shared by 2 processes, each opening its own session as a mint
    worker does (started by a forkserver, timed with their start): the most 2 workers can get
    from the token on this machine."""
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        list(pool.map(_sign_in_worker, [pki.root] * 2, [count // 2, count - count // 2]))


def make_csrs(folder: Path, count: int, key_type: KeyType) -> list[csr.Request]:
    folder.mkdir()
    for number in range(count):
        key = ec.generate_private_key(key_type.curve)
        request = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "device")]))
            .sign(key, hashes.SHA256())
        )
        (folder / f"{number}.csr").write_bytes(request.public_bytes(serialization.Encoding.PEM))
    good, refused = csr.read(csr.files(folder), "00100100")
    assert not refused
    return good


def csr_mint(pki: authority.Pki, out: Path, requests: list[csr.Request]) -> None:
    result = mint.mint(
        pki, mint.MintRequest(out=out, count=len(requests), workers=2, csrs=tuple(requests))
    )
    assert len(result.devices) == len(requests)


PEER = "esp-matter-mfg-tool==1.0.29"  # the version issue 11 measured
PEER_COUNTS = (500, 2000)


def peer_venv(work: Path) -> Path:
    """A throwaway venv with esp-matter-mfg-tool; returns its command."""
    venv = work / "peer-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", PEER],
        check=True,
        capture_output=True,
    )
    return venv / "bin" / "esp-matter-mfg-tool"


def make_paa(folder: Path) -> tuple[Path, Path]:
    """A Matter PAA (self-signed, vendor ID FFF1) for the peer to derive its PAI and DACs from.

    Valid for 110 years: the peer refuses a PAA that ends before its DACs' default 100 years.
    """
    folder.mkdir()
    key = ec.generate_private_key(ec.SECP256R1())
    vendor_id = x509.ObjectIdentifier("1.3.6.1.4.1.37244.2.1")  # Matter: matter-oid-vid
    name = x509.Name(
        [
            x509.NameAttribute(x509.NameOID.COMMON_NAME, "Benchmark PAA"),
            x509.NameAttribute(vendor_id, "FFF1"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=110 * 366))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "paa.pem", folder / "paa.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def timed(command: list[str], *, sync: bool) -> float:
    """Wall seconds of ``command``, and of ``os.sync()`` after it when ``sync``."""
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    if sync:
        os.sync()
    return time.perf_counter() - started


@dataclass(frozen=True)
class PeerRow:
    """dynsub and the peer minting ``count`` devices: wall seconds of each run."""

    count: int
    ours: tuple[float, ...]
    theirs: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """The peer's median time over dynsub's: how many times faster dynsub is."""
        return statistics.median(self.theirs) / statistics.median(self.ours)


def peer_measure(work: Path, pki: authority.Pki, tool: Path, rounds: int) -> list[PeerRow]:
    """Each count of PEER_COUNTS ``rounds`` times, dynsub and the peer taking turns."""
    paa, paa_key = make_paa(work / "paa")
    found = []
    for count in PEER_COUNTS:
        ours, theirs = [], []
        for number in range(rounds):
            out = work / f"peer-{count}-{number}"
            ours.append(
                timed(
                    [sys.executable, "-m", "dynsub_cli", "pki", "mint", "--pki", str(pki.root),
                     "--out", str(out / "dynsub"), "--count", str(count), "--json"],
                    sync=False,  # dynsub syncs before it exits
                )
            )  # fmt: skip
            theirs.append(
                timed(
                    [str(tool), "-n", str(count), "--no-bin", "--enable-dynamic-passcode",
                     "--paa", "-c", str(paa), "-k", str(paa_key), "-v", "0xFFF1", "-p", "0x8000",
                     "--outdir", str(out / "peer"), "--log-level", "error"],
                    sync=True,  # the peer never syncs: its sync is part of its cost
                )
            )  # fmt: skip
        found.append(PeerRow(count, tuple(ours), tuple(theirs)))
    return found


def print_peer(found: list[PeerRow]) -> None:
    rounds = len(found[0].ours)
    print(f"dynsub pki mint vs {PEER} (DAC-only), both durable, median (min) of {rounds}")
    header = f"{'devices':>7} {'dynsub s (min)':>14} {'peer s (min)':>12}"
    print(f"{header} {'dynsub/s':>9} {'peer/s':>8}  peer time / dynsub time")
    for row in found:
        mine, peer = statistics.median(row.ours), statistics.median(row.theirs)
        print(
            f"{row.count:7d} {mine:7.2f} ({min(row.ours):4.2f}) {peer:5.2f} "
            f"({min(row.theirs):4.2f}) {row.count / mine:9.0f} {row.count / peer:8.0f}  "
            f"{row.ratio:6.2f} (target {3.0 if row.count >= 2000 else 1.5})"
        )


def print_extra(floor: Row, files: Row, csrs: Row, token: TokenRows | None) -> None:
    print("token and CSR rows")
    rows = [("dynsub pki mint --csr, 2 workers", csrs)]
    if token is not None:
        rows = [("token raw sign (CKM_ECDSA), 1 process", token.raw),
                ("token raw sign, 2 processes", token.raw_two),
                ("dynsub pki mint via token, 2 workers", token.mint), *rows]  # fmt: skip
    for name, row in rows:
        rate = f"{row.rate:9.0f} {1e6 / row.rate:9.1f}"
        print(f"{name:41} {rate} {row.user_us:9.0f} {row.system_us:6.0f}")
    if token is not None:
        print_token("", token)
        # At 0.7 of the raw rate with 2 workers, each worker has 2 / (0.7 x raw) per device for
        # everything: key generation, signing, the folder, the ledger. What the folder alone
        # takes of it says whether this disk can reach the target at all.
        budget = 2 / (0.7 * token.raw.rate)
        print(
            f"per-device budget at the target: {budget * 1e6:.0f} us per worker; the folder "
            f"writes alone (files-only row) take {1 / files.rate / budget:.2f} of it"
        )
    print(f"CSR mint (2 workers) / (2 x floor keygen + sign): {csrs.rate / 2 / floor.rate:.2f}")


def print_token(where: str, token: TokenRows) -> None:
    print(
        f"{where}token raw {token.raw.rate:.0f}/s, 2 processes {token.raw_two.rate:.0f}/s "
        f"({token.raw_two.rate / token.raw.rate:.2f} x: the most 2 workers get here), mint via "
        f"token {token.mint.rate:.0f}/s: {token.ratio:.2f} of the raw rate (target 0.7)"
    )


@dataclass(frozen=True)
class Round:
    floor: Row
    files: Row
    one: Row
    two: Row


def _mean(a: Row, b: Row) -> Row:
    return Row((a.rate + b.rate) / 2, (a.user_us + b.user_us) / 2, (a.system_us + b.system_us) / 2)


def measure(pki: authority.Pki, work: Path, count: int) -> Round:
    """One round: floor, files only, mint with 1 and 2 workers, floor again."""
    first = measured(count, lambda: floor(pki, count))
    written = measured(count, lambda: files(pki, work / "files", count))
    one = measured(count, lambda: dynsub_mint(pki, work / "w1", count, 1))
    two = measured(count, lambda: dynsub_mint(pki, work / "w2", count, 2))
    again = measured(count, lambda: floor(pki, count))  # the machine is shared: bracket the runs
    return Round(_mean(first, again), written, one, two)


def filesystem(folder: Path) -> str:
    """The type and mount point of the filesystem holding ``folder``, from /proc/mounts."""
    best = ("?", "")
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return "unknown filesystem"
    resolved = str(folder.resolve())
    for line in mounts:
        fields = line.split()
        point = fields[1]
        inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best[1]):
            best = (fields[2], point)
    return f"{best[0]} mounted on {best[1]}"


def print_round(number: int, r: Round, cli: Row | None) -> None:
    floor = r.floor.rate
    rows = [
        ("floor: keygen + sign, in-process, 1 core", r.floor, 1),
        ("files only: device folders, no crypto", r.files, 1),
        ("dynsub pki mint, 1 worker", r.one, 1),
        ("dynsub pki mint, 2 workers", r.two, 2),
    ]
    if cli is not None:
        rows.append(("openssl req + x509 loop", cli, 1))
    print(f"round {number}")
    header = f"{'measurement':41} {'devices/s':>9} {'us/device':>9} {'workers':>7}"
    print(f"{header} {'per worker/floor':>16} {'CPU us/device: user':>19} {'system':>6}")
    for name, row, workers in rows:
        ratio = row.rate / workers / floor
        print(
            f"{name:41} {row.rate:9.0f} {1e6 / row.rate:9.1f} {workers:7d} {ratio:16.3g} "
            f"{row.user_us:19.0f} {row.system_us:6.0f}"
        )
    print(f"scaling, 2 workers / 1 worker: {r.two.rate / r.one.rate:.2f}")
    if cli is not None:
        print(f"dynsub (2 workers) / openssl loop: {r.two.rate / cli.rate:.0f}x")


@dataclass(frozen=True)
class Rows:
    """Everything one measurement of :func:`rows` found."""

    rounds: list[Round]
    openssl: Row
    csrs: Row
    token: TokenRows | None
    tmpfs_token: TokenRows | None = None  # again, writing to TMPFS


def rows(
    count: int,
    *,
    rounds: int = 1,
    folder: Path | None = None,
    openssl_count: int = 20,
    key_type: KeyType = KeyType.P256,
    token: bool = True,
) -> Rows:
    """The rounds of dynsub rows, the openssl loop, CSR minting and the token rows."""
    with tempfile.TemporaryDirectory(prefix="dynsub-bench-", dir=folder) as made:
        work = Path(made)
        print(
            f"writing in {work} ({filesystem(work)}), {count} devices per row, {key_type.name} keys"
        )
        # The token first: the forkserver the first mint starts keeps the environment it saw.
        label = make_token(work / "hsm") if token else None
        pki = authority.init(work / "pki", authority.InitOptions(key_type=key_type))
        dynsub_mint(pki, work / "warm", 50, 2)  # start-up costs (imports, forkserver) paid once
        measured_rounds = []
        for number in range(rounds):
            (work / str(number)).mkdir()
            measured_rounds.append(measure(pki, work / str(number), count))
        (work / "openssl").mkdir()
        cli = measured(openssl_count, lambda: openssl_loop(pki, work / "openssl", openssl_count))
        requests = make_csrs(work / "csrs", count, key_type)
        csrs = measured(count, lambda: csr_mint(pki, work / "csr-out", requests))
        on_disk = in_memory = None
        if label is not None:
            on_disk = token_rows(work, label, count, key_type)
            if TMPFS.is_dir():
                with tempfile.TemporaryDirectory(prefix="dynsub-bench-", dir=TMPFS) as memory:
                    in_memory = token_rows(Path(memory), label, count, key_type)
    return Rows(measured_rounds, cli, csrs, on_disk, in_memory)


#: Rounds of the two token rows, alternated, the median of each kept: this VM's speed drifts by
#: up to a third over seconds (one hour's raw rates ran from 4,900 to 7,700 signatures/s), and
#: alternating the two puts both under the same drift. The median, not the best: one process
#: signing alone gets bursts that two busy workers never see, and the best would keep them.
TOKEN_ROUNDS = 3


@dataclass(frozen=True)
class TokenRows:
    raw: Row  # one process signing
    raw_two: Row  # two processes signing: the ceiling of 2 workers
    mint: Row  # `pki mint` through the token, 2 workers

    @property
    def ratio(self) -> float:
        return self.mint.rate / self.raw.rate


def token_rows(work: Path, label: str, count: int, key_type: KeyType) -> TokenRows:
    """The token's raw signing rate (1 and 2 processes) and `pki mint` through it with 2
    workers, in ``work``."""
    options = authority.InitOptions(key_type=key_type, token=authority.TokenOptions(label))
    token_pki = authority.init(work / "token-pki", options)
    dynsub_mint(token_pki, work / "token-warm", 50, 2)
    raws, twos, mints = [], [], []
    for number in range(TOKEN_ROUNDS):
        raws.append(measured(count, lambda: token_raw(token_pki, count)))
        twos.append(measured(count, lambda: token_raw_two(token_pki, count)))
        mint_run = partial(dynsub_mint, token_pki, work / f"token-out-{number}", count, 2)
        mints.append(measured(count, mint_run))
    return TokenRows(_median(raws), _median(twos), _median(mints))


def _median(found: list[Row]) -> Row:
    return sorted(found, key=lambda row: row.rate)[len(found) // 2]


#: Where the token rows are measured a second time: in memory, so that the ratio is the
#: signing path's, not the disk's (on a slow disk the folder writes alone can take the budget).
#: The token itself stays where the first rows made it (the forkserver keeps SOFTHSM2_CONF).
TMPFS = Path("/dev/shm")  # noqa: S108 - only ever a parent of mkdtemp folders


def run(count: int = 2000, *, peer_rounds: int = 3, folder: Path | None = None) -> dict[str, Any]:
    """The figures `benchmarks.run_all` keeps: mint rates and ratios, the peer's, the token's."""
    found = rows(count, folder=folder)
    last = found.rounds[-1]
    figures: dict[str, Any] = {
        "count": count,
        "devices_per_s_1_worker": round(last.one.rate),
        "devices_per_s_2_workers": round(last.two.rate),
        "floor_per_s": round(last.floor.rate),
        "files_only_per_s": round(last.files.rate),
        "x_openssl_loop": round(last.two.rate / found.openssl.rate, 1),
        "csr_x_keygen_and_sign": round(found.csrs.rate / 2 / last.floor.rate, 2),
    }
    for prefix, token in (("", found.token), ("tmpfs_", found.tmpfs_token)):
        if token is not None:
            figures[f"{prefix}token_raw_per_s"] = round(token.raw.rate)
            figures[f"{prefix}token_raw_2_processes_per_s"] = round(token.raw_two.rate)
            figures[f"{prefix}token_mint_per_s"] = round(token.mint.rate)
            figures[f"{prefix}token_x_raw"] = round(token.ratio, 2)
    with tempfile.TemporaryDirectory(prefix="dynsub-bench-", dir=folder) as peer_folder:
        work = Path(peer_folder)
        figures["disk"] = filesystem(work)
        pki = authority.init(work / "pki", authority.InitOptions())
        for row in peer_measure(work, pki, peer_venv(work), peer_rounds):
            figures[f"x_esp_matter_mfg_tool_{row.count}"] = round(row.ratio, 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=4000, help="devices per dynsub measurement")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of all dynsub rows")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: tmp)")
    parser.add_argument("--openssl-count", type=int, default=20, help="devices for openssl")
    parser.add_argument(
        "--key-type", type=KeyType, choices=list(KeyType), default=KeyType.P256, help="the PKI's"
    )
    parser.add_argument("--no-token", action="store_true", help="skip the SoftHSM2 rows")
    parser.add_argument("--peer", action="store_true", help="also run esp-matter-mfg-tool")
    parser.add_argument("--peer-only", action="store_true", help="only the peer rows")
    parser.add_argument("--peer-venv", type=Path, help="a venv that has esp-matter-mfg-tool")
    parser.add_argument("--peer-rounds", type=int, default=3, help="runs of each peer row")
    args = parser.parse_args()
    if args.peer or args.peer_only:
        with tempfile.TemporaryDirectory(prefix="dynsub-bench-", dir=args.dir) as folder:
            work = Path(folder)
            print(f"writing in {work} ({filesystem(work)}), load {os.getloadavg()[0]:.1f}")
            tool = (
                peer_venv(work)
                if args.peer_venv is None
                else args.peer_venv / "bin" / "esp-matter-mfg-tool"
            )
            pki = authority.init(work / "pki", authority.InitOptions(key_type=args.key_type))
            print_peer(peer_measure(work, pki, tool, args.peer_rounds))
        if args.peer_only:
            return

    found = rows(
        args.count,
        rounds=args.rounds,
        folder=args.dir,
        openssl_count=args.openssl_count,
        key_type=args.key_type,
        token=not args.no_token,
    )
    rounds = found.rounds
    for number, r in enumerate(rounds, 1):
        print_round(number, r, found.openssl if number == len(rounds) else None)
    print_extra(rounds[-1].floor, rounds[-1].files, found.csrs, found.token)
    if found.tmpfs_token is not None:
        print_token(f"in {TMPFS}: ", found.tmpfs_token)
    if len(rounds) > 1:
        print(f"over {len(rounds)} rounds (min / median / max):")
        spreads = (
            ("1 worker / floor", [r.one.rate / r.floor.rate for r in rounds]),
            ("2 workers, per worker / floor", [r.two.rate / 2 / r.floor.rate for r in rounds]),
            ("scaling, 2 workers / 1 worker", [r.two.rate / r.one.rate for r in rounds]),
        )
        for name, values in spreads:
            low, mid, high = min(values), statistics.median(values), max(values)
            print(f"  {name:30} {low:.2f} / {mid:.2f} / {high:.2f}")


if __name__ == "__main__":
    main()
