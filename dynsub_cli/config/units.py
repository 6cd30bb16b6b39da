"""Values with a small syntax of their own: bit rates, IMEIs, hex strings."""

from __future__ import annotations

import re

# Decimal units, as in TS 24.501 9.11.4.14 (Session-AMBR: "1 Kbps" is 1000 bps).
BITRATE_UNITS: dict[str, int] = {
    "bps": 1,
    "kbps": 1_000,
    "mbps": 1_000_000,
    "gbps": 1_000_000_000,
    "tbps": 1_000_000_000_000,
}
_UNIT_NAMES = {"bps": "bps", "kbps": "Kbps", "mbps": "Mbps", "gbps": "Gbps", "tbps": "Tbps"}
_BITRATE = re.compile(r"^\s*(\d+)\s*([A-Za-z]+)\s*$")
#: The largest bit rate the store and the dialogue both carry: a signed 64-bit integer.
MAX_BITRATE = 2**63 - 1


def parse_bitrate(value: str | int) -> int:
    """``"1 Mbps"`` -> 1000000; an integer is already in bit/s. Raises ValueError."""
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"a bit rate must be positive, got {value}")
        return value
    match = _BITRATE.match(value)
    if not match or match.group(2).lower() not in BITRATE_UNITS:
        raise ValueError(
            f'"{value}" is not a bit rate; write a whole number and a unit, e.g. "10 Mbps" '
            "(units: bps, Kbps, Mbps, Gbps, Tbps) or an integer in bit/s"
        )
    bps = int(match.group(1)) * BITRATE_UNITS[match.group(2).lower()]
    if bps <= 0:
        raise ValueError(f"a bit rate must be positive, got {value!r}")
    return bps


def format_bitrate(bps: int) -> str:
    """The largest unit that expresses ``bps`` exactly: 1000000 -> ``"1 Mbps"``."""
    for unit in ("tbps", "gbps", "mbps", "kbps"):
        scale = BITRATE_UNITS[unit]
        if bps % scale == 0:
            return f"{bps // scale} {_UNIT_NAMES[unit]}"
    return f"{bps} bps"


def luhn_ok(digits: str) -> bool:
    """TS 23.003 B.2: the IMEI check digit is the Luhn check digit of the first 14 digits."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_imei(value: str) -> bool:
    """15 digits (TAC 8, SNR 6, check digit 1) with a valid Luhn check digit."""
    return len(value) == 15 and value.isascii() and value.isdigit() and luhn_ok(value)


def is_hex(value: str, length: int) -> bool:
    """``length`` hex digits exactly."""
    return len(value) == length and all(c in "0123456789abcdefABCDEF" for c in value)
