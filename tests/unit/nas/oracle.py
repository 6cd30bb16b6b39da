"""pycrate as an independent oracle for the NAS codec (test-only).

:func:`pycrate_fields` parses a PDU with ``pycrate_mobile.NAS5G.parse_NAS5G`` and translates
pycrate's view of every IE into the codec's value types, field by field, so a test can compare
*values* (not bytes) with what the codec meant to encode. :func:`pycrate_build` goes the other
way: it builds the pycrate message from a codec message's values with pycrate's own setters
and returns pycrate's bytes, for the codec to decode.

Two pycrate 0.8.1 quirks are worked around, both on the pycrate side:

* Its LV-E wrapper does not consume a SUCI in NAI form (it logs "uncorrect decoding" and
  leaves the raw octets), so such contents are parsed with pycrate's ``FGSID`` directly.
* Its BCD encoder fills a routing indicator shorter than 4 digits with 0 nibbles where
  TS 24.501 9.11.3.4 says 1111, so the routing indicator is handed to pycrate as octets.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from pycrate_mobile import TS24501_FGMM as fgmm
from pycrate_mobile.NAS5G import parse_NAS5G
from pycrate_mobile.TS24501_IE import FGSID

from dynsub_cli import nas

# pycrate warns through logging when it meets the NAI quirk above; the tests check values.
logging.getLogger("pycrate_mobile").setLevel(logging.ERROR)

PYCRATE_CLASS: dict[type[nas.Message], Any] = {
    nas.RegistrationRequest: fgmm.FGMMRegistrationRequest,
    nas.RegistrationAccept: fgmm.FGMMRegistrationAccept,
    nas.RegistrationComplete: fgmm.FGMMRegistrationComplete,
    nas.RegistrationReject: fgmm.FGMMRegistrationReject,
    nas.AuthenticationRequest: fgmm.FGMMAuthenticationRequest,
    nas.AuthenticationResponse: fgmm.FGMMAuthenticationResponse,
    nas.AuthenticationResult: fgmm.FGMMAuthenticationResult,
    nas.AuthenticationFailure: fgmm.FGMMAuthenticationFailure,
    nas.AuthenticationReject: fgmm.FGMMAuthenticationReject,
    nas.SecurityModeCommand: fgmm.FGMMSecurityModeCommand,
    nas.SecurityModeComplete: fgmm.FGMMSecurityModeComplete,
    nas.SecurityModeReject: fgmm.FGMMSecurityModeReject,
    nas.DeregistrationRequestUeOriginating: fgmm.FGMMMODeregistrationRequest,
    nas.DeregistrationAcceptUeOriginating: fgmm.FGMMMODeregistrationAccept,
    nas.DeregistrationRequestUeTerminated: fgmm.FGMMMTDeregistrationRequest,
    nas.DeregistrationAcceptUeTerminated: fgmm.FGMMMTDeregistrationAccept,
    nas.UlNasTransport: fgmm.FGMMULNASTransport,
    nas.DlNasTransport: fgmm.FGMMDLNASTransport,
    nas.MmStatus: fgmm.FGMMStatus,
    nas.SecurityProtected: fgmm.FGMMSecProtNASMessage,
}
_CODEC_CLASS = {pycrate.__name__: ours for ours, pycrate in PYCRATE_CLASS.items()}


def fields_of(message: nas.Message) -> dict[str, object]:
    """The fields of a codec message that are present (not ``None``)."""
    assert dataclasses.is_dataclass(message)
    return {
        f.name: getattr(message, f.name)
        for f in dataclasses.fields(message)
        if getattr(message, f.name) is not None
    }


# --- pycrate -> values -----------------------------------------------------------------------


def _val(elt: Any, name: str) -> int:
    value = elt[name].get_val()
    assert isinstance(value, int)
    return value


def _ngksi(v: Any) -> nas.NgKsi:
    return nas.NgKsi(_val(v, "Value"), nas.SecurityContextType(_val(v, "TSC")))


def _registration_type(v: Any) -> nas.RegistrationType:
    return nas.RegistrationType(nas.RegistrationTypeValue(_val(v, "Value")), bool(_val(v, "FOR")))


def _plmn(elt: Any) -> tuple[str, str]:
    digits = elt.decode()
    return digits[:3], digits[3:]


def _identity(v: Any) -> object:
    if type(v).__name__ == "Buf":  # the NAI quirk: parse the contents with pycrate's FGSID
        raw = v.get_val()
        v = FGSID()
        v.from_bytes(raw)
    kind = _val(v, "Type")
    if kind == 0:
        return nas.NoIdentity()
    if kind == 1:
        fmt = _val(v, "Fmt")
        alt = v["Value"].get_alt()
        if fmt != nas.SupiFormat.IMSI:
            return nas.SuciNai(alt.get_val(), nas.SupiFormat(fmt))
        mcc, mnc = _plmn(alt["PLMN"])
        scheme = _val(alt, "ProtSchemeID")
        output = alt["Output"].get_alt()
        if scheme == nas.ProtectionScheme.NULL:
            return nas.Suci.null_scheme(mcc, mnc, output.decode(), alt["RoutingInd"].decode())
        known = scheme in nas.ProtectionScheme._value2member_map_
        return nas.Suci(
            mcc,
            mnc,
            alt["RoutingInd"].decode(),
            nas.ProtectionScheme(scheme) if known else scheme,
            _val(alt, "HNPKID"),
            output.to_bytes(),
        )
    if kind == 2:
        mcc, mnc = _plmn(v["PLMN"])
        return nas.Guti(
            mcc,
            mnc,
            _val(v, "AMFRegionID"),
            _val(v, "AMFSetID"),
            _val(v, "AMFPtr"),
            _val(v, "5GTMSI"),
        )
    if kind == 4:
        return nas.STmsi(_val(v, "AMFSetID"), _val(v, "AMFPtr"), _val(v, "5GTMSI"))
    _, text = v.decode()
    return nas.Imei(text) if kind == 3 else nas.Imeisv(text)


def _octet_of_bits(elts: list[Any], prefix: str) -> int:
    octet = 0
    for i, elt in enumerate(elts):
        assert elt._name.startswith(f"{prefix}{i}"), (elt._name, prefix, i)
        octet |= elt.get_val() << (7 - i)
    return octet


def _security_capability(v: Any) -> nas.UeSecurityCapability:
    content = v._content
    has_eps = not content[16].get_trans()
    return nas.UeSecurityCapability(
        _octet_of_bits(content[0:8], "5G-EA"),
        _octet_of_bits(content[8:16], "5G-IA"),
        _octet_of_bits(content[16:24], "EEA") if has_eps else None,
        _octet_of_bits(content[24:32], "EIA") if has_eps else None,
    )


def _nssai(v: Any) -> tuple[nas.SNssai, ...]:
    return tuple(
        nas.SNssai(d["SST"], d.get("SD"), d.get("MappedHPLMNSST"), d.get("MappedHPLMNSD"))
        for d in v.decode()
    )


def _octets(v: Any) -> bytes:
    data = v.to_bytes()
    assert isinstance(data, bytes)
    return data


_FROM_PYCRATE: dict[str, tuple[str, Callable[[Any], object]]] = {
    "NAS_KSI": ("ngksi", _ngksi),
    "5GSRegType": ("registration_type", _registration_type),
    "5GSID": ("mobile_identity", _identity),
    "NonCurrentNativeNAS_KSI": ("non_current_ngksi", _ngksi),
    "5GMMCap": ("mm_capability", _octets),
    "UESecCap": ("ue_security_capability", _security_capability),
    "NSSAI": ("requested_nssai", _nssai),
    "PayloadContainerType": (
        "payload_container_type",
        lambda v: nas.PayloadContainerType(v.get_val()),
    ),
    "PayloadContainer": ("payload_container", _octets),
    "NASContainer": ("nas_message_container", _octets),
    "5GSRegResult": (
        "registration_result",
        lambda v: nas.RegistrationResult(
            nas.RegistrationResultValue(_val(v, "Value")),
            bool(_val(v, "SMSAllowed")),
            bool(_val(v, "NSSAAPerformed")),
            bool(_val(v, "Emergency")),
            bool(_val(v, "DisasterRoaming")),
        ),
    ),
    "GUTI": ("guti", _identity),
    "AllowedNSSAI": ("allowed_nssai", _nssai),
    "ConfiguredNSSAI": ("configured_nssai", _nssai),
    "EAPMsg": ("eap_message", _octets),
    "SORTransContainer": ("sor_transparent_container", _octets),
    "5GMMCause": ("cause", lambda v: nas.MmCause(v.get_val())),
    "ABBA": ("abba", _octets),
    "RAND": ("rand", _octets),
    "AUTN": ("autn", _octets),
    "RES": ("res_star", _octets),
    "AUTS": ("auts", _octets),
    "NASSecAlgo": (
        "selected_algorithms",
        lambda v: nas.NasSecurityAlgorithms(
            nas.CipheringAlgorithm(_val(v, "CiphAlgo")),
            nas.IntegrityAlgorithm(_val(v, "IntegAlgo")),
        ),
    ),
    "IMEISVReq": ("imeisv_request", lambda v: _val(v, "Value") == 1),
    "Add5GSecInfo": (
        "additional_security_information",
        lambda v: nas.AdditionalSecurityInformation(bool(_val(v, "RINMR")), bool(_val(v, "HDP"))),
    ),
    "IMEISV": ("imeisv", _identity),
    "PEI": ("non_imeisv_pei", _identity),
    "DeregistrationType": (
        "deregistration_type",
        lambda v: nas.DeregistrationType(
            nas.AccessType(_val(v, "AccessType")),
            bool(_val(v, "ReregistrationRequired")),
            bool(_val(v, "SwitchOff")),
        ),
    ),
    "PDUSessID": ("pdu_session_id", lambda v: v.get_val()),
    "AddInfo": ("additional_information", _octets),
}
# The same pycrate IE name means another field in these messages.
_RENAMED: dict[tuple[type[nas.Message], str], str] = {
    (nas.SecurityModeCommand, "UESecCap"): "replayed_ue_security_capability"
}


def pycrate_fields(pdu: bytes) -> tuple[type[nas.Message], dict[str, object]]:
    """The message class and present fields pycrate sees in ``pdu``, as codec values."""
    parsed, err = parse_NAS5G(pdu, inner=False)
    assert err == 0, f"pycrate refused {pdu.hex()}: error {err}"
    assert parsed is not None
    cls = _CODEC_CLASS[type(parsed).__name__]
    if cls is nas.SecurityProtected:
        return cls, {
            "header_type": nas.SecurityHeaderType(parsed[0]["SecHdr"].get_val()),
            "mac": parsed["MAC"].get_val(),
            "sequence_number": parsed["Seqn"].get_val(),
            "payload": parsed["NASMessage"].get_val(),
        }
    found: dict[str, object] = {}
    for elt in parsed:
        if elt._name in ("5GMMHeader", "spare") or elt.get_trans():
            continue
        name, convert = _FROM_PYCRATE[elt._name]
        found[_RENAMED.get((cls, elt._name), name)] = convert(elt[-1])
    return cls, found


# --- values -> pycrate -----------------------------------------------------------------------


def _bits(octet: int) -> list[int]:
    return [octet >> (7 - i) & 1 for i in range(8)]


def _identity_value(value: object) -> dict[str, object]:
    if isinstance(value, nas.NoIdentity):
        return {"Type": 0}
    if isinstance(value, nas.SuciNai):
        return {"Type": 1, "Fmt": int(value.supi_format), "Value": value.nai}
    if isinstance(value, nas.Suci):
        rid = (value.routing_indicator + "FFF")[:4]  # the routing indicator quirk: as octets
        rid_octets = bytes.fromhex(rid[1] + rid[0] + rid[3] + rid[2])
        if value.protection_scheme == nas.ProtectionScheme.NULL:
            output: object = value.scheme_output  # re-set from digits in _fix_msin
        else:
            key_size = 32 if value.protection_scheme == nas.ProtectionScheme.PROFILE_A else 33
            out = value.scheme_output
            output = [out[:key_size], out[key_size:-8], out[-8:]]
        return {
            "Type": 1,
            "Fmt": 0,
            "Value": {
                "PLMN": value.mcc + value.mnc,
                "RoutingInd": rid_octets,
                "ProtSchemeID": int(value.protection_scheme),
                "HNPKID": value.home_network_public_key_id,
                "Output": output,
            },
        }
    if isinstance(value, nas.Guti):
        return {
            "Type": 2,
            "PLMN": value.mcc + value.mnc,
            "AMFRegionID": value.amf_region_id,
            "AMFSetID": value.amf_set_id,
            "AMFPtr": value.amf_pointer,
            "5GTMSI": value.tmsi,
        }
    if isinstance(value, nas.STmsi):
        return {
            "Type": 4,
            "AMFSetID": value.amf_set_id,
            "AMFPtr": value.amf_pointer,
            "5GTMSI": value.tmsi,
        }
    assert isinstance(value, nas.Imei | nas.Imeisv)
    return {"Type": 3 if isinstance(value, nas.Imei) else 5, "Digits": value.digits}


def _security_capability_value(value: nas.UeSecurityCapability) -> list[int]:
    bits = _bits(value.ea) + _bits(value.ia)
    if value.eea is not None and value.eia is not None:
        bits += _bits(value.eea) + _bits(value.eia)
    return bits


def _nssai_value(value: tuple[nas.SNssai, ...]) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    for s in value:
        d: dict[str, object] = {"SST": s.sst}
        for key, part in (
            ("SD", s.sd),
            ("MappedHPLMNSST", s.mapped_sst),
            ("MappedHPLMNSD", s.mapped_sd),
        ):
            if part is not None:
                d[key] = part
        items.append({"SNSSAI": d})
    return items


def _to_pycrate(name: str, value: Any) -> object:
    if isinstance(value, nas.NgKsi):
        return {"TSC": int(value.tsc), "Value": value.value}
    if isinstance(value, nas.RegistrationType):
        return {"FOR": int(value.follow_on_request), "Value": int(value.value)}
    if isinstance(
        value,
        nas.Suci | nas.SuciNai | nas.Guti | nas.STmsi | nas.Imei | nas.Imeisv | nas.NoIdentity,
    ):
        return _identity_value(value)
    if isinstance(value, nas.UeSecurityCapability):
        return _security_capability_value(value)
    if isinstance(value, tuple):
        return _nssai_value(value)
    if isinstance(value, nas.RegistrationResult):
        return {
            "Value": int(value.value),
            "SMSAllowed": int(value.sms_allowed),
            "NSSAAPerformed": int(value.nssaa_to_be_performed),
            "Emergency": int(value.emergency_registered),
            "DisasterRoaming": int(value.disaster_roaming),
        }
    if isinstance(value, nas.NasSecurityAlgorithms):
        return {"CiphAlgo": int(value.ciphering), "IntegAlgo": int(value.integrity)}
    if isinstance(value, nas.AdditionalSecurityInformation):
        return {
            "RINMR": int(value.retransmission_requested),
            "HDP": int(value.horizontal_derivation),
        }
    if isinstance(value, nas.DeregistrationType):
        return {
            "SwitchOff": int(value.switch_off),
            "ReregistrationRequired": int(value.re_registration_required),
            "AccessType": int(value.access_type),
        }
    if name == "imeisv_request":
        return {"Value": int(value)}
    if isinstance(value, int | bytes):
        return value if isinstance(value, bytes) else int(value)
    raise AssertionError(f"no pycrate value for {name}={value!r}")


_TO_PYCRATE_NAME = {field: ie for ie, (field, _) in _FROM_PYCRATE.items()}


def _fix_msin(element: Any, value: object) -> None:
    """Set a null-scheme MSIN with pycrate's own BCD encoder, from the digits."""
    if isinstance(value, nas.Suci) and value.protection_scheme == nas.ProtectionScheme.NULL:
        assert value.msin is not None
        element[-1]["Value"].get_alt()["Output"].get_alt().encode(value.msin)


