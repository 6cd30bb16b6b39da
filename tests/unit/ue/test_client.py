"""The UE's connection: what a lost connection looks like to its user."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator

import pytest

from dynsub_cli.errors import NetworkError
from dynsub_cli.ue import client
from dynsub_cli.ue.procedure import Output, Procedure

#: Largest NAS frames, more of them than loopback's socket buffers hold: the send is still under
#: way when the reset comes.
PDUS = (b"\x7e" * 65_535,) * 1024


@pytest.fixture
def resetting_core() -> Iterator[tuple[str, int]]:
    """A listener that accepts one connection and resets it (RST) without reading a byte, as
    a core that is killed does."""
    listener = socket.create_server(("127.0.0.1", 0))

    def reset() -> None:
        conn, _ = listener.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    thread = threading.Thread(target=reset, daemon=True)
    thread.start()
    yield listener.getsockname()[:2]
    thread.join(timeout=10)
    listener.close()


def test_a_connection_reset_while_the_ue_sends_is_a_network_error(
    resetting_core: tuple[str, int],
) -> None:
    procedure: Procedure[object] = Procedure()
    with pytest.raises(NetworkError, match="connection lost") as raised:
        client.run(
            procedure,  # type: ignore[arg-type]  # only its step is read before the first reply
            Output(pdus=PDUS),
            resetting_core,
            name="ue",
            timeout=10,
            on_step=lambda step: None,
        )
    assert raised.value.step == Procedure.step
