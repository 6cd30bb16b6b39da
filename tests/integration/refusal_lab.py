"""Test helpers for the refusal tests: device folders that break one rule, the `dynsub`
command run in-process, and what a running core logged and stored about one device or one
connection.

The core runs in a background thread and answers before it is done with a connection (it
writes the log line and the audit event of a refusal, then answers; but when the UE is the one
that gives up, the UE is gone before the core has read why). So the lookups wait until what
they look for is there, with a generous deadline: a refusal the core never records still fails.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from click.testing import CliRunner, Result
from cryptography import x509

from dynsub_cli.cli import main
from dynsub_cli.config import CoreConfig
from dynsub_cli.core.assembly import open_store
from dynsub_cli.core.procedure import LogRecord
from dynsub_cli.core.refusals import Refusal
from dynsub_cli.errors import ExitCode
from dynsub_cli.pki import device_folder, pem
from dynsub_cli.pki.authority import Pki
from dynsub_cli.store import Event, EventKind, EventOutcome
from tests.server import RunningCore
from tests.unit.pki.factory import Minted

#: How long a lookup waits for the core thread to record what the test expects.
DEADLINE_SECONDS = 10.0
#: What the UE waits for each answer of the core (only the timeout tests come near it).
UE_TIMEOUT = "5"

T = TypeVar("T")


def wait_for(find: Callable[[], T | None], what: str) -> T:
    """Poll ``find`` until it returns something; fail naming ``what`` after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        found = find()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"the core never recorded {what}")
        time.sleep(0.01)


def write_device(
    folder: Path, minted: Minted, pki: Pki, *, trust: x509.Certificate | None = None
) -> Path:
    """A device folder as `dynsub pki mint` writes it, for a certificate of the test factory.

    ``trust`` replaces the root the UE trusts to authenticate a core (default: ``pki``'s).
    """
    folder.mkdir(parents=True)
    (folder / device_folder.DEVICE_CERT).write_bytes(pem.certificate_bytes([minted.certificate]))
    key = folder / device_folder.DEVICE_KEY
    key.write_bytes(pem.key_bytes(minted.key))
    key.chmod(0o600)
    (folder / device_folder.CHAIN).write_bytes(pem.certificate_bytes([pki.load_manufacturer()]))
    anchor = trust if trust is not None else pki.load_root()
    (folder / device_folder.TRUST).write_bytes(pem.certificate_bytes([anchor]))
    return folder


def dynsub(*args: str) -> Result:
    """Run the `dynsub` command in-process; an uncaught exception is a bug, so it is raised."""
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@dataclass(frozen=True)
class UeRun:
    """One `dynsub ue ... --json` run: its exit status and the JSON it printed."""

    exit_code: int
    result: dict[str, Any]
    stderr: str

    @property
    def step(self) -> str | None:
        value = self.result.get("step")
        return str(value) if value is not None else None

    @property
    def error(self) -> str:
        return str(self.result.get("error", ""))

    def assert_ready(self) -> None:
        assert self.exit_code == ExitCode.OK, (self.exit_code, self.result, self.stderr)
        assert self.result["outcome"] == "ready"


def ue(command: str, *args: str, core: RunningCore) -> UeRun:
    result = dynsub("ue", command, *args, "--core", core.address, "--timeout", UE_TIMEOUT, "--json")
    return UeRun(result.exit_code, json.loads(result.stdout), result.stderr)


def refusal_record(
    core: RunningCore, *, imei: str | None = None, peer: str | None = None
) -> LogRecord:
    """The core's one "refused" log line for a device (by IMEI) or a connection (by peer)."""

    def find() -> LogRecord | None:
        found = [
            record
            for record in core.refusals()
            if (imei is None or record.imei == imei) and (peer is None or record.peer == peer)
        ]
        assert len(found) <= 1, found
        return found[0] if found else None

    return wait_for(find, f"a refusal of {imei or peer}")


def events(config: CoreConfig, *, imei: str | None = None) -> list[Event]:
    """The audit trail of a device (or all of it), newest first."""
    with open_store(config) as store:
        return store.events(imei=imei, limit=1000)


def refusal_event(
    config: CoreConfig, refusal: Refusal, *, imei: str | None = None, peer: str | None = None
) -> Event:
    """The one audit event that records ``refusal`` for a device or a connection.

    The event's reason starts with the refusal's name (core.session writes it so), which is
    how `dynsub store events` tells one refusal from another.
    """
    prefix = f"{refusal.name.lower()}: "

    def find() -> Event | None:
        found = [
            event
            for event in events(config, imei=imei)
            if event.reason.startswith(prefix) and (peer is None or event.peer == peer)
        ]
        assert len(found) <= 1, found
        return found[0] if found else None

    event = wait_for(find, f"an audit event {prefix!r} for {imei or peer}")
    assert event.outcome == EventOutcome.FAILURE
    assert event.kind in (EventKind.ONBOARDING_REFUSED, EventKind.REGISTRATION_REJECTED)
    return event
