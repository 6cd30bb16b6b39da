"""The core's metrics and health endpoints: Prometheus text on /metrics, /healthz, /readyz.

Theory of operation. The metrics are derived from what the core already says: the one log
line per step that every session writes (``LogRecord``: the procedure it belongs to, the
refusal that ended it and its 5GMM cause) and the server's connection callbacks. So no engine
counts anything itself, and a metric cannot disagree with the log. :class:`Metrics` observes
records; per connection it remembers when the procedure started, to time it.

prometheus_client is the standard exposition (text format 0.0.4) and parser; it is the
optional extra ``metrics``, imported only when core.toml has a ``[metrics]`` section.

The HTTP endpoint runs in its own thread (http.server), so a scrape never waits for the event
loop. /readyz is ready while the core listens, the store answers a cheap call (a lookup of a
SUPI no device has) within ``PROBE_SECONDS``, and every CRL named in core.toml is loaded.
"""

from __future__ import annotations

import datetime as dt
import http.server
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dynsub_cli.core.procedure import LogRecord
from dynsub_cli.errors import ConfigError, NetworkError
from dynsub_cli.store.backend import SubscriptionStore

if TYPE_CHECKING:
    from cryptography import x509
    from prometheus_client.registry import CollectorRegistry

#: How long /readyz waits for the store's answer before it says unready.
PROBE_SECONDS = 2.0
#: A SUPI no record has (the MSIN of an IMSI is digits): its lookup is one index probe.
PROBE_SUPI = "imsi-readiness-probe"
#: Seconds: onboardings take tens of milliseconds on a laptop, seconds behind a slow AAA.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

#: The step that ends each procedure well (core.onboarding, core.registration).
_SUCCESS_STEP = {"onboarding": "deregistration", "registration": "registration"}


def _prometheus() -> None:
    try:
        import prometheus_client  # noqa: F401
    except ImportError as err:
        raise ConfigError(
            "core.toml [metrics]: prometheus_client is not installed "
            "(pip install 'dynsub[metrics]', or remove [metrics])"
        ) from err


@dataclass(frozen=True)
class Readiness:
    ready: bool
    problems: tuple[str, ...]


