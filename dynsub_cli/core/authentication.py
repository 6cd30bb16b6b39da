"""The home network's side of 5G AKA (TS 33.501 6.1.3.2), on a record the store handed out.

The ARPF/UDM part (a vector from K, OPc and the SQN the store stepped; SQN_MS from AUTS) and the
AUSF/SEAF checks of RES*. The registration engine (core.registration) carries the messages and
makes the store calls.
"""

from __future__ import annotations

from dynsub_cli.core.network import Network
from dynsub_cli.errors import StoreError
from dynsub_cli.security import aka
from dynsub_cli.store import Secrets, Subscription


def _secrets(record: Subscription) -> Secrets:
    if record.secrets is None:
        raise StoreError(f"{record.supi}: the store returned the record without its secrets")
    return record.secrets


def vector(net: Network, record: Subscription, rand: bytes) -> aka.AuthVector:
    """A fresh vector under the SQN the store has just stepped (``record.sqn``)."""
    secrets = _secrets(record)
    return aka.generate_vector(
        secrets.k, secrets.opc, record.sqn, net.serving_network, amf=record.amf, rand=rand
    )


def check_response(vector: aka.AuthVector, res_star: bytes) -> None:
    """TS 33.501 6.1.3.2 steps 10-11: the SEAF checks HRES*, the AUSF RES* against XRES*.

    Raises AuthenticationError.
    """
    aka.verify_hres_star(vector.hxres_star, vector.rand, res_star)
    aka.verify_res_star(vector.xres_star, res_star)


def recover_sqn(record: Subscription, rand: bytes, auts: bytes) -> int:
    """TS 33.102 6.3.5: SQN_MS from AUTS, MAC-S checked (AuthenticationError if wrong)."""
    secrets = _secrets(record)
    return aka.recover_sqn(secrets.k, secrets.opc, rand, auts)
