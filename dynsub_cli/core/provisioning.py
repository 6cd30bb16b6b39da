"""The core's business rules of the dialogue: what it offers, what it accepts, how the key is
generated and the record committed, and what the UE receives.

Values in, values out: the session (core.session) sends and receives them as dialogue
payloads (nas.dialogue); the rules come from core.toml (service types, plans, enrollment).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.serialization import Encoding

from dynsub_cli.core.network import Network
from dynsub_cli.core.refusals import Refusal
from dynsub_cli.errors import (
    AuthenticationError,
    DeviceAlreadyOnboarded,
    DynsubError,
    IssuerMismatch,
    SupiRangeExhausted,
)
from dynsub_cli.nas import dialogue as d
from dynsub_cli.pki.verify import DeviceIdentity
from dynsub_cli.security import subscription as key
from dynsub_cli.security.milenage import compute_opc
from dynsub_cli.store import Device, Outcome, Secrets, Service, Subscription


class NotAccepted(DynsubError):
    """The UE's choice or key cannot be served; carries the refusal and the dialogue cause.

    ``message`` is for the core's log and audit trail; ``told`` is what the UE reads in the
    dialogue ERROR (the offer's rules, never the operator's files or settings).
    """

    def __init__(
        self, refusal: Refusal, cause: d.DialogueCause, message: str, *, told: str | None = None
    ) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.cause = cause
        self.told = told if told is not None else message


@dataclass(frozen=True)
class Provisioned:
    """A committed subscription and what the UE receives of it."""

    outcome: Outcome
    message: d.Subscription


def _snssai(sst: int, sd: str | None) -> d.Snssai:
    return d.Snssai(sst, bytes.fromhex(sd) if sd else None)


def offer(net: Network) -> d.Offer:
    """Every service type and plan of core.toml, with the defaults a plain UE takes."""
    enrollment = net.config.enrollment
    return d.Offer(
        service_types=tuple(
            d.ServiceTypeOffer(s.name, _snssai(s.sst, s.sd), s.ambr_ul, s.ambr_dl, s.description)
            for s in net.service_types.values()
        ),
        plans=tuple(
            d.PlanOffer(p.name, tuple(p.requires), tuple(p.service_types), p.description)
            for p in net.plans.values()
        ),
        default_service_type=enrollment.default_service_type,
        default_plan=enrollment.default_plan,
    )


def accept(net: Network, choice: d.Choice) -> Service:
    """The service the UE chose, checked against the offer; NotAccepted says what is wrong."""
    service_type = net.service_types.get(choice.service_type)
    if service_type is None:
        raise NotAccepted(
            Refusal.UNKNOWN_SERVICE_TYPE,
            d.DialogueCause.UNKNOWN_SERVICE_TYPE,
            f"service type {choice.service_type!r} is not offered "
            f"(offered: {', '.join(net.service_types)})",
        )
    plan = net.plans.get(choice.plan)
    if plan is None:
        raise NotAccepted(
            Refusal.UNKNOWN_PLAN,
            d.DialogueCause.UNKNOWN_PLAN,
            f"plan {choice.plan!r} is not offered (offered: {', '.join(net.plans)})",
        )
    if plan.service_types and service_type.name not in plan.service_types:
        raise NotAccepted(
            Refusal.UNKNOWN_PLAN,
            d.DialogueCause.PLAN_NOT_FOR_SERVICE_TYPE,
            f"plan {plan.name!r} is not for service type {service_type.name!r} "
            f"(it serves: {', '.join(plan.service_types)})",
        )
    billing = {name: value for name, value in choice.billing if value.strip()}
    missing = [name for name in plan.requires if name not in billing]
    if missing:
        raise NotAccepted(
            Refusal.MISSING_BILLING_INFORMATION,
            d.DialogueCause.MISSING_BILLING_INFORMATION,
            f"plan {plan.name!r} needs billing information: {', '.join(missing)} "
            "(the UE gives it as billing information)",
        )
    return Service(
        service_type=service_type.name,
        plan=plan.name,
        sst=service_type.sst,
        ambr_ul=service_type.ambr_ul,
        ambr_dl=service_type.ambr_dl,
        sd=service_type.sd,
        dnn=service_type.dnn,
        account=billing.get("account"),
        billing=billing,
    )


def commit(
    net: Network,
    device: DeviceIdentity,
    service: Service,
    *,
    kausf: bytes,
    network_nonce: bytes,
    response: d.KeyResponse,
    peer: str,
) -> Provisioned:
    """Generate K as the UE did, check its confirmation, commit the record in one transaction.

    docs/protocol.md section 5: K = KDF(KAUSF, network nonce, UE nonce); the UE's MAC must
    match before anything is written; the SUBSCRIPTION carries the network's own MAC.
    """
    k = key.derive_subscription_key(kausf, network_nonce, response.ue_nonce)
    try:
        key.verify_key_confirmation(k, network_nonce, response.ue_nonce, response.confirmation)
    except AuthenticationError as err:
        raise _hidden(
            err, Refusal.KEY_CONFIRMATION_FAILED, d.DialogueCause.KEY_CONFIRMATION_FAILED
        ) from err
    opc = compute_opc(k, net.op)
    try:
        result = net.store.create_or_update_from_onboarding(
            Device(
                device.imei,
                device.fingerprint,
                device.issuer,
                device.certificate.public_bytes(Encoding.DER),
            ),
            service,
            Secrets(k, opc),
            supi_range=net.supi_range,
            policy=net.policy,
            amf=net.config.operator.amf,
            peer=peer,
        )
    except SupiRangeExhausted as err:
        raise _hidden(
            err, Refusal.SUPI_RANGE_EXHAUSTED, d.DialogueCause.SUPI_RANGE_EXHAUSTED
        ) from err
    except IssuerMismatch as err:
        raise _hidden(err, Refusal.ISSUER_MISMATCH, d.DialogueCause.REONBOARDING_REFUSED) from err
    except DeviceAlreadyOnboarded as err:
        raise _hidden(
            err, Refusal.ONBOARDED_MEANWHILE, d.DialogueCause.REONBOARDING_REFUSED
        ) from err
    record = result.subscription
    confirmation = key.network_confirmation(k, network_nonce, response.ue_nonce, record.supi)
    return Provisioned(result.outcome, _subscription(net, record, opc, confirmation))


def _hidden(err: DynsubError, refusal: Refusal, cause: d.DialogueCause) -> NotAccepted:
    """The refusal for ``err``: its details (store paths, settings, MACs) go to the log and the
    audit trail, the UE reads only what the refusal means."""
    return NotAccepted(refusal, cause, err.message, told=refusal.meaning)


def _subscription(
    net: Network, record: Subscription, opc: bytes, confirmation: bytes
) -> d.Subscription:
    """What the UE receives: everything for normal service but K, which it derived itself."""
    return d.Subscription(
        supi=record.supi,
        opc=opc,
        amf=record.amf,
        mcc=net.mcc,
        mnc=net.mnc,
        routing_indicator=net.config.supi.routing_indicator,
        home_network_keys=tuple(
            d.HomeNetworkKey(scheme, key_id, public) for scheme, key_id, public in net.public_keys()
        ),
        allowed_nssai=(_snssai(record.sst, record.sd),),
        ambr_uplink_bps=record.ambr_ul,
        ambr_downlink_bps=record.ambr_dl,
        service_type=record.service_type,
        plan=record.plan,
        confirmation=confirmation,
    )
