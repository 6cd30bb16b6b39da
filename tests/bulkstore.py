"""A large store made fast, for the streaming tests and benchmarks/store.py.

``count`` subscriptions, each with two audit events (its creation and a registration), written
in one transaction through the store's own bulk path, ``Subscriptions.restore`` (what ``dynsub
store copy`` uses): every record is sealed under the store key as an onboarding seals it.
Every record carries the same real certificate (P-256, self-signed, about 400 bytes of DER);
IMEIs and fingerprints differ, as the store's unique indexes require. One in 50 records is
suspended; one in 3 is on a plan with an account and billing information.

:func:`measured` runs a command reading it and reports its wall time and peak memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import pty
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dynsub_cli import config
from dynsub_cli.files import make_private_dir
from dynsub_cli.pki.imei import make_imei
from dynsub_cli.store import Secrets, State, Subscription, Subscriptions, generate_key_file
from dynsub_cli.store.model import Allocation, Event, EventKind, EventOutcome

PLMN = "00101"
TAC = "35693803"


def certificate() -> bytes:
    """One real certificate (DER) for every record: what a record of the store holds."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "356938035643809")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def core_folder(folder: Path) -> tuple[Path, config.CoreConfig, bytes]:
    """A core folder for the store commands: core.toml (PKI paths that need not exist) and a
    store key; returns core.toml, its configuration and the key."""
    folder.mkdir(parents=True, exist_ok=True)
    path = config.write_default(
        folder,
        mcc=PLMN[:3],
        mnc=PLMN[3:],
        core_cert=Path("pki/core.pem"),
        core_key=Path("pki/core.key"),
        core_chain=Path("pki/chain.pem"),
        trust_anchors=[Path("pki/root.pem")],
        manufacturer_cas=[Path("pki/mfr.pem")],
    )
    cfg = config.load(path)
    make_private_dir(cfg.store.key_file.parent)
    return path, cfg, generate_key_file(cfg.store.key_file)


def build(folder: Path, count: int) -> Path:
    """A core folder with a store of ``count`` subscriptions; returns its core.toml."""
    path, cfg, key = core_folder(folder)
    der = certificate()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    supis = [f"imsi-{PLMN}{msin:010d}" for msin in range(1, count + 1)]

    def subscriptions() -> Iterator[Subscription]:
        for serial, supi in enumerate(supis):
            imei = make_imei(TAC, serial)
            yield Subscription(
                supi=supi,
                imei=imei,
                fingerprint=hashlib.sha256(der + imei.encode()).hexdigest(),
                issuer="CN=ACME Manufacturer CA,O=ACME",
                certificate=der,
                state=State.SUSPENDED if serial % 50 == 0 else State.ACTIVE,
                service_type="miot",
                plan="metered" if serial % 3 == 0 else "trial",
                account=f"A-{serial}" if serial % 3 == 0 else None,
                billing={"account": f"A-{serial}"} if serial % 3 == 0 else {},
                amf=b"\x80\x00",
                sqn=32 * (serial % 7),
                sst=3,
                sd=None,
                dnn="internet",
                ambr_ul=1_000_000,
                ambr_dl=2_000_000,
                created=now,
                updated=now,
                secrets=Secrets(k=os.urandom(16), opc=os.urandom(16)),
            )

    def events() -> Iterator[Event]:
        for serial, supi in enumerate(supis):
            imei = make_imei(TAC, serial)
            yield Event(
                2 * serial + 1,
                now,
                EventKind.SUBSCRIPTION_CREATED,
                EventOutcome.SUCCESS,
                imei,
                supi,
                "",
                "127.0.0.1:40000",
            )
            yield Event(
                2 * serial + 2, now, EventKind.REGISTRATION, EventOutcome.SUCCESS, imei, supi
            )

    allocations = (Allocation(s, PLMN, int(s[-10:]), now) for s in supis)
    with Subscriptions.open(cfg.store.path, key) as store:
        store.restore(allocations, subscriptions(), events())
    return path


#: Runs its arguments and reports their exit status and peak RSS. A child's ru_maxrss counts
#: the memory of the process it was forked or spawned from (Linux carries the high-water mark
#: across exec), so the measured command is started by this small interpreter (-I -S: no site,
#: about 8 MB), not by the benchmark with its store builder loaded.
_LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ, file_actions=[
    (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0)])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def measured(argv: Sequence[str], *, terminal: bool = False) -> tuple[float, float]:
    """Run ``argv`` with stdout to /dev/null (or to a pseudo-terminal whose output is read and
    dropped); returns its wall seconds and peak RSS in MB (that command's own, from wait4)."""
    launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, *argv]
    started = time.perf_counter()
    if terminal:
        controller, tty = pty.openpty()
        proc = subprocess.Popen(launcher, stdout=tty, stderr=subprocess.PIPE)
        os.close(tty)
        try:
            while os.read(controller, 65536):
                pass
        except OSError:  # EIO: the command has closed the terminal
            pass
        finally:
            os.close(controller)
    else:
        proc = subprocess.Popen(launcher, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, report = proc.communicate()
    seconds = time.perf_counter() - started
    status, maxrss_kb = (int(field) for field in report.split())
    if status != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {status}")
    return seconds, maxrss_kb / 1024
