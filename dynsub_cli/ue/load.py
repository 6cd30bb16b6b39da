"""`dynsub ue load`: many UEs against one core, for onboarding trials and CI.

Theory of operation. Arrivals are open loop: with a rate R, arrival i is due at i/R seconds
after the start whatever happened to the ones before, so a slow core shows as latency (an
arrival waits for a free UE slot, and that wait counts), never as a lower offered load. Without
a rate, each slot starts its next arrival as soon as the previous one ends (closed loop).
``concurrency`` worker threads take arrivals in order; each runs one device through the UE
client (ue.client, the same code as `ue onboard` and `ue register`) and reports an
:class:`Attempt`. Arrival i uses device i modulo the number of devices; one device never runs
twice at once, so its state file is always the one of its last committed onboarding.

Without ``register`` an attempt onboards (and saves the state file, as `ue onboard` does); with
it, a device that has a state file registers with it, and one that has none onboards and then
registers. So `ue load` followed by `ue load --register` onboards a fleet, then re-registers it.

The run ends after ``count`` arrivals or when ``duration`` has passed (no arrival is due after
it), or when ``stop`` is set (Ctrl-C): no new arrival starts, the ones running finish (each
bounded by the client's timeout), and the summary counts what ran.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dynsub_cli.errors import BadInput, DynsubError, ExitCode, FileError, Rejected
from dynsub_cli.pki import device_folder
from dynsub_cli.ue import DEFAULT_TIMEOUT, MAX_CONCURRENCY, MAX_COUNT, MAX_DURATION, client
from dynsub_cli.ue.client import TimedStep
from dynsub_cli.ue.onboarding import DEFAULT_CHOICES, Choices
from dynsub_cli.ue.procedure import cause_text
from dynsub_cli.ue.trace import Trace

#: The latency a --max-p99 check reads: from an arrival's due time to its end.
TOTAL = "total"
WAIT = "wait"


@dataclass(frozen=True, slots=True)
class Plan:
    devices: tuple[Path, ...]
    core: tuple[str, int]
    state_name: str
    concurrency: int = 1
    count: int | None = None
    duration: float | None = None
    rate: float | None = None  # arrivals per second; None: closed loop
    register: bool = False
    choices: Choices = DEFAULT_CHOICES
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if (self.count is None) == (self.duration is None):
            raise BadInput("give the number of arrivals (count) or how long to run (duration)")
        if self.count is not None and not 1 <= self.count <= MAX_COUNT:
            raise BadInput(f"count {self.count} is outside 1-{MAX_COUNT}")
        if self.duration is not None and not 0 < self.duration <= MAX_DURATION:
            raise BadInput(f"duration {self.duration} s is outside (0, {MAX_DURATION:.0f}] s")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise BadInput(f"concurrency {self.concurrency} is outside 1-{MAX_CONCURRENCY}")
        if self.rate is not None and not self.rate > 0:
            raise BadInput(f"rate {self.rate} must be above 0 arrivals per second")
        if not self.devices:
            raise BadInput("no devices to run")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One arrival: which device, how it ended, and how long each part took (seconds)."""

    index: int
    device: Path
    supi: str | None
    outcome: str  # "ok", or the exit class of the error: "rejected", "timeout", ...
    cause: int | None  # the 5GMM cause of a refusal
    step: str | None  # the step that failed
    error: str | None
    wait: float  # from the due time to the start
    seconds: float  # from the start to the end
    steps: tuple[tuple[str, float], ...]  # ("onboarding EAP-TLS", seconds), in order

    @property
    def ok(self) -> bool:
        return self.outcome == OK


OK = "ok"


def devices_in(folder: Path) -> tuple[Path, ...]:
    """The device folders of a `pki mint` output folder, in IMEI order."""
    if not folder.is_dir():
        raise FileError(f"{folder}: no such folder (mint devices with `dynsub pki mint`)")
    found = tuple(
        sorted(
            path
            for path in folder.iterdir()
            if not path.name.startswith(".") and (path / device_folder.DEVICE_CERT).is_file()
        )
    )
    if not found:
        raise FileError(
            f"{folder}: no device folders here (each holds {device_folder.DEVICE_CERT}); "
            "give the output folder of `dynsub pki mint`"
        )
    return found


# --- the summary --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Latency:
    count: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, samples: list[float]) -> Latency:
        ordered = sorted(samples)
        return cls(
            len(ordered),
            _rank(ordered, 0.50),
            _rank(ordered, 0.95),
            _rank(ordered, 0.99),
            ordered[-1],
        )


