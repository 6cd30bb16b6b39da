"""SUPI range exhausted: a core with one SUPI to give refuses the second device, and still
serves the first."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from dynsub_cli import config
from dynsub_cli.core.refusals import Refusal
from dynsub_cli.errors import ExitCode
from dynsub_cli.store import EventKind
from tests.flow import make_lab
from tests.integration.refusal_lab import refusal_event, refusal_record, ue
from tests.server import running_core


def test_supi_range_exhausted(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=2)
    loaded = lab.config()
    one = dataclasses.replace(loaded.supi, msin_end=loaded.supi.msin_start)
    config.write(dataclasses.replace(loaded, supi=one), lab.config_file, overwrite=True)
    cfg = config.load(lab.config_file)
    assert cfg.supi.capacity == 1
    first, second = lab.devices
    with running_core(cfg) as core:
        ue("onboard", "--device", str(first), core=core).assert_ready()

        run = ue("onboard", "--device", str(second), core=core)

        refusal = Refusal.SUPI_RANGE_EXHAUSTED
        assert run.exit_code == ExitCode.REJECTED, run.result
        assert run.step == "key generation"
        assert "SUPI" in run.error
        assert str(tmp_path) not in run.error  # the core's files are the operator's business
        assert f"5GMM cause #{int(refusal.cause)}" in run.error
        record = refusal_record(core, imei=second.name)
        assert (record.step, record.cause) == (refusal.step, int(refusal.cause))
        event = refusal_event(cfg, refusal, imei=second.name)
        assert event.kind == EventKind.ONBOARDING_REFUSED
        assert not (second / "ue-state.toml").exists()  # nothing committed, nothing saved

        # The core keeps serving: the device that has the SUPI registers, and onboards again
        # (re-onboarding policy "same-record": its SUPI is reused, none is allocated).
        state = str(first / "ue-state.toml")
        ue("register", "--state", state, core=core).assert_ready()
        again = ue("onboard", "--device", str(first), core=core)
        again.assert_ready()
        assert again.result["supi"] == cfg.supi_for(cfg.supi.msin_start)
