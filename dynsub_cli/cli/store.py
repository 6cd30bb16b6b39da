"""`dynsub store`."""

from __future__ import annotations

import click


@click.group()
def store() -> None:
    """Inspect and manage the subscription store of a core."""
