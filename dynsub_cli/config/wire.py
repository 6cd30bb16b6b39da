"""What of core.toml the core puts on the wire, sized at load time with the real encoders.

A setting that cannot be encoded breaks every onboarding, and only once a UE has come as far as
the subscription offer (after EAP-TLS and NAS security). So :func:`check` builds the messages the
configuration decides (the OFFER, the largest CHOICE a UE may answer with, the largest EAP-TLS
fragment) with the codec the core uses, and refuses the file naming the key, before the core
serves. This is why the config layer imports nas: the limits are the encoder's, not a copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dynsub_cli.errors import ConfigError, EncodeError
from dynsub_cli.nas import codec, dialogue, framing
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import PayloadContainerType, SecurityHeaderType

if TYPE_CHECKING:
    from dynsub_cli.config.core import CoreConfig

#: The EAP packet size the built-in EAP-TLS peer and server fragment to
#: (dynsub_cli.eap.fragments.DEFAULT_MAX_PACKET; tests/unit/config/test_wire.py keeps them equal).
EAP_MAX_PACKET = 1500

#: A name inside a dialogue list (a plan's service types, the SUBSCRIPTION's names, a billing
#: field) is length (1 octet) | UTF-8 (docs/protocol.md section 5).
MAX_NAME_OCTETS = 0xFF
#: A dialogue field is tag (1 octet) | length (2 octets) | value.
MAX_FIELD_OCTETS = 0xFFFF


def offer(config: CoreConfig) -> dialogue.Offer:
    """The subscription offer of docs/protocol.md section 5: every service type and plan of
    core.toml, with the defaults a UE takes when it asks for nothing."""
    return dialogue.Offer(
        service_types=tuple(
            dialogue.ServiceTypeOffer(
                s.name,
                dialogue.Snssai(s.sst, bytes.fromhex(s.sd) if s.sd else None),
                s.ambr_ul,
                s.ambr_dl,
                s.description,
            )
            for s in config.service_types.values()
        ),
        plans=tuple(
            dialogue.PlanOffer(p.name, tuple(p.requires), tuple(p.service_types), p.description)
            for p in config.plans.values()
        ),
        default_service_type=config.enrollment.default_service_type,
        default_plan=config.enrollment.default_plan,
    )


def _protected(plain: m.PlainMessage) -> int:
    """Octets of ``plain`` once under NAS security (TS 24.501 9.1.1: 7 more octets)."""
    inner = codec.encode(plain)
    outer = m.SecurityProtected(
        SecurityHeaderType.INTEGRITY_PROTECTED_AND_CIPHERED, bytes(4), 0, inner
    )
    return len(codec.encode(outer))


def _transport(payload: dialogue.Message, *, uplink: bool) -> int:
    container = dialogue.encode(payload)
    kind = PayloadContainerType(dialogue.PAYLOAD_CONTAINER_TYPE)

    def carrying(octets: bytes) -> m.PlainMessage:
        return m.UlNasTransport(kind, octets) if uplink else m.DlNasTransport(kind, octets)

    try:
        return _protected(carrying(container))
    except EncodeError:  # beyond the container's 2-octet length: say by how much
        return _protected(carrying(b"\x00")) - 1 + len(container)


def offer_octets(config: CoreConfig) -> int:
    """The size of the PDU (DL NAS TRANSPORT, protected) that carries the OFFER."""
    return _transport(offer(config), uplink=False)


def largest_uplink(config: CoreConfig) -> int:
    """The largest NAS PDU a conforming UE sends while onboarding: an AUTHENTICATION RESPONSE
    with a whole EAP-TLS fragment, or the CHOICE of the longest names with every billing
    field at its longest."""
    from dynsub_cli.config.core import BILLING_FIELDS

    longest_type = max(config.service_types, key=lambda n: len(n.encode()))
    longest_plan = max(config.plans, key=lambda n: len(n.encode()))
    choice = dialogue.Choice(
        longest_type,
        longest_plan,
        tuple((name, "x" * MAX_NAME_OCTETS) for name in BILLING_FIELDS),
    )
    eap = len(codec.encode(m.AuthenticationResponse(eap_message=bytes(EAP_MAX_PACKET))))
    return max(eap, _transport(choice, uplink=True))


def check(config: CoreConfig, file: str) -> None:
    """Refuse a configuration whose OFFER, or whose UEs' answers, cannot cross the wire."""
    try:
        size = offer_octets(config)
    except ValueError as err:  # a field of its own beyond 65535 octets
        raise ConfigError(
            f"{file}: [service_types] / [plans]: the subscription offer cannot be encoded "
            f"({err}); shorten the descriptions"
        ) from err
    if size > framing.MAX_FRAME:
        raise ConfigError(
            f"{file}: [service_types] / [plans]: the subscription offer of "
            f"{len(config.service_types)} service type(s) and {len(config.plans)} plan(s) is "
            f"{size} octets; one NAS message carries at most {framing.MAX_FRAME} (the frame's "
            "2-octet length, docs/protocol.md section 1): define fewer, or shorten their "
            "descriptions"
        )
    needed = largest_uplink(config)
    if config.limits.max_frame < needed:
        raise ConfigError(
            f"{file}: [limits] max_frame: {config.limits.max_frame} is below {needed}, the "
            "largest message a UE sends while onboarding (an EAP-TLS fragment of "
            f"{EAP_MAX_PACKET} octets, or its choice of service type, plan and billing "
            "information): every onboarding would be cut off"
        )
