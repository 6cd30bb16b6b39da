"""Issue 9 item 3: every certificate anyone can hand to verification is refused by rule.

cryptography decodes names, extensions and keys lazily and raises from wherever they are first
read; a duplicate extension or an undecodable subjectAltName used to escape verification as a
bare exception. Here each kind of malformation is refused with its rule, by the library and by
``dynsub pki verify``, and a property test mutates the DER of real certificates and sees
nothing but acceptance or a refusal.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.utils import CryptographyDeprecationWarning
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynsub_cli.cli import main
from dynsub_cli.errors import CertificateRefused, ExitCode
from dynsub_cli.pki import decoding, pem, verify
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.pem import DECODE_ERRORS
from dynsub_cli.pki.rules import Rule
from tests.hostile import certificates as bad
from tests.unit.pki.factory import device, make_pki


@dataclass(frozen=True)
class World:
    pki: Pki
    root: x509.Certificate
    ca: x509.Certificate
    ca_key: ec.EllipticCurvePrivateKey
    device: x509.Certificate
    device_key: ec.EllipticCurvePrivateKey
    core_chain: list[x509.Certificate]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    pki = make_pki(tmp_path_factory.mktemp("hostile") / "pki")
    minted = device(pki)
    issuer = pki.manufacturer_issuer()
    core = [pem.read_certificate(pki.core_cert), *pem.read_certificates(pki.core_chain)]
    return World(
        pki,
        pki.load_root(),
        issuer.certificate,
        pem.read_key(pki.manufacturer_key),
        minted.certificate,
        minted.key,
        core,
    )


# --- one certificate per kind of malformation ------------------------------------------------


def _duplicate_san(w: World) -> bytes:
    # A second subjectAltName (RFC 5280 4.2: "MUST NOT include more than one instance").
    san = w.device.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    model = bad.like(w.device, w.ca, w.ca_key, placeholder=san.public_bytes())
    return bad.with_extension_as(model, bad.SAN_OID_DER, w.ca_key)


def _undecodable_san(w: World) -> bytes:
    # A subjectAltName whose dNSName claims 5 octets and holds 2.
    model = bad.like(
        w.device,
        w.ca,
        w.ca_key,
        drop=x509.SubjectAlternativeName,
        placeholder=bytes.fromhex("3004820561 62"),
    )
    return bad.with_extension_as(model, bad.SAN_OID_DER, w.ca_key)


def _self_signed_duplicate(w: World) -> bytes:
    # What a stranger can make with no CA at all: self-signed, SAN twice.
    san = w.device.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    own = bad.like(w.device, w.device, w.device_key, placeholder=san.public_bytes())
    return bad.with_extension_as(own, bad.SAN_OID_DER, w.device_key)


def _unknown_key_algorithm(w: World) -> bytes:
    tbs = bad.patched(
        w.device.tbs_certificate_bytes,
        bad.EC_PUBLIC_KEY_OID_DER,
        bad.EC_PUBLIC_KEY_OID_DER[:-1] + b"\x09",
    )
    return bad.signed(tbs, w.ca_key)


def _point_off_the_curve(w: World) -> bytes:
    point = w.device.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    off = point[:-1] + bytes([point[-1] ^ 1])
    return bad.signed(bad.patched(w.device.tbs_certificate_bytes, point, off), w.ca_key)


def _bad_version(w: World) -> bytes:
    # TBSCertificate version [0] EXPLICIT INTEGER 2 (v3) -> 91: cryptography's InvalidVersion.
    tbs = bad.patched(
        w.device.tbs_certificate_bytes, bytes.fromhex("a003020102"), bytes.fromhex("a00302015b")
    )
    return bad.signed(tbs, w.ca_key)


def _truncated(w: World) -> bytes:
    return bad.der(w.device)[:-40]


#: Each case, and the rule it is refused by. The last two do not decode even as far as their
#: outer structure: no TLS stack hands them over, and ``pki verify`` says "not a certificate".
CASES: dict[str, tuple[Callable[[World], bytes], Rule]] = {
    "duplicate SAN": (_duplicate_san, Rule.MALFORMED),
    "undecodable SAN": (_undecodable_san, Rule.MALFORMED),
    "self-signed, SAN twice": (_self_signed_duplicate, Rule.MALFORMED),
    "unknown key algorithm": (_unknown_key_algorithm, Rule.KEY_TYPE),
    "point off the curve": (_point_off_the_curve, Rule.MALFORMED),
    "bad version": (_bad_version, Rule.MALFORMED),
    "truncated DER": (_truncated, Rule.MALFORMED),
}


def _load(data: bytes) -> x509.Certificate:
    """The outer structure only, as OpenSSL hands a presented certificate over."""
    with _quiet():
        return x509.load_der_x509_certificate(data)


def _refusal(w: World, data: bytes) -> CertificateRefused:
    """Decode and verify ``data`` as a device; the refusal (failing if it was accepted)."""
    with pytest.raises(CertificateRefused) as caught:
        verify.verify_device([_load(data), w.ca], [w.root])
    return caught.value


UNLOADABLE = {"bad version", "truncated DER"}


@pytest.mark.parametrize("case", sorted(set(CASES) - UNLOADABLE))
def test_each_malformation_is_refused_by_its_rule(world: World, case: str) -> None:
    make, rule = CASES[case]
    refused = _refusal(world, make(world))
    assert refused.rules == {rule}, refused.reasons


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_malformation_is_refused_by_its_rule_from_der(world: World, case: str) -> None:
    make, rule = CASES[case]
    with pytest.raises(CertificateRefused) as caught:
        decoding.from_der(make(world))
    assert caught.value.rules == {rule}


def test_a_malformed_ca_in_the_chain_is_refused(world: World) -> None:
    broken_ca = x509.load_der_x509_certificate(_duplicate_san(world))
    with pytest.raises(CertificateRefused) as caught:
        verify.verify_device([world.device, broken_ca, world.ca], [world.root])
    assert caught.value.rules == {Rule.MALFORMED}
    assert "CA certificate 1 of the chain" in caught.value.reasons[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_pki_verify_refuses_each_malformation_by_rule(
    world: World, tmp_path: Path, case: str
) -> None:
    make, rule = CASES[case]
    path = tmp_path / "bad.pem"
    path.write_bytes(bad.pem_of(make(world)))
    args = ["pki", "verify", str(path), "--pki", str(world.pki.root)]
    result = CliRunner().invoke(main, args)
    if case in UNLOADABLE:
        assert result.exit_code == ExitCode.BAD_INPUT, result.output
        assert "not a PEM or DER certificate" in result.stderr
        return
    assert result.exit_code == ExitCode.CERT_REFUSED, result.output
    assert f"{path}" in result.stderr
    assert rule.phrase in result.stderr
    verdict = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    assert verdict["valid"] is False
    assert verdict["rules"] == [rule.value]
    shown = CliRunner().invoke(main, ["pki", "show", str(path)])
    assert shown.exit_code in (ExitCode.BAD_INPUT, ExitCode.OK), shown.output
    assert shown.exception is None or isinstance(shown.exception, SystemExit)


# --- mutated DER of real certificates ------------------------------------------------------


@st.composite
def _mutations(draw: st.DrawFn) -> list[tuple[float, int, int]]:
    """Up to 4 edits: (where, as a fraction of the length), which edit, which byte."""
    return draw(
        st.lists(
            st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 2), st.integers(0, 255)),
            min_size=1,
            max_size=4,
        )
    )


def _mutate(data: bytes, edits: list[tuple[float, int, int]]) -> bytes:
    out = bytearray(data)
    for where, edit, byte in edits:
        at = int(where * len(out))
        if edit == 0:
            out[at] = byte
        elif edit == 1:
            del out[at]
        else:
            out.insert(at, byte)
    return bytes(out)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # Mutated serials are often negative: cryptography warns (and accepts) on load.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        yield


def _verify_as_peer(data: bytes, check: Callable[[x509.Certificate], object]) -> None:
    """What the core does with presented bytes: verify what loads; a refusal is fine."""
    with _quiet():
        try:
            cert = x509.load_der_x509_certificate(data)
        except DECODE_ERRORS:
            return  # not a certificate at all: OpenSSL does not hand it over
        with contextlib.suppress(CertificateRefused):
            check(cert)


PROPERTY = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(edits=_mutations())
def test_mutated_device_certificates_are_refused_never_raise(
    world: World, edits: list[tuple[float, int, int]]
) -> None:
    data = _mutate(bad.der(world.device), edits)
    _verify_as_peer(data, lambda leaf: verify.verify_device([leaf, world.ca], [world.root]))
    # The same bytes as a CA certificate in the chain of a good device.
    _verify_as_peer(data, lambda ca: verify.verify_device([world.device, ca], [world.root]))


@PROPERTY
@given(edits=_mutations())
def test_mutated_core_certificates_are_refused_never_raise(
    world: World, edits: list[tuple[float, int, int]]
) -> None:
    data = _mutate(bad.der(world.core_chain[0]), edits)
    _verify_as_peer(
        data,
        lambda leaf: verify.verify_core(
            [leaf, *world.core_chain[1:]], [world.root], dns_name=world.pki.core_dns_name
        ),
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=_mutations(), as_pem=st.booleans())
def test_pki_verify_of_mutated_certificates_exits_0_or_4(
    world: World, tmp_path: Path, edits: list[tuple[float, int, int]], as_pem: bool
) -> None:
    data = _mutate(bad.der(world.device), edits)
    path = tmp_path / "mutated.crt"
    path.write_bytes(bad.pem_of(data) if as_pem else data)
    with _quiet():
        result = CliRunner().invoke(
            main, ["pki", "verify", str(path), "--pki", str(world.pki.root), "--json"]
        )
    assert result.exit_code in (0, ExitCode.BAD_INPUT, ExitCode.CERT_REFUSED), (
        result.output,
        result.exception,
    )
    if result.exit_code != ExitCode.BAD_INPUT:
        verdict = json.loads(result.stdout)
        assert verdict["valid"] is (result.exit_code == 0)
