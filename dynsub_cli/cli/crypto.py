"""`dynsub crypto`."""

from __future__ import annotations

import click


@click.group()
def crypto() -> None:
    """3GPP functions by hand: Milenage, SUCI conceal/deconceal, key derivations."""
