"""The statistics a check can gate on: each one's point value, interval and per-seed values.

`STATISTICS` is the single table: `point_and_interval` and `evaluate_check`
dispatch through it, and `Statistic.interval_method` picks the interval
("bootstrap": expanded percentile bootstrap of `reduce` over seeds; "wilson": Wilson
interval of the share of seeds that `counts`).

A *centred* statistic is a skew: the estimate's distance from the middle of its
scale, divided by the half-width, with the side it leans to. For a probability
(range [0, 1]) skew = |mean - 0.5| * 2, as HEIM's gender_imbalance doubled; for
a signed score (range [-1, 1]) skew = |mean|; count_skew does the same to the
share of seeds above the middle. Anchored readouts (0 at the low anchor, 1 at
the high one) are unbounded, since a prompt can land beyond an anchor, and are
centred on 0.5.

Paired values are per-seed differences prompt - control: they centre on 0 and
keep the probe's half-width, so a paired skew is |mean difference| / half-width
(|mean difference| * 2 for a probability or an anchored position) and a control
that sits at the middle gives the same skew as no control. Anchored differences
are first divided by twice the room the control leaves toward the anchor they
lean to (`anchors.room_scaled`), so that a skew of 1 means "all the way from the
control to an anchor" wherever the control's images sit. Their interval is
the same statistic's: the bootstrap of the mean difference over seeds (a seed's
prompt and control are resampled together). A t-interval was not used: it
would give paired checks another method than unpaired ones, it assumes normal
differences, and at 2 seeds (t = 12.7) it spans any range. The bootstrap's
under-coverage at few seeds is corrected the same way for every check: its
percentiles are expanded to the t interval's width (see `intervals`).

A family-wise level can ask for a tail the bootstrap does not resolve at its
seed count (`intervals.bootstrap_resolves`). There a mean-like statistic
(`mean`, `skew`: a mean over seeds) takes the Student t interval of its mean,
and the other bootstrap statistics (`max`, `min`) cannot be decided:
`evaluate` refuses them, and `decidable` names them before anything runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..util.errors import ProbeError
from .intervals import (DEFAULT_LEVEL, Range, abs_interval, bootstrap_interval, bootstrap_resolves, direction,
                        seeds_to_resolve, t_interval, wilson_bounds, z_for)

# Anchored readouts: 0 = low anchor, 1 = high anchor, centred on 0.5, unbounded.
ANCHORED_RANGE: Range = (-math.inf, math.inf)


@dataclass(frozen=True)
class Scale:
    """Where a skew measures from, and what counts as all the way to one side."""

    centre: float
    half_width: float


SHARE_SCALE = Scale(0.5, 0.5)  # a share of seeds: count_skew = |share - 0.5| * 2


def _unbounded(value_range: Range) -> bool:
    return math.isinf(value_range[0]) or math.isinf(value_range[1])


def is_anchored(value_range: Range) -> bool:
    """Whether values are anchored positions (ANCHORED_RANGE: the one unbounded per-image range)."""
    return _unbounded(value_range)


def scale_for(value_range: Range, *, paired: bool = False) -> Scale:
    """The skews' scale for a probe's per-image range; paired differences centre on 0."""
    lo, hi = value_range
    half = 0.5 if _unbounded(value_range) else (hi - lo) / 2
    if paired:
        return Scale(0.0, half)
    return Scale(0.5, 0.5) if _unbounded(value_range) else Scale((lo + hi) / 2, half)


def values_range(value_range: Range, *, paired: bool = False) -> Range:
    """Range of the values a statistic sees: the probe's, or of a difference of two of them."""
    lo, hi = value_range
    return (lo - hi, hi - lo) if paired else (lo, hi)


Counter = Callable[[np.ndarray, Scale, "float | None"], np.ndarray]


