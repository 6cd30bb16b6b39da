"""Whatever bytes arrive, the engines answer or raise a dynsub error: never anything else."""

from __future__ import annotations

import contextlib
import hmac

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynsub_cli.eap.packet import Code, Packet, Type, decode, encode
from dynsub_cli.errors import DynsubError
from tests.unit.eap.certs import pki
from tests.unit.eap.harness import engines

FAST = settings(max_examples=150, deadline=None)
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.binary(max_size=200))
def test_random_bytes_to_a_fresh_peer(raw: bytes) -> None:
    _, peer = engines(pki())
    with contextlib.suppress(DynsubError):
        peer.receive(raw)


@FAST
@given(st.binary(max_size=200))
def test_random_bytes_to_a_started_server(raw: bytes) -> None:
    auth, _ = engines(pki())
    auth.start()
    with contextlib.suppress(DynsubError):
        auth.receive(raw)


@FAST
@given(st.binary(max_size=300))
def test_random_eap_tls_data_with_the_right_identifier(type_data: bytes) -> None:
    auth, peer = engines(pki())
    start = auth.start()
    identifier = decode(start).identifier
    forged = encode(Packet(Code.RESPONSE, identifier, Type.TLS, type_data))
    with contextlib.suppress(DynsubError):
        auth.receive(forged)
    peer.receive(start)
    with contextlib.suppress(DynsubError):
        peer.receive(encode(Packet(Code.REQUEST, identifier + 1, Type.TLS, type_data)))


mutations = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.floats(0, 1), st.just(0)),
    st.tuples(st.just("grow"), st.floats(0, 1), st.integers(0, 255)),
)


def _mutate(raw: bytes, how: tuple[str, float, int]) -> bytes:
    kind, where, value = how
    pos = min(int(where * len(raw)), len(raw) - 1)
    if kind == "flip":
        return raw[:pos] + bytes([raw[pos] ^ value]) + raw[pos + 1 :]
    if kind == "cut":
        return raw[:pos]
    return raw + bytes([value]) * (1 + pos % 7)


@SLOW
@given(st.integers(0, 14), mutations, st.sampled_from([64, 1500]))
def test_one_mutated_packet_in_a_live_exchange(
    step: int, how: tuple[str, float, int], max_packet: int
) -> None:
    auth, peer = engines(pki(), max_packet=max_packet)
    packet: bytes | None = auth.start()
    try:
        for n in range(400):
            if packet is None:
                break
            if n == step:
                packet = _mutate(packet, how)
            packet = peer.receive(packet) if n % 2 == 0 else auth.receive(packet)
    except DynsubError:
        return
    if auth.done and peer.done:  # a harmless mutation (padding, reserved bits): same keys
        assert hmac.compare_digest(auth.result.msk, peer.result.msk)
