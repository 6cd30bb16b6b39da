"""Typed access to one TOML table, with errors that name the file, the section and the key.

Every value is taken out of the table exactly once; :meth:`Section.finish` then refuses
whatever is left, so a misspelt key is an error instead of a silently ignored setting.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from dynsub_cli.errors import ConfigError

T = TypeVar("T")

_MISSING: Any = object()


def describe(value: object) -> str:
    """A TOML-ish name for the type of ``value``, for error messages."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value}"
    if isinstance(value, str):
        return f'string "{value}"'
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return type(value).__name__


def unknown_names(what: str, names: list[str], known: list[str]) -> str:
    """``unknown key "hots" (did you mean "host"?); known keys: host, port``."""
    parts = []
    for name in names:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        parts.append(f'unknown {what} "{name}"{hint}')
    return "; ".join(parts) + f"; known {what}s: " + (", ".join(known) or "none")


class Section:
    """One table of the file; relative paths in it resolve against ``base``."""

    def __init__(self, file: str, base: Path, name: str, table: Mapping[str, Any]) -> None:
        self.file = file
        self.base = base
        self.name = name
        self._table = dict(table)
        self._taken: list[str] = []

    @property
    def where(self) -> str:
        return f"{self.file}: [{self.name}]"

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where} {key}: {message}")

    def _take(self, key: str, default: Any) -> Any:
        self._taken.append(key)
        if key in self._table:
            return self._table.pop(key)
        if default is _MISSING:
            raise ConfigError(f"{self.where}: missing key {key!r}")
        return default

    def _typed(self, key: str, value: Any, kind: type | tuple[type, ...], expected: str) -> Any:
        # TOML booleans are Python ints; a boolean is never accepted where a number is meant.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.error(key, f"expected {expected}, got {describe(value)}")
        if not isinstance(value, kind):
            raise self.error(key, f"expected {expected}, got {describe(value)}")
        return value

    def text(self, key: str, default: Any = _MISSING) -> Any:
        value = self._take(key, default)
        return value if value is default else self._typed(key, value, str, "a string")

    def integer(self, key: str, default: Any = _MISSING) -> Any:
        value = self._take(key, default)
        return value if value is default else self._typed(key, value, int, "an integer")

    def number(self, key: str, default: Any = _MISSING) -> Any:
        value = self._take(key, default)
        if value is default:
            return value
        return float(self._typed(key, value, (int, float), "a number"))

    def text_or_integer(self, key: str, default: Any = _MISSING) -> Any:
        value = self._take(key, default)
        if value is default:
            return value
        return self._typed(key, value, (str, int), "a string or an integer")

    def text_list(self, key: str, default: Any = _MISSING) -> Any:
        value = self._take(key, default)
        if value is default:
            return value
        self._typed(key, value, list, "an array of strings")
        for item in value:
            if not isinstance(item, str):
                raise self.error(key, f"expected an array of strings, found {describe(item)}")
        return tuple(value)

    def text_or_list(self, key: str, default: Any = _MISSING) -> Any:
        """A string (one item) or an array of strings, as a tuple."""
        value = self._take(key, default)
        if value is default:
            return value
        if isinstance(value, str):
            return (value,)
        self._typed(key, value, list, "a string or an array of strings")
        for item in value:
            if not isinstance(item, str):
                raise self.error(key, f"expected an array of strings, found {describe(item)}")
        return tuple(value)

    def table_or_none(self, key: str) -> Mapping[str, Any] | None:
        value = self._take(key, None)
        if value is not None and not isinstance(value, Mapping):
            raise self.error(key, f"expected a table [{self.name}.{key}], got {describe(value)}")
        return value

    def path(self, key: str, default: Any = _MISSING) -> Any:
        value = self.text(key, default)
        return value if value is default else self.resolve(value)

    def paths(self, key: str, default: Any = _MISSING) -> Any:
        value = self.text_list(key, default)
        return value if value is default else tuple(self.resolve(v) for v in value)

    def resolve(self, value: str) -> Path:
        """Relative paths are relative to the folder of the configuration file."""
        return self.base / Path(value).expanduser()

    def check(self, key: str, value: T, ok: Callable[[T], bool], message: str) -> T:
        if not ok(value):
            raise self.error(key, message)
        return value

    def finish(self) -> None:
        """Refuse every key that nothing took: it is a typo or a setting dynsub does not have."""
        if self._table:
            raise ConfigError(
                f"{self.where} "
                + unknown_names("key", sorted(self._table), sorted(set(self._taken)))
            )
