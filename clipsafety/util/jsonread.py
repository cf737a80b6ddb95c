"""Reading JSON that must have a given shape, with a path to every value for the messages.

    value = JsonValue(data)
    value.key("cases").items()[3].key("value").number()
    # ResultsError: cases[3].value: expected a number, got 'abc'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Callable

from .errors import ClipSafetyError

Interval = tuple[float | None, float | None]


class ResultsError(ClipSafetyError):
    """A results or baseline file that is not what clipsafety writes."""


class JsonValue:
    """A JSON value and the path that names it in messages ("cases[3].seeds[0].value")."""

    def __init__(self, value: Any, path: str = ""):
        self.value, self.path = value, path

    def fail(self, problem: str) -> ResultsError:
        return ResultsError(f"{self.path or 'the file'}: {problem}",
                            fix="give a results file written by this version of clipsafety (--clip-results)")

    def _expected(self, what: str) -> ResultsError:
        shown = repr(self.value)
        return self.fail(f"expected {what}, got {shown if len(shown) <= 40 else shown[:37] + '...'}")

    def key(self, name: str, *, optional: bool = False) -> JsonValue:
        mapping = self.mapping()
        path = f"{self.path}.{name}" if self.path else name
        if name not in mapping:
            if optional:
                return JsonValue(None, path)
            raise self.fail(f"missing field {name!r}")
        return JsonValue(mapping[name], path)

    def mapping(self) -> Mapping[str, Any]:
        if not isinstance(self.value, Mapping):
            raise self._expected("an object")
        return self.value

    def items(self) -> list[JsonValue]:
        if not isinstance(self.value, list):
            raise self._expected("a list")
        return [JsonValue(v, f"{self.path}[{i}]") for i, v in enumerate(self.value)]

    def entries(self) -> list[tuple[str, JsonValue]]:
        out = []
        for k, v in self.mapping().items():
            path = f"{self.path}[{k!r}]"
            out.append((JsonValue(str(k), f"{path} (its key)").text(), JsonValue(v, path)))
        return out

    def nullable(self, read: Callable[[JsonValue], Any]) -> Any:
        return None if self.value is None else read(self)

    def text(self, choices: tuple[str, ...] | None = None) -> str:
        if not isinstance(self.value, str):
            raise self._expected("a string")
        lone = next((c for c in self.value if "\ud800" <= c <= "\udfff"), None)
        if lone is not None:  # JSON's \ud800 escape reads, but no output could write it back
            raise self.fail(f"the text holds U+{ord(lone):04X}, half of a surrogate pair, which is no character")
        if choices is not None and self.value not in choices:
            raise self._expected("one of " + ", ".join(repr(c) for c in choices))
        return self.value

    def number(self) -> float:
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            raise self._expected("a number")
        if not math.isfinite(self.value):
            raise self._expected("a finite number")
        return float(self.value)

    def integer(self) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self._expected("an integer")
        return self.value

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self._expected("true or false")
        return self.value

    def strings(self) -> tuple[str, ...]:
        return tuple(item.text() for item in self.items())

    def interval(self) -> Interval:
        ends = self.items()
        if len(ends) != 2:
            raise self._expected("[low, high]")
        return ends[0].nullable(JsonValue.number), ends[1].nullable(JsonValue.number)


def opt_text(value: JsonValue) -> str | None:
    return value.nullable(JsonValue.text)


def opt_number(value: JsonValue) -> float | None:
    return value.nullable(JsonValue.number)


def opt_interval(value: JsonValue) -> Interval | None:
    return value.nullable(JsonValue.interval)
