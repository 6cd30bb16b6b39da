"""The load generator's arithmetic and its bounds, without a core: percentiles, checks, stop."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from dynsub_cli.errors import BadInput, FileError
from dynsub_cli.ue import load
from dynsub_cli.ue.load import Latency, Limits, Plan, Summary
from tests.flow import make_pki


def _summary(*, failed: int = 0, p99: float = 0.1, rate: float = 10.0) -> Summary:
    return Summary(
        planned=10, arrivals=10, succeeded=10 - failed, failed=failed, supis=10 - failed,
        elapsed=1.0, offered_rate=10.0, achieved_rate=rate,
        latency={load.TOTAL: Latency(10, 0.05, p99, p99, p99)}, outcomes={}, causes={},
        interrupted=False,
    )  # fmt: skip


def test_percentiles_are_measured_values_by_nearest_rank() -> None:
    latency = Latency.of([float(n) for n in range(100, 0, -1)])  # 1..100, unordered
    assert (latency.count, latency.p50, latency.p95, latency.p99, latency.max) == (
        100, 50.0, 95.0, 99.0, 100.0,
    )  # fmt: skip
    assert Latency.of([7.0]).p99 == 7.0


def test_checks_pass_at_their_limit_and_fail_beyond_it() -> None:
    limits = Limits(max_failure_rate=0.1, max_p99=0.2, min_rate=5.0)
    assert all(c.passed for c in load.checks(_summary(failed=1, p99=0.2, rate=5.0), limits))
    failing = load.checks(_summary(failed=2, p99=0.3, rate=4.0), limits)
    assert [(c.name, c.passed) for c in failing] == [
        ("max-failure-rate", False), ("max-p99", False), ("min-rate", False),
    ]  # fmt: skip
    assert load.checks(_summary(), Limits()) == ()


def test_a_plan_is_bounded(tmp_path: Path) -> None:
    device = tmp_path / "d"
    with pytest.raises(BadInput, match="count"):
        Plan((device,), ("127.0.0.1", 1), "s.toml")
    with pytest.raises(BadInput, match="count"):
        Plan((device,), ("127.0.0.1", 1), "s.toml", count=1, duration=1.0)
    with pytest.raises(BadInput, match="concurrency"):
        Plan((device,), ("127.0.0.1", 1), "s.toml", count=1, concurrency=0)
    with pytest.raises(BadInput, match="rate"):
        Plan((device,), ("127.0.0.1", 1), "s.toml", count=1, rate=0)
    with pytest.raises(FileError, match="no device folders"):
        load.devices_in(tmp_path)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_failures_are_counted_by_exit_class_and_stop_ends_the_run(tmp_path: Path) -> None:
    devices = make_pki(tmp_path / "pki", 2)
    core = ("127.0.0.1", _closed_port())  # nobody listens: every attempt fails to connect
    failed = load.run(Plan(devices, core, "s.toml", count=4, concurrency=2))
    assert (failed.arrivals, failed.failed, failed.outcomes) == (4, 4, {"network": 4})
    assert load.TOTAL not in failed.latency  # latencies are of successful attempts only
    assert failed.latency[load.WAIT].count == 4
    # One arrival a minute: the first runs at once, then stop ends the wait for the second.
    stop = threading.Event()
    seen: list[load.Attempt] = []

    def on_attempt(attempt: load.Attempt) -> None:
        seen.append(attempt)
        stop.set()

    stopped = load.run(
        Plan(devices, core, "s.toml", count=100, rate=1 / 60), on_attempt=on_attempt, stop=stop
    )
    assert stopped.interrupted
    assert stopped.arrivals == len(seen) == 1
