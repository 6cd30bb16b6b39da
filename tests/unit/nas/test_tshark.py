"""Wireshark's own NAS-5GS dissector reads the codec's PDUs in our TCP framing.

Finding (tshark 4.0): ``-d tcp.port==PORT,nas-5gs`` selects a TCP handle of the nas-5gs
dissector that reads a 2-octet big-endian length and then that many octets of NAS PDU (the NAS
over TCP framing of TS 24.502 9.4), reassembling PDUs across segments and splitting several
PDUs out of one segment; the TCP tree shows "[PDU Size: N]". So our framing needs no Lua and
no heuristics. The captures below check all three segmentations, both directions.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from dynsub_cli.nas import (
    AuthenticationReject,
    AuthenticationRequest,
    AuthenticationResult,
    DeregistrationAcceptUeOriginating,
    DeregistrationRequestUeTerminated,
    DlNasTransport,
    Message,
    PlainMessage,
    RegistrationAccept,
    RegistrationReject,
    SecurityModeCommand,
    SecurityProtected,
    encode,
    frame,
)
from tests.pcap import TcpCapture
from tests.unit.nas.samples import ALL

PORT = 38412
_DOWNLINK = (
    RegistrationAccept,
    RegistrationReject,
    AuthenticationRequest,
    AuthenticationResult,
    AuthenticationReject,
    SecurityModeCommand,
    DeregistrationAcceptUeOriginating,
    DeregistrationRequestUeTerminated,
    DlNasTransport,
)
# Expert info severities (epan/proto.h): PI_WARN 0x00600000, PI_ERROR 0x00800000.
_PI_WARN = 0x00600000


def _tshark() -> str:
    path = shutil.which("tshark")
    assert path, "tshark is not on PATH: install it (Debian: apt-get install tshark; .ci/run does)"
    return path


def _capture(tmp_path: Path, segmentation: str) -> Path:
    capture = TcpCapture(server_port=PORT)
    if segmentation == "one PDU per segment":
        for i, message in enumerate(ALL):
            uplink = not isinstance(message, _DOWNLINK) and not (
                isinstance(message, SecurityProtected) and i % 2
            )
            capture.send(uplink, frame(encode(message)))
    else:
        stream = b"".join(frame(encode(m)) for m in ALL)
        size = 7 if segmentation == "7-octet segments" else len(stream)
        for start in range(0, len(stream), size):
            capture.send(True, stream[start : start + size])
    capture.close()
    path = tmp_path / "nas.pcap"
    capture.write(path)
    return path


def _expected(message: Message) -> tuple[int, int | None]:
    """(security header type, message type) as Wireshark should show them first."""
    if isinstance(message, SecurityProtected):
        return int(message.header_type), None
    assert isinstance(message, PlainMessage)
    return 0, int(message.MESSAGE_TYPE)


@pytest.mark.parametrize("segmentation", ["one PDU per segment", "7-octet segments", "one segment"])
def test_tshark_decodes_every_pdu_as_nas_5gs(tmp_path: Path, segmentation: str) -> None:
    pcap = _capture(tmp_path, segmentation)
    result = subprocess.run(
        [_tshark(), "-r", str(pcap), "-d", f"tcp.port=={PORT},nas-5gs", "-T", "pdml"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    root = ET.fromstring(result.stdout)  # noqa: S314 - tshark's output on our own capture

    problems = []
    for element in root.iter("field"):
        name = element.get("name", "")
        if name == "_ws.malformed":
            problems.append(element.get("showname"))
        if name == "_ws.expert.severity" and int(element.get("show", "0")) >= _PI_WARN:
            problems.append(element.get("showname"))
    assert not problems, problems

    seen: list[dict[str, str]] = []
    # Top-level nas-5gs layers only: a NAS message container shows up as a nested one.
    for proto in root.findall("packet/proto[@name='nas-5gs']"):
        first: dict[str, str] = {}
        for field in proto.iter("field"):
            first.setdefault(field.get("name", ""), field.get("show", ""))
        seen.append(first)
    assert len(seen) == len(ALL)
    for shown, message in zip(seen, ALL, strict=True):
        header_type, message_type = _expected(message)
        assert shown["nas_5gs.epd"] == "126"
        assert int(shown["nas_5gs.security_header_type"]) == header_type
        if message_type is not None:
            assert int(shown["nas_5gs.mm.message_type"], 16) == message_type
