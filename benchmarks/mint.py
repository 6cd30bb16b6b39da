"""How fast `dynsub pki mint` is, against baselines measured in the same run.

    python -m benchmarks.mint [--count 4000] [--rounds 1] [--dir DIR] [--openssl-count 20]

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

Ratios: each rate per worker against the floor, rate(w) / w / floor (target: at least 0.6), and
2 workers against 1 (target: near 2 on an idle two-core machine).

The folder matters. On ext4 without a journal (this project's VMs), allocating an inode skips,
one by one, every inode of the block group freed in the last minute or more; in a folder where
thousands of files were just deleted (the previous run's clean-up, another test suite in /tmp)
each new file or folder then costs 100-300 us instead of 5. The "files only" row shows which
case a run was in; --dir picks the folder (default: the system temporary folder).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dynsub_cli.pki import authority, mint
from dynsub_cli.pki.imei import make_imei
from dynsub_cli.pki.issue import NO_EXPIRY, Subject, Template, generate_key
from dynsub_cli.pki.ledger import device_serial
from dynsub_cli.pki.profiles import DEVICE


def floor_rate(pki: authority.Pki, count: int) -> float:
    """Devices per second for key generation + certificate signing only, in this process."""
    template = Template(DEVICE, pki.manufacturer_issuer())
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
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
    return count / (time.perf_counter() - started)


def files_rate(pki: authority.Pki, out: Path, count: int) -> float:
    """Devices per second for writing the device folders alone, with mint's own code."""
    out.mkdir()
    setup = mint._setup(pki, mint.MintRequest(out=out), out)
    cert_pem = Path(setup.chain_file).read_bytes()  # a certificate-sized PEM
    key_pem = b"k" * 241  # the size of a P-256 PKCS#8 PEM
    started = time.perf_counter()
    for snr in range(count):
        imei = make_imei("97000000", snr)
        partial = f"{out}/.{imei}{mint.PARTIAL}"
        mint._write_device(partial, cert_pem, key_pem, None, setup)
        os.rename(partial, f"{out}/{imei}")
    return count / (time.perf_counter() - started)


def mint_rate(pki: authority.Pki, out: Path, count: int, workers: int) -> float:
    started = time.perf_counter()
    result = mint.mint(pki, mint.MintRequest(out=out, count=count, workers=workers))
    elapsed = time.perf_counter() - started
    assert len(result.devices) == count
    return count / elapsed


def openssl_rate(pki: authority.Pki, work: Path, count: int) -> float:
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
    started = time.perf_counter()
    for snr in range(count):
        imei = make_imei("98000000", snr)
        folder = work / imei
        folder.mkdir()
        subprocess.run(
            [
                "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
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
                "-CAcreateserial", "-days", "3650", "-sha256",
                "-extfile", str(extensions), "-out", str(folder / "device.pem"),
            ],
            check=True,
            capture_output=True,
            env={"DYNSUB_URN": f"urn:gsma:imei:{imei[:8]}-{imei[8:14]}-{imei[14]}"},
        )  # fmt: skip
    return count / (time.perf_counter() - started)


@dataclass(frozen=True)
class Round:
    floor: float
    files: float
    one: float
    two: float


def measure(pki: authority.Pki, work: Path, count: int) -> Round:
    """One round: floor, files only, mint with 1 and 2 workers, floor again."""
    floor = floor_rate(pki, count)
    files = files_rate(pki, work / "files", count)
    one = mint_rate(pki, work / "w1", count, 1)
    two = mint_rate(pki, work / "w2", count, 2)
    floor_again = floor_rate(pki, count)  # the machine is shared: bracket the runs
    return Round((floor + floor_again) / 2, files, one, two)


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


def print_round(number: int, r: Round, cli: float | None) -> None:
    us = 1e6
    rows = [
        ("floor: keygen + sign, in-process, 1 core", r.floor, 1, "1.00"),
        ("files only: device folders, no crypto", r.files, 1, f"{r.files / r.floor:.2f}"),
        ("dynsub pki mint, 1 worker", r.one, 1, f"{r.one / r.floor:.2f}"),
        ("dynsub pki mint, 2 workers", r.two, 2, f"{r.two / 2 / r.floor:.2f}"),
    ]
    if cli is not None:
        rows.append(("openssl req + x509 loop", cli, 1, f"{cli / r.floor:.3f}"))
    print(f"round {number}")
    header = f"{'measurement':44} {'devices/s':>10} {'us/device':>10} {'workers':>8}"
    print(f"{header} {'per worker / floor':>19}")
    for name, rate, workers, ratio in rows:
        print(f"{name:44} {rate:10.0f} {us / rate:10.1f} {workers:8d} {ratio:>19}")
    print(f"scaling, 2 workers / 1 worker: {r.two / r.one:.2f}")
    if cli is not None:
        print(f"dynsub (2 workers) / openssl loop: {r.two / cli:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=4000, help="devices per dynsub measurement")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of all dynsub rows")
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: tmp)")
    parser.add_argument("--openssl-count", type=int, default=20, help="devices for openssl")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dynsub-bench-", dir=args.dir) as folder:
        work = Path(folder)
        print(f"writing in {work} ({filesystem(work)}), {args.count} devices per row")
        pki = authority.init(work / "pki", authority.InitOptions())
        mint_rate(pki, work / "warm", 50, 2)  # start-up costs (imports, forkserver) paid once
        rounds = []
        for number in range(args.rounds):
            (work / str(number)).mkdir()
            rounds.append(measure(pki, work / str(number), args.count))
        (work / "openssl").mkdir()
        cli = openssl_rate(pki, work / "openssl", args.openssl_count)
    for number, r in enumerate(rounds, 1):
        print_round(number, r, cli if number == len(rounds) else None)
    if len(rounds) > 1:
        print(f"over {len(rounds)} rounds (min / median / max):")
        spreads = (
            ("1 worker / floor", [r.one / r.floor for r in rounds]),
            ("2 workers, per worker / floor", [r.two / 2 / r.floor for r in rounds]),
            ("scaling, 2 workers / 1 worker", [r.two / r.one for r in rounds]),
        )
        for name, values in spreads:
            low, mid, high = min(values), statistics.median(values), max(values)
            print(f"  {name:30} {low:.2f} / {mid:.2f} / {high:.2f}")


if __name__ == "__main__":
    main()
