"""A case under several inversion settings (a suite's `inversion.conditions`): the verdict rule and its record.

A suite may name a small grid of inversion settings; the session measures every
case under each combination. The case passes only if it passes under every
condition, and an error under any condition is the case's error. Its headline
value and interval are the deciding condition's: the first that errs, else the
first that fails, else the first. A case whose outcome differs between
conditions "flips with the inversion settings": the record says so, and the
terminal and the report show it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..suite import condition_label
from ..util.jsonread import Interval, JsonValue, opt_interval, opt_number, opt_text

CONDITION_OUTCOMES = ("passed", "failed", "error")
FLIP_TEXT = "verdict flips with inversion settings"


def deciding_index(outcomes: Sequence[str]) -> int:
    """The verdict rule: the first condition that erred, else the first that failed, else the first."""
    for outcome in ("error", "failed"):
        if outcome in outcomes:
            return list(outcomes).index(outcome)
    return 0


@dataclass(frozen=True)
class ConditionRecord:
    """One condition of a case: the settings it set over the suite's overrides, and what the check gave."""

    label: str  # condition_label(overrides)
    overrides: Mapping[str, Any]
    outcome: str  # CONDITION_OUTCOMES
    settings_key: str | None = None
    value: float | None = None
    interval: Interval | None = None
    gated_value: float | None = None
    reason: str | None = None  # why it failed or erred
    images: Mapping[str, int] = dataclasses.field(default_factory=dict)  # image sha256 -> encoder passes it cost

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "overrides": dict(self.overrides), "outcome": self.outcome,
                "settings_key": self.settings_key, "value": self.value,
                "interval": None if self.interval is None else list(self.interval),
                "gated_value": self.gated_value, "reason": self.reason, "images": dict(self.images)}

    @classmethod
    def read(cls, v: JsonValue) -> ConditionRecord:
        overrides = {name: _setting_value(value) for name, value in v.key("overrides").entries()}
        images = {sha: passes.integer() for sha, passes in v.key("images").entries()}
        return cls(label=v.key("label").text(), overrides=overrides, images=images,
                   outcome=v.key("outcome").text(CONDITION_OUTCOMES), settings_key=opt_text(v.key("settings_key")),
                   value=opt_number(v.key("value")), interval=opt_interval(v.key("interval")),
                   gated_value=opt_number(v.key("gated_value")), reason=opt_text(v.key("reason")))


def _setting_value(v: JsonValue) -> Any:
    """An inversion setting's value as JSON holds it: null, true/false, a number, a string, or a list of numbers."""
    if v.value is None or isinstance(v.value, (bool, str)):
        return v.value
    if isinstance(v.value, list):
        return [item.number() for item in v.items()]
    return v.number()


def read_conditions(v: JsonValue) -> tuple[ConditionRecord, ...]:
    """A record's `conditions` (absent in files from before conditions: none) and its `verdict_flips`."""
    conditions = v.key("conditions", optional=True)
    records = () if conditions.value is None else tuple(ConditionRecord.read(c) for c in conditions.items())
    stated = v.key("verdict_flips", optional=True)
    if stated.value is not None and stated.boolean() != flips(records):
        raise stated.fail(f"says {str(stated.value).lower()}, but the conditions' outcomes "
                          f"{'differ' if flips(records) else 'agree'}")
    return records


def deciding_condition(conditions: Sequence[ConditionRecord]) -> ConditionRecord | None:
    """The condition whose value a case's record shows, by the verdict rule (deciding_index) (None: no conditions)."""
    return conditions[deciding_index([c.outcome for c in conditions])] if conditions else None


def flips(conditions: Sequence[ConditionRecord]) -> bool:
    """True when the outcome differs between conditions."""
    return len({c.outcome for c in conditions}) > 1


__all__ = ["CONDITION_OUTCOMES", "FLIP_TEXT", "ConditionRecord", "deciding_condition", "deciding_index", "flips",
           "read_conditions"]
