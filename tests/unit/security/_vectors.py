"""Load the published vectors of tests/vectors/ (see its README for the source of each)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parents[2] / "vectors"


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def h(value: str) -> bytes:
    return bytes.fromhex(value)
