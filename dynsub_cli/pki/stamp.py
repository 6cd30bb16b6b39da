"""Device certificates stamped from one laid out by cryptography: what batch minting signs.

Of a device certificate only six fields change from one device to the next, and each keeps its
length: the serial number (20 octets, see :func:`new_serial`), the subject's CN (the IMEI) and
serialNumber (TAC-SNR), the public key's point, the SAN's IMEI URN, and the subject key
identifier (SHA-1 of the point, RFC 5280 4.2.1.2 method 1). So :meth:`Stamp.make` has
cryptography's ``CertificateBuilder`` lay out the to-be-signed certificate of a sample device,
finds those six fields in its DER, and keeps the bytes between them; each device is then those
bytes with its own six fields put back (:meth:`Stamp.prepare`), signed by the CA's
:class:`~dynsub_cli.pki.signer.Signer` and finished by :meth:`Stamp.signed`.
That spares the builder's per-certificate Python and its parse of the result: 140 us of the
455 us of worker CPU a device cost through a token (benchmarks/mint.py), nearly a third.

Nothing here encodes a certificate of its own: every byte but the six fields is
cryptography's. :meth:`Stamp.make` checks its layout against cryptography's certificate of a
second device, byte for byte, and :meth:`Stamp.prepare` stamps only fields of the sample's
lengths, so a stamped certificate is always the one the builder would have made (the builder
signs instead whenever no stamp can be made or a device does not fit it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dynsub_cli.errors import PkiError
from dynsub_cli.pki import imei as imei_rules
from dynsub_cli.pki.issue import Subject, Template
from dynsub_cli.pki.profiles import AltName

SERIAL_OCTETS = 20  # RFC 5280 4.1.2.2: at most 20 octets


def new_serial() -> int:
    """A certificate serial of exactly 20 octets in DER: 158 random bits under a set bit 158,
    so it is positive, never has a leading zero octet, and is never guessed (CA/B BR 7.1:
    at least 64 bits from a CSPRNG)."""
    return int.from_bytes(os.urandom(SERIAL_OCTETS), "big") >> 2 | 1 << (8 * SERIAL_OCTETS - 2)


def point(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """The subjectPublicKey bits of an EC key: its uncompressed point (RFC 5480 2.2)."""
    return public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def fields(subject: Subject, key_point: bytes, serial: int) -> tuple[bytes, ...]:
    """The six fields in :data:`_NAMES` order, as their bytes appear in the DER."""
    if subject.imei is None or subject.serial_number is None:
        raise PkiError("a stamped device certificate needs the IMEI and the device serial")
    return (
        serial.to_bytes(SERIAL_OCTETS, "big"),
        key_point,
        hashlib.sha1(key_point, usedforsecurity=False).digest(),  # an identifier, not a MAC
        imei_rules.imei_urn(subject.imei).encode("ascii"),
        subject.common_name.encode("utf-8"),
        subject.serial_number.encode("utf-8"),
    )


_NAMES = ("serial", "point", "key identifier", "IMEI URN", "CN", "serialNumber")


def _der_length(size: int) -> bytes:
    """A DER length (X.690 8.1.3): short form below 128, else the octets' count first."""
    if size < 0x80:
        return bytes([size])
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _element(der: bytes, at: int) -> int:
    """Where the DER element that starts at ``at`` ends."""
    first = der[at + 1]
    if first < 0x80:
        return at + 2 + first
    count = first & 0x7F
    return at + 2 + count + int.from_bytes(der[at + 2 : at + 2 + count], "big")


