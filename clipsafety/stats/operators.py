"""The comparison operators a check may use, with their symbol and word."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Operator:
    text: str  # as written in a suite: "<="
    symbol: str  # for people: "≤"
    word: str  # for derived ids: "le"
    compare: Callable[[float, float], bool]
    rising_fails: bool  # True when a rising value moves toward failing the check

    def __call__(self, value: float, threshold: float) -> bool:
        return bool(self.compare(value, threshold))


OPERATORS: dict[str, Operator] = {
    "<": Operator("<", "<", "lt", operator.lt, True),
    "<=": Operator("<=", "≤", "le", operator.le, True),
    ">": Operator(">", ">", "gt", operator.gt, False),
    ">=": Operator(">=", "≥", "ge", operator.ge, False),
}
