"""How fast `dynsub pki mint` is, against baselines measured in the same run.

    python -m benchmarks.mint [--count 4000] [--openssl-count 20]

Rows of the table:

- floor: key generation + signing the same device certificate, in this process, one core, no
  files: what cryptography can do at best per core;
- dynsub mint, 1 and 2 workers: the whole job (ledger, worker processes, four files per device
  renamed into place, manifest in CSV and JSON), as `dynsub pki mint` runs it;
- openssl loop: one `openssl req` (new key + CSR) and one `openssl x509` (sign) per device, the
  script a factory would otherwise write.

Ratios: each rate per worker against the floor (target: at least 0.6), and 2 workers against 1
(target: near 2 on an idle two-core machine). The machine is shared, so figures are noisy; the
ratios against the same run's floor are what count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import tempfile
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=4000, help="devices per dynsub measurement")
    parser.add_argument("--openssl-count", type=int, default=20, help="devices for openssl")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dynsub-bench-") as folder:
        work = Path(folder)
        pki = authority.init(work / "pki", authority.InitOptions())
        mint_rate(pki, work / "warm", 50, 2)  # start-up costs (imports, forkserver) paid once
        floor = floor_rate(pki, args.count)
        one = mint_rate(pki, work / "w1", args.count, 1)
        two = mint_rate(pki, work / "w2", args.count, 2)
        floor_again = floor_rate(pki, args.count)  # the machine is shared: bracket the runs
        (work / "openssl").mkdir()
        cli = openssl_rate(pki, work / "openssl", args.openssl_count)

    floor = (floor + floor_again) / 2
    rows = [
        ("floor: keygen + sign, in-process, 1 core", floor, 1, "1.00"),
        ("dynsub pki mint, 1 worker", one, 1, f"{one / floor:.2f}"),
        ("dynsub pki mint, 2 workers", two, 2, f"{two / 2 / floor:.2f}"),
        ("openssl req + x509 loop", cli, 1, f"{cli / floor:.3f}"),
    ]
    print(f"{'measurement':44} {'devices/s':>10} {'workers':>8} {'per worker / floor':>19}")
    for name, rate, workers, ratio in rows:
        print(f"{name:44} {rate:10.0f} {workers:8d} {ratio:>19}")
    print(f"scaling, 2 workers / 1 worker: {two / one:.2f}")
    print(f"dynsub (2 workers) / openssl loop: {two / cli:.0f}x")


if __name__ == "__main__":
    main()
