"""Whether a check can come out either way at its seed count, known before anything runs.

A check that cannot pass (or cannot fail) whatever the images show measures
nothing: with 2 seeds, `frac_above <= 0.4` gated on the upper end of the 95%
Wilson interval fails even with no seed above, since Wilson's upper end for
0 of 2 is 0.66. `decidable` names such checks and the seed count they need.

Exact for the Wilson statistics: every possible count of seeds is tried. For
the bootstrap statistics only what is certain is said: a threshold the metric
cannot reach anywhere in its range, a bound gated at 1 seed, where the
bootstrap has no spread and the bound is the value itself, and a `max` or
`min` at a family-wise level whose tail its bootstrap does not resolve at the
seed count (`intervals.bootstrap_resolves`; `mean` and `skew` take a t
interval there instead).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..util.limits import MAX_SEEDS
from .operators import OPERATORS
from .intervals import DEFAULT_LEVEL, Range, wilson_bounds, z_for
from .registry import STATISTICS, Statistic, metric_range, scale_for, unresolved_message, values_range


def _gate_name(check: Any) -> str:
    where = "" if check.bound == "point" else f" on the {check.bound} end of its interval"
    return f"{check.probe}.{check.statistic} {OPERATORS[check.op].symbol} {check.threshold:g}{where}"


def _possible_counts(stat: Statistic, check: Any, n: int, value_range: Range, paired: bool) -> np.ndarray:
    """How many of n seeds can count toward a Wilson statistic's share."""
    if stat.needs_above:
        lo, hi = values_range(value_range, paired=paired)
        if check.above >= hi:  # no value can be strictly above
            return np.array([0])
        if check.above < lo:  # every value is
            return np.array([n])
    return np.arange(n + 1)


def _wilson_gated(stat: Statistic, check: Any, n: int, value_range: Range, level: float, paired: bool) -> np.ndarray:
    """The gated value for every possible count of seeds, as `evaluate_check` would compute it."""
    ks = _possible_counts(stat, check, n, value_range, paired)
    scale = scale_for(value_range, paired=paired)
    lows, highs = wilson_bounds(ks, n, z_for(level))
    out = []
    for k, lo, hi in zip(ks, lows, highs):
        point, interval, _ = stat.summarise(k / n, (float(lo), float(hi)), scale)
        out.append({"point": point, "lower": interval[0], "upper": interval[1]}[check.bound])
    return np.array(out)


def _outcomes(gated: np.ndarray, check: Any) -> set[bool]:
    compare = OPERATORS[check.op]
    return {compare(float(g), check.threshold) for g in gated}


def _range_message(check: Any, value_range: Range, paired: bool) -> str | None:
    lo, hi = metric_range(value_range, check.statistic, paired=paired)
    compare = OPERATORS[check.op]
    ends = {compare(lo, check.threshold), compare(hi, check.threshold)}  # the operators are monotone
    if len(ends) == 2:
        return None
    verdict = "pass" if False in ends else "fail"
    return (f"{_gate_name(check)} can never {verdict} at any seed count: "
            f"{check.probe}.{check.statistic} lies in [{lo:g}, {hi:g}]")


def _wilson_message(stat: Statistic, check: Any, n: int, value_range: Range, level: float, paired: bool) -> str | None:
    gated = _wilson_gated(stat, check, n, value_range, level, paired)
    outcomes = _outcomes(gated, check)
    if len(outcomes) == 2:
        return None
    missing = not outcomes.pop()  # True: it cannot pass; False: it cannot fail
    verdict = "pass" if missing else "fail"
    rising_fails = OPERATORS[check.op].rising_fails
    best = gated.min() if rising_fails == missing else gated.max()
    gated_name = "value" if check.bound == "point" else f"{check.bound} end"
    text = (f"{_gate_name(check)} cannot {verdict} with {n} seed{'s' * (n != 1)}: whatever the images show, "
            f"its {gated_name} comes no closer to {verdict}ing than {best:.3g}")
    for m in range(n + 1, MAX_SEEDS + 1):
        if missing in _outcomes(_wilson_gated(stat, check, m, value_range, level, paired), check):
            return f"{text}; it can {verdict} from {m} seeds"
    return f"{text}, and cannot at any seed count up to {MAX_SEEDS} (the MAX_SEEDS limit)"


def decidable(
    check: Any, n_seeds: int, value_range: Range, *, level: float = DEFAULT_LEVEL, paired: bool = False
) -> str | None:
    """None when the check can both pass and fail at `n_seeds`; else why not, and the seeds it needs.

    `value_range` is the probe's per-image range (ANCHORED_RANGE when anchored),
    `level` the interval's confidence level, `paired` whether the check gates on
    differences from a neutral control.
    """
    if n_seeds < 1:
        raise ValueError(f"decidable needs at least 1 seed, got {n_seeds}")
    stat = STATISTICS[check.statistic]
    message = _range_message(check, value_range, paired)
    if message:
        return message
    if stat.interval_method == "wilson":
        return _wilson_message(stat, check, n_seeds, value_range, level, paired)
    if n_seeds < 2 and check.bound != "point":
        return (f"{_gate_name(check)} has no interval with 1 seed (the bound is the value itself); "
                "it needs at least 2 seeds")
    if stat.interval_at(level, n_seeds) == "none":
        return f"{_gate_name(check)}: {unresolved_message(check.statistic, level, n_seeds)}"
    return None
