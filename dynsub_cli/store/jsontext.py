"""JSON text exactly as ``json.dumps(value, indent=2)`` writes it, a document at a time.

The store's JSON outputs (``dynsub store list --json``, ``export``, ``events --json``) are one
array of records, as ``json.dumps(records, indent=2)`` has always written it. A store of 100,000
records would need the whole list in memory to write it that way, so :func:`write_array`
writes the same bytes element by element instead. Python 3.11's C encoder does not indent, and
its pure-Python fallback costs three times what this specialised one does (issue 11: at least
50,000 records a second); :func:`dumps` takes the JSON values a record is made of (dict, list,
tuple, str, int, float, bool, None), with the defaults of ``json.dumps`` (ASCII, NaN allowed,
keys in insertion order), and refuses anything else as ``json.dumps`` would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from json.encoder import encode_basestring_ascii as _string
from typing import Any, TextIO

_INDENT = "  "
#: Elements written before the text gathered so far is handed to the output.
_BATCH = 256


def _float(value: float) -> str:
    # As json.encoder's floatstr with allow_nan=True.
    if value != value:
        return "NaN"
    if value == float("inf"):
        return "Infinity"
    if value == float("-inf"):
        return "-Infinity"
    return float.__repr__(value)


def _key(key: object) -> str:
    # json.dumps turns the keys it accepts into strings the same way.
    if isinstance(key, str):
        return str(_string(key))
    if key is True:
        return '"true"'
    if key is False:
        return '"false"'
    if key is None:
        return '"null"'
    if isinstance(key, float):
        return f'"{_float(key)}"'
    if isinstance(key, int):
        return f'"{int.__repr__(key)}"'
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _encode(value: Any, indent: str) -> str:
    kind = type(value)
    if kind is str:
        return str(_string(value))
    if kind is dict or (kind is not list and isinstance(value, dict)):
        return _object(value, indent)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return str(_string(value))
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, list | tuple):
        return _array(value, indent)
    raise TypeError(f"Object of type {kind.__name__} is not JSON serializable")


#: (keys, indent) -> the object's text with a %s for each value: records share a few shapes,
#: so each is laid out once and every record is one % of its encoded values.
_TEMPLATES: dict[tuple[tuple[Any, ...], str], str] = {}
_MAX_TEMPLATES = 1024


def _template(keys: tuple[Any, ...], indent: str) -> str:
    inner = indent + _INDENT
    fields = [_key(key).replace("%", "%%") + ": %s" for key in keys]
    text = "{\n" + inner + (",\n" + inner).join(fields) + "\n" + indent + "}"
    if len(_TEMPLATES) < _MAX_TEMPLATES:  # objects of ever new keys must not grow it forever
        _TEMPLATES[keys, indent] = text
    return text


def _object(value: dict[Any, Any], indent: str) -> str:
    if not value:
        return "{}"
    keys = tuple(value)
    template = _TEMPLATES.get((keys, indent)) or _template(keys, indent)
    inner = indent + _INDENT
    # The common scalars inline: a record is mostly strings, numbers and nulls.
    return template % tuple(
        [
            _string(item)
            if type(item) is str
            else "null"
            if item is None
            else int.__repr__(item)
            if type(item) is int
            else _object(item, inner)
            if type(item) is dict
            else _encode(item, inner)
            for item in value.values()
        ]
    )


def _array(value: list[Any] | tuple[Any, ...], indent: str) -> str:
    if not value:
        return "[]"
    inner = indent + _INDENT
    return (
        "[\n"
        + inner
        + (",\n" + inner).join([_encode(item, inner) for item in value])
        + ("\n" + indent + "]")
    )


def dumps(value: Any) -> str:
    """``json.dumps(value, indent=2)``."""
    return _encode(value, "")


def write_array(items: Iterable[Any], out: TextIO) -> int:
    """Write ``json.dumps(list(items), indent=2) + "\\n"`` to ``out`` without the list;
    returns how many items were written."""
    count = 0
    parts: list[str] = []
    for item in items:
        parts.append(_encode(item, _INDENT))
        count += 1
        if len(parts) == _BATCH:
            out.write(("[\n  " if count == _BATCH else ",\n  ") + ",\n  ".join(parts))
            parts.clear()
    if parts:
        out.write(("[\n  " if count <= _BATCH else ",\n  ") + ",\n  ".join(parts))
    out.write("\n]\n" if count else "[]\n")
    return count


def write_lines(items: Iterable[Any], out: TextIO) -> int:
    """Write one ``json.dumps(item)`` line per item (NDJSON); returns how many."""
    count = 0
    # Records are trees made for the output: there is no cycle to look for on each container.
    encode = json.JSONEncoder(check_circular=False).encode
    lines: list[str] = []
    for item in items:
        lines.append(encode(item))
        count += 1
        if count % _BATCH == 0:
            lines.append("")
            out.write("\n".join(lines))
            lines.clear()
    if lines:
        lines.append("")
        out.write("\n".join(lines))
    return count
