"""The home network's side of 5G AKA (TS 33.501 6.1.3.2), over the subscription store.

The ARPF/UDM part (vectors from K, OPc and SQN_HE, resynchronisation) and the AUSF/SEAF checks
of RES*; the session (core.session) carries the messages.
"""

from __future__ import annotations

from dynsub_cli.core.network import Network
from dynsub_cli.security import aka


def challenge(net: Network, supi: str, rand: bytes) -> aka.AuthVector:
    """A fresh vector: SQN_HE moves on in the store before the challenge leaves."""
    store = net.store
    secrets = store.secrets(supi)
    record = store.get(supi)
    return aka.generate_vector(
        secrets.k, secrets.opc, store.next_sqn(supi), net.serving_network, amf=record.amf, rand=rand
    )


def check_response(vector: aka.AuthVector, res_star: bytes) -> None:
    """TS 33.501 6.1.3.2 steps 10-11: the SEAF checks HRES*, the AUSF RES* against XRES*.

    Raises AuthenticationError.
    """
    aka.verify_hres_star(vector.hxres_star, vector.rand, res_star)
    aka.verify_res_star(vector.xres_star, res_star)


def resynchronise(net: Network, supi: str, rand: bytes, auts: bytes) -> int:
    """TS 33.102 6.3.5: SQN_MS from AUTS (MAC-S checked) becomes SQN_HE; returns it."""
    secrets = net.store.secrets(supi)
    sqn_ms = aka.recover_sqn(secrets.k, secrets.opc, rand, auts)
    net.store.update_sqn(supi, sqn_ms)
    return sqn_ms
