"""How fast the `dynsub store` read commands are on a large store, against a plain read of the
same table in the same run.

    python -m benchmarks.store [--count 100000] [--dir DIR] [--json FILE]

The store (not timed): ``--count`` subscriptions, each with two audit events (its creation and a
registration), written in one transaction through the store's own bulk path,
``Subscriptions.restore`` (what ``dynsub store copy`` uses): every record is sealed under the
store key as an onboarding would seal it. Every record carries the same real certificate (a
P-256 self-signed one, about 400 bytes DER); IMEIs and fingerprints differ, as the store's
unique indexes require.

Rows, each one `dynsub` command run as a subprocess with stdout to /dev/null, as a script runs it:

- ``list --json``, ``export --format F`` for every format (json, ndjson, csv, and open5gs with
  --reveal-secrets), ``export --format csv --reveal-secrets`` (the unsealing cost), ``events
  --all --json`` (the whole audit trail), ``list --limit 50`` (the first page of the table, on
  a pseudo-terminal, so rich draws it), and ``stats``;
- baseline: plain ``sqlite3`` in Python reading every row of the subscriptions table (every
  column), then every row of events, in a subprocess too: the floor any command that reads the
  whole table pays.

Columns: wall time, records per second (subscriptions, or events for ``events``), peak RSS of
the child (``ru_maxrss`` of ``wait4``), and the wall time against the baseline's. Targets
(issue 11, target 3): under 100 MB and at least 50,000 records/s for the streaming commands,
the first page of ``list`` under 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import pty
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dynsub_cli import config
from dynsub_cli.files import make_private_dir
from dynsub_cli.store import Secrets, State, Subscription, Subscriptions, generate_key_file
from dynsub_cli.store.model import Allocation, Event, EventKind, EventOutcome

PLMN = "00101"


def certificate() -> bytes:
    """One real certificate (DER) for every record: what a record of the store holds."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "356938035643809")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _imei(serial: int) -> str:
    body = f"35693803{serial:06d}"[:14]
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return body + str((10 - total % 10) % 10)


def build(folder: Path, count: int) -> Path:
    """A core folder with a store of ``count`` subscriptions; returns its core.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    path = config.write_default(
        folder,
        mcc=PLMN[:3],
        mnc=PLMN[3:],
        core_cert=Path("pki/core.pem"),
        core_key=Path("pki/core.key"),
        core_chain=Path("pki/chain.pem"),
        trust_anchors=[Path("pki/root.pem")],
        manufacturer_cas=[Path("pki/mfr.pem")],
    )
    cfg = config.load(path)
    make_private_dir(cfg.store.key_file.parent)
    key = generate_key_file(cfg.store.key_file)
    der = certificate()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    supis = [f"imsi-{PLMN}{msin:010d}" for msin in range(1, count + 1)]

    def subscriptions() -> Iterator[Subscription]:
        for serial, supi in enumerate(supis):
            imei = _imei(serial)
            yield Subscription(
                supi=supi,
                imei=imei,
                fingerprint=hashlib.sha256(der + imei.encode()).hexdigest(),
                issuer="CN=ACME Manufacturer CA,O=ACME",
                certificate=der,
                state=State.SUSPENDED if serial % 50 == 0 else State.ACTIVE,
                service_type="miot",
                plan="metered" if serial % 3 == 0 else "trial",
                account=f"A-{serial}" if serial % 3 == 0 else None,
                billing={"account": f"A-{serial}"} if serial % 3 == 0 else {},
                amf=b"\x80\x00",
                sqn=32 * (serial % 7),
                sst=3,
                sd=None,
                dnn="internet",
                ambr_ul=1_000_000,
                ambr_dl=2_000_000,
                created=now,
                updated=now,
                secrets=Secrets(k=os.urandom(16), opc=os.urandom(16)),
            )

    def events() -> Iterator[Event]:
        for serial, supi in enumerate(supis):
            imei = _imei(serial)
            yield Event(
                2 * serial + 1,
                now,
                EventKind.SUBSCRIPTION_CREATED,
                EventOutcome.SUCCESS,
                imei,
                supi,
                "",
                "127.0.0.1:40000",
            )
            yield Event(
                2 * serial + 2, now, EventKind.REGISTRATION, EventOutcome.SUCCESS, imei, supi
            )

    allocations = (Allocation(s, PLMN, int(s[-10:]), now) for s in supis)
    with Subscriptions.open(cfg.store.path, key) as store:
        store.restore(allocations, subscriptions(), events())
    return path


@dataclass(frozen=True)
class Row:
    name: str
    records: int
    seconds: float
    peak_rss_mb: float

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def _child(argv: Sequence[str], *, terminal: bool = False) -> tuple[float, float]:
    """Run ``argv`` with stdout to /dev/null (or to a pseudo-terminal whose output is read and
    dropped); returns (wall seconds, peak RSS in MB) of that child alone."""
    started = time.perf_counter()
    if terminal:
        controller, child = pty.openpty()
        proc = subprocess.Popen(argv, stdout=child, stderr=subprocess.DEVNULL)
        os.close(child)
        try:
            while os.read(controller, 65536):
                pass
        except OSError:  # EIO: the child closed the terminal
            pass
        finally:
            os.close(controller)
    else:
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024


_BASELINE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
n = 0
for table in ("subscriptions", "events"):
    for _ in conn.execute(f"SELECT * FROM {table}"):
        n += 1
print(n)
"""


