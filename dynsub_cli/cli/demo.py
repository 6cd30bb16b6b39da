"""`dynsub demo`."""

from __future__ import annotations

import click


@click.command()
def demo() -> None:
    """Run the whole flow at once in a work folder."""
