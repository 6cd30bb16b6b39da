"""K and OPc at rest: AES-256-GCM under the store key, bound to their row and column.

A sealed value is ``version (1) || nonce (12) || ciphertext || tag (16)``. The associated data
is ``dynsub-store|<supi>|<column>``, so a ciphertext copied to another subscription or from the
K column to the OPc column fails to open instead of silently handing out the wrong secret.
Nonces are random: 96 bits give a negligible collision chance for the few million seals a
store sees in its life (NIST SP 800-38D 8.2.2 allows 2^32 random nonces per key).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dynsub_cli.errors import StoreError
from dynsub_cli.files import read_secret, write_secret

KEY_SIZE = 32
NONCE_SIZE = 12
VERSION = 1
_LABEL = b"dynsub-store"
_KEY_CHECK_PLAINTEXT = b"dynsub store key check v1"


def generate_key() -> bytes:
    """A fresh 256-bit store key."""
    return secrets.token_bytes(KEY_SIZE)


def generate_key_file(path: Path, *, overwrite: bool = False) -> bytes:
    """Create ``path`` (0600) holding a new store key as 64 hex digits; returns the key.

    An existing key file is never replaced unless ``overwrite``: losing the key loses every
    K and OPc in the store.
    """
    key = generate_key()
    write_secret(path, key.hex().encode("ascii") + b"\n", overwrite=overwrite)
    return key


def load_key(path: Path) -> bytes:
    """Read a store key file (64 hex digits, or 32 raw bytes), readable by its owner only."""
    data = read_secret(path, "store key file")
    text = data.strip()
    if len(data) == KEY_SIZE and len(text) != 2 * KEY_SIZE:
        return data
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as err:
        raise StoreError(f"{path}: not a store key (expected 64 hex digits)") from err
    if len(key) != KEY_SIZE:
        raise StoreError(
            f"{path}: not a store key (expected 64 hex digits, found {len(text)} characters)"
        )
    return key


def _aad(supi: str, column: str) -> bytes:
    return b"|".join((_LABEL, supi.encode("ascii"), column.encode("ascii")))


class Sealer:
    """Seals and opens the secrets of one store. Never shows its key in a repr."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise StoreError(f"a store key is {KEY_SIZE} bytes, got {len(key)}")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "Sealer(<key hidden>)"

    def seal(self, supi: str, column: str, plaintext: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_SIZE)
        sealed = self._aead.encrypt(nonce, plaintext, _aad(supi, column))
        return bytes([VERSION]) + nonce + sealed

    def open(self, supi: str, column: str, blob: bytes) -> bytes:
        """The plaintext, or StoreError if the blob was altered, moved, or sealed elsewhere."""
        if len(blob) < 1 + NONCE_SIZE + 16 or blob[0] != VERSION:
            raise StoreError(f"{supi}: {column} is not a sealed value (damaged store?)")
        nonce, sealed = blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :]
        try:
            return self._aead.decrypt(nonce, sealed, _aad(supi, column))
        except InvalidTag as err:
            raise StoreError(
                f"{supi}: {column} does not decrypt under the store key: the record was "
                "tampered with, or the store key is not the one this store was written with"
            ) from err

    def key_check(self) -> bytes:
        """A sealed constant kept in the store, so a wrong key is caught when the store opens."""
        return self.seal("-", "key_check", _KEY_CHECK_PLAINTEXT)

    def check_store(self, blob: bytes | None, where: str) -> None:
        """StoreError unless the store's key check (``blob``) opens under this key."""
        if blob is None or not self.verify_key_check(blob):
            raise StoreError(
                f"{where}: the store key does not open this store; check [store] key_file "
                "in core.toml (the key that created the store is needed)"
            )

    def verify_key_check(self, blob: bytes) -> bool:
        try:
            return self.open("-", "key_check", blob) == _KEY_CHECK_PLAINTEXT
        except StoreError:
            return False


def required(sealer: Sealer | None, where: str) -> Sealer:
    """The store's sealer; StoreError for a store opened without its key."""
    if sealer is None:
        raise StoreError(f"{where}: opened without the store key; K and OPc are sealed")
    return sealer
