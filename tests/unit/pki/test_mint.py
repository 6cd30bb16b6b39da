"""Batch minting: a few hundred devices, the manifest, the files, and settling a dead run."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import signal
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from dynsub_cli.errors import AlreadyExists, BadInput
from dynsub_cli.pki import manifest, mint, pem, recovery
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.imei import is_valid_imei, make_imei
from dynsub_cli.pki.ledger import Ledger, RunLock
from dynsub_cli.pki.verify import fingerprint, verify_device

COUNT = 300


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_batch_of_a_few_hundred(pki: Pki, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = mint.mint(pki, mint.MintRequest(out=out, count=COUNT, workers=2))
    imeis = [d.imei for d in result.devices]
    assert len(imeis) == COUNT == len(set(imeis))
    assert imeis == [make_imei(pki.tac, snr) for snr in range(COUNT)]

    with result.manifest.csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    document = json.loads(result.manifest.json.read_text())
    assert document["count"] == COUNT
    assert document["outcome"] == "done"
    assert rows == document["devices"]
    assert list(rows[0]) == list(manifest.FIELDS)

    root = pki.load_root()
    for row in rows:
        folder = out / row["path"]
        assert sorted(p.name for p in folder.iterdir()) == [
            "chain.pem",
            "device.key",
            "device.pem",
            "trust.pem",
        ]
        assert is_valid_imei(row["imei"])
        cert = pem.read_certificate(folder / "device.pem")
        assert fingerprint(cert) == row["sha256_fingerprint"]
        assert format(cert.serial_number, "x") == row["certificate_serial"]
        assert row["not_after"] == "9999-12-31T23:59:59Z"
        assert _mode(folder / "device.key") == 0o600
        assert _mode(folder) == 0o700
    # Spot-check the chain each device ships with, and that its key matches its certificate.
    for row in rows[:: COUNT // 5]:
        folder = out / row["path"]
        chain = pem.read_certificates(folder / "chain.pem")
        assert pem.read_certificates(folder / "trust.pem") == [root]
        identity = verify_device([pem.read_certificate(folder / "device.pem"), *chain], [root])
        assert identity.imei == row["imei"]
        key = pem.read_key(folder / "device.key")
        assert key.public_key() == identity.certificate.public_key()
    assert not list(out.glob(".*.partial"))
    with Ledger(pki.ledger) as ledger:
        assert ledger.counts() == {"issued": COUNT}
        assert ledger.open_runs() == []


def test_a_second_run_continues_and_an_explicit_overlap_is_refused(
    pki: Pki, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    mint.mint(pki, mint.MintRequest(out=out, count=3, workers=1))
    second = mint.mint(pki, mint.MintRequest(out=out, count=2, workers=1))
    assert [d.imei for d in second.devices] == [make_imei(pki.tac, n) for n in (3, 4)]
    with pytest.raises(AlreadyExists, match="never issued twice"):
        mint.mint(pki, mint.MintRequest(out=out, count=2, first_snr=4, workers=1))
    explicit = mint.mint(
        pki, mint.MintRequest(out=out, count=1, tac=pki.tac, first_snr=500, workers=1)
    )
    assert explicit.devices[0].imei == make_imei(pki.tac, 500)
    # A PKI owns its TAC: another maker's is refused, so no two PKIs issue one IMEI.
    with pytest.raises(BadInput, match="is not this PKI's"):
        mint.mint(pki, mint.MintRequest(out=out, count=1, tac="35999999", workers=1))


def test_p12_and_not_after(pki: Pki, tmp_path: Path) -> None:
    until = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)
    result = mint.mint(
        pki,
        mint.MintRequest(
            out=tmp_path / "out", count=1, workers=1, p12_password=b"s3cret", not_after=until
        ),
    )
    folder = tmp_path / "out" / result.devices[0].imei
    assert _mode(folder / "device.p12") == 0o600
    bundle = pkcs12.load_pkcs12((folder / "device.p12").read_bytes(), b"s3cret")
    assert bundle.cert is not None
    assert bundle.cert.certificate == pem.read_certificate(folder / "device.pem")
    assert bundle.cert.certificate.not_valid_after_utc == until
    assert [c.certificate for c in bundle.additional_certs] == [pki.load_manufacturer()]
    assert "s3cret" not in repr(mint.MintRequest(out=tmp_path, p12_password=b"s3cret"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"count": 0}, "at least one device"),
        ({"workers": 0}, "at least one worker"),
        ({"tac": "12"}, "Type Allocation Code"),
        ({"not_after": dt.datetime(2001, 1, 1, tzinfo=dt.UTC)}, "already in the past"),
    ],
)
def test_bad_requests(pki: Pki, tmp_path: Path, change: dict[str, object], message: str) -> None:
    request = dataclasses.replace(mint.MintRequest(out=tmp_path / "o"), **change)  # type: ignore[arg-type]
    with pytest.raises(BadInput, match=message):
        mint.mint(pki, request)


def test_a_dead_run_is_settled_by_the_next(pki: Pki, tmp_path: Path) -> None:
    """A run killed mid-way: one device renamed into place but not committed, one still in its
    .partial folder, one never started. The next run commits the first, releases the others."""
    out = tmp_path / "out"
    out.mkdir()
    with Ledger(pki.ledger) as ledger:
        ledger.reserve("dead-run", out, pki.tac, 3, None)
    placed, partial, never = (make_imei(pki.tac, n) for n in range(3))
    # Run the worker's own code in this process to make the two folders exactly as it does.
    handler = signal.getsignal(signal.SIGINT)
    try:
        mint._init_worker(mint._setup(pki, mint.MintRequest(out=out), out))
        rows = mint._mint_chunk([(placed, pki.tac, 0, None), (partial, pki.tac, 1, None)])
    finally:
        signal.signal(signal.SIGINT, handler)
    (out / f".{placed}.partial").rename(out / placed)
    assert (out / f".{partial}.partial" / "device.key").is_file()
    assert not RunLock.is_held(pki.ledger.parent / "runs", "dead-run")

    result = mint.mint(pki, mint.MintRequest(out=out, count=1, workers=1))
    (settled,) = result.recovered
    assert (settled.run, settled.committed, settled.released) == ("dead-run", 1, 2)
    assert not (out / f".{partial}.partial").exists()
    assert not (out / never).exists()
    assert settled.manifest is not None
    recovered_rows = json.loads(settled.manifest.json.read_text())["devices"]
    assert [r["imei"] for r in recovered_rows] == [placed]
    assert recovered_rows[0]["sha256_fingerprint"] == rows[0][3]
    with Ledger(pki.ledger) as ledger:
        assert ledger.open_runs() == []
        assert ledger.find(placed) == ("issued", "dead-run")
        # A released serial never had a folder in place, so it was never issued: reusable.
        assert ledger.find(never) is None
    assert result.devices[0].imei == partial


def test_settle_commits_a_folder_that_was_renamed_but_not_recorded(
    pki: Pki, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = mint.mint(pki, mint.MintRequest(out=out, count=1, workers=1)).devices[0]
    # Forget the commit of `first`: as if the process died between rename and commit.
    with Ledger(pki.ledger) as ledger:
        ledger._db.execute(  # test-only surgery on the ledger
            "UPDATE devices SET state = 'reserved', fingerprint = NULL WHERE imei = ?",
            (first.imei,),
        )
        ledger._db.execute("UPDATE runs SET finished = NULL, outcome = NULL")
        (run,) = ledger.open_runs()
        committed, released = recovery.settle(ledger, run.id, out)
        assert (committed, released) == (1, 0)
        (entry,) = ledger.issued(run.id)
    assert entry == first


def test_the_flusher_counts_only_what_a_finished_sync_covered() -> None:
    flusher = mint._Flusher(every=10**9)  # no background sync: only finish() syncs
    flusher.placed(5)
    assert flusher.synced == 0  # placed, not yet known to be on disk
    assert flusher.finish(timeout=60.0) == 5  # a hang guard, not a timing
    flusher.placed(3)
    assert flusher.finish() == 8
