"""store.jsontext writes what json.dumps(..., indent=2) writes, byte for byte, a piece at a time."""

from __future__ import annotations

import io
import json
from enum import IntEnum, StrEnum
from typing import Any

import pytest

from dynsub_cli.store import jsontext


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    HIGH = 3


VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -7,
    2**70,
    1.5,
    -0.0,
    1e300,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    'quote " backslash \\ newline \n tab \t',
    "non-ASCII: é π 😀",
    "a %s and %d in text",
    Colour.RED,
    Level.HIGH,
    [],
    {},
    (1, "two"),
    [[], [{}], [[1, [2]]]],
    {"nested": {"deeper": {"deepest": [1, {"x": None}]}}},
    {"%s": 1, "%d%%": {"%": "%"}},
    {1: "int key", 2.5: "float key", False: "bool key", None: "null key"},
    {"supi": "imsi-001010000000001", "billing": {}, "s_nssai": {"sst": 1, "sd": None}},
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_dumps_is_json_dumps_with_indent_2(value: Any) -> None:
    assert jsontext.dumps(value) == json.dumps(value, indent=2)


def test_a_shape_seen_before_is_written_the_same_way() -> None:
    shapes: list[dict[str, Any]] = [
        {"a": 1, "b": "x"},
        {"a": None, "b": {"c": []}},
        {"b": 1, "a": 2},
    ]
    for value in shapes:
        assert jsontext.dumps(value) == json.dumps(value, indent=2)
        assert jsontext.dumps([value, value]) == json.dumps([value, value], indent=2)


@pytest.mark.parametrize("count", [0, 1, 2, 255, 256, 257, 600])
def test_write_array_is_json_dumps_of_the_list(count: int) -> None:
    items = [VALUES[n % len(VALUES)] for n in range(count)]
    out = io.StringIO()
    assert jsontext.write_array(iter(items), out) == count
    assert out.getvalue() == json.dumps(items, indent=2) + "\n"


@pytest.mark.parametrize("count", [0, 1, 256, 300])
def test_write_lines_is_one_json_dumps_per_line(count: int) -> None:
    items = [VALUES[n % len(VALUES)] for n in range(count)]
    out = io.StringIO()
    assert jsontext.write_lines(iter(items), out) == count
    assert out.getvalue() == "".join(json.dumps(item) + "\n" for item in items)


def test_what_json_refuses_is_refused() -> None:
    for value in ({"set": {1}}, [b"bytes"], {(1, 2): "tuple key"}):
        with pytest.raises(TypeError):
            json.dumps(value, indent=2)
        with pytest.raises(TypeError):
            jsontext.dumps(value)
