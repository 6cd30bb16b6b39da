"""A locked store stalls only the sessions that need it: others are still answered.

While another writer holds the store's write lock (the core waits up to 30 s for it), one UE's
registration waits on the store, and a peer that sends garbage on another connection is
answered with 5GMM STATUS at once: its refusal does not wait for the store.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
from pathlib import Path

from dynsub_cli.nas import codec
from dynsub_cli.nas import messages as m
from dynsub_cli.nas.enums import MmCause
from dynsub_cli.nas.framing import FrameReader, frame
from dynsub_cli.ue import client
from tests.flow import make_lab
from tests.server import running_core

#: An EPD of 5GMM, plain, and a message type TS 24.501 does not define.
GARBAGE = bytes([0x7E, 0x00, 0xEE, 0x01, 0x02])


def answer_to(address: tuple[str, int], pdu: bytes) -> m.Message:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(frame(pdu))
        reader = FrameReader()
        while True:
            data = sock.recv(65536)
            assert data, "the core closed the connection without an answer"
            pdus = reader.feed(data)
            if pdus:
                return codec.decode(pdus[0])


def test_garbage_is_answered_while_another_session_waits_on_the_store(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    config = lab.config()
    state_file = tmp_path / "ue.toml"
    with running_core(config) as core:
        address = (core.host, core.port)
        client.onboard(lab.devices[0], address, state_file)
        holder = sqlite3.connect(config.store.path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")  # the core's next write waits for this lock
        registered: list[object] = []
        waiting = threading.Thread(
            target=lambda: registered.append(client.register(state_file, address, timeout=60))
        )
        try:
            waiting.start()
            status = answer_to(address, GARBAGE)
            # Answered while the lock is still held and the registration still waits.
            assert waiting.is_alive()
            assert not registered
        finally:
            holder.execute("ROLLBACK")
            holder.close()
            waiting.join(timeout=60)
    assert isinstance(status, m.MmStatus)
    assert status.cause == MmCause.MESSAGE_TYPE_NON_EXISTENT
    assert registered, "the registration that waited on the store did not complete"
