"""Per-message encode and decode time of dynsub's NAS codec against pycrate, same messages.

Run: ``python -m benchmarks.nas_codec`` (from the project root, test extra installed).

What is timed, per message of tests/unit/nas/samples.py (the rich sample of every message type
and the four security protected ones):

* dynsub encode: ``encode(message)``; dynsub decode: ``decode(pdu)`` (full typed values).
* pycrate encode: build from values + ``to_bytes``: ``FGMM...(val={...})`` with the value
  dictionaries prepared beforehand, then ``to_bytes()``.
* pycrate decode: parse + get_val: ``parse_NAS5G(pdu, inner=False)`` then ``get_val()``.

Each figure is the best of 5 repeats of a timeit loop sized to about 0.1 s; the ratio is
pycrate time / dynsub time (higher is better for dynsub; the target is 20x or more).
"""

from __future__ import annotations

import math
import timeit
from collections.abc import Callable

from pycrate_mobile.NAS5G import parse_NAS5G

from dynsub_cli.nas import Message, decode, encode
from tests.unit.nas.oracle import pycrate_builder
from tests.unit.nas.samples import PROTECTED, RICH


def _best_us(func: Callable[[], object]) -> float:
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    number = max(1, number // 2)  # autorange aims at 0.2 s; half of that is enough
    return min(timer.repeat(repeat=5, number=number)) / number * 1e6


def _pycrate_decode(pdu: bytes) -> Callable[[], object]:
    def run() -> object:
        parsed, err = parse_NAS5G(pdu, inner=False)
        assert err == 0
        return parsed.get_val()

    return run


def _row(message: Message) -> tuple[str, float, float, float, float]:
    pdu = encode(message)
    build = pycrate_builder(message)
    assert build() == pdu, f"pycrate builds other octets for {type(message).__name__}"
    ours_enc = _best_us(lambda: encode(message))
    ours_dec = _best_us(lambda: decode(pdu))
    theirs_enc = _best_us(build)
    theirs_dec = _best_us(_pycrate_decode(pdu))
    return type(message).__name__, ours_enc, theirs_enc, ours_dec, theirs_dec


def main() -> None:
    rows = [_row(m) for m in RICH + PROTECTED]
    header = (
        f"{'message':36} {'enc us':>8} {'pycrate':>9} {'ratio':>7}"
        f" {'dec us':>8} {'pycrate':>9} {'ratio':>7}"
    )
    print("NAS codec: dynsub vs pycrate (pycrate encode = build from values + to_bytes;")
    print("pycrate decode = parse_NAS5G(inner=False) + get_val); times in microseconds")
    print(header)
    print("-" * len(header))
    enc_ratios, dec_ratios = [], []
    for name, ours_enc, theirs_enc, ours_dec, theirs_dec in rows:
        enc_ratios.append(theirs_enc / ours_enc)
        dec_ratios.append(theirs_dec / ours_dec)
        print(
            f"{name:36} {ours_enc:8.2f} {theirs_enc:9.1f} {enc_ratios[-1]:6.0f}x"
            f" {ours_dec:8.2f} {theirs_dec:9.1f} {dec_ratios[-1]:6.0f}x"
        )
    print("-" * len(header))

    def geomean(values: list[float]) -> float:
        return math.exp(sum(math.log(v) for v in values) / len(values))

    print(
        f"{'geometric mean ratio':36} {'':8} {'':9} {geomean(enc_ratios):6.0f}x"
        f" {'':8} {'':9} {geomean(dec_ratios):6.0f}x"
    )
    print(
        f"{'smallest ratio':36} {'':8} {'':9} {min(enc_ratios):6.0f}x"
        f" {'':8} {'':9} {min(dec_ratios):6.0f}x   (target: 20x)"
    )


if __name__ == "__main__":
    main()
