"""The core as a service (docs/operations.md): metrics, health, reload on SIGHUP.

Real `dynsub core serve` subprocesses; /metrics is parsed with prometheus_client's parser and
checked against the store and the audit trail.
"""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from dynsub_cli.nas.enums import MmCause
from dynsub_cli.nas.framing import frame
from tests.flow import Lab, make_lab
from tests.processes import HANG, ServedCore, _env, dynsub, served_core

#: An EPD of 5GMM, plain, and a message type TS 24.501 does not define.
GARBAGE = bytes([0x7E, 0x00, 0xEE, 0x01, 0x02])

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def with_metrics(lab: Lab, extra: str = "") -> Path:
    """core.toml of the lab with a [metrics] section on a free port (and ``extra`` TOML)."""
    text = lab.config_file.read_text(encoding="utf-8")
    lab.config_file.write_text(
        text + '\n[metrics]\nlisten = "127.0.0.1:0"\n' + extra, encoding="utf-8"
    )
    return lab.config_file


def ready(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def get(base: str, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(base + path, timeout=HANG) as answer:  # noqa: S310 (http:// only)
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read().decode()


def scrape(base: str) -> Samples:
    status, text = get(base, "/metrics")
    assert status == 200
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def until(check: Callable[[], bool], what: str) -> None:
    """Wait for ``check`` (a guard against hangs, not a timing)."""
    deadline = time.monotonic() + HANG
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.05)


def store_json(lab: Lab, tmp_path: Path, *what: str) -> Any:
    return json.loads(
        dynsub("store", *what, "--config", lab.config_file, "--json", cwd=tmp_path).stdout
    )


def metrics_base(tmp_path: Path, core: ServedCore) -> str:
    return "http://" + str(ready(tmp_path / "ready.json")["metrics"])


def test_metrics_match_the_store_and_the_audit_trail(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=6)
    blocked = lab.devices[0].name
    text = lab.config_file.read_text(encoding="utf-8")
    lab.config_file.write_text(
        text.replace("blocklist = []", f'blocklist = ["{blocked}"]'), encoding="utf-8"
    )
    assert f'"{blocked}"' in lab.config_file.read_text(encoding="utf-8")
    with_metrics(lab)
    ready_file = tmp_path / "ready.json"
    with served_core(lab.config_file, cwd=tmp_path, args=("--ready-file", ready_file)) as core:
        document = ready(ready_file)
        assert (document["host"], document["port"]) == core.sockaddr
        base = metrics_base(tmp_path, core)
        assert get(base, "/healthz") == (200, "ok\n")
        assert get(base, "/readyz") == (200, "ready\n")
        before = scrape(base)
        assert value(before, "dynsub_onboardings_total", outcome="ok", cause="") == 0
        load = subprocess.Popen(
            [sys.executable, "-m", "dynsub_cli", "ue", "load", "--devices",
             str(lab.devices[0].parent), "--core", core.address, "--count", "6",
             "--concurrency", "2", "--json"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        )  # fmt: skip
        seen: list[float] = []
        while load.poll() is None:  # scraped during the run: counters only grow
            seen.append(value(scrape(base), "dynsub_onboardings_total", outcome="ok", cause=""))
            time.sleep(0.05)
        load.communicate(timeout=HANG)
        assert seen == sorted(seen)
        after = scrape(base)
    assert ready_file.exists() is False  # removed when the core stops
    ok = value(after, "dynsub_onboardings_total", outcome="ok", cause="")
    refused = value(
        after,
        "dynsub_onboardings_total",
        outcome="refused",
        cause=str(int(MmCause.PEI_NOT_ACCEPTED)),
    )
    assert (ok, refused) == (5, 1)
    assert all(count <= ok for count in seen)
    stats = store_json(lab, tmp_path, "stats")
    assert stats["total"] == ok
    events = stats["events_by_kind"]
    assert events["subscription_created"] == {"success": ok}
    assert events["onboarding_refused"] == {"failure": refused}
    assert value(
        after, "dynsub_refusals_total", procedure="onboarding", refusal="blocklisted",
        cause=str(int(MmCause.PEI_NOT_ACCEPTED)),
    ) == refused  # fmt: skip
    assert value(after, "dynsub_procedure_duration_seconds_count",
                 procedure="onboarding", outcome="ok") == ok  # fmt: skip
    assert value(after, "dynsub_connections_total") == 6
    assert value(after, "dynsub_connections_active") == 0
    assert value(after, "dynsub_store_errors_total") == 0


def test_readyz_follows_the_store(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    with_metrics(lab)
    ready_file = tmp_path / "ready.json"
    with served_core(lab.config_file, cwd=tmp_path, args=("--ready-file", ready_file)) as core:
        base = metrics_base(tmp_path, core)
        assert get(base, "/readyz")[0] == 200
        holder = sqlite3.connect(lab.config().store.path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the core's next write waits for this lock
        try:
            # A peer that sends garbage is audited in the background: that write now waits
            # on the lock, and the store answers nothing else meanwhile.
            with socket.create_connection(core.sockaddr, timeout=HANG) as sock:
                sock.sendall(frame(GARBAGE))
                sock.recv(65536)
            until(lambda: get(base, "/readyz")[0] == 503, "/readyz unready")
            _, text = get(base, "/readyz")
            assert "the store did not answer" in text
            assert get(base, "/healthz")[0] == 200  # alive all the same
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        until(lambda: get(base, "/readyz")[0] == 200, "/readyz ready again")


def reloaded(core: ServedCore, done: int, outcome: str) -> Callable[[], bool]:
    """True once the core logged more than ``done`` reloads with ``outcome``."""
    return lambda: len(reloads(core, outcome)) > done


def reloads(core: ServedCore, outcome: str) -> list[dict[str, Any]]:
    return [r for r in core.records() if r["step"] == "reload" and r["outcome"] == outcome]


def onboard(lab: Lab, device: Path, core: ServedCore, tmp_path: Path, expect: int = 0) -> str:
    done = dynsub("ue", "onboard", "--device", device, "--core", core.address,
                  cwd=tmp_path, expect=expect)  # fmt: skip
    return done.stdout + done.stderr


def test_sighup_applies_a_new_blocklist_and_keeps_the_old_policy_on_a_broken_file(
    tmp_path: Path,
) -> None:
    lab = make_lab(tmp_path, devices=3)
    first, blocked, other = lab.devices
    good = lab.config_file.read_text(encoding="utf-8")
    with served_core(lab.config_file, cwd=tmp_path) as core:
        onboard(lab, first, core, tmp_path)
        lab.config_file.write_text(
            good.replace("blocklist = []", f'blocklist = ["{blocked.name}"]'), encoding="utf-8"
        )
        sent = dynsub("core", "reload", "--config", lab.config_file, cwd=tmp_path)
        assert f"pid {core.process.pid}" in sent.stderr + sent.stdout
        until(reloaded(core, 0, "ok"), "the reload")
        told = onboard(lab, blocked, core, tmp_path, expect=12)  # ExitCode.REJECTED
        assert "#5" in told or "PEI" in told.upper()
        # A core.toml that does not validate: logged, the blocklist above stays in force.
        lab.config_file.write_text(good + "\n[metrics]\nlisten = 'nowhere'\n", encoding="utf-8")
        dynsub("core", "reload", "--config", lab.config_file, cwd=tmp_path)
        until(reloaded(core, 0, "failed"), "the failed reload")
        failed = reloads(core, "failed")[0]["message"]
        assert "[metrics] listen" in failed
        assert "the previous configuration stays in force" in failed
        onboard(lab, blocked, core, tmp_path, expect=12)
        onboard(lab, other, core, tmp_path)
        assert core.process.poll() is None
    refusals = [r for r in core.records() if r.get("refusal") == "blocklisted"]
    assert [r["cause"] for r in refusals] == [int(MmCause.PEI_NOT_ACCEPTED)] * 2
    assert core.stop() == 0


def test_fifty_sighups_during_a_load_run_lose_no_onboarding(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=20)
    # Two serving processes: the supervisor passes each SIGHUP on, and each one reloads.
    processes = 2
    with served_core(lab.config_file, cwd=tmp_path, args=("--processes", str(processes))) as core:
        load = subprocess.Popen(
            [sys.executable, "-m", "dynsub_cli", "ue", "load", "--devices",
             str(lab.devices[0].parent), "--core", core.address, "--count", "40",
             "--concurrency", "4", "--json"],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        )  # fmt: skip
        for sent in range(50):
            core.send(signal.SIGHUP)
            # Each reload is logged before the next signal, so that none merges with another.
            until(reloaded(core, (sent + 1) * processes - 1, "ok"), f"reload {sent + 1}")
        out, err = load.communicate(timeout=HANG)
        assert load.returncode == 0, err
        assert core.process.poll() is None
    summary = json.loads(out)
    assert summary["arrivals"] == summary["succeeded"] == 40
    assert summary["failed"] == 0
    assert len(reloads(core, "ok")) == 50 * processes
    assert not reloads(core, "failed")
    stats = store_json(lab, tmp_path, "stats")
    assert stats["total"] == 20
    assert stats["events_by_kind"]["subscription_created"] == {"success": 20}
