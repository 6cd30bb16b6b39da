"""pycrate, an independent NAS implementation, agrees with the codec on every sample message.

Both directions are compared on field values: pycrate's reading of our PDUs, translated to our
value types, equals the message we encoded; our reading of the PDUs pycrate builds from the
same values equals the message; and re-encoding what we read gives pycrate's octets back.
"""

from __future__ import annotations

import dataclasses

import pytest

from dynsub_cli.nas import PLAIN_MESSAGES, Message, SecurityProtected, decode, encode
from tests.unit.nas.oracle import fields_of, pycrate_build, pycrate_fields
from tests.unit.nas.samples import ALL, RICH, sample_id


@pytest.mark.parametrize("message", ALL, ids=sample_id)
def test_pycrate_reads_our_pdu_as_the_same_values(message: Message) -> None:
    cls, fields = pycrate_fields(encode(message))
    assert cls is type(message)
    assert fields == fields_of(message)


@pytest.mark.parametrize("message", ALL, ids=sample_id)
def test_we_read_pycrate_pdus_as_the_same_values(message: Message) -> None:
    pdu = pycrate_build(message)
    decoded = decode(pdu, strict=True)
    assert decoded == message
    assert encode(decoded) == pdu


def test_every_message_type_has_a_rich_sample_with_every_optional_ie() -> None:
    rich = {type(m): m for m in RICH}
    assert set(rich) == set(PLAIN_MESSAGES)
    for cls, message in rich.items():
        assert dataclasses.is_dataclass(message)
        missing = [f.name for f in dataclasses.fields(message) if getattr(message, f.name) is None]
        assert not missing, f"{cls.__name__} sample lacks {missing}"


def test_all_security_header_types_are_sampled() -> None:
    header_types = {m.header_type for m in ALL if isinstance(m, SecurityProtected)}
    assert header_types == {1, 2, 3, 4}
