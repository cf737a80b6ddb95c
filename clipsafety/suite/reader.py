"""Walks a suite's YAML nodes; every mistake becomes one SuiteError at the node's line."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..util.errors import SuiteError
from ..util.names import did_you_mean
from ..util.text import CONTROL_CHARACTER
from .bounded_yaml import shown_tag

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # ids end up in pytest node ids
ID_RULE = "must be letters, digits, '.', '_' or '-' (no spaces)"

# Control characters are refused (clipsafety.util.text.CONTROL_CHARACTER). Bidirectional and
# zero-width characters are allowed (real scripts use them), and shown escaped by visible_text.
_CONTROL = CONTROL_CHARACTER


def is_id(text: str) -> bool:
    return bool(ID_PATTERN.fullmatch(text))


def fmt_number(x: float) -> str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:g}"


def fmt_range(lo: float, hi: float) -> str:
    return f"{'(' if math.isinf(lo) else '['}{fmt_number(lo)}, {fmt_number(hi)}{')' if math.isinf(hi) else ']'}"


def join(field_path: str, key: str) -> str:
    return f"{field_path}.{key}" if field_path else key


class Reader:
    """Typed reads of YAML nodes that remember each field's line."""

    def __init__(self, path: str):
        self.path = path
        self.constructor = SafeConstructor()
        self.lines: dict[str, int] = {}

    # -- errors and lines

    def fail(self, node: Node | None, field_path: str, message: str, fix: str | None = None) -> SuiteError:
        line = node.start_mark.line + 1 if node is not None else 1
        text = f"{field_path}: {message}" if field_path else message
        return SuiteError(text, where=f"{self.path}:{line}", fix=fix)

    def note(self, field_path: str, node: Node) -> None:
        self.lines[field_path] = node.start_mark.line + 1

    # -- scalars

    def value(self, node: Node, field_path: str, expected: str = "a single value") -> Any:
        if not isinstance(node, ScalarNode):
            raise self.fail(node, field_path, f"expected {expected}, got {self.kind(node)}")
        try:
            value = self.constructor.construct_object(node)
        except Exception:  # noqa: BLE001 - PyYAML's scalar constructors raise ValueError etc. on bad input
            raise self.fail(node, field_path, f"cannot read {node.value!r} as {shown_tag(node.tag)}",
                            fix="write a plain value without a !!tag") from None
        if isinstance(value, str) and (bad := _CONTROL.search(value)):
            raise self.fail(node, field_path, f"contains the control character U+{ord(bad.group()):04X}, "
                            "which a suite does not allow", fix="remove it: control characters can hide or "
                            "rewrite what a reviewer reads")
        return value

    def kind(self, node: Node) -> str:
        """How a node reads to a person: 'a list', 'the string 'x'', 'an integer 3'."""
        if isinstance(node, MappingNode):
            return "a mapping"
        if isinstance(node, SequenceNode):
            return "a list"
        try:
            value = self.constructor.construct_object(node)
        except Exception:  # noqa: BLE001 - as in value(): describe what was written instead
            return f"{node.value!r}"
        if value is None:
            return "nothing (null)"
        name = {bool: "a boolean", int: "an integer", float: "a number", str: "the string"}.get(
            type(value), f"a {type(value).__name__}"
        )
        return f"{name} {value!r}"

    def string(self, node: Node, field_path: str, *, empty_ok: bool = False) -> str:
        value = self.value(node, field_path, "a string")
        if not isinstance(value, str):
            fix = "quote it" if isinstance(value, (bool, int, float)) else None
            raise self.fail(node, field_path, f"expected a string, got {self.kind(node)}", fix=fix)
        if not empty_ok and not value.strip():
            raise self.fail(node, field_path, "must not be empty")
        self.note(field_path, node)
        return value

    def identifier(self, node: Node, field_path: str, what: str = "id") -> str:
        value = self.string(node, field_path)
        if not is_id(value):
            raise self.fail(node, field_path, f"{what} {value!r} {ID_RULE}")
        return value

    def integer(self, node: Node, field_path: str, *, minimum: int | None = None) -> int:
        value = self.value(node, field_path, "an integer")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(node, field_path, f"expected an integer, got {self.kind(node)}")
        if minimum is not None and value < minimum:
            raise self.fail(node, field_path, f"must be >= {minimum}, got {value}")
        self.note(field_path, node)
        return value

    def number(self, node: Node, field_path: str) -> float:
        value = self.value(node, field_path, "a number")
        # PyYAML reads plain 1e-3 (no dot) as a string; a plain scalar that parses is a number
        if isinstance(value, str) and isinstance(node, ScalarNode) and node.style is None:
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(node, field_path, f"expected a number, got {self.kind(node)}")
        try:
            value = float(value)
        except OverflowError:  # an integer too large for a float
            value = math.inf
        if not math.isfinite(value):
            raise self.fail(node, field_path, f"must be a finite number, got {value}")
        self.note(field_path, node)
        return value

    def boolean(self, node: Node, field_path: str) -> bool:
        value = self.value(node, field_path, "true or false")
        if not isinstance(value, bool):
            raise self.fail(node, field_path, f"expected true or false, got {self.kind(node)}")
        self.note(field_path, node)
        return value

    def strings(self, node: Node, field_path: str, *, single_ok: bool = False) -> list[str]:
        if single_ok and isinstance(node, ScalarNode):
            return [self.string(node, field_path)]
        if not isinstance(node, SequenceNode):
            raise self.fail(node, field_path, f"expected a list of strings, got {self.kind(node)}",
                            fix="write it as [a, b] or as '- item' lines")
        self.note(field_path, node)
        return [self.string(item, f"{field_path}[{i}]") for i, item in enumerate(node.value)]

    def is_null(self, node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag.endswith(":null")

    # -- collections

    def to_python(self, node: Node, field_path: str) -> Any:
        """Plain data (dict/list/scalars) for free-form settings; the composer bounded its size and depth."""
        if isinstance(node, MappingNode):
            return {k: self.to_python(v, join(field_path, k)) for k, (_, v) in self.mapping(node, field_path).items()}
        if isinstance(node, SequenceNode):
            return [self.to_python(v, f"{field_path}[{i}]") for i, v in enumerate(node.value)]
        return self.value(node, field_path)

    def mapping(self, node: Node, field_path: str, null_ok: bool = False) -> dict[str, tuple[Node, Node]]:
        """key -> (key node, value node); keys must be unique strings."""
        if null_ok and self.is_null(node):
            return {}
        if not isinstance(node, MappingNode):
            where = field_path or "the top level"
            raise self.fail(node, field_path, f"expected a mapping (key: value lines) for {where}, got {self.kind(node)}")
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node, field_path or "key")
            if not isinstance(key, str):
                raise self.fail(key_node, field_path, f"keys must be names, got {self.kind(key_node)}")
            if key in out:
                first = out[key][0].start_mark.line + 1
                raise self.fail(key_node, join(field_path, key), f"duplicate key (first given on line {first})")
            out[key] = (key_node, value_node)
        return out

    def known_keys(self, items: Mapping[str, tuple[Node, Node]], allowed: Iterable[str], field_path: str,
                   moved: Mapping[str, str] | None = None) -> None:
        """Refuse keys not in `allowed`; `moved` maps a key that belongs elsewhere to its right place."""
        allowed = list(allowed)
        for key, (key_node, _) in items.items():
            if key in allowed:
                continue
            where = f"in {field_path}" if field_path else "at the top level"
            if moved and key in moved:
                raise self.fail(key_node, join(field_path, key),
                                f"unknown key {key!r} {where} (did you mean {moved[key]!r}?)",
                                fix=f"move it: {moved[key]}")
            raise self.fail(key_node, join(field_path, key), f"unknown key {key!r}{did_you_mean(key, allowed)}",
                            fix=f"keys allowed {where}: {', '.join(allowed)}")

    def require(self, node: Node, items: Mapping[str, Any], keys: Iterable[str], field_path: str) -> None:
        for key in keys:
            if key not in items:
                where = f"in {field_path}" if field_path else "at the top level"
                raise self.fail(node, join(field_path, key), f"missing required key {key!r} {where}")

    def sequence(self, node: Node, field_path: str, *, what: str, limit: int, limit_name: str, fix: str) -> list[Node]:
        """The items of a non-empty list of at most `limit` items."""
        if self.is_null(node) or (isinstance(node, SequenceNode) and not node.value):
            raise self.fail(node, field_path, f"the {what} list is empty", fix=fix)
        if not isinstance(node, SequenceNode):
            raise self.fail(node, field_path, f"expected a list of {what}s, got {self.kind(node)}", fix=fix)
        if len(node.value) > limit:
            raise self.fail(node, field_path, f"{len(node.value):,} {what}s is more than the limit of {limit:,} "
                            f"({limit_name})", fix="split the suite into several files")
        return node.value


__all__ = ["ID_PATTERN", "ID_RULE", "Reader", "fmt_number", "fmt_range", "is_id", "join"]
