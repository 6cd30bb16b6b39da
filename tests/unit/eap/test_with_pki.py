"""EAP-TLS with the real PKI: certificates from ``dynsub pki``, checked by ``pki.verify``.

The PKI is made by ``authority.init`` and its devices by ``mint.mint`` (the folders a factory
ships: device.pem, device.key, chain.pem, trust.pem); the Authenticator checks the UE with
``verify_device`` (with the PKI's CRL) and the Peer checks the core with ``verify_core`` against
the device folder's trust.pem, as the core and the UE do. Each refusal breaks one rule and must
be refused for that rule alone, with its stable phrase (the ``R_*`` constants and the phrase
functions of ``pki.profiles``). Broken device certificates come from
``tests.unit.pki.factory``: the real issuing code and profile table, one field changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from dynsub_cli.eap.credentials import Credentials
from dynsub_cli.eap.packet import Code, TlsFlags, decode, failure
from dynsub_cli.eap.tls import Authenticator, Peer, State
from dynsub_cli.errors import AuthenticationError, CertificateRefused
from dynsub_cli.pki import authority, device_folder, mint, pem, profiles, revocation, verify
from dynsub_cli.pki.authority import Pki
from dynsub_cli.pki.verify import DeviceIdentity
from tests.unit.eap.harness import run, tls_payloads, until_error
from tests.unit.pki import factory


@dataclass(frozen=True)
class Lab:
    """A PKI with two minted devices (the second revoked in ``crl``) and a rogue PKI."""

    pki: Pki
    good: Path  # a minted device folder
    revoked: Path  # a minted device folder whose certificate the CRL lists
    crl: x509.CertificateRevocationList
    rogue: Pki
    rogue_device: Path


def _mint(folder: Path, manufacturer: str) -> tuple[Pki, tuple[Path, ...]]:
    pki = authority.init(folder, authority.InitOptions(manufacturer=manufacturer))
    result = mint.mint(pki, mint.MintRequest(out=folder / "devices", count=2, workers=1))
    return pki, tuple(result.out / device.imei for device in result.devices)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    folder = tmp_path_factory.mktemp("eap-pki")
    pki, (good, revoked) = _mint(folder / "pki", "ACME Devices")
    rogue, (rogue_device, _) = _mint(folder / "rogue", "Rogue Devices Ltd")
    revocation.revoke(pki, pem.read_certificate(revoked / device_folder.DEVICE_CERT))
    crl = pem.read_crl(revocation.write_crl(pki, folder / "crl.pem").path)
    return Lab(pki, good, revoked, crl, rogue, rogue_device)


def device_credentials(folder: Path) -> Credentials:
    """What a UE loads from its factory folder."""
    return Credentials.from_pem(
        (folder / device_folder.DEVICE_CERT).read_bytes(),
        (folder / device_folder.DEVICE_KEY).read_bytes(),
        chain=(folder / device_folder.CHAIN).read_bytes(),
    )


def core_credentials(pki: Pki) -> Credentials:
    """What the core loads from the PKI: its certificate, key, and the operator CA after it."""
    return Credentials.from_pem(
        pki.core_cert.read_bytes(), pki.core_key.read_bytes(), chain=pki.core_chain.read_bytes()
    )


def engines(
    lab: Lab, device: Credentials, core: Credentials, *, max_packet: int = 1500
) -> tuple[Authenticator[DeviceIdentity], Peer[None]]:
    """The core trusting ``lab.pki``'s root with its CRL; a UE trusting its folder's trust.pem."""
    roots = [lab.pki.load_root()]
    ue_roots = pem.read_certificates(lab.good / device_folder.TRUST)
    dns_name = lab.pki.core_dns_name

    def check_device(chain: Sequence[x509.Certificate]) -> DeviceIdentity:
        return verify.verify_device(chain, roots, crls=[lab.crl])

    def check_core(chain: Sequence[x509.Certificate]) -> None:
        verify.verify_core(chain, ue_roots, dns_name=dns_name)

    auth = Authenticator(core, check_device, max_packet=max_packet)
    peer = Peer(device, check_core, max_packet=max_packet)
    return auth, peer


@pytest.mark.parametrize("max_packet", [64, 8192], ids=["tiny-fragments", "unfragmented"])
def test_mutual_authentication_with_a_minted_device(lab: Lab, max_packet: int) -> None:
    auth, peer = engines(
        lab, device_credentials(lab.good), core_credentials(lab.pki), max_packet=max_packet
    )
    trace = run(auth, peer)
    assert auth.done
    assert peer.done
    server, client = auth.result, peer.result
    assert len(server.msk) == len(server.emsk) == 64
    assert hmac.compare_digest(server.msk, client.msk)
    assert hmac.compare_digest(server.emsk, client.emsk)
    assert hmac.compare_digest(server.kausf, client.kausf)
    assert server.kausf == client.emsk[:32]  # TS 33.501 B.2.1.1
    # The core knows the device by the IMEI of its folder, and the manifest's fingerprint.
    identity = server.peer_identity
    assert identity.imei == lab.good.name
    assert identity.manufacturer == "ACME Devices"
    device_pem = pem.read_certificate(lab.good / device_folder.DEVICE_CERT)
    assert identity.fingerprint == verify.fingerprint(device_pem)
    assert client.peer_chain[0] == pem.read_certificate(lab.pki.core_cert)
    assert decode(trace[-1][1]).code is Code.SUCCESS
    assert all(len(raw) <= max_packet for _, raw in trace)
    flags = [p.flags for side in ("server", "peer") for p in tls_payloads(trace, side)]
    fragmented = sum(1 for f in flags if f & TlsFlags.MORE_FRAGMENTS)
    if max_packet == 64:
        assert fragmented > 10  # both flights were cut, and every piece acknowledged
    else:
        assert fragmented == 0


def _rogue_device(lab: Lab) -> Credentials:
    return device_credentials(lab.rogue_device)


def _revoked_device(lab: Lab) -> Credentials:
    return device_credentials(lab.revoked)


def _broken(**changes: object) -> Callable[[Lab], Credentials]:
    """A device certificate of ``lab.pki``'s manufacturer CA with one rule broken."""

    def make(lab: Lab) -> Credentials:
        profile = dataclasses.replace(profiles.DEVICE, **changes)  # type: ignore[arg-type]
        minted = factory.device(lab.pki, profile)
        return Credentials(minted.certificate, minted.key, (lab.pki.load_manufacturer(),))

    return make


