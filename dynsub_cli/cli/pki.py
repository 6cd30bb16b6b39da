"""`dynsub pki`."""

from __future__ import annotations

import click


@click.group()
def pki() -> None:
    """Factory PKI: CA hierarchy, device certificates in bulk, verify, show, revoke, CRL."""
