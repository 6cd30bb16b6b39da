"""The audit trail's budget for unauthenticated peers: a flood is counted, not written."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dynsub_cli.core import audit
from dynsub_cli.core.audit import AuditTrail
from tests.unit.store.helpers import open_store


def test_a_flood_from_one_host_is_counted_not_written(tmp_path: Path) -> None:
    now = [0.0]
    with open_store(tmp_path / "s.sqlite") as store:
        trail = AuditTrail(store, clock=lambda: now[0])

        async def flood() -> None:
            for i in range(audit.BURST + 500):
                trail.write_soon(
                    "registration_rejected", "failure", imei=None, supi=None,
                    reason="malformed", peer=f"127.0.0.9:{1000 + i}",
                )  # fmt: skip
            trail.write_soon(
                "registration_rejected", "failure", imei=None, supi=None,
                reason="other host", peer="127.0.0.8:1",
            )  # fmt: skip
            now[0] += audit.WINDOW  # a minute later the host may write again
            trail.write_soon(
                "registration_rejected", "failure", imei=None, supi=None,
                reason="later", peer="127.0.0.9:1",
            )  # fmt: skip
            await trail.drain()

        asyncio.run(flood())
        events = store.events(limit=10_000)
    reasons = [e.reason for e in events]
    assert len(events) == audit.BURST + 2
    assert "other host" in reasons
    assert "later (+500 similar events from this host not recorded)" in reasons
