"""Hypothesis strategies for every message the NAS codec handles, within the spec's ranges."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from dynsub_cli import nas


def _digits(low: int, high: int | None = None) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=low, max_size=low if high is None else high)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


octet = st.integers(0, 255)
bits24 = st.integers(0, 0xFFFFFF)
mcc = _digits(3)
mnc = _digits(2, 3)
routing_indicator = _digits(1, 4)

ngksi = st.builds(nas.NgKsi, st.integers(0, 7), st.sampled_from(nas.SecurityContextType))
null_suci = st.builds(nas.Suci.null_scheme, mcc, mnc, _digits(1, 12), routing_indicator)
concealed_suci = st.builds(
    nas.Suci,
    mcc,
    mnc,
    routing_indicator,
    st.integers(1, 15).map(
        lambda n: nas.ProtectionScheme(n) if n in nas.ProtectionScheme._value2member_map_ else n
    ),
    octet,
    st.binary(min_size=1, max_size=80),
)
suci_nai = st.builds(
    nas.SuciNai,
    st.text(min_size=1, max_size=60),
    st.sampled_from([f for f in nas.SupiFormat if f != nas.SupiFormat.IMSI]),
)
guti = st.builds(
    nas.Guti, mcc, mnc, octet, st.integers(0, 1023), st.integers(0, 63), st.integers(0, 2**32 - 1)
)
s_tmsi = st.builds(nas.STmsi, st.integers(0, 1023), st.integers(0, 63), st.integers(0, 2**32 - 1))
imei = st.builds(nas.Imei, _digits(15))
imeisv = st.builds(nas.Imeisv, _digits(16))
mobile_identity = st.one_of(
    null_suci, concealed_suci, suci_nai, guti, s_tmsi, imei, imeisv, st.just(nas.NoIdentity())
)

security_capability = st.one_of(
    st.builds(nas.UeSecurityCapability, octet, octet),
    st.builds(nas.UeSecurityCapability, octet, octet, octet),
    st.builds(nas.UeSecurityCapability, octet, octet, octet, octet),
)
snssai = st.one_of(
    st.builds(nas.SNssai, octet),
    st.builds(nas.SNssai, octet, mapped_sst=octet),
    st.builds(nas.SNssai, octet, bits24),
    st.builds(nas.SNssai, octet, bits24, octet),
    st.builds(nas.SNssai, octet, bits24, octet, bits24),
)
nssai = st.lists(snssai, min_size=1, max_size=8).map(tuple)  # 8 x 9 octets fit in 72
eap = st.binary(min_size=4, max_size=1500)
abba = st.binary(min_size=2, max_size=255)
cause = st.sampled_from(nas.MmCause)
payload_type = st.sampled_from(nas.PayloadContainerType)
container = st.binary(min_size=1, max_size=2000)

_MESSAGES: list[st.SearchStrategy[nas.Message]] = [
    st.builds(
        nas.RegistrationRequest,
        st.builds(nas.RegistrationType, st.sampled_from(nas.RegistrationTypeValue), st.booleans()),
        mobile_identity,
        ngksi,
        _optional(ngksi),
        _optional(st.binary(min_size=1, max_size=13)),
        _optional(security_capability),
        _optional(nssai),
        _optional(payload_type),
        _optional(container),
        _optional(container),
    ),
    st.builds(
        nas.RegistrationAccept,
        st.builds(
            nas.RegistrationResult,
            st.sampled_from(nas.RegistrationResultValue),
            st.booleans(),
            st.booleans(),
            st.booleans(),
            st.booleans(),
        ),
        _optional(guti),
        _optional(nssai),
        _optional(nssai),
        _optional(eap),
    ),
    st.builds(nas.RegistrationComplete, _optional(st.binary(min_size=17, max_size=100))),
    st.builds(nas.RegistrationReject, cause, _optional(eap)),
    st.builds(
        nas.AuthenticationRequest,
        ngksi,
        abba,
        _optional(st.binary(min_size=16, max_size=16)),
        _optional(st.binary(min_size=16, max_size=16)),
        _optional(eap),
    ),
    st.builds(
        nas.AuthenticationResponse, _optional(st.binary(min_size=16, max_size=16)), _optional(eap)
    ),
    st.builds(nas.AuthenticationResult, ngksi, eap, _optional(abba)),
    st.builds(nas.AuthenticationFailure, cause, _optional(st.binary(min_size=14, max_size=14))),
    st.builds(nas.AuthenticationReject, _optional(eap)),
    st.builds(
        nas.SecurityModeCommand,
        st.builds(
            nas.NasSecurityAlgorithms,
            st.sampled_from(nas.CipheringAlgorithm),
            st.sampled_from(nas.IntegrityAlgorithm),
        ),
        ngksi,
        security_capability,
        _optional(st.booleans()),
        _optional(st.builds(nas.AdditionalSecurityInformation, st.booleans(), st.booleans())),
        _optional(eap),
        _optional(abba),
    ),
    st.builds(nas.SecurityModeComplete, _optional(imeisv), _optional(container), _optional(imei)),
    st.builds(nas.SecurityModeReject, cause),
    st.builds(
        nas.DeregistrationRequestUeOriginating,
        st.builds(
            nas.DeregistrationType, st.sampled_from(nas.AccessType), st.booleans(), st.booleans()
        ),
        mobile_identity,
        ngksi,
    ),
    st.just(nas.DeregistrationAcceptUeOriginating()),
    st.builds(
        nas.DeregistrationRequestUeTerminated,
        st.builds(
            nas.DeregistrationType, st.sampled_from(nas.AccessType), st.booleans(), st.booleans()
        ),
        _optional(cause),
    ),
    st.just(nas.DeregistrationAcceptUeTerminated()),
    st.builds(
        nas.UlNasTransport,
        payload_type,
        container,
        _optional(octet),
        _optional(st.binary(min_size=1, max_size=255)),
    ),
    st.builds(
        nas.DlNasTransport,
        payload_type,
        container,
        _optional(octet),
        _optional(st.binary(min_size=1, max_size=255)),
        _optional(cause),
    ),
    st.builds(nas.MmStatus, cause),
    st.builds(
        nas.SecurityProtected,
        st.sampled_from([h for h in nas.SecurityHeaderType if h != nas.SecurityHeaderType.PLAIN]),
        st.binary(min_size=4, max_size=4),
        octet,
        st.binary(min_size=1, max_size=300),
    ),
]

#: Any message of any kind the codec handles.
messages: st.SearchStrategy[nas.Message] = st.one_of(_MESSAGES)
