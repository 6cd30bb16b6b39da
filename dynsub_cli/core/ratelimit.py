"""A per-key budget over a sliding minute: how the core keeps one SUPI from being probed."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class PerMinute:
    """At most ``limit`` events per key in any 60 s; ``allow`` counts the ones it allows."""

    WINDOW = 60.0
    #: Keys remembered at most; beyond, the quietest are forgotten first.
    KEYS = 100_000

    def __init__(self, limit: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self._clock()
        times = self._seen.setdefault(key, deque())
        while times and now - times[0] >= self.WINDOW:
            times.popleft()
        if len(times) >= self._limit:
            return False
        times.append(now)
        if len(self._seen) > self.KEYS:
            self._seen = {k: t for k, t in self._seen.items() if t and now - t[-1] < self.WINDOW}
        return True
