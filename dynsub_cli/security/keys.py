"""The 5G key hierarchy of TS 33.501 Annex A, each key one call of the TS 33.220 KDF.

```
K (USIM/ARPF) --Milenage--> CK, IK
CK || IK --A.2--> KAUSF (5G AKA)       EMSK[0:32] --B.2.1.2/6.1.3.1--> KAUSF (EAP-TLS)
KAUSF --A.6--> KSEAF --A.7--> KAMF --A.8--> KNASenc, KNASint
CK || IK --A.4--> RES*/XRES*  --A.5--> HRES*/HXRES*
```

Inputs are raw octets; character strings (serving network name, SUPI) are passed as ``str``
and encoded as TS 33.220 B.2.1.2 says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum
from hashlib import sha256

from dynsub_cli.errors import BadInput
from dynsub_cli.security._octets import require
from dynsub_cli.security.kdf import FC, encode_string, kdf

#: TS 33.501 A.7.1: the SEAF sets ABBA to 0x0000 (the only value defined so far).
DEFAULT_ABBA = b"\x00\x00"


class AlgorithmType(IntEnum):
    """Algorithm type distinguishers of TS 33.501 Table A.8-1."""

    N_NAS_ENC = 0x01
    N_NAS_INT = 0x02
    N_RRC_ENC = 0x03
    N_RRC_INT = 0x04
    N_UP_ENC = 0x05
    N_UP_INT = 0x06


def serving_network_name(mcc: str, mnc: str) -> str:
    """``5G:mnc<MNC>.mcc<MCC>.3gppnetwork.org`` (TS 24.501 9.12.1, TS 33.501 6.1.1.4.1).

    The MNC is always three digits here: a two-digit MNC gets a leading zero (TS 24.501 9.12.1
    and TS 23.003 28.2, the same rule as the home network domain).
    """
    if not re.fullmatch(r"[0-9]{3}", mcc):
        raise BadInput(f"MCC {mcc!r}: expected 3 decimal digits")
    if not re.fullmatch(r"[0-9]{2,3}", mnc):
        raise BadInput(f"MNC {mnc!r}: expected 2 or 3 decimal digits")
    return f"5G:mnc{mnc.zfill(3)}.mcc{mcc}.3gppnetwork.org"


def supi_kdf_string(supi: str) -> str:
    """The SUPI as the KAMF derivation wants it (TS 33.501 A.7.0).

    For an IMSI that is the digit string (TS 23.003 2.2) without the ``imsi-`` type prefix of
    the TS 29.571 string form; for a network specific identifier it is the NAI
    ``username@realm`` (TS 23.003 28.7.2) without ``nai-``. Both prefixes are accepted because
    the rest of dynsub writes SUPIs in the TS 29.571 form (``imsi-001010000000001``).
    """
    if supi.startswith("imsi-"):
        digits = supi[5:]
        if not re.fullmatch(r"[0-9]{5,15}", digits):
            raise BadInput(f"SUPI {supi!r}: an IMSI has 5 to 15 decimal digits")
        return digits
    if supi.startswith("nai-"):
        supi = supi[4:]
    if re.fullmatch(r"[0-9]{5,15}", supi):
        return supi
    if re.fullmatch(r"[^@\s]+@[^@\s]+", supi):
        return supi
    raise BadInput(
        f"SUPI {supi!r}: expected imsi-<digits>, <digits>, nai-<user@realm> or user@realm"
    )


def kausf_5g_aka(ck: bytes, ik: bytes, serving_network: str, sqn_xor_ak: bytes) -> bytes:
    """KAUSF for 5G AKA (TS 33.501 A.2): KDF(CK||IK, 0x6A, SN name, SQN xor AK). 32 octets."""
    key = require("CK", ck, 16) + require("IK", ik, 16)
    return kdf(key, FC.KAUSF, encode_string(serving_network), require("SQN xor AK", sqn_xor_ak, 6))


def kausf_eap_tls(emsk: bytes) -> bytes:
    """KAUSF after EAP-TLS: the most significant 256 bits of EMSK (TS 33.501 6.1.3.1, B.2.1)."""
    if len(emsk) < 32:
        raise BadInput(f"EMSK: expected at least 32 octets (RFC 5216: 64), got {len(emsk)}")
    return bytes(emsk[:32])


def res_star(ck: bytes, ik: bytes, serving_network: str, rand: bytes, res: bytes) -> bytes:
    """RES* (UE) or XRES* (home network), TS 33.501 A.4: 128 least significant bits."""
    key = require("CK", ck, 16) + require("IK", ik, 16)
    if not 4 <= len(res) <= 16:
        # TS 33.102 6.3.2: RES is 4 to 16 octets (Milenage gives 8).
        raise BadInput(f"RES: expected 4 to 16 octets, got {len(res)}")
    out = kdf(key, FC.RES_STAR, encode_string(serving_network), require("RAND", rand, 16), res)
    return out[16:]


def hres_star(rand: bytes, res_star_value: bytes) -> bytes:
    """HRES* (SEAF) or HXRES* (AUSF), TS 33.501 A.5: 128 LSB of SHA-256(RAND || RES*)."""
    digest = sha256(require("RAND", rand, 16) + require("RES*", res_star_value, 16)).digest()
    return digest[16:]


def kseaf(kausf: bytes, serving_network: str) -> bytes:
    """KSEAF (TS 33.501 A.6): KDF(KAUSF, 0x6C, serving network name). 32 octets."""
    return kdf(require("KAUSF", kausf, 32), FC.KSEAF, encode_string(serving_network))


def kamf(kseaf_value: bytes, supi: str, abba: bytes = DEFAULT_ABBA) -> bytes:
    """KAMF (TS 33.501 A.7): KDF(KSEAF, 0x6D, SUPI, ABBA). 32 octets."""
    if not abba:
        raise BadInput("ABBA: must not be empty (TS 33.501 A.7.1: 0x0000 by default)")
    return kdf(
        require("KSEAF", kseaf_value, 32), FC.KAMF, encode_string(supi_kdf_string(supi)), abba
    )


def algorithm_key(kamf_value: bytes, algorithm_type: AlgorithmType, algorithm_id: int) -> bytes:
    """A 128-bit algorithm key (TS 33.501 A.8): 128 LSB of KDF(KAMF, 0x69, type, id)."""
    if not 0 <= algorithm_id <= 0x0F:
        # TS 33.501 A.8: the identity sits in the four least significant bits.
        raise BadInput(f"algorithm identity {algorithm_id}: expected 0..15")
    out = kdf(
        require("KAMF", kamf_value, 32),
        FC.ALGORITHM_KEY,
        bytes([algorithm_type]),
        bytes([algorithm_id]),
    )
    return out[16:]


@dataclass(frozen=True)
class NasKeys:
    """KNASenc and KNASint for the selected algorithms (secrets: hidden from repr)."""

    k_nas_enc: bytes = field(repr=False)
    k_nas_int: bytes = field(repr=False)


def nas_keys(kamf_value: bytes, ciphering_algorithm: int, integrity_algorithm: int) -> NasKeys:
    """KNASenc and KNASint from KAMF for the selected NEA/NIA identities (TS 33.501 A.8)."""
    return NasKeys(
        k_nas_enc=algorithm_key(kamf_value, AlgorithmType.N_NAS_ENC, ciphering_algorithm),
        k_nas_int=algorithm_key(kamf_value, AlgorithmType.N_NAS_INT, integrity_algorithm),
    )
