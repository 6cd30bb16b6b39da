"""The onboarding provisioning hook: the operator decides per device (docs/operations.md).

Theory of operation. ``[hooks.onboarding]`` in core.toml names an executable (the request as
JSON on its stdin, the answer as JSON on its stdout) or an HTTP URL (the request POSTed as
JSON, the answer in the body), as managed provisioning services offer (custom allocation
webhooks). The onboarding engine consults it once the device has authenticated and the
policy has accepted its choice, before the key is generated and the record committed
(core.onboarding ``_choice``), so a denial costs nothing and an enriched service is what the
store records and the UE receives.

The answer may allow, deny with a reason the UE reads (dialogue ERROR, then DEREGISTRATION
REQUEST #75), or change the service within what core.toml allows: a service type and plan it
defines (the plan serving the type), a DNN and an S-NSSAI of one of its service types, an AMBR
no higher than the service type's. A hook that fails, hangs past ``timeout_seconds`` or
answers anything else gets ``on_error`` (deny by default, #22: try again later). Every call
is one log line (with its latency) and one audit event.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dynsub_cli.config import HookConfig, HookFailure, Plan, ServiceType, parse_bitrate
from dynsub_cli.core.procedure import Connection, Refused
from dynsub_cli.core.refusals import Refusal
from dynsub_cli.errors import DynsubError
from dynsub_cli.nas import dialogue as d
from dynsub_cli.pki.verify import DeviceIdentity
from dynsub_cli.store import EventOutcome, Service

#: The audit kind of a hook's answer (the store takes the core's own kinds as free text).
AUDIT_KIND = "onboarding_hook"
#: What the UE reads when its hook failed: never the hook's own words or the operator's setup.
FAILED_TOLD = "the operator's provisioning service is unavailable; try again later"
#: The most of a hook's answer read, and of its stderr kept for the log.
MAX_ANSWER = 64 * 1024
MAX_STDERR = 300


class HookFailed(DynsubError):
    """The hook did not give a usable answer (exit status, timeout, garbage, out of bounds)."""


@dataclass(frozen=True)
class Answer:
    allow: bool
    service: Service
    reason: str = ""


class OnboardingHook:
    def __init__(
        self,
        config: HookConfig,
        service_types: Mapping[str, ServiceType],
        plans: Mapping[str, Plan],
    ) -> None:
        self.config = config
        self._types = service_types
        self._plans = plans

    @property
    def target(self) -> str:
        return self.config.url or self.config.command[0]

    async def ask(
        self, device: DeviceIdentity, choice: d.Choice, service: Service, peer: str
    ) -> Answer:
        """The hook's answer to this onboarding; HookFailed if it gave none that is usable."""
        request = {
            "hook": "onboarding",
            "peer": peer,
            "device": {
                "imei": device.imei,
                "issuer": device.issuer,
                "fingerprint": device.fingerprint,
            },
            "choice": {
                "service_type": choice.service_type,
                "plan": choice.plan,
                "billing": dict(choice.billing),
            },
            "policy": _service_json(service),
        }
        data = json.dumps(request).encode()
        if self.config.url is not None:
            raw = await self._post(self.config.url, data)
        else:
            raw = await self._run(data)
        return self._answer(raw, service)

    async def _run(self, data: bytes) -> bytes:
        timeout = self.config.timeout_seconds
        try:
            process = await asyncio.create_subprocess_exec(
                *self.config.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as err:
            raise HookFailed(f"cannot run {self.target}: {err.strerror or err}") from err
        try:
            out, err_out = await asyncio.wait_for(process.communicate(data), timeout)
        except TimeoutError as err:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise HookFailed(f"{self.target} did not answer within {timeout:g} s") from err
        if process.returncode != 0:
            said = err_out.decode("utf-8", "replace").strip()[-MAX_STDERR:]
            raise HookFailed(
                f"{self.target} exited with status {process.returncode}"
                + (f": {said}" if said else "")
            )
        return out

    async def _post(self, url: str, data: bytes) -> bytes:
        timeout = self.config.timeout_seconds
        request = urllib.request.Request(  # noqa: S310 (core.toml allows http(s) only)
            url, data=data, headers={"Content-Type": "application/json"}, method="POST"
        )

        def call() -> bytes:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                body: bytes = answer.read(MAX_ANSWER + 1)
                return body

        try:
            # The socket timeout bounds each read; this bounds the whole answer.
            return await asyncio.wait_for(asyncio.to_thread(call), timeout)
        except TimeoutError as err:
            raise HookFailed(f"{url} did not answer within {timeout:g} s") from err
        except urllib.error.HTTPError as err:
            raise HookFailed(f"{url} answered HTTP {err.code} {err.reason}") from err
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise HookFailed(f"{url}: {reason}") from err

    def _answer(self, raw: bytes, service: Service) -> Answer:
        if len(raw) > MAX_ANSWER:
            raise HookFailed(f"{self.target} answered more than {MAX_ANSWER} octets")
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            shown = raw[:60].decode("utf-8", "replace")
            raise HookFailed(f"{self.target} answered no JSON: {shown!r}") from err
        if not isinstance(document, dict) or not isinstance(document.get("allow"), bool):
            raise HookFailed(
                f'{self.target}: the answer must be an object with "allow": true/false'
            )
        known = {
            "allow",
            "reason",
            "service_type",
            "plan",
            "dnn",
            "sst",
            "sd",
            "ambr_ul",
            "ambr_dl",
        }
        unknown = sorted(set(document) - known)
        if unknown:
            raise HookFailed(f"{self.target}: unknown answer fields {', '.join(unknown)}")
        reason = document.get("reason", "")
        if not isinstance(reason, str):
            raise HookFailed(f'{self.target}: "reason" must be a string')
        if not document["allow"]:
            return Answer(False, service, reason[:200] or "refused by the operator")
        return Answer(True, self._enriched(document, service), reason[:200])

    def _enriched(self, document: dict[str, Any], service: Service) -> Service:
        """The service with the hook's changes, each within what core.toml allows."""
        where = self.target
        type_name = document.get("service_type", service.service_type)
        plan_name = document.get("plan", service.plan)
        service_type = self._types.get(type_name) if isinstance(type_name, str) else None
        plan = self._plans.get(plan_name) if isinstance(plan_name, str) else None
        if service_type is None:
            raise HookFailed(f"{where}: service type {type_name!r} is not in core.toml")
        if plan is None:
            raise HookFailed(f"{where}: plan {plan_name!r} is not in core.toml")
        if plan.service_types and service_type.name not in plan.service_types:
            raise HookFailed(f"{where}: plan {plan.name!r} is not for {service_type.name!r}")
        missing = [name for name in plan.requires if name not in service.billing]
        if missing:
            raise HookFailed(
                f"{where}: plan {plan.name!r} needs billing information the UE did not give: "
                + ", ".join(missing)
            )
        changed = service_type.name != service.service_type
        base = service_type if changed else None
        sst = document.get("sst", base.sst if base else service.sst)
        sd = document.get("sd", base.sd if base else service.sd)
        if isinstance(sd, str):
            sd = sd.lower()
        slices = {(t.sst, t.sd) for t in self._types.values()}
        if (sst, sd) not in slices:
            raise HookFailed(f"{where}: S-NSSAI {sst}/{sd} is not one of core.toml's")
        dnn = document.get("dnn", base.dnn if base else service.dnn)
        if dnn not in {t.dnn for t in self._types.values()}:
            raise HookFailed(f"{where}: DNN {dnn!r} is not one of core.toml's")
        ambr = {}
        for key, ceiling in (("ambr_ul", service_type.ambr_ul), ("ambr_dl", service_type.ambr_dl)):
            given = document.get(key, ceiling if changed else getattr(service, key))
            try:
                rate = parse_bitrate(given) if not isinstance(given, bool) else -1
            except (ValueError, TypeError) as err:
                raise HookFailed(f"{where}: {key} {given!r}: {err}") from err
            if not 0 < rate <= ceiling:
                raise HookFailed(
                    f"{where}: {key} {given!r} is above service type {service_type.name!r}'s "
                    f"{ceiling} bit/s, or not positive"
                )
            ambr[key] = rate
        return dataclasses.replace(
            service,
            service_type=service_type.name,
            plan=plan.name,
            sst=int(sst),
            sd=sd,
            dnn=str(dnn),
            ambr_ul=ambr["ambr_ul"],
            ambr_dl=ambr["ambr_dl"],
        )


def _service_json(service: Service) -> dict[str, Any]:
    return {
        "service_type": service.service_type,
        "plan": service.plan,
        "sst": service.sst,
        "sd": service.sd,
        "dnn": service.dnn,
        "ambr_ul": service.ambr_ul,
        "ambr_dl": service.ambr_dl,
    }


async def consult(
    connection: Connection,
    hook: OnboardingHook,
    device: DeviceIdentity,
    choice: d.Choice,
    service: Service,
) -> Service:
    """The service to commit after ``hook``'s answer; Refused if it denies (or fails, under
    ``on_error = "deny"``). Logs one line with the latency and writes one audit event."""
    started = time.monotonic()
    try:
        answer = await hook.ask(device, choice, service, connection.peer)
    except HookFailed as err:
        seconds = time.monotonic() - started
        deny = hook.config.on_error is HookFailure.DENY
        then = "onboarding denied (on_error = deny)" if deny else "the policy's answer stands"
        detail = f"hook {hook.target} failed: {err.message}; {then}"
        connection.note("hook", detail, "failed", seconds=seconds)
        await connection.event(AUDIT_KIND, EventOutcome.FAILURE, f"{detail} ({seconds:.3f} s)")
        if deny:
            raise Refused(
                Refusal.HOOK_FAILED,
                detail,
                dialogue_cause=d.DialogueCause.INTERNAL,
                told=FAILED_TOLD,
            ) from err
        return service
    seconds = time.monotonic() - started
    got = answer.service
    if answer.allow:
        detail = (
            f"hook {hook.target} allowed: service {got.service_type}, plan {got.plan}, "
            f"DNN {got.dnn}, S-NSSAI {got.sst}/{got.sd or '-'}, AMBR {got.ambr_ul}/{got.ambr_dl}"
            + (f" ({answer.reason})" if answer.reason else "")
        )
        connection.note("hook", detail, seconds=seconds)
        await connection.event(AUDIT_KIND, EventOutcome.SUCCESS, f"{detail} ({seconds:.3f} s)")
        return got
    detail = f"hook {hook.target} denied: {answer.reason}"
    connection.note("hook", detail, "refused", seconds=seconds)
    await connection.event(AUDIT_KIND, EventOutcome.FAILURE, f"{detail} ({seconds:.3f} s)")
    raise Refused(
        Refusal.HOOK_DENIED,
        detail,
        dialogue_cause=d.DialogueCause.DENIED,
        told=answer.reason,
    )