def _rank(ordered: list[float], quantile: float) -> float:
    """Nearest-rank percentile: a value that was measured, never an interpolation."""
    return ordered[max(0, math.ceil(quantile * len(ordered)) - 1)]


@dataclass(frozen=True, slots=True)
class Summary:
    planned: int | None  # count, or None for a run by duration
    arrivals: int  # attempts started
    succeeded: int
    failed: int
    supis: int  # distinct SUPIs of the successful attempts
    elapsed: float  # from the start to the last attempt's end
    offered_rate: float | None  # arrivals per second, as scheduled
    achieved_rate: float  # successful attempts per second of elapsed time
    latency: dict[str, Latency]  # "total", "wait", "onboarding", "onboarding EAP-TLS", ...
    outcomes: dict[str, int]
    causes: dict[int, int]  # 5GMM cause -> failed attempts
    interrupted: bool

    @property
    def failure_rate(self) -> float:
        return self.failed / self.arrivals if self.arrivals else 0.0


def cause_name(cause: int) -> str:
    return cause_text(cause).removeprefix(f"5GMM cause #{cause}").strip(" ()") or "unknown"


@dataclass
class _Tally:
    """What the summary is made of, gathered from the worker threads."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    causes: Counter[int] = field(default_factory=Counter)
    supis: set[str] = field(default_factory=set)
    scheduled: list[float] = field(default_factory=list)
    last_end: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, attempt: Attempt, end: float) -> None:
        with self.lock:
            self.outcomes[attempt.outcome] += 1
            if attempt.cause is not None:
                self.causes[attempt.cause] += 1
            if attempt.ok and attempt.supi is not None:
                self.supis.add(attempt.supi)
            self.last_end = max(self.last_end, end)
            self._sample(WAIT, attempt.wait)
            if attempt.ok:
                # Latencies of what worked: a refusal's time says nothing of the core's speed.
                self._sample(TOTAL, attempt.wait + attempt.seconds)
                per_step: dict[str, float] = {}
                for name, seconds in attempt.steps:
                    per_step[name] = per_step.get(name, 0.0) + seconds
                for name, seconds in per_step.items():
                    self._sample(name, seconds)

    def _sample(self, name: str, value: float) -> None:
        self.samples.setdefault(name, []).append(value)

    def summary(self, plan: Plan, started: float, interrupted: bool) -> Summary:
        arrivals = sum(self.outcomes.values())
        succeeded = self.outcomes.get(OK, 0)
        elapsed = max(self.last_end - started, 1e-9)
        offered: float | None = None
        if self.scheduled:
            window = max(self.scheduled) - started
            if plan.rate is not None:
                window += 1 / plan.rate  # each arrival stands for one interval
            offered = len(self.scheduled) / window if window > 0 else None
        return Summary(
            planned=plan.count,
            arrivals=arrivals,
            succeeded=succeeded,
            failed=arrivals - succeeded,
            supis=len(self.supis),
            elapsed=elapsed,
            offered_rate=offered,
            achieved_rate=succeeded / elapsed,
            latency={name: Latency.of(values) for name, values in self.samples.items()},
            outcomes=dict(self.outcomes.most_common()),
            causes=dict(self.causes.most_common()),
            interrupted=interrupted,
        )


# --- checks for CI ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    max_failure_rate: float | None = None  # failed / arrivals, 0..1
    max_p99: float | None = None  # seconds, of "total" (due time to end)
    min_rate: float | None = None  # successful attempts per second


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # "max-failure-rate", "max-p99", "min-rate"
    limit: float
    value: float | None  # None: nothing to measure (no successful attempt)
    passed: bool


def checks(summary: Summary, limits: Limits) -> tuple[Check, ...]:
    found: list[Check] = []
    if limits.max_failure_rate is not None:
        rate = summary.failure_rate
        found.append(Check("max-failure-rate", limits.max_failure_rate, rate,
                           summary.arrivals > 0 and rate <= limits.max_failure_rate))  # fmt: skip
    if limits.max_p99 is not None:
        total = summary.latency.get(TOTAL)
        p99 = total.p99 if total else None
        found.append(
            Check("max-p99", limits.max_p99, p99, p99 is not None and p99 <= limits.max_p99)
        )
    if limits.min_rate is not None:
        found.append(Check("min-rate", limits.min_rate, summary.achieved_rate,
                           summary.achieved_rate >= limits.min_rate))  # fmt: skip
    return tuple(found)


# --- the run ------------------------------------------------------------------------------


class _Arrivals:
    """Hands out arrivals in order with their due times; thread-safe."""

    def __init__(self, plan: Plan, started: float, stop: threading.Event) -> None:
        self._plan = plan
        self._started = started
        self._stop = stop
        self._next = 0
        self._lock = threading.Lock()
        self._device_locks = [threading.Lock() for _ in plan.devices]

    def take(self, scheduled: list[float]) -> tuple[int, float] | None:
        plan = self._plan
        with self._lock:
            if self._stop.is_set() or (plan.count is not None and self._next >= plan.count):
                return None
            index = self._next
            now = time.monotonic()
            due = now if plan.rate is None else self._started + index / plan.rate
            if plan.duration is not None and due - self._started >= plan.duration:
                return None
            self._next += 1
            scheduled.append(due)
            return index, due

    @contextlib.contextmanager
    def device(self, index: int) -> Iterator[Path]:
        slot = index % len(self._plan.devices)
        with self._device_locks[slot]:
            yield self._plan.devices[slot]


def run(
    plan: Plan,
    *,
    on_attempt: Callable[[Attempt], None] = lambda attempt: None,
    trace: Trace | None = None,
    stop: threading.Event | None = None,
) -> Summary:
    """Run ``plan`` to its end, or until ``stop`` is set or Ctrl-C; returns what ran."""
    stop = stop or threading.Event()
    started = time.monotonic()
    tally = _Tally()
    arrivals = _Arrivals(plan, started, stop)

    def work() -> None:
        while (taken := arrivals.take(tally.scheduled)) is not None:
            index, due = taken
            delay = due - time.monotonic()
            if delay > 0 and stop.wait(delay):
                # Stopped before this arrival was due: it never ran, so it does not count.
                with tally.lock:
                    tally.scheduled.remove(due)
                return
            with arrivals.device(index) as device:
                attempt = _attempt(plan, index, device, due, trace)
            tally.add(attempt, time.monotonic())
            on_attempt(attempt)

    workers = [
        threading.Thread(target=work, name=f"ue-load-{n}", daemon=True)
        for n in range(plan.concurrency)
    ]
    with _ctrl_c_stops(stop):
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    return tally.summary(plan, started, stop.is_set())


@contextlib.contextmanager
def _ctrl_c_stops(stop: threading.Event) -> Iterator[None]:
    """While the run goes, the first Ctrl-C sets ``stop``: no new arrival, and the running
    ones end within the client's timeout. A second Ctrl-C raises KeyboardInterrupt at once.

    Not a KeyboardInterrupt caught around Thread.join(): in Python 3.11 one that interrupts
    join() marks the still running thread as stopped (Thread._wait_for_tstate_lock releases
    the thread's own lock), so the summary was made without the arrivals still running.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals; its caller decides what Ctrl-C does
        return

    def first(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _attempt(plan: Plan, index: int, device: Path, due: float, trace: Trace | None) -> Attempt:
    start = time.monotonic()
    steps: list[TimedStep] = []
    state_file = device / plan.state_name
    supi: str | None = None
    try:
        if plan.register and state_file.exists():
            report = client.register(
                state_file, plan.core, timeout=plan.timeout, on_step=steps.append, trace=trace
            )
        else:
            report = client.onboard(
                device,
                plan.core,
                state_file,
                choices=plan.choices,
                timeout=plan.timeout,
                on_step=steps.append,
                trace=trace,
                register=plan.register,
            )
        supi = report.supi
        outcome, cause, step, error = OK, None, None, None
    except DynsubError as err:
        outcome = err.exit_code.name.lower()
        cause = err.cause if isinstance(err, Rejected) else None
        step, error = err.step, err.message
    except Exception as err:  # a bug: counted, and the run goes on to say how often
        outcome = ExitCode.INTERNAL.name.lower()
        cause, step, error = None, None, f"{type(err).__name__}: {err}"
    end = time.monotonic()
    return Attempt(
        index=index,
        device=device,
        supi=supi,
        outcome=outcome,
        cause=cause,
        step=step,
        error=error,
        wait=max(0.0, start - due),
        seconds=end - start,
        steps=tuple(_durations(steps)),
    )


def _durations(steps: list[TimedStep]) -> Iterator[tuple[str, float]]:
    """Each step's own duration (from the previous step of its procedure), and each
    procedure's whole duration."""
    last: dict[str, float] = {}
    for step in steps:
        yield f"{step.procedure} {step.name}", step.seconds - last.get(step.procedure, 0.0)
        last[step.procedure] = step.seconds
    yield from last.items()
