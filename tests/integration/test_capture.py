"""Wireshark reads a whole onboarding and the registrations that follow as NAS-5GS.

Two captures, both read with ``tshark -r FILE -d tcp.port==PORT,nas-5gs -T pdml``:

- live: tshark captures the loopback interface while `dynsub core serve`, `dynsub ue onboard`
  and `dynsub ue register` run as subprocesses, so what is checked is what really crossed
  the wire (TCP segmentation, several PDUs per segment, the client's connection handling);
- written: the PDUs of the in-memory flow (tests/flow.py converse, the same engines) written to
  a pcap, one PDU per segment, which does not depend on capture permissions or timing.

For each, every PDU must be a top-level NAS-5GS PDU, with no malformed packet and no expert
info of warning or error level anywhere (TCP included: a lost segment would show there), and
the sequence of (direction, message) per connection must be the one of docs/protocol.md section 2.
Messages
after SECURITY MODE COMMAND are ciphered with 128-NEA2, which Wireshark cannot read without
keys, so they appear as "protected" with their direction; their number and order still pin
the flow down (each is named in the patterns below).
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from dynsub_cli.nas.framing import frame
from dynsub_cli.ue import device as devices
from dynsub_cli.ue.onboarding import Onboarding
from dynsub_cli.ue.registration import Registration
from tests.flow import Exchange, converse, make_lab, open_core
from tests.pcap import TcpCapture, pcap_bytes
from tests.processes import (
    HANG,
    CaptureNotPermitted,
    check_capture_permitted,
    dynsub,
    live_capture,
    served_core,
    tshark,
)

# Expert info severities (epan/proto.h): PI_WARN 0x00600000, PI_ERROR 0x00800000.
_PI_WARN = 0x00600000

# TS 24.501 9.7: 5GMM message types, as far as this flow uses them in clear.
_MESSAGES = {
    0x41: "registration request",
    0x44: "registration reject",
    0x56: "authentication request",
    0x57: "authentication response",
    0x59: "authentication failure",
    0x5D: "security mode command",
}
_REGISTRATION_TYPES = {"1": "initial", "5": "onboarding"}  # TS 24.501 9.11.3.7
_EAP_CODES = {"1": "eap-request", "2": "eap-response", "3": "eap-success", "4": "eap-failure"}
_TLS_HANDSHAKES = {"1": "client-hello", "2": "server-hello"}

_EAP_RESPONSE = "ul authentication response eap-response eap-tls[^\n]*\n"
_EAP_REQUEST = "dl authentication request eap-request eap-tls[^\n]*\n"
# docs/protocol.md section 2, first connection: the seed flow.
ONBOARDING = re.compile(
    "ul registration request initial nai\n"  # null-scheme SUCI from the certificate
    "dl registration reject #74\n"  # no subscription: start subscription generation
    "ul registration request onboarding nai\n"  # type 5, SNPN onboarding
    "dl authentication request eap-request eap-tls start\n"
    f"(?:{_EAP_RESPONSE}{_EAP_REQUEST})+"  # EAP-TLS, fragments acknowledged
    f"{_EAP_RESPONSE}"
    "dl security mode command eap-success\n"  # ngKSI, ABBA, NEA2/NIA2
    "ul protected new-context\n"  # SECURITY MODE COMPLETE
    "dl protected\n"  # REGISTRATION ACCEPT (onboarding services)
    "ul protected\n"  # REGISTRATION COMPLETE
    "dl protected\n"  # DL NAS TRANSPORT: subscription offer
    "ul protected\n"  # UL NAS TRANSPORT: choice
    "dl protected\n"  # DL NAS TRANSPORT: key generation request
    "ul protected\n"  # UL NAS TRANSPORT: key generation response
    "dl protected\n"  # DL NAS TRANSPORT: subscription
    "ul protected\n"  # UL NAS TRANSPORT: acknowledgement
    "dl protected\n"  # DEREGISTRATION REQUEST (#93)
    "ul protected\n"  # DEREGISTRATION ACCEPT
)
# docs/protocol.md section 2, last line: a normal registration with the generated subscription.
REGISTRATION = re.compile(
    "ul registration request initial imsi scheme [12]\n"  # SUCI Profile A or B
    "dl authentication request rand autn\n"  # 5G AKA
    "ul authentication response res\\*\n"
    "dl security mode command\n"
    "ul protected new-context\n"  # SECURITY MODE COMPLETE
    "dl protected\n"  # REGISTRATION ACCEPT
    "ul protected\n"  # REGISTRATION COMPLETE
    "ul protected\n"  # DEREGISTRATION REQUEST (the UE's work is done)
    "dl protected\n"  # DEREGISTRATION ACCEPT
)


@dataclass(frozen=True)
class Pdu:
    stream: int  # tcp.stream: one per TCP connection, in the order they opened
    text: str  # "ul registration request initial nai", ...


@dataclass(frozen=True)
class Dissection:
    pdus: list[Pdu]
    problems: list[str]
    tls: set[str]  # "ul client-hello", "dl server-hello", ...

    def connections(self) -> list[str]:
        streams = sorted({p.stream for p in self.pdus})
        return ["".join(p.text + "\n" for p in self.pdus if p.stream == s) for s in streams]


def _fields(element: ET.Element) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for field in element.iter("field"):
        found.setdefault(field.get("name", ""), []).append(field.get("show", ""))
    return found


def _describe(uplink: bool, fields: dict[str, list[str]]) -> str:
    def first(name: str) -> str | None:
        return fields[name][0] if name in fields else None

    words = ["ul" if uplink else "dl"]
    header = int(first("nas_5gs.security_header_type") or "-1")
    if header in (2, 4):  # TS 24.501 9.3.1: ciphered, with a new context (4) or not (2)
        return " ".join([*words, "protected", *(["new-context"] if header == 4 else [])])
    message_type = first("nas_5gs.mm.message_type")
    words.append(_MESSAGES.get(int(message_type, 16), message_type) if message_type else "?")
    if (kind := first("nas_5gs.mm.5gs_reg_type")) is not None:
        words.append(_REGISTRATION_TYPES.get(kind, f"type {kind}"))
    if (fmt := first("nas_5gs.mm.suci.supi_fmt")) is not None:
        words.append("nai" if fmt == "1" else f"imsi scheme {first('nas_5gs.mm.suci.scheme_id')}")
    if (cause := first("nas_5gs.mm.5gmm_cause")) is not None:
        words.append(f"#{cause}")
    if (code := first("eap.code")) is not None:
        words.append(_EAP_CODES.get(code, f"eap code {code}"))
        if first("eap.type") == "13":
            words.append("eap-tls")
        if first("eap.tls.flags.start") in ("1", "True"):
            words.append("start")
    if "gsm_a.dtap.rand" in fields and "gsm_a.dtap.autn" in fields:
        words += ["rand", "autn"]
    if "nas_eps.emm.res" in fields:
        words.append("res*")
    return " ".join(words)


def dissect(pcap: Path, port: int) -> Dissection:
    shown = subprocess.run(
        [tshark(), "-r", str(pcap), "-d", f"tcp.port=={port},nas-5gs", "-T", "pdml"],
        capture_output=True,
        text=True,
        check=True,
        timeout=HANG,
    )
    root = ET.fromstring(shown.stdout)  # noqa: S314 - tshark's output on our own capture
    problems = []
    for field in root.iter("field"):
        name = field.get("name", "")
        if name == "_ws.malformed" or (
            name == "_ws.expert.severity" and int(field.get("show", "0")) >= _PI_WARN
        ):
            problems.append(field.get("showname", name))
    pdus, tls = [], set()
    for packet in root.iter("packet"):
        tcp = packet.find("proto[@name='tcp']")
        if tcp is None:
            continue
        tcp_fields = _fields(tcp)
        uplink = int(tcp_fields["tcp.dstport"][0]) == port
        stream = int(tcp_fields["tcp.stream"][0])
        # Top-level NAS-5GS layers only: one per PDU, several when one segment carries more.
        for proto in packet.findall("proto[@name='nas-5gs']"):
            fields = _fields(proto)
            pdus.append(Pdu(stream, _describe(uplink, fields)))
            for handshake in fields.get("tls.handshake.type", []):
                name = _TLS_HANDSHAKES.get(handshake, handshake)
                tls.add(("ul " if uplink else "dl ") + name)
    return Dissection(pdus, problems, tls)


def _check(dissection: Dissection, expected: list[re.Pattern[str]]) -> None:
    assert not dissection.problems, dissection.problems
    connections = dissection.connections()
    assert len(connections) == len(expected), connections
    for shown, pattern in zip(connections, expected, strict=True):
        assert pattern.fullmatch(shown), f"not the flow of docs/protocol.md section 2:\n{shown}"
    # Wireshark also reads the TLS 1.3 handshake inside EAP-TLS: the UE opens it, the core's
    # certificate follows in the server's flight.
    assert {"ul client-hello", "dl server-hello"} <= dissection.tls


def test_live_capture_on_loopback_decodes_as_the_seed_flow(tmp_path: Path) -> None:
    try:
        check_capture_permitted()
    except CaptureNotPermitted as err:
        pytest.skip(f"this user may not capture on lo (CI runs as root): {err}")
    lab = make_lab(tmp_path, devices=1)
    state = tmp_path / "ue.toml"
    pcap = tmp_path / "live.pcapng"
    with served_core(lab.config_file, cwd=tmp_path) as core:
        try:
            with live_capture(pcap, core.port) as capture:
                dynsub("ue", "onboard", "--device", lab.devices[0], "--core", core.address,
                       "--state", state, cwd=tmp_path)  # fmt: skip
                dynsub("ue", "register", "--state", state, "--core", core.address, cwd=tmp_path)
                capture.wait_closed(3)
        except CaptureNotPermitted as err:
            pytest.skip(f"this user may not capture on lo (CI runs as root): {err}")
    dissection = dissect(pcap, core.port)
    # `ue onboard` onboards, then registers on a second connection; `ue register` is a third.
    _check(dissection, [ONBOARDING, REGISTRATION, REGISTRATION])


def _written(tmp_path: Path) -> tuple[Path, list[Exchange]]:
    lab = make_lab(tmp_path, devices=1)
    core = open_core(lab)
    with core.store:
        onboarding = Onboarding(devices.load(lab.devices[0]))
        first = converse(onboarding, onboarding.start(), core.session())
        registration = Registration(onboarding.result)
        second = converse(registration, registration.start(), core.session())
    connections: list[TcpCapture] = []
    for port, exchange in ((50001, first), (50002, second)):
        capture = TcpCapture(port, 38412)  # pcap_bytes writes them in this order
        for direction, pdu in exchange.pdus:
            capture.send(direction == "ul", frame(pdu))
        capture.close()
        connections.append(capture)
    path = tmp_path / "written.pcap"
    path.write_bytes(pcap_bytes(*connections))
    return path, [first, second]


def test_written_capture_of_the_exact_pdus_decodes_as_the_seed_flow(tmp_path: Path) -> None:
    pcap, exchanges = _written(tmp_path)
    dissection = dissect(pcap, 38412)
    _check(dissection, [ONBOARDING, REGISTRATION])
    assert len(dissection.pdus) == sum(len(e.pdus) for e in exchanges)


def test_the_patterns_refuse_a_flow_out_of_order(tmp_path: Path) -> None:
    """The check above can fail: the same capture with two PDUs swapped does not match."""
    pcap, _ = _written(tmp_path)
    dissection = dissect(pcap, 38412)
    onboarding = dissection.connections()[0].splitlines(keepends=True)
    onboarding[0], onboarding[1] = onboarding[1], onboarding[0]
    assert not ONBOARDING.fullmatch("".join(onboarding))
    assert not REGISTRATION.fullmatch(dissection.connections()[0])


def test_with_the_tls_key_log_wireshark_reads_the_certificates_inside_eap(tmp_path: Path) -> None:
    """`ue onboard --tls-keylog` writes what Wireshark needs to decrypt the EAP-TLS handshake
    carried in NAS: both certificates then show, the core's name and the device's IMEI."""
    lab = make_lab(tmp_path, devices=1)
    core = open_core(lab)
    lines: list[bytes] = []
    device = devices.load(lab.devices[0])
    with core.store:
        onboarding = Onboarding(device, keylog=lines.append)
        exchange = converse(onboarding, onboarding.start(), core.session())
    capture = TcpCapture(50001, 38412)
    for direction, pdu in exchange.pdus:
        capture.send(direction == "ul", frame(pdu))
    capture.close()
    pcap = tmp_path / "onboarding.pcap"
    pcap.write_bytes(pcap_bytes(capture))
    keys = tmp_path / "keys.log"
    keys.write_bytes(b"".join(line + b"\n" for line in lines))

    # Certificate names are UTF8String (RFC 5280 4.1.2.4, what cryptography writes).
    fields = ("-T", "fields", "-e", "x509sat.uTF8String")

    def names(*options: str) -> str:
        shown = subprocess.run(
            [tshark(), "-r", str(pcap), "-d", "tcp.port==38412,nas-5gs", *options, *fields],
            capture_output=True,
            text=True,
            timeout=HANG,
            check=True,
        )
        return shown.stdout

    assert device.imei not in names()  # TLS 1.3 encrypts the certificates
    decrypted = names("-o", f"tls.keylog_file:{keys}")
    assert device.imei in decrypted
    assert "ausf.5gc.mnc001.mcc001.3gppnetwork.org" in decrypted
