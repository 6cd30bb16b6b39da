"""Small helpers shared by the security modules: length checks and XOR."""

from __future__ import annotations

from dynsub_cli.errors import BadInput


def require(name: str, value: bytes, length: int) -> bytes:
    """Return ``value`` if it is exactly ``length`` octets, else raise BadInput naming it."""
    if not isinstance(value, bytes | bytearray):
        raise BadInput(f"{name}: expected {length} octets, got {type(value).__name__}")
    if len(value) != length:
        raise BadInput(
            f"{name}: expected {length} octets ({2 * length} hex digits), got {len(value)}"
        )
    return bytes(value)


def xor(a: bytes, b: bytes) -> bytes:
    """Octet-wise XOR of two strings of the same length."""
    if len(a) != len(b):
        raise ValueError("xor of strings of different lengths")  # a bug, not user input
    # As integers: several times faster than octet by octet, on the AKA and NAS paths.
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")
