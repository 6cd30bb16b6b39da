"""EAP-TLS 1.3 key derivation (RFC 9190 2.3) and the result of a completed exchange."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from cryptography import x509

from dynsub_cli.eap.openssl import TlsConnection
from dynsub_cli.eap.packet import Type

T = TypeVar("T")

# RFC 9190 2.3: the exporter labels; the context is the one-octet Type-Code 0x0D.
KEY_MATERIAL_LABEL = b"EXPORTER_EAP_TLS_Key_Material"
METHOD_ID_LABEL = b"EXPORTER_EAP_TLS_Method-Id"
TLS12_LABEL = b"client EAP encryption"  # RFC 5216 2.3
TYPE_CODE = bytes([Type.TLS])
KEY_MATERIAL_LEN = 128  # MSK (64) || EMSK (64), from ONE exporter call
METHOD_ID_LEN = 64


@dataclass(frozen=True, eq=False)  # eq=False: keys are compared with hmac.compare_digest
class Result(Generic[T]):
    """What a successful EAP-TLS exchange leaves behind, on either side.

    ``peer_identity`` is whatever the caller's verifier returned for the other side's chain
    (a ``DeviceIdentity`` from ``dynsub_cli.pki.verify.verify_device`` on the core, ``None``
    from ``verify_core`` on the UE). ``msk``/``emsk`` never appear in ``repr``.
    """

    msk: bytes = field(repr=False)
    emsk: bytes = field(repr=False)
    method_id: bytes
    peer_chain: tuple[x509.Certificate, ...]
    peer_identity: T
    tls_version: str
    cipher: str

    @property
    def session_id(self) -> bytes:
        """RFC 9190 2.3: Session-Id = Type-Code || Method-Id (65 octets)."""
        return TYPE_CODE + self.method_id

    @property
    def kausf(self) -> bytes:
        """TS 33.501 B.2.1.1: KAUSF is the most significant 256 bits of the EMSK."""
        return self.emsk[:32]


def derive(tls: TlsConnection, chain: list[x509.Certificate], identity: T) -> Result[T]:
    """Export the keys of a completed TLS 1.3 handshake (RFC 9190 2.3)."""
    if tls.version == "TLSv1.2":
        # RFC 5216 2.3: Key_Material = TLS-PRF-128(master, "client EAP encryption", randoms).
        material = tls.export(TLS12_LABEL, KEY_MATERIAL_LEN, None)
        method_id = tls.randoms
    else:
        material = tls.export(KEY_MATERIAL_LABEL, KEY_MATERIAL_LEN, TYPE_CODE)
        method_id = tls.export(METHOD_ID_LABEL, METHOD_ID_LEN, TYPE_CODE)
    return Result(
        msk=material[:64],
        emsk=material[64:],
        method_id=method_id,
        peer_chain=tuple(chain),
        peer_identity=identity,
        tls_version=tls.version,
        cipher=tls.cipher,
    )
