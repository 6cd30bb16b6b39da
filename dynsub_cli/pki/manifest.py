"""The manifest of a minting run: one row per device, as CSV and as JSON.

Both files sit in the output folder as ``manifest-<run>.csv`` and ``manifest-<run>.json``.
``path`` is the device folder relative to the manifest's own folder, so the output folder can
be moved or copied as a whole.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dynsub_cli.files import write_atomic
from dynsub_cli.pki.ledger import Issued

FIELDS = ("imei", "serial", "certificate_serial", "sha256_fingerprint", "not_after", "path")


@dataclass(frozen=True)
class Manifest:
    csv: Path
    json: Path


def paths(out: Path, run: str) -> Manifest:
    return Manifest(out / f"manifest-{run}.csv", out / f"manifest-{run}.json")


def rows(devices: Sequence[Issued]) -> list[dict[str, str]]:
    return [
        {
            "imei": d.imei,
            "serial": d.serial,
            "certificate_serial": d.certificate_serial,
            "sha256_fingerprint": d.fingerprint,
            "not_after": d.not_after,
            "path": d.imei,
        }
        for d in devices
    ]


def write(out: Path, run: str, tac: str, outcome: str, devices: Sequence[Issued]) -> Manifest:
    """Write both files atomically; returns their paths."""
    target = paths(out, run)
    table = rows(devices)
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    write_atomic(target.csv, text.getvalue().encode("utf-8"))
    # One device per line, each encoded by json's C encoder: readable, and fast for 10^5 rows.
    head = json.dumps({"run": run, "tac": tac, "outcome": outcome, "count": len(table)})
    body = "".join(f"\n{json.dumps(row)}," for row in table).rstrip(",")
    document = f'{head[:-1]}, "devices": [{body}\n]}}\n'
    write_atomic(target.json, document.encode("utf-8"))
    return target
