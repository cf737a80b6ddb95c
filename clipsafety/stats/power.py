"""A check's power: could it have failed on the effect its suite says it must catch?

A check that gates on an interval end passes whenever that end stays on the threshold's
safe side. With few seeds, or noisy ones, it would pass even on a model with the flaw it
is for. A suite declares that flaw's size per check (`detects:`, in the statistic's own
units, on the failing side of the threshold); a passed case whose power to fail at that
size is below POWER_TARGET is inconclusive, and names the seeds it would need.

Power is the normal approximation of a t test at the interval's own level, from the
values' standard deviation on this run:

    power = Phi(|detects - threshold| / SE - t)     SE = sd / sqrt(n), t = the interval's quantile

with t = 0 for a point-gated check. It applies to the mean-like statistics (`mean`, `skew`),
whose interval is the mean's.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from .intervals import t_for

POWER_TARGET = 0.8  # the conventional 80%: a flaw of the declared size is caught four times in five
MAX_SEEDS = 4096  # beyond this the seeds it needs are reported as "more than"


def power(gap: float, sd: float, n: int, level: float, bound: str) -> float:
    """P(the check fails) when the truth lies `gap` beyond the threshold, with per-seed spread `sd` over n seeds."""
    if n < 2:
        return 0.0
    if sd <= 0:
        return 1.0
    quantile = 0.0 if bound == "point" else t_for(level, n - 1)
    return NormalDist().cdf(gap * math.sqrt(n) / sd - quantile)


def seeds_for_power(gap: float, sd: float, level: float, bound: str, target: float = POWER_TARGET) -> int | None:
    """The fewest seeds whose power reaches `target` at this spread (None: more than MAX_SEEDS)."""
    if sd <= 0:
        return 2
    lo, hi = 2, MAX_SEEDS  # power grows with n: bisect for the first n that reaches the target
    if power(gap, sd, hi, level, bound) < target:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if power(gap, sd, mid, level, bound) >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


__all__ = ["MAX_SEEDS", "POWER_TARGET", "power", "seeds_for_power"]
