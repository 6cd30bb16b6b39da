"""Test helper: UEs in threads, and a UE that pauses at a chosen onboarding step.

A paused UE holds its connection open at a known point of the procedure (e.g. just before it
sends KEY_RESPONSE, the message after which the core commits the record), so a test can stop
or kill the core exactly there instead of hoping a random moment falls in the window.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from dynsub_cli.errors import DynsubError
from dynsub_cli.ue import client
from dynsub_cli.ue import device as devices
from dynsub_cli.ue import state as states
from dynsub_cli.ue.onboarding import Onboarding

Outcome = client.Report | DynsubError
#: The UE's step while it answers KEY_REQUEST: the core commits on the answer.
BEFORE_COMMIT = "key generation"


def attempt(job: Callable[[], client.Report]) -> Outcome:
    try:
        return job()
    except DynsubError as err:
        return err


def in_parallel(count: int, job: Callable[[int], client.Report]) -> list[Outcome]:
    """Run ``job(i)`` for i in range(count) on as many threads, released at the same moment."""
    barrier = threading.Barrier(count)

    def one(i: int) -> Outcome:
        barrier.wait()
        return attempt(lambda: job(i))

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


class PausedUe:
    """An onboarding (no registration) in a thread that stops before sending at ``step``."""

    def __init__(
        self, device: Path, address: tuple[str, int], state_file: Path, step: str = BEFORE_COMMIT
    ) -> None:
        self.state_file = state_file
        self.paused = threading.Event()
        self._resume = threading.Event()
        self._step = step
        self._pool = ThreadPoolExecutor(max_workers=1)
        self.outcome: Future[Outcome] = self._pool.submit(
            attempt, lambda: self._run(device, address)
        )

    def _run(self, device: Path, address: tuple[str, int]) -> client.Report:
        onboarding = Onboarding(devices.load(device))

        def before_send() -> None:
            if onboarding.step == self._step and not self.paused.is_set():
                self.paused.set()
                self._resume.wait(timeout=60)
            # As `ue onboard` does: keep the subscription before acknowledging it.
            if onboarding.has_result and not self.state_file.exists():
                states.save(self.state_file, onboarding.result)

        client.run(
            onboarding,
            onboarding.start(),
            address,
            name="onboarding",
            timeout=10,
            on_step=lambda step: None,
            before_send=before_send,
        )
        return client.Report(supi=onboarding.result.supi, state_file=self.state_file)

    def wait_paused(self, timeout: float = 30) -> None:
        if not self.paused.wait(timeout):
            self.resume()
            raise AssertionError(f"the UE never reached {self._step}: {self.result()}")

    def resume(self) -> None:
        self._resume.set()

    def result(self, timeout: float = 30) -> Outcome:
        try:
            return self.outcome.result(timeout)
        finally:
            self._pool.shutdown(wait=False)
