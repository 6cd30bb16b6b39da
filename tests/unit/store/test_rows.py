"""rows.to_subscription assembles the frozen value without its __init__ (issue 11): it must be
the very value Subscription(...) builds, every field set, frozen still."""

from __future__ import annotations

import dataclasses

import pytest

from dynsub_cli.store import Secrets, State, Subscription, rows
from dynsub_cli.store.sealing import Sealer
from tests.unit.store.helpers import KEY

K, OPC = bytes(range(16)), bytes(range(16, 32))


def _row(sealer: Sealer, billing: str, state: str) -> tuple[object, ...]:
    supi = "imsi-001010000000001"
    return (
        supi, "356938035643809", "ab" * 32, "CN=ACME", b"DER", state, "miot", "trial", "A-1",
        billing, sealer.seal(supi, "k", K), sealer.seal(supi, "opc", OPC), b"\x80\x00", 64, 3,
        "000001", "internet", 1000, 2000, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("billing", "state"), [("{}", "active"), ('{"account": "A-1"}', "suspended")]
)
def test_a_row_is_the_value_subscription_builds(billing: str, state: str) -> None:
    sealer = Sealer(KEY)
    row = _row(sealer, billing, state)
    got = rows.to_subscription(row, sealer)
    expected = Subscription(
        supi="imsi-001010000000001", imei="356938035643809", fingerprint="ab" * 32,
        issuer="CN=ACME", certificate=b"DER", state=State(state), service_type="miot",
        plan="trial", account="A-1", billing={"account": "A-1"} if billing != "{}" else {},
        amf=b"\x80\x00", sqn=64, sst=3, sd="000001", dnn="internet", ambr_ul=1000,
        ambr_dl=2000, created="2026-01-01T00:00:00Z", updated="2026-01-02T00:00:00Z",
        replaced_by=None, secrets=Secrets(k=K, opc=OPC),
    )  # fmt: skip
    assert got == expected
    assert set(vars(got)) == {field.name for field in dataclasses.fields(Subscription)}
    for field in dataclasses.fields(Subscription):
        assert getattr(got, field.name) == getattr(expected, field.name), field.name
    assert got.secrets == expected.secrets
    assert repr(got) == repr(expected)
    assert hash(got.supi) == hash(expected.supi)
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.sqn = 0  # type: ignore[misc]
    assert rows.to_subscription(dict(zip(_COLUMNS, row, strict=True)), None).supi == got.supi


_COLUMNS = [c.strip() for c in rows._SELECT.removeprefix("SELECT ").split(" FROM ")[0].split(",")]
