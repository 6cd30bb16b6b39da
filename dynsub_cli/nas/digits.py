"""Digit strings packed as telephony BCD: two digits an octet, low nibble first, 0xF as filler.

TS 24.008 10.5.1.13 (PLMN identity) and TS 24.501 9.11.3.4 (MSIN, routing indicator, IMEI) all
use this packing. The functions return ``None`` on bad input instead of raising, so that each
caller can say in its own words (and with its own error class) what was wrong.
"""

from __future__ import annotations

_DIGITS = "0123456789"


def pack(digits: str) -> bytes | None:
    """Pack ``digits`` low nibble first; an odd count ends with the 0xF filler nibble."""
    if not digits.isascii() or not digits.isdigit():
        return None
    if len(digits) % 2:
        digits += "f"
    # Swapping each pair of hex digits puts the first digit of the pair in the low nibble.
    return bytes.fromhex("".join(map("".join, zip(digits[1::2], digits[0::2], strict=True))))


def unpack(data: bytes) -> str | None:
    """Unpack BCD digits; a 0xF filler is allowed only as the very last nibble."""
    text = data.hex()
    swapped = "".join(map("".join, zip(text[1::2], text[0::2], strict=True)))
    if swapped.endswith("f"):
        swapped = swapped[:-1]
    if not swapped.isdigit():
        return None
    return swapped


def pack_plmn(mcc: str, mnc: str) -> bytes | None:
    """TS 24.008 10.5.1.13: MCC digit 2|1, MNC digit 3|MCC digit 3, MNC digit 2|1."""
    if (
        len(mcc) != 3
        or len(mnc) not in (2, 3)
        or not (mcc + mnc).isascii()
        or not (mcc + mnc).isdigit()
    ):
        return None
    mnc3 = int(mnc[2]) if len(mnc) == 3 else 0xF
    return bytes(
        (
            int(mcc[1]) << 4 | int(mcc[0]),
            mnc3 << 4 | int(mcc[2]),
            int(mnc[1]) << 4 | int(mnc[0]),
        )
    )


def unpack_plmn(data: bytes) -> tuple[str, str] | None:
    """The inverse of :func:`pack_plmn` on three octets; ``None`` if a nibble is not a digit."""
    a, b, c = data[0], data[1], data[2]
    nibbles = (a & 0xF, a >> 4, b & 0xF, c & 0xF, c >> 4)
    if max(nibbles) > 9:
        return None
    mcc = f"{nibbles[0]}{nibbles[1]}{nibbles[2]}"
    mnc = f"{nibbles[3]}{nibbles[4]}"
    mnc3 = b >> 4
    if mnc3 != 0xF:
        if mnc3 > 9:
            return None
        mnc += _DIGITS[mnc3]
    return mcc, mnc