def _expired_device(lab: Lab) -> Credentials:
    minted = factory.device(
        lab.pki,
        not_before=factory.NOW - dt.timedelta(days=30),
        not_after=factory.NOW - dt.timedelta(days=1),
    )
    return Credentials(minted.certificate, minted.key, (lab.pki.load_manufacturer(),))


DEVICE_REFUSALS = [
    pytest.param(_rogue_device, verify.R_UNTRUSTED_MANUFACTURER, id="wrong-issuer"),
    pytest.param(_expired_device, profiles.R_EXPIRED, id="expired"),
    pytest.param(_revoked_device, verify.R_REVOKED, id="revoked"),
    pytest.param(
        _broken(policies=()),
        profiles.policy_missing(profiles.DEVICE.policies[0]),
        id="policy-less",
    ),
    pytest.param(
        _broken(extended_key_usage=(ExtendedKeyUsageOID.SERVER_AUTH,)),
        profiles.eku_missing(ExtendedKeyUsageOID.CLIENT_AUTH),
        id="wrong-eku",
    ),
]


def _only_reason(err: BaseException, phrase: str) -> None:
    """The refusal names this rule, and only this one (the others hold)."""
    assert isinstance(err, CertificateRefused), repr(err)
    assert len(err.reasons) == 1, err.reasons
    assert err.reasons[0].startswith(phrase), err.reasons


@pytest.mark.parametrize(("make", "phrase"), DEVICE_REFUSALS)
def test_the_core_refuses_a_device_for_its_own_reason(
    lab: Lab, make: Callable[[Lab], Credentials], phrase: str
) -> None:
    auth, peer = engines(lab, make(lab), core_credentials(lab.pki))
    err, last = until_error(auth, peer)
    _only_reason(err, phrase)
    assert auth.state is State.FAILED
    assert auth.error_response == failure(decode(last).identifier)
    with pytest.raises(AuthenticationError, match="refused our certificate"):
        peer.receive(auth.error_response)


def test_the_ue_refuses_the_core_of_another_pki(lab: Lab) -> None:
    auth, peer = engines(lab, device_credentials(lab.good), core_credentials(lab.rogue))
    err, _ = until_error(auth, peer)
    _only_reason(err, verify.R_UNTRUSTED_OPERATOR)
    assert peer.state is State.FAILED
    # The UE answers with the TLS alert, and the core turns it into EAP-Failure.
    assert peer.error_response is not None
    with pytest.raises(AuthenticationError, match="alert from the peer"):
        auth.receive(peer.error_response)
    assert auth.error_response == failure(decode(peer.error_response).identifier)


def test_the_same_device_is_accepted_without_the_crl(lab: Lab) -> None:
    """The revoked device is refused for the CRL alone: without it the same folder passes."""
    chain = device_credentials(lab.revoked)
    identity = verify.verify_device(
        [chain.certificate, *chain.chain], [lab.pki.load_root()], crls=()
    )
    assert identity.imei == lab.revoked.name