def commands(core: Path) -> list[tuple[str, list[str], str, bool]]:
    """(name, arguments after `dynsub store`, what is counted, on a terminal)."""
    c = ["--config", str(core)]
    return [
        ("list --json", ["list", *c, "--json"], "subscriptions", False),
        ("export json", ["export", *c], "subscriptions", False),
        ("export ndjson", ["export", *c, "--format", "ndjson"], "subscriptions", False),
        ("export csv", ["export", *c, "--format", "csv"], "subscriptions", False),
        (
            "export csv --reveal-secrets",
            ["export", *c, "--format", "csv", "--reveal-secrets"],
            "subscriptions",
            False,
        ),
        (
            "export open5gs --reveal-secrets",
            ["export", *c, "--format", "open5gs", "--reveal-secrets"],
            "subscriptions",
            False,
        ),
        ("events --all --json", ["events", *c, "--all", "--json"], "events", False),
        ("list --limit 50 (terminal)", ["list", *c, "--limit", "50"], "page", True),
        ("stats", ["stats", *c], "one", False),
    ]


def run(count: int = 100_000, folder: Path | None = None) -> dict[str, Any]:
    """Build the store, run every row once; the results as a JSON-ready mapping."""
    with tempfile.TemporaryDirectory(prefix="dynsub-bench-store-", dir=folder) as work:
        started = time.perf_counter()
        core = build(Path(work) / "core", count)
        built = time.perf_counter() - started
        store_file = config.load(core).store.path
        counted = {"subscriptions": count, "events": 2 * count, "page": 50, "one": 1}
        seconds, rss = _child([sys.executable, "-c", _BASELINE, str(store_file)])
        baseline = Row("baseline: sqlite3 reads both tables", 3 * count, seconds, rss)
        dynsub = [sys.executable, "-m", "dynsub_cli", "store"]
        rows = []
        for name, args, what, terminal in commands(core):
            seconds, rss = _child([*dynsub, *args], terminal=terminal)
            rows.append(Row(name, counted[what], seconds, rss))
    return {
        "count": count,
        "build_seconds": built,
        "load": os.getloadavg(),
        "baseline": {**asdict(baseline), "rate": baseline.rate},
        "rows": [
            {**asdict(r), "rate": r.rate, "x_baseline": r.seconds / baseline.seconds} for r in rows
        ],
    }


def _print(result: dict[str, Any]) -> None:
    base = result["baseline"]
    load = result["load"][0]
    print(
        f"{result['count']} subscriptions (built in {result['build_seconds']:.1f} s), "
        f"load average {load:.2f} on {os.cpu_count()} CPUs"
    )
    print(f"{'command':36} {'seconds':>8} {'records/s':>10} {'peak MB':>8} {'x baseline':>10}")
    for r in [{**base, "x_baseline": 1.0}, *result["rows"]]:
        print(
            f"{r['name']:36} {r['seconds']:8.2f} {r['rate']:10.0f} {r['peak_rss_mb']:8.1f} "
            f"{r['x_baseline']:10.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="subscriptions in the store")
    parser.add_argument("--dir", type=Path, default=None, help="where to build (default: tmp)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    result = run(args.count, args.dir)
    _print(result)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
