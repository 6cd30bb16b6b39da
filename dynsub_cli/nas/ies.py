"""Value types of the NAS-5GS information elements the codec models (TS 24.501 9.11).

Each class holds the decoded meaning of one IE and nothing about its wire format; the codec
(``ies_codec``) turns them into octets and back. Octet strings whose inside the codec does not
need (RAND, AUTN, ABBA, EAP message, payload container) are plain ``bytes`` fields on the
messages instead of classes here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dynsub_cli.errors import EncodeError
from dynsub_cli.nas import digits
from dynsub_cli.nas.enums import (
    NGKSI_NO_KEY_AVAILABLE,
    AccessType,
    CipheringAlgorithm,
    IntegrityAlgorithm,
    ProtectionScheme,
    RegistrationResultValue,
    RegistrationTypeValue,
    SecurityContextType,
    SupiFormat,
)


@dataclass(frozen=True, slots=True)
class RegistrationType:
    """TS 24.501 9.11.3.7: 5GS registration type value and the follow-on request (FOR) bit."""

    value: RegistrationTypeValue
    follow_on_request: bool = False


@dataclass(frozen=True, slots=True)
class NgKsi:
    """TS 24.501 9.11.3.32: NAS key set identifier, 0-6, or 7 for "no key is available"."""

    value: int = NGKSI_NO_KEY_AVAILABLE
    tsc: SecurityContextType = SecurityContextType.NATIVE


@dataclass(frozen=True, slots=True)
class DeregistrationType:
    """TS 24.501 9.11.3.20: access type, re-registration required, switch off."""

    access_type: AccessType = AccessType.ACCESS_3GPP
    re_registration_required: bool = False
    switch_off: bool = False


# --- 5GS mobile identity (TS 24.501 9.11.3.4) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Suci:
    """A SUCI with SUPI format IMSI, in the binary form of TS 24.501 figure 9.11.3.4.3.

    ``scheme_output`` is the octets after the home network public key identifier: the MSIN in
    BCD for the null scheme, ECC ephemeral public key || ciphertext || MAC tag for Profile A/B
    (TS 33.501 C.3.4). ``protection_scheme`` is an int (a :class:`ProtectionScheme` when known).
    """

    mcc: str
    mnc: str
    routing_indicator: str = "0"
    protection_scheme: int = ProtectionScheme.NULL
    home_network_public_key_id: int = 0
    scheme_output: bytes = b""

    @classmethod
    def null_scheme(cls, mcc: str, mnc: str, msin: str, routing_indicator: str = "0") -> Suci:
        """TS 33.501 C.2: the null-scheme SUCI carries the MSIN in clear, packed as BCD."""
        packed = digits.pack(msin)
        if packed is None or not msin:
            raise EncodeError(f"MSIN {msin!r} is not a string of decimal digits")
        return cls(mcc, mnc, routing_indicator, ProtectionScheme.NULL, 0, packed)

    @property
    def msin(self) -> str | None:
        """The MSIN in clear for a null-scheme SUCI; ``None`` for a concealed one."""
        if self.protection_scheme != ProtectionScheme.NULL:
            return None
        return digits.unpack(self.scheme_output)


@dataclass(frozen=True, slots=True)
class SuciNai:
    """A SUCI whose SUPI is not an IMSI: the SUCI as a NAI (TS 23.003 28.7.3), UTF-8 on the wire.

    Used with SUPI format "network specific identifier" (TS 24.501 9.11.3.4), e.g. the
    onboarding SUCI of an SNPN (TS 23.003 28.7.12).
    """

    nai: str
    supi_format: SupiFormat = SupiFormat.NETWORK_SPECIFIC_IDENTIFIER


@dataclass(frozen=True, slots=True)
class Guti:
    """TS 24.501 9.11.3.4, TS 23.003 2.10: 5G-GUTI = PLMN, AMF region/set/pointer, 5G-TMSI."""

    mcc: str
    mnc: str
    amf_region_id: int
    amf_set_id: int
    amf_pointer: int
    tmsi: int


@dataclass(frozen=True, slots=True)
class STmsi:
    """TS 24.501 9.11.3.4: 5G-S-TMSI = AMF set ID, AMF pointer, 5G-TMSI."""

    amf_set_id: int
    amf_pointer: int
    tmsi: int


@dataclass(frozen=True, slots=True)
class Imei:
    """TS 23.003 6.2.1: the 15-digit IMEI (TAC, serial number, check digit) used as PEI."""

    digits: str


@dataclass(frozen=True, slots=True)
class Imeisv:
    """TS 23.003 6.2.2: the 16-digit IMEISV (TAC, serial number, software version number)."""

    digits: str


@dataclass(frozen=True, slots=True)
class NoIdentity:
    """TS 24.501 9.11.3.4: type of identity "no identity"."""


MobileIdentity = Suci | SuciNai | Guti | STmsi | Imei | Imeisv | NoIdentity


# --- security ------------------------------------------------------------------------------


def _algorithm_bits(algorithms: Iterable[int]) -> int:
    octet = 0
    for alg in algorithms:
        if not 0 <= alg <= 7:
            raise EncodeError(f"security algorithm {alg} is outside 0-7 (TS 24.501 9.11.3.54)")
        octet |= 0x80 >> alg
    return octet


@dataclass(frozen=True, slots=True)
class UeSecurityCapability:
    """TS 24.501 9.11.3.54: the algorithms the UE supports, one octet per family.

    In each octet bit 8 is algorithm 0 (5G-EA0, 5G-IA0, EEA0, EIA0) and bit 1 algorithm 7.
    The EPS octets are optional; ``None`` means absent.
    """

    ea: int
    ia: int
    eea: int | None = None
    eia: int | None = None

    @classmethod
    def from_algorithms(
        cls,
        ea: Iterable[int],
        ia: Iterable[int],
        eea: Iterable[int] | None = None,
        eia: Iterable[int] | None = None,
    ) -> UeSecurityCapability:
        """Build the octets from algorithm numbers, e.g. ``from_algorithms({0, 2}, {2})``."""
        return cls(
            _algorithm_bits(ea),
            _algorithm_bits(ia),
            None if eea is None else _algorithm_bits(eea),
            None if eia is None else _algorithm_bits(eia),
        )

    def supports_ea(self, algorithm: int) -> bool:
        return 0 <= algorithm <= 7 and bool(self.ea & (0x80 >> algorithm))

    def supports_ia(self, algorithm: int) -> bool:
        return 0 <= algorithm <= 7 and bool(self.ia & (0x80 >> algorithm))


@dataclass(frozen=True, slots=True)
class NasSecurityAlgorithms:
    """TS 24.501 9.11.3.34: the ciphering and integrity algorithms the AMF selected."""

    ciphering: CipheringAlgorithm
    integrity: IntegrityAlgorithm


@dataclass(frozen=True, slots=True)
class AdditionalSecurityInformation:
    """TS 24.501 9.11.3.12: RINMR (retransmit the initial NAS message) and HDP (KAMF derived)."""

    retransmission_requested: bool = False
    horizontal_derivation: bool = False


# --- registration --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegistrationResult:
    """TS 24.501 9.11.3.6: where the UE is registered, and what comes with it."""

    value: RegistrationResultValue = RegistrationResultValue.ACCESS_3GPP
    sms_allowed: bool = False
    nssaa_to_be_performed: bool = False
    emergency_registered: bool = False
    disaster_roaming: bool = False


@dataclass(frozen=True, slots=True)
class SNssai:
    """TS 24.501 9.11.2.8: S-NSSAI = slice/service type, optional slice differentiator (24 bits),
    and optionally the HPLMN S-NSSAI it maps to. A mapped SD needs an SD and a mapped SST.
    """

    sst: int
    sd: int | None = None
    mapped_sst: int | None = None
    mapped_sd: int | None = None
