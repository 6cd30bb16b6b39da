"""`dynsub store copy`: SQLite -> PostgreSQL -> SQLite keeps every record, secret and event.

Issue 13, acceptance 3: a SQLite store of 10,000 subscriptions copied to PostgreSQL and back
gives identical ``store export --format ndjson --reveal-secrets`` output. The source store is
built through the store API (``restore``, which a copy also uses) rather than by onboarding
10,000 UEs; it mixes active, suspended and replaced records and SUPIs of deleted ones.
"""

from __future__ import annotations

import hashlib
import json
import secrets as random
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dynsub_cli import config
from dynsub_cli.cli import main
from dynsub_cli.errors import ExitCode
from dynsub_cli.files import make_private_dir
from dynsub_cli.store import Event, Secrets, State, Subscription, Subscriptions, generate_key_file
from dynsub_cli.store.model import Allocation
from tests import postgres
from tests.postgres import Cluster
from tests.unit.store.helpers import imei

RECORDS = 10_000
REPLACED = 100  # devices 0..99 onboarded twice under "new-record"
DELETED = 50  # SUPIs allocated whose subscriptions were deleted


def _supi(msin: int) -> str:
    return f"imsi-00101{msin:010d}"


def _record(index: int, serial: int, state: State, replaced_by: str | None) -> Subscription:
    cert = f"certificate {serial} {index}".encode()
    return Subscription(
        supi=_supi(index + 1),
        imei=imei(serial),
        fingerprint=hashlib.sha256(cert).hexdigest(),
        issuer="CN=ACME Manufacturer CA,O=ACME",
        certificate=cert,
        state=state,
        service_type="miot" if index % 3 else "embb",
        plan="trial",
        account=None if index % 5 else f"acct-{index}",
        billing={} if index % 5 else {"account": f"acct-{index}"},
        amf=b"\x80\x00",
        sqn=32 * (index % 17),
        sst=3 if index % 3 else 1,
        sd=None if index % 4 else "0a0b0c",
        dnn="internet",
        ambr_ul=1_000_000,
        ambr_dl=2_000_000,
        created=f"2026-01-02T03:{index // 600 % 60:02d}:{index // 10 % 60:02d}.{index:06d}Z",
        updated=f"2026-02-02T03:04:05.{index:06d}Z",
        replaced_by=replaced_by,
        secrets=Secrets(k=random.token_bytes(16), opc=random.token_bytes(16)),
    )


def _build(path: Path, key: bytes) -> None:
    live = RECORDS - REPLACED
    records = [
        _record(i, i, State.SUSPENDED if i % 7 == 0 else State.ACTIVE, None)
        for i in range(REPLACED, RECORDS)
    ]
    # The first REPLACED SUPIs belong to devices re-onboarded later (their live records).
    old = [
        _record(
            i, REPLACED + (i * 37) % live, State.REPLACED, _supi(REPLACED + (i * 37) % live + 1)
        )
        for i in range(REPLACED)
    ]
    allocations = [
        Allocation(_supi(m), "00101", m, f"2026-01-01T00:00:00.{m:06d}Z")
        for m in range(1, RECORDS + DELETED + 1)
    ]
    events = [
        Event(n + 1, f"2026-01-03T00:00:00.{n:06d}Z", "subscription_created", "success",
              imei(n), _supi(n + 1), "", "127.0.0.1:4000")
        for n in range(RECORDS)
    ] + [Event(RECORDS + 1, "2026-01-04T00:00:00.000000Z", "deleted", "success", None,
               _supi(RECORDS + 1), "returned", None)]  # fmt: skip
    with Subscriptions.open(path, key) as store:
        store.restore(allocations, sorted(old + records, key=lambda s: s.supi), events)


def _core(folder: Path, store: dict[str, str]) -> Path:
    """A core.toml whose [store] is ``store`` (PKI paths that need not exist)."""
    folder.mkdir()
    path = config.write_default(
        folder,
        mcc="001",
        mnc="01",
        core_cert=Path("pki/core.pem"),
        core_key=Path("pki/core.key"),
        core_chain=Path("pki/chain.pem"),
        trust_anchors=[Path("pki/root.pem")],
        manufacturer_cas=[Path("pki/mfr.pem")],
    )
    text = path.read_text()
    start = text.index("[store]")
    end = text.index("\n[", start + 1)
    table = "".join(f'{k} = "{v}"\n' for k, v in store.items())
    path.write_text(text[:start] + "[store]\n" + table + text[end:])
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["store", *args])


@pytest.mark.slow
def test_sqlite_to_postgresql_and_back_is_identical(pg_cluster: Cluster, tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "store.key"
    make_private_dir(key_file.parent)
    key = generate_key_file(key_file)
    password_file = tmp_path / "secrets" / "pg-password"
    password_file.write_text(postgres.PASSWORD + "\n")
    password_file.chmod(0o600)
    url = pg_cluster.url(pg_cluster.new_database())

    source = _core(tmp_path / "a", {"path": "a.sqlite", "key_file": str(key_file)})
    _build(source.parent / "a.sqlite", key)
    on_pg = _core(
        tmp_path / "pg",
        {"url": url, "key_file": str(key_file), "password_file": str(password_file)},
    )
    back = _core(tmp_path / "b", {"path": "b.sqlite", "key_file": str(key_file)})

    there = run("copy", "--from", str(source), "--to", str(on_pg), "--json")
    assert there.exit_code == 0, there.output
    assert json.loads(there.stdout) == {
        "source": str(source.parent / "a.sqlite"),
        "target": url,
        "subscriptions": RECORDS,
        "allocations": RECORDS + DELETED,
        "events": RECORDS + 1,
        "secrets_checked": RECORDS,
    }
    again = run("copy", "--from", str(on_pg), "--to", str(back))
    assert again.exit_code == 0, again.output
    assert f"copied {RECORDS} subscription(s)" in again.stderr

    exports = []
    for core in (source, on_pg, back):
        exported = run("export", "--config", str(core), "--format", "ndjson", "--reveal-secrets")
        assert exported.exit_code == 0, exported.output
        exports.append(exported.stdout)
    assert len(exports[0].splitlines()) == RECORDS
    assert exports[0] == exports[1] == exports[2]
    trails = [run("events", "--config", str(c), "--json", "--limit", "20000").stdout for c in
              (source, on_pg, back)]  # fmt: skip
    assert trails[0] == trails[1] == trails[2]
    stats = [json.loads(run("stats", "--config", str(c), "--json").stdout) for c in (source, back)]
    assert stats[0] == stats[1]
    assert stats[0]["allocated_supis"] == RECORDS + DELETED


def test_copy_refuses_a_target_that_is_not_empty(tmp_path: Path) -> None:
    key_file = tmp_path / "store.key"
    key = generate_key_file(key_file)
    stores = [tmp_path / "x.sqlite", tmp_path / "y.sqlite"]
    for path in stores:
        with Subscriptions.open(path, key) as store:
            store.add_event("note", outcome="success")
    result = run(
        "copy", "--from", str(stores[0]), "--to", str(stores[1]),
        "--key-file", str(key_file),
    )  # fmt: skip
    assert result.exit_code == ExitCode.CONFLICT, result.output
    assert "the store is not empty (events); copy into a new store" in result.stderr


def test_copy_of_a_bare_location_needs_a_key(tmp_path: Path) -> None:
    result = run("copy", "--from", str(tmp_path / "x.sqlite"), "--to", str(tmp_path / "y.sqlite"))
    assert result.exit_code == ExitCode.USAGE
    assert "needs its key" in result.stderr
