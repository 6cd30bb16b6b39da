"""The core's audit trail: events about each connection, written to the store.

Events about an authenticated device are written before the UE is answered, so that nothing
the UE was told is missing from the trail after a crash. Events about a peer that has not
authenticated (garbage, a refused certificate, a probe) are written in the background, so
that a slow or locked store never delays the answer to a hostile or broken peer, and at most
``BURST`` of them per peer host and ``WINDOW`` seconds: the rest are counted and the count
rides in the next event written for that host, so one connection cannot flood the store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dynsub_cli.store.backend import SubscriptionStore

#: Unauthenticated events written per peer host per window; the rest are counted.
BURST = 600  # ten a second on average: a trial host, not a flood
WINDOW = 60.0


@dataclass
class _Budget:
    started: float
    written: int = 0
    suppressed: int = 0


@dataclass(eq=False)
class AuditTrail:
    store: SubscriptionStore
    #: Called with a description when a background write fails (the core logs it).
    on_failure: Callable[[str], None] = lambda problem: None
    clock: Callable[[], float] = time.monotonic
    _budgets: dict[str, _Budget] = field(default_factory=dict)
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    async def write(
        self, kind: str, outcome: str, *, imei: str | None, supi: str | None, reason: str, peer: str
    ) -> None:
        """Write one event and return once it is committed."""
        await asyncio.to_thread(
            self.store.add_event,
            kind,
            outcome=outcome,
            imei=imei,
            supi=supi,
            reason=reason,
            peer=peer,
        )

    def write_soon(
        self, kind: str, outcome: str, *, imei: str | None, supi: str | None, reason: str, peer: str
    ) -> None:
        """Write an event about an unauthenticated peer in the background, within its budget."""
        budget = self._budget(peer.rpartition(":")[0] or peer)
        if budget.written >= BURST:
            budget.suppressed += 1
            return
        budget.written += 1
        if budget.suppressed:
            reason = f"{reason} (+{budget.suppressed} similar events from this host not recorded)"
            budget.suppressed = 0
        task = asyncio.get_running_loop().create_task(
            self._background(kind, outcome, imei=imei, supi=supi, reason=reason, peer=peer)
        )
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait for the background writes (the core calls this before it stops)."""
        while self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    def _budget(self, host: str) -> _Budget:
        now = self.clock()
        budget = self._budgets.get(host)
        if budget is None or now - budget.started >= WINDOW:
            if len(self._budgets) > 10_000:  # many hosts: forget the quiet ones
                self._budgets = {h: b for h, b in self._budgets.items() if now - b.started < WINDOW}
            budget = self._budgets[host] = _Budget(
                now, suppressed=budget.suppressed if budget else 0
            )
        return budget

    async def _background(
        self, kind: str, outcome: str, *, imei: str | None, supi: str | None, reason: str, peer: str
    ) -> None:
        try:
            await self.write(kind, outcome, imei=imei, supi=supi, reason=reason, peer=peer)
        except Exception as err:
            self.on_failure(f"audit event not written ({kind} from {peer}): {err}")