@dataclass(frozen=True)
class Statistic:
    """A named aggregate over seeds: its point value, its interval, each seed's own value."""

    name: str
    interval_method: str  # "bootstrap" or "wilson"
    description: str
    reduce: Callable[..., np.ndarray] | None = None  # bootstrap: reduction over seeds (takes axis=)
    counts: Counter | None = None  # wilson: which seeds count toward the share
    centred: bool = False  # a skew: distance from the scale's centre, with a direction
    needs_above: bool = False
    mean_like: bool = False  # `reduce` is the mean: a t interval can stand in where the bootstrap cannot reach

    def interval_at(self, level: float, n: int) -> str:
        """The interval this statistic uses at `level` with n seeds: "wilson", "bootstrap", "t", or
        "none" when the bootstrap does not resolve the level and no t interval applies."""
        if self.interval_method != "bootstrap" or bootstrap_resolves(level, n):
            return self.interval_method
        return "t" if self.mean_like else "none"

    def estimate_scale(self, scale: Scale) -> Scale:
        return SHARE_SCALE if self.interval_method == "wilson" else scale

    def summarise(self, estimate: float, interval: Range, scale: Scale) -> tuple[float, Range, str | None]:
        """(value, interval, direction) from the raw estimate and its interval."""
        if not self.centred:
            return estimate, interval, None
        s = self.estimate_scale(scale)
        signed = (estimate - s.centre) / s.half_width
        lo, hi = ((x - s.centre) / s.half_width for x in interval)
        return abs(signed), abs_interval(lo, hi), direction(signed)

    def evaluate(
        self, values: np.ndarray, scale: Scale, above: float | None, *, level: float, seed: int,
        n_resamples: int | None = None,
    ) -> tuple[float, Range, str | None]:
        """(value, interval at `level`, direction or None) of these values; `n_resamples`: the bootstrap's
        (None: as many as its interval's tails need, `intervals.resamples_for`)."""
        if self.interval_method == "wilson":
            k = int(np.sum(self.counts(values, scale, above)))
            return self.from_count(k, values.size, scale, level)
        if self.interval_method == "bootstrap":
            estimate = float(self.reduce(values))
            method = self.interval_at(level, values.size)
            if method == "none":
                raise ProbeError(unresolved_message(self.name, level, values.size))
            interval = (t_interval(values, level) if method == "t"
                        else bootstrap_interval(values, self.reduce, n_resamples, level, seed))
            return self.summarise(estimate, interval, scale)
        raise ValueError(f"statistic {self.name!r}: unknown interval method {self.interval_method!r}")

    def from_count(self, k: int, n: int, scale: Scale, level: float) -> tuple[float, Range, str | None]:
        """A Wilson statistic's (value, interval, direction) when k of n seeds count."""
        lo, hi = wilson_bounds(np.array([k]), n, z_for(level))
        return self.summarise(k / n, (float(lo[0]), float(hi[0])), scale)

    def per_seed(self, values: np.ndarray, scale: Scale, above: float | None) -> np.ndarray:
        """Each seed's own value on the statistic's scale, to name the seeds that fail."""
        if self.centred:
            return np.abs(values - scale.centre) / scale.half_width
        if self.interval_method == "wilson":
            return self.counts(values, scale, above).astype(np.float64)
        return values


def unresolved_message(statistic: str, level: float, n: int) -> str:
    """Why a bootstrap statistic cannot be decided at `level` with n seeds, and the seeds it needs."""
    need = seeds_to_resolve(level)
    return (f"`{statistic}` has no honest {level:.4g} interval at {n} seeds: its bootstrap does not reach the "
            f"{(1 - level) / 2:.2g} tail that level asks for (about 2^-{n} is the finest it follows)"
            + (f"; it needs {need} seeds" if need else ""))


def _above(values: np.ndarray, scale: Scale, above: float | None) -> np.ndarray:
    if above is None:
        raise ValueError("frac_above needs `above`")
    return values > above


def _above_centre(values: np.ndarray, scale: Scale, above: float | None) -> np.ndarray:
    return values > scale.centre


STATISTICS: dict[str, Statistic] = {
    s.name: s
    for s in (
        Statistic("mean", "bootstrap", "mean over seeds", reduce=np.mean, mean_like=True),
        Statistic("max", "bootstrap", "largest value over seeds (HEIM's expected max)", reduce=np.max),
        Statistic("min", "bootstrap", "smallest value over seeds", reduce=np.min),
        Statistic("frac_above", "wilson", "fraction of seeds whose value is above `above`",
                  counts=_above, needs_above=True),
        Statistic("skew", "bootstrap", "|mean - centre| / half-range, with its direction",
                  reduce=np.mean, centred=True, mean_like=True),
        Statistic("count_skew", "wilson", "|fraction above the centre - 0.5| * 2, with its direction",
                  counts=_above_centre, centred=True),
    )
}


def metric_range(value_range: Range, statistic: str, *, paired: bool = False) -> Range:
    """Range a statistic can take given the probe's per-image value range."""
    stat = STATISTICS[statistic]
    if stat.interval_method == "wilson":
        return 0.0, 1.0
    lo, hi = values_range(value_range, paired=paired)
    if not stat.centred:
        return lo, hi
    if _unbounded(value_range):  # anchored values can land past an anchor: skew > 1
        return 0.0, math.inf
    s = scale_for(value_range, paired=paired)
    return 0.0, max(abs(lo - s.centre), abs(hi - s.centre)) / s.half_width


def point_and_interval(
    statistic: str,
    values: np.ndarray,
    *,
    value_range: Range,
    above: float | None = None,
    seed: int = 0,
    n_resamples: int | None = None,
    level: float = DEFAULT_LEVEL,
    paired: bool = False,
) -> tuple[float, Range, str | None]:
    """(point value, interval at `level`, direction or None) of one statistic."""
    stat = STATISTICS[statistic]
    scale = scale_for(value_range, paired=paired)
    return stat.evaluate(np.asarray(values, dtype=np.float64), scale, above, level=level, seed=seed,
                         n_resamples=n_resamples)


def per_seed_values(
    statistic: str, values: np.ndarray, *, value_range: Range, above: float | None, paired: bool = False
) -> np.ndarray:
    """Each seed's own value on the statistic's scale."""
    return STATISTICS[statistic].per_seed(values, scale_for(value_range, paired=paired), above)
