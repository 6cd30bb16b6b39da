"""The enrollment vocabulary that configuration and store share.

Its own layer, below both, because ``config`` and ``store`` may not import each other: core.toml
names the re-onboarding policy (``[enrollment] reonboarding``), the store applies it
atomically, and both must mean the same values.
"""

from __future__ import annotations

from enum import StrEnum


class Reonboarding(StrEnum):
    """What a device that onboards again gets (the store applies it atomically)."""

    SAME_RECORD = "same-record"  # keep the SUPI; new K/OPc, SQN restarts
    NEW_RECORD = "new-record"  # the old record is marked "replaced"; a new SUPI is allocated
    REFUSE = "refuse"  # the device is told it is already onboarded
