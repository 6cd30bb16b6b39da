"""The repository: records, secrets at rest, policies, allocation, SQN, events, stats.

Tests taking ``store`` or ``location`` run against both backends (conftest.py); the others
look at SQLite's file itself.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.errors import (
    DeviceAlreadyOnboarded,
    ExitCode,
    NotFound,
    StoreError,
    SupiRangeExhausted,
)
from dynsub_cli.store import (
    SQN_MAX,
    EventKind,
    EventOutcome,
    Outcome,
    Secrets,
    State,
    SupiRange,
)
from dynsub_cli.store import rows as rows_module
from tests.unit.store.helpers import (
    RANGE,
    AnyStore,
    Clock,
    device,
    fresh_secrets,
    onboard,
    open_location,
    open_store,
    service,
)


def test_a_new_device_gets_a_whole_record(store: AnyStore) -> None:
    secrets = fresh_secrets()
    svc = service(sd="0a0b0c", account="acme-1", billing={"account": "acme-1"})
    result = store.create_or_update_from_onboarding(
        device(1),
        svc,
        secrets,
        supi_range=RANGE,
        policy=Reonboarding.SAME_RECORD,
        peer="127.0.0.1:5",
    )
    sub = result.subscription
    assert result.outcome is Outcome.CREATED
    assert sub.supi == "imsi-001010000000001"
    assert (sub.imei, sub.fingerprint, sub.issuer) == (
        device(1).imei,
        device(1).fingerprint,
        device(1).issuer,
    )
    assert sub.certificate == device(1).certificate
    assert sub.state is State.ACTIVE
    assert (sub.service_type, sub.plan, sub.account) == ("miot", "trial", "acme-1")
    assert sub.billing == {"account": "acme-1"}
    assert (sub.sst, sub.sd, sub.ambr_ul, sub.ambr_dl) == (3, "0a0b0c", 1_000_000, 2_000_000)
    assert (sub.amf, sub.sqn) == (b"\x80\x00", 0)
    assert sub.created == sub.updated == "2026-01-02T03:04:05.000000Z"
    assert sub.secrets is None
    assert store.get(sub.supi, reveal_secrets=True).secrets == secrets
    assert store.secrets(sub.supi) == secrets
    (event,) = store.events()
    assert (event.kind, event.outcome, event.imei, event.supi, event.peer) == (
        "subscription_created",
        "success",
        device(1).imei,
        sub.supi,
        "127.0.0.1:5",
    )


def test_lookups(store: AnyStore) -> None:
    supi = onboard(store, 1)
    assert store.find_by_imei(device(1).imei) == store.get(supi)
    assert store.find_by_fingerprint(device(1).fingerprint.upper()) == store.get(supi)
    assert store.find_by_imei(device(2).imei) is None
    assert store.find("imsi-001010000000999") is None
    with pytest.raises(NotFound) as info:
        store.get("imsi-001010000000999")
    assert info.value.exit_code == ExitCode.NOT_FOUND


def test_secrets_are_in_no_repr(store: AnyStore) -> None:
    secrets = fresh_secrets()
    store.create_or_update_from_onboarding(
        device(1), service(), secrets, supi_range=RANGE, policy=Reonboarding.SAME_RECORD
    )
    sub = store.get("imsi-001010000000001", reveal_secrets=True)
    for text in (repr(sub), str(sub), repr(sub.secrets), repr(store)):
        assert secrets.k.hex() not in text
        assert secrets.opc.hex() not in text
        assert repr(secrets.k) not in text
    assert repr(secrets) == "Secrets(<hidden>)"


def _files(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))


def test_the_store_file_does_not_contain_k_or_opc(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    secrets = Secrets(k=bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc"), opc=b"O" * 16)
    with open_store(path) as store:
        store.create_or_update_from_onboarding(
            device(1), service(), secrets, supi_range=RANGE, policy=Reonboarding.SAME_RECORD
        )
        raw = _files(path)  # the database, its WAL and shared memory, while open
    raw += _files(path)  # and after the WAL was checkpointed on close
    assert device(1).imei.encode() in raw  # the record is there ...
    for secret in (secrets.k, secrets.opc):
        assert secret not in raw  # ... but neither K nor OPc, in binary or in hex
        assert secret.hex().encode() not in raw
        assert secret.hex().upper().encode() not in raw


def test_tampering_with_a_sealed_column_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with open_store(path) as store:
        a = onboard(store, 1)
        b = onboard(store, 2)
    conn = sqlite3.connect(path)
    # Copy device 2's sealed K over device 1's: a valid ciphertext, in the wrong row.
    conn.execute(
        "UPDATE subscriptions SET k_sealed = (SELECT k_sealed FROM subscriptions WHERE supi = ?) "
        "WHERE supi = ?",
        (b, a),
    )
    conn.commit()
    conn.close()
    with open_store(path) as store:
        assert store.get(a).supi == a  # records without secrets still read
        with pytest.raises(StoreError, match=f"{a}: k does not decrypt under the store key"):
            store.get(a, reveal_secrets=True)
        assert store.secrets(b).k  # the other row is untouched


def test_a_wrong_store_key_is_refused_at_open(location: str) -> None:
    with open_location(location) as store:
        onboard(store, 1)
    with pytest.raises(StoreError, match="the store key does not open this store"):
        open_location(location, key=bytes(32))


def test_without_the_key_records_read_but_secrets_do_not(location: str) -> None:
    with open_location(location) as store:
        supi = onboard(store, 1)
    with open_location(location, key=None) as store:
        assert [s.supi for s in store.list()] == [supi]
        with pytest.raises(StoreError, match="opened without the store key"):
            store.get(supi, reveal_secrets=True)
        with pytest.raises(StoreError, match="opened without the store key"):
            onboard(store, 2)


def test_same_record_policy_keeps_the_supi_and_replaces_the_key(store: AnyStore) -> None:
    supi = onboard(store, 1)
    store.start_authentication(supi)
    store.set_state(supi, State.SUSPENDED)
    new_secrets = fresh_secrets()
    result = store.create_or_update_from_onboarding(
        device(1, cert=b"a re-issued certificate"),
        service(service_type="embb", plan="metered", sst=1, account="acct"),
        new_secrets,
        supi_range=RANGE,
        policy=Reonboarding.SAME_RECORD,
    )
    sub = result.subscription
    assert result.outcome is Outcome.UPDATED
    assert sub.supi == supi
    assert sub.sqn == 0  # a new K: the SQN history starts again
    assert sub.state is State.SUSPENDED  # re-onboarding does not lift a suspension
    assert sub.certificate == b"a re-issued certificate"
    assert sub.fingerprint == device(1, cert=b"a re-issued certificate").fingerprint
    assert (sub.service_type, sub.plan, sub.account) == ("embb", "metered", "acct")
    assert store.secrets(supi) == new_secrets
    assert sub.created < sub.updated
    assert len(store.list()) == 1
    assert store.stats().allocated_supis == 1


def test_new_record_policy_retires_the_old_record(store: AnyStore) -> None:
    old = onboard(store, 1)
    result = store.create_or_update_from_onboarding(
        device(1), service(), fresh_secrets(), supi_range=RANGE, policy=Reonboarding.NEW_RECORD
    )
    assert result.outcome is Outcome.REPLACED
    assert result.previous_supi == old
    new = result.subscription.supi
    assert new != old
    assert store.get(old).state is State.REPLACED
    assert store.get(old).replaced_by == new
    assert store.find_by_imei(device(1).imei) == result.subscription
    assert [s.supi for s in store.list(State.ACTIVE)] == [new]
    assert store.events(limit=1)[0].reason == f"replaces {old}"
    with pytest.raises(StoreError, match=f"replaced by {new}"):
        store.set_state(old, State.ACTIVE)


def test_refuse_policy_raises_and_records_the_refusal(store: AnyStore) -> None:
    supi = onboard(store, 1)
    before = store.get(supi, reveal_secrets=True)
    with pytest.raises(DeviceAlreadyOnboarded) as info:
        onboard(store, 1, policy=Reonboarding.REFUSE)
    assert info.value.supi == supi
    assert info.value.exit_code == ExitCode.CONFLICT
    assert "policy is refuse" in info.value.message
    after = store.get(supi, reveal_secrets=True)
    assert after == before
    assert after.secrets == before.secrets
    event = store.events(limit=1)[0]
    assert (event.kind, event.outcome, event.supi) == ("onboarding_refused", "failure", supi)
    assert store.stats().allocated_supis == 1


def test_a_device_new_to_the_store_is_created_whatever_the_policy(store: AnyStore) -> None:
    for serial, policy in enumerate(Reonboarding, start=1):
        assert onboard(store, serial, policy=policy) == f"imsi-00101000000000{serial}"


def test_supis_are_allocated_in_order_and_never_reused(store: AnyStore) -> None:
    first = [onboard(store, n) for n in range(1, 4)]
    assert first == [f"imsi-00101000000000{n}" for n in range(1, 4)]
    store.delete(first[2])
    assert onboard(store, 4) == "imsi-001010000000004"


def test_an_exhausted_range_is_a_distinct_error(store: AnyStore) -> None:
    tiny = SupiRange(plmn="00101", msin_start="0000000001", msin_end="0000000002")
    onboard(store, 1, supi_range=tiny)
    onboard(store, 2, supi_range=tiny)
    with pytest.raises(SupiRangeExhausted, match="every MSIN from 0000000001 to 0000000002"):
        onboard(store, 3, supi_range=tiny)
    assert store.find_by_imei(device(3).imei) is None
    assert store.stats().allocated_supis == 2
    assert len(store.events()) == 2  # the failed attempt left nothing behind


def test_allocation_fills_holes_when_the_range_moves(store: AnyStore) -> None:
    upper = SupiRange(plmn="00101", msin_start="0000000005", msin_end="0000000006")
    onboard(store, 1, supi_range=upper)
    onboard(store, 2, supi_range=upper)
    wide = SupiRange(plmn="00101", msin_start="0000000004", msin_end="0000000006")
    assert onboard(store, 3, supi_range=wide) == "imsi-001010000000004"
    with pytest.raises(SupiRangeExhausted):
        onboard(store, 4, supi_range=wide)
    middle = SupiRange(plmn="00101", msin_start="0000000001", msin_end="0000000009")
    assert onboard(store, 5, supi_range=middle) == "imsi-001010000000007"
    assert onboard(store, 6, supi_range=middle) == "imsi-001010000000008"


def test_a_failed_write_leaves_nothing(store: AnyStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut between the allocation and the insert")

    monkeypatch.setattr(rows_module, "insert_params", crash)
    with pytest.raises(RuntimeError):
        onboard(store, 1)
    monkeypatch.undo()
    stats = store.stats()
    assert (stats.total, stats.allocated_supis, store.events()) == (0, 0, [])
    assert onboard(store, 1) == "imsi-001010000000001"  # the SUPI was not consumed


def test_suspend_resume_and_delete(store: AnyStore) -> None:
    supi = onboard(store, 1)
    assert store.set_state(supi, State.SUSPENDED, reason="unpaid").state is State.SUSPENDED
    assert store.set_state(supi, State.ACTIVE).state is State.ACTIVE
    removed = store.delete(supi, reason="returned")
    assert removed.supi == supi
    assert store.find(supi) is None
    kinds = [(e.kind, e.reason) for e in store.events(supi=supi)]
    assert kinds == [
        ("deleted", "returned"),
        ("resumed", ""),
        ("suspended", "unpaid"),
        ("subscription_created", ""),
    ]
    with pytest.raises(NotFound):
        store.set_state(supi, State.ACTIVE)
    with pytest.raises(NotFound):
        store.delete(supi)
    with pytest.raises(ValueError, match="replaced by onboarding"):
        store.set_state(supi, State.REPLACED)


def test_deleting_a_replacement_unlinks_the_old_record(store: AnyStore) -> None:
    old = onboard(store, 1)
    new = onboard(store, 1, policy=Reonboarding.NEW_RECORD)
    store.delete(new)
    assert store.get(old).replaced_by is None


def test_sqn_steps_by_the_ind_size_and_resync_sets_it(store: AnyStore) -> None:
    supi = onboard(store, 1)
    assert [store.start_authentication(supi).sqn for _ in range(3)] == [32, 64, 96]
    store.update_sqn(supi, 0x123456789A)
    assert store.get(supi).sqn == 0x123456789A
    assert store.start_authentication(supi).sqn == 0x123456789A + 32
    store.update_sqn(supi, SQN_MAX - 10)
    with pytest.raises(StoreError, match="SQN space exhausted"):
        store.start_authentication(supi)
    with pytest.raises(ValueError, match="48 bits"):
        store.update_sqn(supi, SQN_MAX + 1)
    with pytest.raises(NotFound):
        store.start_authentication("imsi-001010000000999")
    with pytest.raises(NotFound):
        store.update_sqn("imsi-001010000000999", 1)


def test_events_filter_and_limit(store: AnyStore) -> None:
    for n in range(5):
        store.add_event(
            EventKind.ONBOARDING_ATTEMPT,
            outcome=EventOutcome.FAILURE if n % 2 else EventOutcome.SUCCESS,
            imei=device(n % 2).imei,
            reason=f"attempt {n}",
            peer="127.0.0.1:1",
        )
    store.add_event("custom_kind", outcome="success", supi="imsi-001010000000042")
    assert [e.reason for e in store.events(imei=device(1).imei)] == ["attempt 3", "attempt 1"]
    assert [e.reason for e in store.events(limit=2)] == ["", "attempt 4"]
    assert store.events(supi="imsi-001010000000042")[0].kind == "custom_kind"
    assert store.events(imei=device(1).imei, supi="imsi-001010000000042") == []
    times = [e.time for e in store.events()]
    assert times == sorted(times, reverse=True)


def test_stats(store: AnyStore) -> None:
    onboard(store, 1)
    onboard(store, 2)
    store.create_or_update_from_onboarding(
        device(3),
        service(service_type="embb", plan="metered", sst=1),
        fresh_secrets(),
        supi_range=RANGE,
        policy=Reonboarding.SAME_RECORD,
    )
    store.set_state("imsi-001010000000002", State.SUSPENDED)
    onboard(store, 1, policy=Reonboarding.NEW_RECORD)
    stats = store.stats()
    assert stats.total == 4
    assert stats.allocated_supis == 4
    assert stats.by_state == {"active": 2, "replaced": 1, "suspended": 1}
    assert stats.by_service_type == {"embb": 1, "miot": 3}
    assert stats.by_plan == {"metered": 1, "trial": 3}
    assert stats.events_by_kind == {
        "subscription_created": {"success": 3},
        "subscription_replaced": {"success": 1},
        "suspended": {"success": 1},
    }


def test_the_clock_must_be_timezone_aware(location: str) -> None:
    with (
        open_location(location, datetime.now) as store,
        pytest.raises(ValueError, match="timezone-aware"),
    ):
        onboard(store, 1)


def test_times_come_from_the_clock_given(location: str) -> None:
    clock = Clock()
    with open_location(location, clock) as store:
        supi = onboard(store, 1)
        clock.now = clock.now.replace(year=2030)
        updated = store.set_state(supi, State.SUSPENDED)
    assert updated.created.startswith("2026-01-02T03:04:")
    assert updated.updated.startswith("2030-01-02T03:04:")
    assert updated.updated.endswith("Z")


def test_device_and_range_values_are_checked() -> None:
    with pytest.raises(ValueError, match="not an IMEI"):
        device(1).__class__(imei="123", fingerprint="0" * 64, issuer="x", certificate=b"")
    with pytest.raises(ValueError, match="lower-case hex"):
        device(1).__class__(imei=device(1).imei, fingerprint="A" * 64, issuer="x", certificate=b"")
    with pytest.raises(ValueError, match="empty SUPI range"):
        SupiRange(plmn="00101", msin_start="5", msin_end="4")
    with pytest.raises(ValueError, match="16 bytes"):
        Secrets(k=b"short", opc=b"0" * 16)
