"""IMEIs: Type Allocation Code + serial number + Luhn check digit, and their URN form.

TS 23.003 6.2.1: an IMEI is 15 digits, TAC (8) + SNR (6) + CD (1); the check digit is computed
with the Luhn formula over the 14 other digits (TS 23.003 Annex B). RFC 7254 writes it as the
URN ``urn:gsma:imei:TTTTTTTT-SSSSSS-C``, which the device certificate carries in its
subjectAltName. RFC 7254's grammar names the last digit "spare" (sent as 0 by a UE over the air);
the factory certificate puts the Luhn check digit there, so that the URN alone is checkable.
"""

from __future__ import annotations

import re

from dynsub_cli.errors import BadInput

TAC_DIGITS = 8
SNR_DIGITS = 6
SNR_MAX = 10**SNR_DIGITS - 1
URN_PREFIX = "urn:gsma:imei:"

_IMEI = re.compile(r"[0-9]{15}")
_TAC = re.compile(r"[0-9]{8}")
# RFC 7254 section 4: imeival = tac "-" snr "-" spare, all decimal digits.
_URN = re.compile(r"urn:gsma:imei:([0-9]{8})-([0-9]{6})-([0-9])")
_DOUBLED = str.maketrans("0123456789", "0246813579")  # digit sum of 2 * d


def luhn_digit(digits: str) -> str:
    """The Luhn check digit for ``digits`` (TS 23.003 Annex B for the 14 IMEI digits).

    TS 23.003 B.2: label the digits D14 ... D1 from the left; D1, D3, ... D13 are doubled and the
    digits of the products summed with the others; the check digit brings the total to a
    multiple of ten.
    """
    if not digits.isdigit() or not digits.isascii():
        raise BadInput(f"{digits!r}: a Luhn check digit needs decimal digits only")
    backwards = digits[::-1]
    # The doubled digits, each replaced by the digit sum of its double (7 -> 14 -> 5), then
    # all digits summed: a translate and one sum instead of a Python loop per digit (minting
    # computes one per device).
    total = sum(map(int, backwards[0::2].translate(_DOUBLED) + backwards[1::2]))
    return str((10 - total % 10) % 10)


def check_tac(tac: str) -> None:
    """Raise BadInput unless ``tac`` is a Type Allocation Code: exactly eight decimal digits."""
    if not _TAC.fullmatch(tac):
        raise BadInput(f"TAC {tac!r}: a Type Allocation Code is exactly 8 decimal digits")


def make_imei(tac: str, snr: int) -> str:
    """The IMEI for serial ``snr`` within ``tac``, with its check digit."""
    check_tac(tac)
    if not 0 <= snr <= SNR_MAX:
        raise BadInput(f"serial number {snr}: must be between 0 and {SNR_MAX} (6 digits)")
    body = f"{tac}{snr:06d}"
    return body + luhn_digit(body)


def check_imei(imei: str) -> None:
    """Raise BadInput unless ``imei`` is 15 digits whose last is the right Luhn check digit."""
    if not _IMEI.fullmatch(imei):
        raise BadInput(f"IMEI {imei!r}: an IMEI is exactly 15 decimal digits (TAC, SNR, CD)")
    expected = luhn_digit(imei[:14])
    if imei[14] != expected:
        raise BadInput(f"IMEI {imei}: check digit is {imei[14]}, the Luhn formula gives {expected}")


def is_valid_imei(imei: str) -> bool:
    """True when ``imei`` passes :func:`check_imei`."""
    return bool(_IMEI.fullmatch(imei)) and imei[14] == luhn_digit(imei[:14])


def imei_urn(imei: str) -> str:
    """RFC 7254 URN of ``imei`` (the check digit is not verified here; see check_imei)."""
    if not _IMEI.fullmatch(imei):
        raise BadInput(f"IMEI {imei!r}: an IMEI is exactly 15 decimal digits (TAC, SNR, CD)")
    return f"{URN_PREFIX}{imei[:8]}-{imei[8:14]}-{imei[14]}"


def parse_imei_urn(urn: str) -> str:
    """The 15 IMEI digits of an RFC 7254 URN (the check digit is not verified here)."""
    match = _URN.fullmatch(urn)
    if match is None:
        raise BadInput(f"{urn!r}: not an IMEI URN of the form urn:gsma:imei:TTTTTTTT-SSSSSS-C")
    return "".join(match.groups())


def split(imei: str) -> tuple[str, int]:
    """(TAC, SNR) of a 15-digit IMEI."""
    if not _IMEI.fullmatch(imei):
        raise BadInput(f"IMEI {imei!r}: an IMEI is exactly 15 decimal digits (TAC, SNR, CD)")
    return imei[:8], int(imei[8:14])
