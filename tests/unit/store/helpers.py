"""Shared builders for the store tests: devices, services, secrets, a controllable clock."""

from __future__ import annotations

import hashlib
import secrets as random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dynsub_cli.enrollment import Reonboarding
from dynsub_cli.store import Device, Secrets, Service, Subscriptions, SupiRange
from dynsub_cli.store.backends import is_url
from dynsub_cli.store.postgres import PostgresSubscriptions

#: Either backend, as the tests open them.
AnyStore = Subscriptions | PostgresSubscriptions

KEY = bytes(range(32))
RANGE = SupiRange(plmn="00101", msin_start="0000000001", msin_end="0000000999")


def luhn_digit(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def imei(serial: int) -> str:
    body = f"35693803{serial:06d}"
    return body + luhn_digit(body)


def device(serial: int, *, cert: bytes | None = None) -> Device:
    certificate = cert if cert is not None else f"certificate of device {serial}".encode()
    return Device(
        imei=imei(serial),
        fingerprint=hashlib.sha256(certificate).hexdigest(),
        issuer="CN=ACME Manufacturer CA,O=ACME",
        certificate=certificate,
    )


def service(**changes: object) -> Service:
    values: dict[str, object] = {
        "service_type": "miot",
        "plan": "trial",
        "sst": 3,
        "ambr_ul": 1_000_000,
        "ambr_dl": 2_000_000,
    }
    values.update(changes)
    return Service(**values)  # type: ignore[arg-type]


def fresh_secrets() -> Secrets:
    return Secrets(k=random.token_bytes(16), opc=random.token_bytes(16))


class Clock:
    """A clock the test moves by hand: starts at 2026-01-02T03:04:05Z, one second per call."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        value = self.now
        self.now += timedelta(seconds=1)
        return value


def onboard(
    store: AnyStore,
    serial: int,
    *,
    policy: Reonboarding = Reonboarding.SAME_RECORD,
    supi_range: SupiRange = RANGE,
    cert: bytes | None = None,
) -> str:
    result = store.create_or_update_from_onboarding(
        device(serial, cert=cert),
        service(),
        fresh_secrets(),
        supi_range=supi_range,
        policy=policy,
    )
    return result.subscription.supi


def open_store(path: Path, clock: Clock | None = None) -> Subscriptions:
    return Subscriptions.open(path, KEY, now=clock or Clock())


def open_location(
    location: str, clock: Callable[[], datetime] | None = None, *, key: bytes | None = KEY
) -> AnyStore:
    """The store at a SQLite path or a PostgreSQL URL (with its password, for tests)."""
    now = clock or Clock()
    if is_url(location):
        return PostgresSubscriptions.open(location, key, now=now)
    return Subscriptions.open(Path(location), key, now=now)


def run_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` on ``count`` threads that start together; the errors they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            work(index)
        except BaseException as err:  # collected and asserted on by the caller
            errors.append(err)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
