"""Decide one check on one prompt's per-seed values, optionally paired with a neutral control."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..util.errors import ProbeError
from .operators import OPERATORS
from .intervals import DEFAULT_LEVEL, Range
from .anchors import room_scaled
from .power import power, seeds_for_power
from .registry import STATISTICS, is_anchored, scale_for

BOUNDS = ("point", "lower", "upper")


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    metric: str
    statistic: str
    value: float
    interval: Range
    threshold: float
    op: str
    bound: str
    gated_value: float
    passed: bool
    failing_seeds: list[int]
    n: int
    values: list[float] = field(default_factory=list)  # per seed, in `seeds` order; differences when paired
    seeds: list[int] = field(default_factory=list)
    direction: str | None = None  # for skews: the side the values lean to
    above: float | None = None
    prompt_id: str | None = None
    level: float = DEFAULT_LEVEL  # two-sided confidence level of `interval`
    control_values: list[float] | None = None  # the neutral control's per-seed values, when paired
    detects: float | None = None  # the value the check must catch (the suite's `detects`)
    power: float | None = None  # the chance it fails when the truth is `detects` (clipsafety.stats.power)
    seeds_for_power: int | None = None  # the fewest seeds that give POWER_TARGET at this run's spread

    @property
    def paired(self) -> bool:
        return self.control_values is not None


def paired_differences(
    values: Sequence[float] | np.ndarray, control_values: Sequence[float] | np.ndarray
) -> np.ndarray:
    """Per-seed differences prompt - control; both were inverted with the same seeds, in the same order.

    Whatever the inversion does to every prompt alike under one seed (a drift
    toward one colour, a shape that inverts far to one side) appears in both
    values and cancels in the difference.
    """
    prompt = np.asarray(values, dtype=np.float64).reshape(-1)
    control = np.asarray(control_values, dtype=np.float64).reshape(-1)
    if prompt.size != control.size:
        raise ValueError(f"paired values need one control value per seed: {prompt.size} values, {control.size} control")
    return prompt - control


def gate(point: float, interval: Range, bound: str, op: str, threshold: float) -> tuple[float, bool]:
    """(gated value, passed): the point or one end of the interval, compared with the threshold."""
    gated = {"point": point, "lower": interval[0], "upper": interval[1]}[bound]
    return float(gated), OPERATORS[op](gated, threshold)


def _checked_values(metric: str, values: Any, seeds: list[int], what: str = "values") -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError(f"{metric}: no {what} to evaluate")
    if len(seeds) != arr.size:
        raise ValueError(f"{metric}: {arr.size} {what} but {len(seeds)} seeds")
    bad = [s for s, v in zip(seeds, arr) if not math.isfinite(v)]
    if bad:
        raise ProbeError(f"{metric}: the probe returned non-finite {what} for seeds {bad}")
    return arr


def evaluate_check(
    check: Any,
    values: Sequence[float] | np.ndarray,
    seeds: Sequence[int],
    *,
    seed: int = 0,
    value_range: Range = (0.0, 1.0),
    prompt_id: str | None = None,
    n_resamples: int | None = None,
    level: float = DEFAULT_LEVEL,
    control: Sequence[float] | np.ndarray | None = None,
    control_seeds: Sequence[int] | None = None,
) -> CheckResult:
    """Decide one check (a clipsafety.suite.Check) on one prompt's per-seed values.

    `value_range` is the probe's per-image range (ANCHORED_RANGE for anchored
    probes); it sets the centre of the skews. `seed` seeds the bootstrap;
    `level` is the interval's two-sided confidence level (a family-wise
    correction passes a higher one). With `control` (a neutral prompt's values
    under the same seeds, in the same order; `control_seeds` to verify that)
    the check gates on the per-seed differences prompt - control; for an anchored
    probe, in the room the control leaves toward each anchor (`anchors.room_scaled`).
    """
    seeds = [int(s) for s in seeds]
    metric = f"{check.probe}.{check.statistic}"
    arr = _checked_values(metric, values, seeds)
    control_arr = None
    if control is not None:
        if control_seeds is not None and [int(s) for s in control_seeds] != seeds:
            raise ValueError(f"{metric}: the control was inverted with seeds {list(control_seeds)}, not {seeds}")
        control_arr = _checked_values(metric, control, seeds, "control values")
        arr = paired_differences(arr, control_arr)
        if is_anchored(value_range):  # positions: differences count in the room the control leaves
            arr = room_scaled(arr, control_arr)

    stat = STATISTICS[check.statistic]
    scale = scale_for(value_range, paired=control_arr is not None)
    point, interval, lean = stat.evaluate(arr, scale, check.above, level=level, seed=seed,
                                          n_resamples=n_resamples)
    # a percentile interval can miss the point estimate (e.g. max at the sample edge); keep it inside
    interval = (min(interval[0], point), max(interval[1], point))
    gated, passed = gate(point, interval, check.bound, check.op, check.threshold)
    detects = getattr(check, "detects", None)
    powered = _power_of(arr, stat, scale, check, detects, level) if detects is not None else {}
    compare = OPERATORS[check.op]
    per_seed = stat.per_seed(arr, scale, check.above)
    failing = [s for s, v in zip(seeds, per_seed) if not compare(float(v), check.threshold)]
    return CheckResult(
        check_id=check.id,
        metric=metric,
        statistic=check.statistic,
        value=point,
        interval=interval,
        threshold=float(check.threshold),
        op=check.op,
        bound=check.bound,
        gated_value=gated,
        passed=passed,
        failing_seeds=failing,
        n=int(arr.size),
        values=[float(v) for v in arr],
        seeds=seeds,
        direction=lean,
        above=check.above,
        prompt_id=prompt_id,
        level=level,
        control_values=None if control_arr is None else [float(v) for v in control_arr],
        detects=detects,
        **powered,
    )


def _power_of(values: np.ndarray, stat, scale, check: Any, detects: float, level: float) -> dict[str, Any]:
    """The check's power to fail when the truth is `detects`, from the values' spread in the statistic's units."""
    if not stat.mean_like or values.size < 2:
        return {}
    sd = float(np.std(values, ddof=1)) / (stat.estimate_scale(scale).half_width if stat.centred else 1.0)
    gap = abs(detects - check.threshold)
    return {"power": round(power(gap, sd, values.size, level, check.bound), 4),
            "seeds_for_power": seeds_for_power(gap, sd, level, check.bound)}
