"""Hypothesis strategies for every message the NAS codec handles, within the spec's ranges."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from dynsub_cli.nas import (
    AccessType,
    AdditionalSecurityInformation,
    AuthenticationFailure,
    AuthenticationReject,
    AuthenticationRequest,
    AuthenticationResponse,
    AuthenticationResult,
    CipheringAlgorithm,
    DeregistrationAcceptUeOriginating,
    DeregistrationAcceptUeTerminated,
    DeregistrationRequestUeOriginating,
    DeregistrationRequestUeTerminated,
    DeregistrationType,
    DlNasTransport,
    Guti,
    Imei,
    Imeisv,
    IntegrityAlgorithm,
    Message,
    MmCause,
    MmStatus,
    NasSecurityAlgorithms,
    NgKsi,
    NoIdentity,
    PayloadContainerType,
    ProtectionScheme,
    RegistrationAccept,
    RegistrationComplete,
    RegistrationReject,
    RegistrationRequest,
    RegistrationResult,
    RegistrationResultValue,
    RegistrationType,
    RegistrationTypeValue,
    SecurityContextType,
    SecurityHeaderType,
    SecurityModeCommand,
    SecurityModeComplete,
    SecurityModeReject,
    SecurityProtected,
    SNssai,
    STmsi,
    Suci,
    SuciNai,
    SupiFormat,
    UeSecurityCapability,
    UlNasTransport,
)


def _digits(low: int, high: int | None = None) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=low, max_size=low if high is None else high)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


octet = st.integers(0, 255)
bits24 = st.integers(0, 0xFFFFFF)
mcc = _digits(3)
mnc = _digits(2, 3)
routing_indicator = _digits(1, 4)

ngksi = st.builds(NgKsi, st.integers(0, 7), st.sampled_from(SecurityContextType))
null_suci = st.builds(Suci.null_scheme, mcc, mnc, _digits(1, 12), routing_indicator)
concealed_suci = st.builds(
    Suci,
    mcc,
    mnc,
    routing_indicator,
    st.integers(1, 15).map(
        lambda n: ProtectionScheme(n) if n in ProtectionScheme._value2member_map_ else n
    ),
    octet,
    st.binary(min_size=1, max_size=80),
)
suci_nai = st.builds(
    SuciNai,
    st.text(min_size=1, max_size=60),
    st.sampled_from([f for f in SupiFormat if f != SupiFormat.IMSI]),
)
guti = st.builds(
    Guti, mcc, mnc, octet, st.integers(0, 1023), st.integers(0, 63), st.integers(0, 2**32 - 1)
)
s_tmsi = st.builds(STmsi, st.integers(0, 1023), st.integers(0, 63), st.integers(0, 2**32 - 1))
imei = st.builds(Imei, _digits(15))
imeisv = st.builds(Imeisv, _digits(16))
mobile_identity = st.one_of(
    null_suci, concealed_suci, suci_nai, guti, s_tmsi, imei, imeisv, st.just(NoIdentity())
)

security_capability = st.one_of(
    st.builds(UeSecurityCapability, octet, octet),
    st.builds(UeSecurityCapability, octet, octet, octet),
    st.builds(UeSecurityCapability, octet, octet, octet, octet),
)
snssai = st.one_of(
    st.builds(SNssai, octet),
    st.builds(SNssai, octet, mapped_sst=octet),
    st.builds(SNssai, octet, bits24),
    st.builds(SNssai, octet, bits24, octet),
    st.builds(SNssai, octet, bits24, octet, bits24),
)
nssai = st.lists(snssai, min_size=1, max_size=8).map(tuple)  # 8 x 9 octets fit in 72
eap = st.binary(min_size=4, max_size=1500)
abba = st.binary(min_size=2, max_size=255)
cause = st.sampled_from(MmCause)
payload_type = st.sampled_from(PayloadContainerType)
container = st.binary(min_size=1, max_size=2000)

_MESSAGES: list[st.SearchStrategy[Message]] = [
    st.builds(
        RegistrationRequest,
        st.builds(RegistrationType, st.sampled_from(RegistrationTypeValue), st.booleans()),
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
        RegistrationAccept,
        st.builds(
            RegistrationResult,
            st.sampled_from(RegistrationResultValue),
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
    st.builds(RegistrationComplete, _optional(st.binary(min_size=17, max_size=100))),
    st.builds(RegistrationReject, cause, _optional(eap)),
    st.builds(
        AuthenticationRequest,
        ngksi,
        abba,
        _optional(st.binary(min_size=16, max_size=16)),
        _optional(st.binary(min_size=16, max_size=16)),
        _optional(eap),
    ),
    st.builds(
        AuthenticationResponse, _optional(st.binary(min_size=16, max_size=16)), _optional(eap)
    ),
    st.builds(AuthenticationResult, ngksi, eap, _optional(abba)),
    st.builds(AuthenticationFailure, cause, _optional(st.binary(min_size=14, max_size=14))),
    st.builds(AuthenticationReject, _optional(eap)),
    st.builds(
        SecurityModeCommand,
        st.builds(
            NasSecurityAlgorithms,
            st.sampled_from(CipheringAlgorithm),
            st.sampled_from(IntegrityAlgorithm),
        ),
        ngksi,
        security_capability,
        _optional(st.booleans()),
        _optional(st.builds(AdditionalSecurityInformation, st.booleans(), st.booleans())),
        _optional(eap),
        _optional(abba),
    ),
    st.builds(SecurityModeComplete, _optional(imeisv), _optional(container), _optional(imei)),
    st.builds(SecurityModeReject, cause),
    st.builds(
        DeregistrationRequestUeOriginating,
        st.builds(DeregistrationType, st.sampled_from(AccessType), st.booleans(), st.booleans()),
        mobile_identity,
        ngksi,
    ),
    st.just(DeregistrationAcceptUeOriginating()),
    st.builds(
        DeregistrationRequestUeTerminated,
        st.builds(DeregistrationType, st.sampled_from(AccessType), st.booleans(), st.booleans()),
        _optional(cause),
    ),
    st.just(DeregistrationAcceptUeTerminated()),
    st.builds(
        UlNasTransport,
        payload_type,
        container,
        _optional(octet),
        _optional(st.binary(min_size=1, max_size=255)),
    ),
    st.builds(
        DlNasTransport,
        payload_type,
        container,
        _optional(octet),
        _optional(st.binary(min_size=1, max_size=255)),
        _optional(cause),
    ),
    st.builds(MmStatus, cause),
    st.builds(
        SecurityProtected,
        st.sampled_from([h for h in SecurityHeaderType if h != SecurityHeaderType.PLAIN]),
        st.binary(min_size=4, max_size=4),
        octet,
        st.binary(min_size=1, max_size=300),
    ),
]

#: Any message of any kind the codec handles.
messages: st.SearchStrategy[Message] = st.one_of(_MESSAGES)
