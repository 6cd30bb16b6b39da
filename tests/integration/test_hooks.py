"""The onboarding provisioning hook ([hooks.onboarding], core.hooks) with real hooks: Python
scripts run as subprocesses, and an HTTP server on 127.0.0.1 (http.server in a thread)."""

from __future__ import annotations

import dataclasses
import http.server
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dynsub_cli import config as configs
from dynsub_cli.config import CoreConfig, HookConfig, HookFailure, HooksConfig, Plan
from dynsub_cli.core import assembly
from dynsub_cli.errors import ConfigError, DynsubError
from dynsub_cli.nas.enums import MmCause
from dynsub_cli.store import Event, Subscription
from dynsub_cli.ue import client
from dynsub_cli.ue import state as states
from tests.flow import Lab, make_lab
from tests.server import RunningCore, running_core

FLEET = Plan(name="fleet", service_types=("miot",), description="bulk IoT fleets")


def script(folder: Path, name: str, body: str) -> tuple[str, ...]:
    """A hook in Python: reads the request from stdin, runs ``body``."""
    path = folder / f"{name}.py"
    path.write_text(
        "import json, sys, time\nrequest = json.load(sys.stdin)\n" + body + "\n", encoding="utf-8"
    )
    return (sys.executable, str(path))


def hooked(
    lab: Lab,
    *,
    command: tuple[str, ...] = (),
    url: str | None = None,
    timeout: float = 10.0,
    on_error: HookFailure = HookFailure.DENY,
) -> CoreConfig:
    loaded = lab.config()
    return dataclasses.replace(
        loaded,
        plans={**loaded.plans, "fleet": FLEET},
        hooks=HooksConfig(HookConfig(command, url, timeout, on_error)),
    )


def onboard(lab: Lab, core: RunningCore, index: int = 0) -> Exception | None:
    state = lab.devices[index] / "ue-state.toml"
    try:
        client.onboard(lab.devices[index], (core.host, core.port), state, timeout=60)
    except DynsubError as err:
        return err
    return None


def stored(config: CoreConfig, imei: str) -> tuple[Subscription | None, list[Event]]:
    with assembly.open_store(config) as store:
        events = [e for e in store.events(imei=imei) if e.kind == "onboarding_hook"]
        return store.find_by_imei(imei), events


def hook_lines(core: RunningCore) -> list[Any]:
    return [record for record in core.log if record.step == "hook"]


