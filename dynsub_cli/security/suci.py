"""SUCI: the concealed SUPI (TS 33.501 6.12.2 and Annex C; TS 23.003 2.2B; TS 29.503).

A :class:`Suci` holds the fields of TS 23.003 2.2B. Its ``scheme_output`` is always octets:

- null scheme, IMSI: the MSIN in packed BCD (TS 24.501 Figure 9.11.3.4.3a, F filler), e.g.
  MSIN 001002086 -> ``00012080f6`` (TS 33.501 C.4.2.1);
- null scheme, NAI: the username part in UTF-8 (C.4.2.2);
- Profiles A/B: ephemeral public key || ciphertext || MAC tag (C.3.2), where the scheme input
  is the BCD MSIN (IMSI) or the UTF-8 username (NAI; C.3.1, TS 33.220 B.2.1.2).

Home network identifier: for an IMSI, ``mcc`` and ``mnc``; for a network specific identifier
(NAI, SUPI type 1) TS 23.003 2.2B makes it the realm, kept in ``realm`` (``mcc``/``mnc`` are
then empty). This is dynsub's choice of representation; the spec defines only the content.

Text forms:

- :meth:`Suci.to_string` / :func:`parse`: the TS 29.503 SUCI string
  ``suci-0-<mcc>-<mnc>-<routing indicator>-<scheme>-<key id>-<scheme output>`` (IMSI) or
  ``suci-1-<realm>-<routing indicator>-<scheme>-<key id>-<scheme output>`` (NAI). The scheme
  output is hex for Profiles A/B and, as TS 29.503 writes it for the null scheme, the MSIN
  digits or the username in clear.
- :meth:`Suci.to_nai`: the NAI form of TS 23.003 2.2B,
  ``type0.rid678.schid1.hnkey27.ecckey<hex>.cip<hex>.mac<hex>@5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org``.

SUPIs are written in the TS 29.571 string form: ``imsi-<digits>`` or ``nai-<user@realm>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from dynsub_cli.errors import BadInput
from dynsub_cli.nas import ies
from dynsub_cli.nas.enums import ProtectionScheme
from dynsub_cli.security import ecies


class SupiType(IntEnum):
    """SUPI types of TS 23.003 2.2B."""

    IMSI = 0
    NAI = 1  # network specific identifier


def bcd_encode(digits: str) -> bytes:
    """Packed BCD, first digit in the low nibble, F filler (TS 24.501 Fig. 9.11.3.4.3a)."""
    if not re.fullmatch(r"[0-9]+", digits):
        raise BadInput(f"{digits!r}: expected decimal digits")
    padded = digits + ("F" if len(digits) % 2 else "")
    return bytes(int(padded[i + 1] + padded[i], 16) for i in range(0, len(padded), 2))


def bcd_decode(octets: bytes) -> str:
    """The inverse of :func:`bcd_encode`; a filler is allowed only in the last high nibble."""
    digits = []
    for index, octet in enumerate(octets):
        low, high = octet & 0x0F, octet >> 4
        if low > 9 or (high > 9 and not (high == 0xF and index == len(octets) - 1)):
            raise BadInput(f"BCD {octets.hex()}: not packed decimal digits")
        digits.append(str(low))
        if high != 0xF:
            digits.append(str(high))
    return "".join(digits)


@dataclass(frozen=True)
class Suci:
    """The fields of a SUCI (TS 23.003 2.2B); see the module docstring for ``realm``."""

    supi_type: int
    mcc: str
    mnc: str
    routing_indicator: str
    protection_scheme: int
    hn_key_id: int
    scheme_output: bytes
    realm: str = ""

    def __post_init__(self) -> None:
        if self.supi_type == SupiType.IMSI:
            if not re.fullmatch(r"[0-9]{3}", self.mcc) or not re.fullmatch(r"[0-9]{2,3}", self.mnc):
                raise BadInput(
                    f"SUCI: MCC {self.mcc!r} / MNC {self.mnc!r}: expected 3 / 2-3 digits"
                )
        elif self.supi_type == SupiType.NAI:
            if not self.realm or "@" in self.realm or self.realm[:1] == "-":
                raise BadInput(f"SUCI: realm {self.realm!r} is not a domain name")
        else:
            raise BadInput(f"SUCI: SUPI type {self.supi_type} is not supported (0 IMSI, 1 NAI)")
        if not re.fullmatch(r"[0-9]{1,4}", self.routing_indicator):
            raise BadInput(f"SUCI: routing indicator {self.routing_indicator!r}: 1 to 4 digits")
        if self.protection_scheme not in tuple(ProtectionScheme):
            raise BadInput(
                f"SUCI: protection scheme {self.protection_scheme} is not supported "
                "(0 null, 1 Profile A, 2 Profile B)"
            )
        if not 0 <= self.hn_key_id <= 255:
            raise BadInput(f"SUCI: home network public key id {self.hn_key_id}: expected 0..255")
        if self.protection_scheme == ProtectionScheme.NULL and self.hn_key_id != 0:
            # TS 23.003 2.2B: the key identifier is 0 with the null scheme.
            raise BadInput("SUCI: the null scheme takes home network public key id 0")

    @property
    def home_network_identifier(self) -> str:
        return f"{self.mcc}-{self.mnc}" if self.supi_type == SupiType.IMSI else self.realm

    def _clear_output(self) -> str:
        if self.supi_type == SupiType.IMSI:
            return bcd_decode(self.scheme_output)
        return self.scheme_output.decode("utf-8")

    def to_string(self) -> str:
        """The TS 29.503 SUCI string (``suci-0-001-01-0000-1-1-<hex>``)."""
        output = (
            self._clear_output()
            if self.protection_scheme == ProtectionScheme.NULL
            else self.scheme_output.hex()
        )
        return (
            f"suci-{self.supi_type}-{self.home_network_identifier}-{self.routing_indicator}-"
            f"{self.protection_scheme:x}-{self.hn_key_id}-{output}"
        )

    __str__ = to_string

    @classmethod
    def from_nas(cls, identity: ies.Suci) -> Suci:
        """The SUCI of a 5GS mobile identity (TS 24.501 9.11.3.4, SUPI format IMSI)."""
        return cls(
            supi_type=SupiType.IMSI,
            mcc=identity.mcc,
            mnc=identity.mnc,
            routing_indicator=identity.routing_indicator,
            protection_scheme=int(identity.protection_scheme),
            hn_key_id=identity.home_network_public_key_id,
            scheme_output=identity.scheme_output,
        )

    def to_nas(self) -> ies.Suci:
        """The 5GS mobile identity of an IMSI SUCI; a NAI SUCI travels as :meth:`to_nai`."""
        if self.supi_type != SupiType.IMSI:
            raise BadInput(f"SUCI {self}: only an IMSI SUCI has the binary NAS form; use to_nai()")
        return ies.Suci(
            self.mcc,
            self.mnc,
            self.routing_indicator,
            self.protection_scheme,
            self.hn_key_id,
            self.scheme_output,
        )

    def to_nai(self) -> str:
        """The NAI form of TS 23.003 2.2B (``type0.rid0.schid1.hnkey1.ecckey...@realm``)."""
        head = f"type{self.supi_type}.rid{self.routing_indicator}.schid{self.protection_scheme}"
        if self.protection_scheme == ProtectionScheme.NULL:
            username = f"{head}.userid{self._clear_output()}"
        else:
            n = ecies.eph_public_length(ProtectionScheme(self.protection_scheme))
            out = self.scheme_output
            username = (
                f"{head}.hnkey{self.hn_key_id}.ecckey{out[:n].hex()}"
                f".cip{out[n : -ecies.MAC_LENGTH].hex()}.mac{out[-ecies.MAC_LENGTH :].hex()}"
            )
        realm = (
            f"5gc.mnc{self.mnc.zfill(3)}.mcc{self.mcc}.3gppnetwork.org"
            if self.supi_type == SupiType.IMSI
            else self.realm
        )
        return f"{username}@{realm}"


_IMSI_SUCI = re.compile(
    r"suci-0-(?P<mcc>[0-9]{3})-(?P<mnc>[0-9]{2,3})-(?P<rid>[0-9]{1,4})-(?P<scheme>[0-9a-fA-F])"
    r"-(?P<key>[0-9]{1,3})-(?P<out>[^-]+)"
)
# A realm may hold hyphens, and so may a null-scheme username: the TS 29.503 form is then
# ambiguous. We read it right to left first (realm as long as possible, output without "-",
# always right for Profiles A/B whose output is hex), and left to right (realm as short as
# possible) only if that fails, e.g. for a null-scheme username with a hyphen.
_NAI_SUCI_RIGHT = re.compile(
    r"suci-1-(?P<realm>[^@\s]+)-(?P<rid>[0-9]{1,4})-(?P<scheme>[0-9a-fA-F])"
    r"-(?P<key>[0-9]{1,3})-(?P<out>[^-]+)"
)
_NAI_SUCI_LEFT = re.compile(
    r"suci-1-(?P<realm>[^@\s]+?)-(?P<rid>[0-9]{1,4})-(?P<scheme>[0-9a-fA-F])"
    r"-(?P<key>[0-9]{1,3})-(?P<out>.+)"
)


def parse(text: str) -> Suci:
    """Read a TS 29.503 SUCI string (the form :meth:`Suci.to_string` writes)."""
    match = (
        _IMSI_SUCI.fullmatch(text)
        or _NAI_SUCI_RIGHT.fullmatch(text)
        or _NAI_SUCI_LEFT.fullmatch(text)
    )
    if match is None:
        raise BadInput(
            f"SUCI {text!r}: expected suci-0-<mcc>-<mnc>-<routing indicator>-<scheme>-<key id>-"
            "<output> or suci-1-<realm>-<routing indicator>-<scheme>-<key id>-<output>"
        )
    groups = match.groupdict()
    supi_type = SupiType.IMSI if text.startswith("suci-0-") else SupiType.NAI
    scheme = int(groups["scheme"], 16)
    out = groups["out"]
    if scheme == ProtectionScheme.NULL:
        output = bcd_encode(out) if supi_type == SupiType.IMSI else out.encode("utf-8")
    else:
        try:
            output = bytes.fromhex(out)
        except ValueError as err:
            raise BadInput(f"SUCI {text!r}: scheme output {out!r} is not hex") from err
    return Suci(
        supi_type=supi_type,
        mcc=groups.get("mcc") or "",
        mnc=groups.get("mnc") or "",
        routing_indicator=groups["rid"],
        protection_scheme=scheme,
        hn_key_id=int(groups["key"]),
        scheme_output=output,
        realm=groups.get("realm") or "",
    )


def _split_supi(supi: str, mnc_length: int) -> tuple[SupiType, str, str, str, bytes]:
    """(type, mcc, mnc, realm, scheme input) of a SUPI in the TS 29.571 string form."""
    if supi.startswith("imsi-"):
        digits = supi[5:]
        if mnc_length not in (2, 3):
            raise BadInput(f"MNC length {mnc_length}: expected 2 or 3")
        if not re.fullmatch(r"[0-9]{6,15}", digits) or len(digits) <= 3 + mnc_length:
            raise BadInput(f"SUPI {supi!r}: an IMSI has 6 to 15 digits (MCC, MNC, MSIN)")
        mcc, mnc, msin = digits[:3], digits[3 : 3 + mnc_length], digits[3 + mnc_length :]
        return SupiType.IMSI, mcc, mnc, "", bcd_encode(msin)
    nai = supi[4:] if supi.startswith("nai-") else supi
    username, at, realm = nai.rpartition("@")
    if not at or not username or not realm:
        raise BadInput(f"SUPI {supi!r}: expected imsi-<digits> or nai-<username>@<realm>")
    # TS 33.501 C.3.1 and TS 33.220 B.2.1.2: the username part, as a UTF-8 string.
    return SupiType.NAI, "", "", realm, username.encode("utf-8")


def conceal(
    supi: str,
    *,
    scheme: ProtectionScheme,
    hn_public_key: bytes = b"",
    hn_key_id: int = 0,
    routing_indicator: str = "0",
    mnc_length: int = 2,
    eph_private_key: bytes | None = None,
) -> Suci:
    """The UE side: the SUCI of ``supi`` (``imsi-...`` or ``nai-user@realm``).

    ``mnc_length`` says how many digits of an IMSI after the MCC are the MNC (the IMSI alone
    does not tell). ``eph_private_key`` is for reproducing published vectors only.
    """
    supi_type, mcc, mnc, realm, scheme_input = _split_supi(supi, mnc_length)
    if scheme == ProtectionScheme.NULL:
        output, hn_key_id = scheme_input, 0
    else:
        if not hn_public_key:
            raise BadInput(
                f"SUCI {ProtectionScheme(scheme).name}: the home network public key is needed"
            )
        output = ecies.encrypt(
            ProtectionScheme(scheme), hn_public_key, scheme_input, eph_private_key
        )
    return Suci(
        supi_type=supi_type,
        mcc=mcc,
        mnc=mnc,
        routing_indicator=routing_indicator,
        protection_scheme=scheme,
        hn_key_id=hn_key_id,
        scheme_output=output,
        realm=realm,
    )


def deconceal(suci: Suci, hn_keys: Mapping[int, ecies.HomeNetworkKey]) -> str:
    """The home network side (SIDF): the SUPI in TS 29.571 form (``imsi-...``/``nai-...``).

    ``hn_keys`` maps home network public key ids to private keys. An unknown key id or a key
    of the wrong profile raises BadInput; a MAC that does not verify, AuthenticationError.
    """
    if suci.protection_scheme == ProtectionScheme.NULL:
        scheme_input = suci.scheme_output
    else:
        key = hn_keys.get(suci.hn_key_id)
        if key is None:
            known = ", ".join(str(k) for k in sorted(hn_keys)) or "none"
            raise BadInput(
                f"SUCI names home network public key id {suci.hn_key_id}, which is not "
                f"configured (known ids: {known}); check the home network keys of the core"
            )
        if key.scheme != suci.protection_scheme:
            raise BadInput(
                f"SUCI uses {ProtectionScheme(suci.protection_scheme).name} but home network key "
                f"{suci.hn_key_id} is a {key.scheme.label} key"
            )
        scheme_input = ecies.decrypt(key, suci.scheme_output)
    if suci.supi_type == SupiType.IMSI:
        return f"imsi-{suci.mcc}{suci.mnc}{bcd_decode(scheme_input)}"
    try:
        username = scheme_input.decode("utf-8")
    except UnicodeDecodeError as err:
        raise BadInput("SUCI: the concealed username is not UTF-8") from err
    return f"nai-{username}@{suci.realm}"


# --- the onboarding identity ---------------------------------------------------------------
#
# TS 33.501 I.9.2.1: before it has a subscription, the UE identifies itself with an onboarding
# SUCI derived from its Default UE credentials, here its factory certificate. dynsub's
# onboarding SUPI is a NAI whose username names the IMEI of the certificate, in a realm under
# the reserved ".invalid" TLD (RFC 2606) so that it can never be mistaken for a routable
# home network; the SUCI is its null-scheme NAI form (TS 23.003 2.2B): the identity is not
# secret, the certificate that proves it is sent inside TLS 1.3 (encrypted) anyway.

ONBOARDING_REALM = "onboarding.dynsub.invalid"
_ONBOARDING_NAI = re.compile(
    r"type1\.rid[0-9]{1,4}\.schid0\.useridimei-(?P<imei>[0-9]{15})@" + re.escape(ONBOARDING_REALM)
)


def onboarding_suci(imei: str) -> Suci:
    """The null-scheme SUCI of the onboarding SUPI ``nai-imei-<IMEI>@onboarding.dynsub.invalid``."""
    return Suci(
        supi_type=SupiType.NAI,
        mcc="",
        mnc="",
        routing_indicator="0",
        protection_scheme=ProtectionScheme.NULL,
        hn_key_id=0,
        scheme_output=f"imei-{imei}".encode(),
        realm=ONBOARDING_REALM,
    )


def onboarding_identity(nai: str) -> tuple[str, str] | None:
    """(IMEI, onboarding SUPI) of an onboarding SUCI in NAI form; None if it is not one."""
    found = _ONBOARDING_NAI.fullmatch(nai)
    if found is None:
        return None
    return found["imei"], f"nai-imei-{found['imei']}@{ONBOARDING_REALM}"
