"""Test helper: a SoftHSM2 token in a temporary folder (SOFTHSM2_CONF points at it)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from dynsub_cli.files import write_secret

PIN = "246810"


@dataclass(frozen=True)
class Token:
    conf: Path
    label: str
    pin_file: Path


@contextmanager
def softhsm_token(folder: Path, label: str = "dynsub-test") -> Iterator[Token]:
    """A fresh token; SOFTHSM2_CONF set for this process and its children while in use."""
    tokens = folder / "tokens"
    tokens.mkdir(parents=True)
    conf = folder / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
        "slots.removable = false\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(conf))
        patch.delenv("DYNSUB_PKCS11_PIN", raising=False)
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label,
             "--pin", PIN, "--so-pin", "13579135"],
            check=True, capture_output=True, timeout=60, env=dict(os.environ),
        )  # fmt: skip
        pin_file = folder / "pin"
        write_secret(pin_file, f"{PIN}\n".encode())
        yield Token(conf, label, pin_file)
