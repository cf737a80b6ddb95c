"""Suggestions for mistyped names, the same way everywhere."""

from __future__ import annotations

import difflib
from typing import Iterable


def did_you_mean(name: object, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> str:
    """' (did you mean 'x'?)' (or "'x' or 'y'" when n > 1), or '' when nothing is close."""
    close = difflib.get_close_matches(str(name), list(choices), n=n, cutoff=cutoff)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"