def pycrate_builder(message: nas.Message) -> Callable[[], bytes]:
    """A function that builds ``message`` in pycrate from its values and returns the octets.

    The translation to pycrate's value dictionaries happens once, here; the returned function
    does only pycrate's work (construct from values, set the MSIN digits, ``to_bytes``), which
    is what the benchmark times.
    """
    cls = PYCRATE_CLASS[type(message)]
    if isinstance(message, nas.SecurityProtected):
        header_type = int(message.header_type)
        val: dict[str, object] = {
            "MAC": message.mac,
            "Seqn": message.sequence_number,
            "NASMessage": message.payload,
        }

        def build_protected() -> bytes:
            built = cls(val=val)
            built[0]["SecHdr"].set_val(header_type)
            data = built.to_bytes()
            assert isinstance(data, bytes)
            return data

        return build_protected
    renamed = {field: ie for (c, ie), field in _RENAMED.items() if c is type(message)}
    present = fields_of(message)
    names = {f: renamed[f] if f in renamed else _TO_PYCRATE_NAME[f] for f in present}
    val = {names[f]: _to_pycrate(f, v) for f, v in present.items()}

    def build() -> bytes:
        built = cls(val=val)
        for f, v in present.items():
            _fix_msin(built[names[f]], v)
        data = built.to_bytes()
        assert isinstance(data, bytes)
        return data

    return build


def pycrate_build(message: nas.Message) -> bytes:
    """pycrate's encoding of ``message``, built from its field values with pycrate's setters."""
    return pycrate_builder(message)()
