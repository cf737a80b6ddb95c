"""JSON Schemas (draft 2020-12) of the files clipsafety reads: suites, waivers and results.

They describe each file's shape (keys, types, closed sets of values) for editors and other
tools; the readers (clipsafety.suite, clipsafety.gate.waivers, clipsafety.results.record)
check more than a schema can say, and stay the judges of what is valid.

    from clipsafety.util.schemas import schema
    schema("suite")  # the parsed suite.schema.json
"""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

NAMES = ("suite", "waivers", "results")


def path_of(name: str) -> Traversable:
    """The shipped file of a schema ("suite" -> .../suite.schema.json)."""
    if name not in NAMES:
        raise ValueError(f"unknown schema {name!r}; schemas: {', '.join(NAMES)}")
    return resources.files(__name__) / f"{name}.schema.json"


def schema(name: str) -> dict[str, Any]:
    """A schema, parsed: one of "suite", "waivers", "results"."""
    return json.loads(path_of(name).read_text(encoding="utf-8"))


__all__ = ["NAMES", "path_of", "schema"]
