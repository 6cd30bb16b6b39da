"""5GMM causes are shown as TS 24.501 table 9.11.3.2.1 titles them, checked against Wireshark.

Wireshark's NAS-5GS dissector carries the same table (its value strings for
``nas_5gs.mm.5gmm_cause``); every cause both know must have the same title, up to case.
"""

from __future__ import annotations

import subprocess

from dynsub_cli.nas.enums import MM_CAUSE_TITLES, MmCause, cause_title
from dynsub_cli.ue.procedure import cause_text

# Wireshark writes "deregistered"; the specification's table writes "de-registered".
SPELLING = {"Implicitly deregistered": "Implicitly de-registered"}


def _wireshark_titles() -> dict[int, str]:
    listing = subprocess.run(
        ["tshark", "-G", "values"], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    titles: dict[int, str] = {}
    for row in listing.splitlines():
        fields = row.split("\t")
        if fields[:2] == ["V", "nas_5gs.mm.5gmm_cause"]:
            titles[int(fields[2])] = SPELLING.get(fields[3], fields[3])
    return titles


def test_every_cause_has_a_title() -> None:
    assert set(MM_CAUSE_TITLES) == set(MmCause)


def test_titles_agree_with_wireshark() -> None:
    wireshark = _wireshark_titles()
    assert len(wireshark) > 30, "tshark lists no 5GMM causes"
    differ = {
        int(cause): (title, wireshark[cause])
        for cause, title in MM_CAUSE_TITLES.items()
        if cause in wireshark and title.lower() != wireshark[cause].lower()
    }
    assert not differ


def test_a_cause_reads_as_its_title() -> None:
    assert cause_text(7) == "5GMM cause #7 (5GS services not allowed)"
    assert cause_text(74) == "5GMM cause #74 (Temporarily not authorized for this SNPN)"
    assert cause_text(250) == "5GMM cause #250"
    assert cause_title(250) is None
