"""What to try after the network refused with a 5GMM cause, where the cause alone does not say.

Apart from the root group's catch site so that only a refusal imports the NAS code points;
the core's refusal table (dynsub_cli/core/refusals.py) is what sends each cause.
"""

from __future__ import annotations

from dynsub_cli.nas.enums import MmCause

_HINTS: dict[MmCause, str] = {
    MmCause.SERVICES_5GS_NOT_ALLOWED: (
        "the operator has suspended this subscription (or barred it): on the core, "
        "`dynsub store show SUPI --config DIR/core.toml` shows its state and "
        "`dynsub store resume SUPI --config DIR/core.toml` lifts a suspension"
    ),
    MmCause.ILLEGAL_UE: (
        "the core refused the device's certificate or identity: the core's log, and "
        "`dynsub store events --imei IMEI --config DIR/core.toml`, name the rule"
    ),
    MmCause.ILLEGAL_ME: "the core's enrollment policy blocks this IMEI (enrollment.blocklist)",
    MmCause.PERMANENTLY_NOT_AUTHORIZED_FOR_SNPN: (
        "the core's enrollment policy refuses this device: "
        "`dynsub store events --imei IMEI --config DIR/core.toml` says why"
    ),
    MmCause.CONGESTION: "the core is busy or a system it relies on did not answer: try again later",
}


def hint(cause: int) -> str | None:
    """The hint for a 5GMM cause the network sent, if there is one."""
    if cause not in MmCause._value2member_map_:
        return None
    return _HINTS.get(MmCause(cause))
