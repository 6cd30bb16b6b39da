"""`--pcap`: the traces the tool writes, read by tshark as a user would.

- The plaintext trace of an onboarding and a registration, with the shipped Lua dissector
  (contrib/wireshark/dynsub.lua) and ``nas-5gs.null_decipher``: every NAS message decodes,
  security mode and the dialogue included, with no malformed packet, and each dialogue field
  shows by name with the value the store holds.
- The exact-bytes traces of `ue onboard`/`ue register` (and of `core serve --pcap`) carry,
  connection by connection and direction by direction, the very bytes that a live
  ``tshark -i lo`` capture of the same session saw, on the same ports.
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

import pytest

from dynsub_cli.nas import DlNasTransport, encode, frame
from dynsub_cli.nas import dialogue as d
from dynsub_cli.nas.enums import PayloadContainerType
from dynsub_cli.ue import state as states
from dynsub_cli.ue.trace import plain_path
from tests.flow import make_lab
from tests.integration.test_capture import ONBOARDING, REGISTRATION, dissect
from tests.pcap import TcpCapture
from tests.processes import HANG, CaptureNotPermitted, dynsub, live_capture, served_core, tshark

LUA = Path(__file__).resolve().parents[2] / "contrib" / "wireshark" / "dynsub.lua"
# Expert info severities (epan/proto.h): PI_WARN 0x00600000.
_PI_WARN = 0x00600000

# TS 24.501 9.7, as the plain messages of each connection (ul/dl, message type).
_ONBOARDING_PLAIN = re.compile(
    "ul 0x41 dl 0x44 ul 0x41 "  # registration request, reject #74, onboarding request
    "(?:dl 0x56 ul 0x57 )+"  # EAP-TLS in authentication request/response
    "dl 0x5d ul 0x5e "  # security mode command, complete
    "dl 0x42 ul 0x43 "  # registration accept, complete
    "dl 0x68 ul 0x67 dl 0x68 ul 0x67 dl 0x68 ul 0x67 "  # the dialogue in DL/UL NAS TRANSPORT
    "dl 0x47 ul 0x48 "  # deregistration request (#93), accept
)
_REGISTRATION_PLAIN = re.compile(
    "ul 0x41 dl 0x56 ul 0x57 dl 0x5d ul 0x5e dl 0x42 ul 0x43 ul 0x45 dl 0x46 "
)
# Every field of docs/protocol.md section 5 that a successful onboarding carries.
_DIALOGUE_FIELDS = {
    "default_service_type", "default_plan", "offered_service_type", "offered_plan", "name",
    "snssai", "sst", "ambr_uplink", "ambr_downlink", "description", "required_fields",
    "allowed_service_types", "service_type", "plan", "network_nonce", "ue_nonce",
    "key_confirmation", "supi", "opc", "amf", "network_identity", "mcc", "mnc",
    "routing_indicator", "home_network_key", "scheme", "key_id", "public_key",
    "allowed_snssai", "ambr", "names", "network_key_confirmation",
}  # fmt: skip


def _pdml(pcap: Path, port: int, *options: str) -> ET.Element:
    shown = subprocess.run(
        [tshark(), "-X", f"lua_script:{LUA}", "-r", str(pcap), "-d", f"tcp.port=={port},nas-5gs",
         "-o", "nas-5gs.null_decipher:TRUE", *options, "-T", "pdml"],
        capture_output=True, text=True, check=True, timeout=HANG,
    )  # fmt: skip
    assert "Lua: Error" not in shown.stderr, shown.stderr
    return ET.fromstring(shown.stdout)  # noqa: S314 - tshark's output on our own trace


def _problems(root: ET.Element) -> list[str]:
    return [
        field.get("showname", "")
        for field in root.iter("field")
        if field.get("name") == "_ws.malformed"
        or (field.get("name") == "_ws.expert.severity" and int(field.get("show", "0")) >= _PI_WARN)
    ]


def _plain_flow(root: ET.Element, port: int) -> list[str]:
    """Per connection: "ul 0x41 dl 0x44 ...", the first message type inside each PDU."""
    flows: dict[str, str] = defaultdict(str)
    for packet in root.iter("packet"):
        tcp = packet.find("proto[@name='tcp']")
        assert tcp is not None
        stream = tcp.find("field[@name='tcp.stream']")
        dport = tcp.find("field[@name='tcp.dstport']")
        assert stream is not None
        assert dport is not None
        for pdu in packet.findall("proto[@name='nas-5gs']"):
            types = [f.get("value") for f in pdu.iter("field")
                     if f.get("name") == "nas_5gs.mm.message_type"]  # fmt: skip
            assert types, f"a NAS PDU without a message type: {ET.tostring(pdu)[:300]!r}"
            direction = "ul" if int(dport.get("show", "0")) == port else "dl"
            flows[stream.get("show", "")] += f"{direction} 0x{types[0]} "
    return [flows[key] for key in sorted(flows, key=int)]


def _dialogue(root: ET.Element) -> dict[str, list[str]]:
    """Every dynsub.* field: strings as shown, octets as hex."""
    found: dict[str, list[str]] = defaultdict(list)
    for field in root.iter("field"):
        name = field.get("name", "")
        if name.startswith("dynsub."):
            value = field.get("show", "")
            if re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2})*", value):
                value = field.get("value", value)
            found[name.removeprefix("dynsub.")].append(value)
    return found


def test_the_plaintext_trace_reads_whole_with_the_lua_dissector(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    state = tmp_path / "ue.toml"
    onboarding, registration = tmp_path / "onboard.pcap", tmp_path / "register.pcap"
    with served_core(lab.config_file, cwd=tmp_path) as core:
        dynsub("ue", "onboard", "--device", lab.devices[0], "--core", core.address,
               "--state", state, "--pcap", onboarding, cwd=tmp_path)  # fmt: skip
        dynsub("ue", "register", "--state", state, "--core", core.address,
               "--pcap", registration, cwd=tmp_path)  # fmt: skip
    for trace in (onboarding, registration):
        for path in (trace, plain_path(trace)):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    stored = json.loads(
        dynsub("store", "list", "--config", lab.config_file, "--json", cwd=tmp_path).stdout
    )
    assert len(stored) == 1
    record = stored[0]

    first = _pdml(plain_path(onboarding), core.port)
    second = _pdml(plain_path(registration), core.port)
    assert _problems(first) == []
    assert _problems(second) == []
    flows = _plain_flow(first, core.port) + _plain_flow(second, core.port)
    assert len(flows) == 3, flows  # `ue onboard` registers too; then `ue register`
    assert _ONBOARDING_PLAIN.fullmatch(flows[0]), flows[0]
    assert _REGISTRATION_PLAIN.fullmatch(flows[1]), flows[1]
    assert _REGISTRATION_PLAIN.fullmatch(flows[2]), flows[2]

    fields = _dialogue(first)
    assert fields["type"] == ["1", "2", "3", "4", "5", "6"]  # OFFER ... ACK, in order
    assert set(fields) >= _DIALOGUE_FIELDS, _DIALOGUE_FIELDS - set(fields)
    assert set(fields["supi"]) == {record["supi"]}  # SUBSCRIPTION and ACK
    assert len(fields["supi"]) == 2
    assert fields["service_type"] == [record["service_type"]] * 2  # CHOICE, SUBSCRIPTION
    assert fields["plan"] == [record["plan"]] * 2
    assert fields["amf"] == [record["amf"]]
    assert fields["opc"] == [states.load(state).opc.hex()]
    assert _dialogue(second) == {}  # a registration has no dialogue


def _segments(pcap: Path, port: int) -> dict[tuple[int, int], bytes]:
    """(client port, 1 uplink / 0 downlink) -> every TCP payload octet, in order."""
    shown = subprocess.run(
        [tshark(), "-r", str(pcap), "-T", "fields", "-e", "tcp.srcport", "-e", "tcp.dstport",
         "-e", "tcp.payload", "-Y", "tcp.len > 0"],
        capture_output=True, text=True, check=True, timeout=HANG,
    )  # fmt: skip
    streams: dict[tuple[int, int], bytes] = defaultdict(bytes)
    for line in shown.stdout.splitlines():
        source, destination, payload = line.split("\t")
        uplink = int(destination) == port
        key = (int(source), 1) if uplink else (int(destination), 0)
        streams[key] += bytes.fromhex(payload.replace(":", ""))
    return dict(streams)


def test_the_exact_bytes_trace_is_what_a_live_capture_shows(tmp_path: Path) -> None:
    lab = make_lab(tmp_path, devices=1)
    state = tmp_path / "ue.toml"
    onboarding, registration = tmp_path / "onboard.pcap", tmp_path / "register.pcap"
    live, served = tmp_path / "live.pcapng", tmp_path / "core.pcap"
    with served_core(lab.config_file, cwd=tmp_path, args=("--pcap", served)) as core:
        try:
            with live_capture(live, core.port) as capture:
                dynsub("ue", "onboard", "--device", lab.devices[0], "--core", core.address,
                       "--state", state, "--pcap", onboarding, cwd=tmp_path)  # fmt: skip
                dynsub("ue", "register", "--state", state, "--core", core.address,
                       "--pcap", registration, cwd=tmp_path)  # fmt: skip
                capture.wait_closed(3)
        except CaptureNotPermitted as err:
            pytest.skip(f"this user may not capture on lo (CI runs as root): {err}")
    wire = _segments(live, core.port)
    assert len(wire) == 6  # three connections, both directions
    assert {**_segments(onboarding, core.port), **_segments(registration, core.port)} == wire
    assert _segments(served, core.port) == wire  # the core's side: the same octets
    # And Wireshark reads the traces as it reads the capture: the same PDUs, the same flow.
    traced = dissect(onboarding, core.port).connections()
    traced += dissect(registration, core.port).connections()
    assert traced == dissect(live, core.port).connections()
    assert ONBOARDING.fullmatch(traced[0])
    assert REGISTRATION.fullmatch(traced[1])
    assert dissect(onboarding, core.port).problems == []


def test_the_dissector_reads_an_error_and_flags_a_malformed_payload(tmp_path: Path) -> None:
    """ERROR field by field; and the dissector can fail: a cut field is an expert error."""
    error = d.encode(d.Error(d.DialogueCause.UNKNOWN_PLAN, "no such plan: gold", "plan"))
    broken = d.encode(d.Ack("imsi-001010000000001"))[:-3]  # the SUPI cut short
    capture = TcpCapture(50001, 38412)
    for payload in (error, broken):
        message = DlNasTransport(PayloadContainerType(d.PAYLOAD_CONTAINER_TYPE), payload)
        capture.send(False, frame(encode(message)))
    capture.close()
    pcap = tmp_path / "dialogue.pcap"
    capture.write(pcap)
    root = _pdml(pcap, 38412)
    fields = _dialogue(root)
    assert fields["type"] == ["7", "6"]
    assert fields["cause"] == [str(int(d.DialogueCause.UNKNOWN_PLAN))]
    assert fields["text"] == ["no such plan: gold"]
    assert fields["field"] == ["plan"]
    assert len(_problems(root)) == 1  # one error: the ACK
    flagged = [f.get("showname", "") for f in root.iter("field")
               if f.get("name") == "dynsub.malformed"]  # fmt: skip
    assert len(flagged) == 1
    assert "field 1 announces 20 octets, 17 remain" in flagged[0]
