"""The RADIUS codec against the RFC examples, and its authenticators made to fail.

Vectors: RFC 2865 7.1 ("User Telnet to Specified Host": Access-Request and Access-Accept,
shared secret "xyzzy5461"). RFC 3579 and RFC 2548 print no packets; their Message-Authenticator
and MPPE key hiding are checked here by round trip and by breaking them, and against real
peers in tests/integration/test_freeradius.py (FreeRADIUS) and test_radius_server.py
(eapol_test, which checks the MPPE keys itself).
"""

from __future__ import annotations

import hashlib
import hmac

import pytest

from dynsub_cli.aaa import attributes as a
from dynsub_cli.aaa import packet as radius
from dynsub_cli.aaa.attributes import Type
from dynsub_cli.aaa.packet import Attribute, BadAuthenticator, Code
from dynsub_cli.errors import DecodeError, EncodeError

SECRET = b"xyzzy5461"
# RFC 2865 7.1.
REQUEST = bytes.fromhex(
    "01000038 0f403f94 73978057 bd83d5cb 98f4227a 01066e65 6d6f0212 0dbe708d"
    "93d413ce 3196e43f 782a0aee 0406c0a8 01100506 00000003"
)
ACCEPT = bytes.fromhex(
    "02000026 86fe220e 7624ba2a 1005f6bf 9b55e0b2 06060000 00010f06 000000000e06c0a8 0103"
)


def test_rfc2865_access_request_decodes() -> None:
    packet = radius.decode(REQUEST)
    assert packet.code is Code.ACCESS_REQUEST
    assert packet.identifier == 0
    assert packet.authenticator == bytes.fromhex("0f403f9473978057bd83d5cb98f4227a")
    assert packet.get(Type.USER_NAME) == b"nemo"
    assert packet.get(Type.NAS_IP_ADDRESS) == bytes([192, 168, 1, 16])
    assert [attr.type for attr in packet.attributes] == [1, 2, 4, 5]


def test_rfc2865_response_authenticator() -> None:
    request_auth = REQUEST[4:20]
    assert radius.response_authenticator(ACCEPT, request_auth, SECRET) == ACCEPT[4:20]
    assert radius.response_authenticator(ACCEPT, request_auth, b"other") != ACCEPT[4:20]


def test_rfc2865_accept_without_message_authenticator_is_refused() -> None:
    # Its Response Authenticator verifies, but EAP needs a Message-Authenticator (RFC 3579).
    with pytest.raises(BadAuthenticator, match="no Message-Authenticator"):
        radius.check_response(ACCEPT, REQUEST[4:20], SECRET)


def test_request_message_authenticator_is_rfc3579_hmac_md5() -> None:
    raw = radius.encode_request(7, [Attribute(Type.USER_NAME, b"nemo")], SECRET)
    packet = radius.check_request(raw, SECRET)
    assert packet.identifier == 7
    # RFC 3579 3.2: HMAC-MD5 over the packet with the attribute's value zeroed.
    mac = packet.get(Type.MESSAGE_AUTHENTICATOR)
    assert mac is not None
    zeroed = raw.replace(mac, bytes(16))
    assert hmac.new(SECRET, zeroed, hashlib.md5).digest() == mac
    with pytest.raises(BadAuthenticator, match="shared secret"):
        radius.check_request(raw, b"wrong")


def test_response_round_trip_and_each_authenticator_fails_alone() -> None:
    request = radius.encode_request(9, [Attribute(Type.USER_NAME, b"u")], SECRET)
    auth = request[4:20]
    reply = radius.encode_response(
        Code.ACCESS_CHALLENGE, 9, auth, [Attribute(Type.STATE, b"s")], SECRET
    )
    assert radius.check_response(reply, auth, SECRET).get(Type.STATE) == b"s"
    with pytest.raises(BadAuthenticator, match="Response Authenticator"):
        radius.check_response(reply, auth, b"wrong")
    # A right Response Authenticator over a wrong Message-Authenticator: still refused.
    forged = bytearray(reply)
    forged[22] ^= 1
    forged[4:20] = radius.response_authenticator(bytes(forged), auth, SECRET)
    with pytest.raises(BadAuthenticator, match="Message-Authenticator"):
        radius.check_response(bytes(forged), auth, SECRET)


def test_eap_message_is_split_by_253_and_joined_in_order() -> None:
    eap = bytes(range(256)) * 3  # 768 octets: 253 + 253 + 253 + 9
    parts = radius.split(Type.EAP_MESSAGE, eap)
    assert [len(p.value) for p in parts] == [253, 253, 253, 9]
    raw = radius.encode_request(1, parts, SECRET)
    assert radius.decode(raw).joined(Type.EAP_MESSAGE) == eap


def test_mppe_key_hiding_round_trip_and_wrong_secret() -> None:
    key = bytes(range(32))
    auth = bytes(16)
    hidden = radius.hide_key(key, SECRET, auth, b"\x80\x01")
    assert len(hidden) == 2 + 48  # salt, then length octet + 32 + padding to 16n
    assert hidden[:2] == b"\x80\x01"
    assert key not in hidden
    assert radius.reveal_key(hidden, SECRET, auth) == key
    try:
        wrong: bytes | None = radius.reveal_key(hidden, b"other", auth)
    except BadAuthenticator:
        wrong = None  # the hidden length came out impossible: named as a wrong secret
    assert wrong != key
    with pytest.raises(EncodeError):
        radius.hide_key(key, SECRET, auth, b"\x00\x01")  # RFC 2548: the salt's high bit set


def test_vendor_attributes() -> None:
    attr = radius.vendor_specific(a.VENDOR_3GPP, a.IMEISV_3GPP, b"001001000000007")
    raw = radius.encode_request(1, [attr], SECRET)
    assert radius.decode(raw).vendor(a.VENDOR_3GPP, a.IMEISV_3GPP) == [b"001001000000007"]
    assert radius.decode(raw).vendor(a.VENDOR_MICROSOFT, a.MS_MPPE_RECV_KEY) == []


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        REQUEST[:19],
        b"\x63" + REQUEST[1:],  # unknown code
        REQUEST[:2] + b"\x00\x39" + REQUEST[4:],  # Length beyond the data
        REQUEST[:20] + b"\x01\x01",  # attribute Length 1
        REQUEST[:2] + b"\x00\x16" + REQUEST[4:20] + b"\x01\x06",  # attribute past Length
    ],
)
def test_malformed_packets_are_decode_errors(raw: bytes) -> None:
    with pytest.raises(DecodeError):
        radius.decode(raw)


def test_too_long_values_are_refused_on_encoding() -> None:
    with pytest.raises(EncodeError):
        radius.encode_request(1, [Attribute(Type.USER_NAME, bytes(254))], SECRET)
