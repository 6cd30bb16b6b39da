"""docs/protocol.md says what the code does: the refusal table and the dialogue's constants."""

from __future__ import annotations

import re
from pathlib import Path

from dynsub_cli.core.refusals import Refusal
from dynsub_cli.nas import dialogue

DOC = (Path(__file__).resolve().parents[3] / "docs" / "protocol.md").read_text(encoding="utf-8")


def test_every_refusal_is_documented_with_its_cause_and_answer() -> None:
    rows = {
        m["name"]: (m["step"], int(m["cause"]), m["answer"])
        for m in re.finditer(
            r"^\| `(?P<name>\w+)` \| (?P<step>[^|]+) \| #(?P<cause>\d+) \| (?P<answer>[^|]+) \|",
            DOC,
            re.MULTILINE,
        )
    }
    expected = {r.name: (r.step, int(r.cause), r.answer.value) for r in Refusal}
    assert {k: (s.strip(), c, a.strip()) for k, (s, c, a) in rows.items()} == expected


def test_the_dialogue_constants_are_the_documented_ones() -> None:
    assert f"payload\ncontainer type {dialogue.PAYLOAD_CONTAINER_TYPE}" in DOC
    for kind in dialogue.DialogueType:
        assert f"| {int(kind)} | {kind.name} |" in DOC