@dataclass(frozen=True)
class Stamp:
    """The constant bytes of one profile's TBS certificate and the signature algorithm."""

    constants: tuple[bytes, ...]  # before each field, and after the last one
    order: tuple[int, ...]  # which of the six fields comes at each gap, by index in _NAMES
    lengths: tuple[int, ...]  # each field's length, by index in _NAMES
    algorithm: bytes  # the DER AlgorithmIdentifier of the signature

    @classmethod
    def make(
        cls,
        template: Template,
        samples: tuple[tuple[Subject, ec.EllipticCurvePublicKey], ...],
        *,
        not_before: dt.datetime,
        not_after: dt.datetime,
    ) -> Stamp | None:
        """The stamp of ``template``'s certificates with these dates, from two sample devices
        (the first laid out, the second checked); None when its certificates cannot be
        stamped (another profile, a field that is not found exactly once)."""
        if template.profile.alt_name is not AltName.IMEI_URN or len(samples) != 2:
            return None
        made = []
        for subject, public_key in samples:
            serial = new_serial()
            cert = template.issue(
                subject,
                public_key,
                not_before=not_before,
                not_after=not_after,
                serial_number=serial,
            )
            made.append((cert, fields(subject, point(public_key), serial)))
        (first, laid_out), (second, check) = made
        stamp = cls._laid_out(first.tbs_certificate_bytes, laid_out, _algorithm(first))
        if stamp is None or stamp.tbs(check) != second.tbs_certificate_bytes:
            return None
        return stamp

    @classmethod
    def _laid_out(cls, tbs: bytes, values: tuple[bytes, ...], algorithm: bytes) -> Stamp | None:
        taken: list[tuple[int, int, int]] = []  # (start, end, field index)
        # Longest first: a field inside another (the device serial is in the IMEI URN) is
        # found where the other is not.
        for index in sorted(range(len(values)), key=lambda i: -len(values[i])):
            value = values[index]
            found = []
            start = tbs.find(value)
            while start != -1:
                end = start + len(value)
                if not any(s < end and start < e for s, e, _ in taken):
                    found.append((start, end, index))
                start = tbs.find(value, start + 1)
            if len(found) != 1:
                return None
            taken.extend(found)
        taken.sort()
        constants, at = [], 0
        for start, end, _ in taken:
            constants.append(tbs[at:start])
            at = end
        constants.append(tbs[at:])
        return cls(
            constants=tuple(constants),
            order=tuple(index for _, _, index in taken),
            lengths=tuple(len(value) for value in values),
            algorithm=algorithm,
        )

    def tbs(self, values: tuple[bytes, ...]) -> bytes:
        """The TBS certificate with these :func:`fields` (each of its sample's length)."""
        for name, value, length in zip(_NAMES, values, self.lengths, strict=True):
            if len(value) != length:
                raise PkiError(f"a device's {name} is {len(value)} octets, not {length}")
        return self._join(values)

    def _join(self, values: tuple[bytes, ...]) -> bytes:
        parts = [self.constants[0]]
        for index, constant in zip(self.order, self.constants[1:], strict=True):
            parts.append(values[index])
            parts.append(constant)
        return b"".join(parts)

    def prepare(
        self, subject: Subject, public_key: ec.EllipticCurvePublicKey
    ) -> tuple[bytes, int] | None:
        """A device's TBS certificate and its new serial, for the issuer to sign and
        :meth:`signed` to finish; None when a field is not of the sample's length (a P-384
        key from a CSR on a P-256 PKI), which the builder then signs instead."""
        serial = new_serial()
        values = fields(subject, point(public_key), serial)
        if tuple(map(len, values)) != self.lengths:
            return None
        return self._join(values), serial

    def signed(self, tbs: bytes, signature: bytes) -> bytes:
        """The certificate (DER) made of a prepared TBS and the issuer's signature on it."""
        # RFC 5280 4.1: SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT
        # STRING }; the BIT STRING's first octet says no bits of the last octet are unused.
        bits = b"\x03" + _der_length(len(signature) + 1) + b"\x00" + signature
        body = tbs + self.algorithm + bits
        return b"\x30" + _der_length(len(body)) + body


def _algorithm(cert: x509.Certificate) -> bytes:
    """The signatureAlgorithm element of a certificate's DER (RFC 5280 4.1.1.2)."""
    der = cert.public_bytes(serialization.Encoding.DER)
    header = 2 + (der[1] & 0x7F if der[1] & 0x80 else 0)  # the outer SEQUENCE's tag and length
    after_tbs = _element(der, header)
    return der[after_tbs : _element(der, after_tbs)]