def test_a_hook_that_allows(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    request_file = tmp_path / "request.json"
    allow = script(
        tmp_path,
        "allow",
        f"open({str(request_file)!r}, 'w').write(json.dumps(request))\n"
        "print(json.dumps({'allow': True}))",
    )
    config = hooked(lab, command=allow)
    with running_core(config) as core:
        assert onboard(lab, core) is None
    request = json.loads(request_file.read_text(encoding="utf-8"))
    imei = lab.devices[0].name
    assert request["device"]["imei"] == imei
    assert request["choice"]["plan"] == "trial"
    assert request["policy"]["service_type"] == "miot"
    record, events = stored(config, imei)
    assert record is not None
    assert record.plan == "trial"
    assert [e.outcome for e in events] == ["success"]
    assert "allowed" in events[0].reason
    (line,) = hook_lines(core)
    assert line.outcome == "ok"
    assert line.seconds is not None
    assert line.seconds >= 0


def test_a_hook_that_enriches_sets_the_plan_and_ambr(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    enrich = script(
        tmp_path, "enrich", "print(json.dumps({'allow': True, 'plan': 'fleet', 'ambr_ul': 250000}))"
    )
    config = hooked(lab, command=enrich)
    with running_core(config) as core:
        assert onboard(lab, core) is None
    record, _ = stored(config, lab.devices[0].name)
    assert record is not None
    assert (record.plan, record.service_type, record.ambr_ul) == ("fleet", "miot", 250000)
    assert record.ambr_dl == config.service_types["miot"].ambr_dl
    # The UE received what the store holds.
    assert states.load(lab.devices[0] / "ue-state.toml").plan == "fleet"


def test_a_hook_that_denies_tells_the_ue_why(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    deny = script(
        tmp_path, "deny", "print(json.dumps({'allow': False, 'reason': 'not in our CRM'}))"
    )
    config = hooked(lab, command=deny)
    with running_core(config) as core:
        refused = onboard(lab, core)
    assert refused is not None
    assert "not in our CRM" in str(refused)
    record, events = stored(config, lab.devices[0].name)
    assert record is None
    assert [e.outcome for e in events] == ["failure"]
    assert "not in our CRM" in events[0].reason
    (refusal,) = core.refusals()[-1:]
    assert refusal.refusal == "hook_denied"
    assert refusal.cause == int(MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN)


def test_a_hook_that_hangs_gets_the_configured_answer(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=2)
    hang = script(tmp_path, "hang", "time.sleep(60)")
    denying = hooked(lab, command=hang, timeout=0.5)
    with running_core(denying) as core:
        refused = onboard(lab, core, 0)
    assert refused is not None
    (line,) = hook_lines(core)
    assert line.outcome == "failed"
    assert "did not answer within 0.5 s" in line.message
    assert core.refusals()[-1].refusal == "hook_failed"
    assert core.refusals()[-1].cause == int(MmCause.CONGESTION)
    allowing = hooked(lab, command=hang, timeout=0.5, on_error=HookFailure.ALLOW)
    with running_core(allowing) as core:
        assert onboard(lab, core, 1) is None
    record, events = stored(allowing, lab.devices[1].name)
    assert record is not None
    assert "the policy's answer stands" in events[0].reason


@pytest.mark.parametrize(
    "body",
    [
        "print('hello, I am not JSON')",
        "print(json.dumps({'allow': True, 'plan': 'gold'}))",  # not in core.toml
        "print(json.dumps({'allow': True, 'ambr_ul': 10**12}))",  # above the service type's
        "sys.exit(3)",
    ],
    ids=["garbage", "unknown-plan", "ambr-too-high", "exit-status"],
)
def test_a_hook_that_answers_garbage_is_refused_and_logged(tmp_path: Path, body: str) -> None:
    lab = make_lab(tmp_path, devices=1)
    config = hooked(lab, command=script(tmp_path, "garbage", body))
    with running_core(config) as core:
        refused = onboard(lab, core)
    assert refused is not None
    (line,) = hook_lines(core)
    assert line.outcome == "failed"
    assert core.refusals()[-1].refusal == "hook_failed"
    record, events = stored(config, lab.devices[0].name)
    assert record is None
    assert events[0].outcome == "failure"


@contextmanager
def http_hook(answers: list[dict[str, Any]]) -> Iterator[tuple[str, list[Any]]]:
    """An HTTP hook on 127.0.0.1 that answers ``answers`` in turn; yields its URL and the
    requests it received."""
    received: list[Any] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            body = json.dumps(answers[len(received) - 1]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/onboarding", received
    finally:
        server.shutdown()
        server.server_close()


def test_an_http_hook_allows_enriches_and_denies(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=2)
    answers = [{"allow": True, "plan": "fleet"}, {"allow": False, "reason": "over quota"}]
    with http_hook(answers) as (url, received):
        config = hooked(lab, url=url)
        with running_core(config) as core:
            assert onboard(lab, core, 0) is None
            refused = onboard(lab, core, 1)
    assert [r["device"]["imei"] for r in received] == [d.name for d in lab.devices]
    record, _ = stored(config, lab.devices[0].name)
    assert record is not None
    assert record.plan == "fleet"
    assert refused is not None
    assert "over quota" in str(refused)


def test_core_toml_names_one_hook(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    text = lab.config_file.read_text(encoding="utf-8")
    lab.config_file.write_text(
        text + '\n[hooks.onboarding]\ncommand = ["hook.py", "--strict"]\ntimeout_seconds = 2\n',
        encoding="utf-8",
    )
    hook = configs.load(lab.config_file).hooks.onboarding
    assert hook is not None
    assert hook.command == (str(lab.core / "hook.py"), "--strict")
    assert (hook.timeout_seconds, hook.on_error) == (2.0, HookFailure.DENY)
    # The writer keeps the section (core init --force, the tests' own rewrites).
    configs.write(configs.load(lab.config_file), lab.config_file, overwrite=True)
    assert configs.load(lab.config_file).hooks.onboarding == hook
    lab.config_file.write_text(
        text + '\n[hooks.onboarding]\ncommand = "x"\nurl = "http://127.0.0.1:1/"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="exactly one of command"):
        configs.load(lab.config_file)