class Metrics:
    """Every metric of one core, in a registry of its own (two cores in one test process)."""

    def __init__(
        self,
        crls: Callable[[], Iterable[x509.CertificateRevocationList]] = tuple,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        _prometheus()
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry: CollectorRegistry = CollectorRegistry()
        r = self.registry
        self.onboardings = Counter(
            "dynsub_onboardings",
            "Onboardings that ended, by outcome (ok, refused) and 5GMM cause.",
            ["outcome", "cause"],
            registry=r,
        )
        self.registrations = Counter(
            "dynsub_registrations",
            "Registrations that ended, by outcome (ok, refused, no_subscription) and 5GMM cause.",
            ["outcome", "cause"],
            registry=r,
        )
        self.refusals = Counter(
            "dynsub_refusals",
            "Refused sessions by procedure (none before one started), refusal and 5GMM cause.",
            ["procedure", "refusal", "cause"],
            registry=r,
        )
        self.latency = Histogram(
            "dynsub_procedure_duration_seconds",
            "From the procedure's first step to its end, by procedure and outcome.",
            ["procedure", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.active = Gauge(
            "dynsub_connections_active", "Connections being served now.", registry=r
        )
        self.connections = Counter(
            "dynsub_connections", "Connections accepted and served.", registry=r
        )
        self.refused_connections = Counter(
            "dynsub_connections_refused",
            "Connections turned away (connection limit) or cut (the core stopped).",
            registry=r,
        )
        self.store_errors = Counter(
            "dynsub_store_errors",
            "Store calls that failed: sessions refused for it, audit events not written.",
            registry=r,
        )
        self.aaa_errors = Counter(
            "dynsub_aaa_errors", "Sessions refused because the AAA server failed.", registry=r
        )
        self.reloads = Counter(
            "dynsub_reloads",
            "Configuration reloads (SIGHUP, CRL files), by outcome (ok, failed).",
            ["what", "outcome"],
            registry=r,
        )
        self.hook_calls = Counter(
            "dynsub_hook_calls",
            "Provisioning hook answers, by hook and answer (allow, deny, failed).",
            ["hook", "answer"],
            registry=r,
        )
        self.hook_latency = Histogram(
            "dynsub_hook_duration_seconds",
            "How long the provisioning hook took to answer, by hook.",
            ["hook"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.crl_age = Gauge(
            "dynsub_crl_age_seconds",
            "Seconds since the thisUpdate of each CRL in force, by issuer.",
            ["issuer"],
            registry=r,
        )
        self._crls = crls
        self._now = now
        self._clock = clock
        self._lock = threading.Lock()  # records come from the loop and from worker threads
        self._started: dict[str, tuple[str, float]] = {}  # peer -> (procedure, started)

    # --- what the core says -------------------------------------------------------------

    def observe(self, record: LogRecord) -> None:
        """Count one log line of the core."""
        if record.step == "audit" and record.outcome == "failed":
            self.store_errors.inc()
        elif record.step in ("crl", "reload") and record.peer == "-":
            self.reloads.labels(record.step, record.outcome).inc()
        if record.step == "hook" and record.seconds is not None:
            self.hook_latency.labels("onboarding").observe(record.seconds)
            answer = {"ok": "allow", "refused": "deny"}.get(record.outcome, record.outcome)
            self.hook_calls.labels("onboarding", answer).inc()
        procedure = record.procedure
        if record.refusal is not None:
            self._refused(record, procedure)
        elif procedure is None:
            if record.step == "registration" and record.outcome == "ok":
                # Initial registration of an identity without a subscription: #74 (core.session).
                self.registrations.labels("no_subscription", "").inc()
        elif record.outcome == "ok" and _SUCCESS_STEP.get(procedure) == record.step:
            self._ended(record.peer, procedure, "ok", "")
        else:
            with self._lock:
                self._started.setdefault(record.peer, (procedure, self._clock()))

    def _refused(self, record: LogRecord, procedure: str | None) -> None:
        cause = "" if record.cause is None else str(record.cause)
        self.refusals.labels(procedure or "none", record.refusal, cause).inc()
        if record.refusal == "store_unavailable":
            self.store_errors.inc()
        elif record.refusal == "aaa_unavailable":
            self.aaa_errors.inc()
        if procedure is not None:
            self._ended(record.peer, procedure, "refused", cause)

    def _ended(self, peer: str, procedure: str, outcome: str, cause: str) -> None:
        counter = self.onboardings if procedure == "onboarding" else self.registrations
        counter.labels(outcome, cause).inc()
        with self._lock:
            started = self._started.pop(peer, None)
        if started is not None and started[0] == procedure:
            self.latency.labels(procedure, outcome).observe(self._clock() - started[1])

    # --- the server's connection callbacks ----------------------------------------------

    def opened(self, peer: str) -> None:
        self.connections.inc()
        self.active.inc()

    def closed(self, peer: str) -> None:
        self.active.dec()
        with self._lock:
            self._started.pop(peer, None)

    def refused(self, peer: str, why: str) -> None:
        self.refused_connections.inc()

    # --- exposition ---------------------------------------------------------------------

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        self._crl_ages()
        return generate_latest(self.registry)

    def _crl_ages(self) -> None:
        now = self._now()
        self.crl_age.clear()
        for crl in self._crls():
            age = (now - crl.last_update_utc).total_seconds()
            self.crl_age.labels(crl.issuer.rfc4514_string()).set(age)


class Health:
    """What /readyz checks: listening, the store answering, the CRLs loaded."""

    def __init__(
        self,
        store: SubscriptionStore,
        crls_loaded: Callable[[], str | None],
        *,
        probe_seconds: float = PROBE_SECONDS,
    ) -> None:
        """``crls_loaded`` returns what is wrong with the CRLs, or None."""
        self.listening = False
        self._store = store
        self._crls_loaded = crls_loaded
        self._probe_seconds = probe_seconds
        self._lock = threading.Lock()
        self._probe: threading.Thread | None = None
        self._probe_error: list[str] = []

    def readiness(self) -> Readiness:
        problems: list[str] = []
        if not self.listening:
            problems.append("the core is not listening")
        store = self._store_problem()
        if store is not None:
            problems.append(store)
        crls = self._crls_loaded()
        if crls is not None:
            problems.append(crls)
        return Readiness(not problems, tuple(problems))

    def _store_problem(self) -> str | None:
        # One probe at a time: a store that hangs must not collect a thread per scrape.
        with self._lock:
            if self._probe is None or not self._probe.is_alive():
                errors: list[str] = []
                self._probe_error = errors
                self._probe = threading.Thread(
                    target=self._call_store, args=(errors,), name="dynsub-ready", daemon=True
                )
                self._probe.start()
            probe, errors = self._probe, self._probe_error
        probe.join(self._probe_seconds)
        if probe.is_alive():
            return f"the store did not answer within {self._probe_seconds:.0f} s"
        return errors[0] if errors else None

    def _call_store(self, errors: list[str]) -> None:
        try:
            self._store.find(PROBE_SUPI)
        except Exception as err:  # any failure of the seam makes the core unready
            errors.append(f"the store failed: {getattr(err, 'message', None) or err}")


class Endpoint:
    """The HTTP server of /metrics, /healthz and /readyz, in a thread of its own."""

    def __init__(self, metrics: Metrics, health: Health) -> None:
        self.metrics = metrics
        self.health = health
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> tuple[str, int]:
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, kind, body = endpoint.answer(self.path.split("?", 1)[0])
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # scrapes every few seconds would drown the core's own log

        try:
            self._server = http.server.ThreadingHTTPServer((host, port), Handler)
        except OSError as err:
            raise NetworkError(
                f"core.toml [metrics] listen: cannot listen on {host}:{port}: "
                f"{err.strerror or err} (choose another port)"
            ) from err
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="dynsub-metrics", daemon=True
        )
        self._thread.start()
        bound = self._server.server_address
        return str(bound[0]), int(bound[1])

    def answer(self, path: str) -> tuple[int, str, bytes]:
        if path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST

            return 200, CONTENT_TYPE_LATEST, self.metrics.exposition()
        if path == "/healthz":
            return 200, "text/plain; charset=utf-8", b"ok\n"
        if path == "/readyz":
            ready = self.health.readiness()
            if ready.ready:
                return 200, "text/plain; charset=utf-8", b"ready\n"
            text = "".join(f"{problem}\n" for problem in ready.problems)
            return 503, "text/plain; charset=utf-8", text.encode()
        return 404, "text/plain; charset=utf-8", b"not found: /metrics, /healthz, /readyz\n"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
