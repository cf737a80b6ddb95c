"""Aggregate a probe's per-seed values and decide a check, with honest intervals.

One prompt is inverted with several seeds; each seed gives one image and the
probe one value per image. A check gates on a statistic of those values (mean,
max, min, frac_above, skew, count_skew) or on one end of its 95% interval, so a
CI gate does not flip on the noise of a handful of seeds (DESIGN.md section 3):
Wilson for fractions, percentile bootstrap for the rest.

Skews measure distance from the middle of the probe's range, scaled to [0, 1]:
for a probability (range [0, 1]) skew = |mean - 0.5| * 2, as HEIM's
gender_imbalance doubled; for a signed score (range [-1, 1]) skew = |mean|.
Anchored readouts (0 at the low anchor, 1 at the high one) are unbounded, since
a prompt can land beyond an anchor, and are centred on 0.5.

Everything here is plain numpy; randomness only from an explicit seed.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ProbeError

Range = tuple[float, float]

# Anchored readouts: 0 = low anchor, 1 = high anchor, centred on 0.5, unbounded.
ANCHORED_RANGE: Range = (-math.inf, math.inf)

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
BOUNDS = ("point", "lower", "upper")


# -- small statistics --------------------------------------------------------


def _array(values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError("no values to aggregate")
    return arr


def mean(values: Sequence[float]) -> float:
    return float(np.mean(_array(values)))


def maximum(values: Sequence[float]) -> float:
    return float(np.max(_array(values)))


def minimum(values: Sequence[float]) -> float:
    return float(np.min(_array(values)))


def frac_above(values: Sequence[float], above: float) -> float:
    """Fraction of values strictly above `above`."""
    return float(np.mean(_array(values) > above))


def scale_of(value_range: Range) -> tuple[float, float]:
    """(centre, half-width) used by the skews; unbounded means anchored: (0.5, 0.5)."""
    lo, hi = value_range
    if math.isinf(lo) or math.isinf(hi):
        return 0.5, 0.5
    return (lo + hi) / 2, (hi - lo) / 2


def signed_skew(values: Sequence[float], center: float = 0.5, half_width: float = 0.5) -> float:
    """(mean - centre) / half-width: > 0 leans to the high end, < 0 to the low end."""
    return (mean(values) - center) / half_width


def skew(values: Sequence[float], center: float = 0.5, half_width: float = 0.5) -> float:
    """|mean - centre| / half-width; for probabilities |mean - 0.5| * 2."""
    return abs(signed_skew(values, center, half_width))


def count_skew(values: Sequence[float], center: float = 0.5) -> float:
    """Skew of the counts: f = fraction of values above the centre, |f - 0.5| * 2."""
    return abs(frac_above(values, center) - 0.5) * 2


def direction(signed: float) -> str | None:
    """'high' / 'low' for the side a skew leans to; None when balanced."""
    if signed > 0:
        return "high"
    if signed < 0:
        return "low"
    return None


# -- intervals ---------------------------------------------------------------


def wilson_interval(k: int, n: int, z: float = 1.96) -> Range:
    """Wilson score interval for k successes out of n (good at small n and p near 0/1)."""
    if n <= 0:
        raise ValueError("wilson_interval needs n >= 1")
    if not 0 <= k <= n:
        raise ValueError(f"wilson_interval needs 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _apply_rows(stat: Callable[..., Any], samples: np.ndarray) -> np.ndarray:
    try:  # numpy reductions (np.mean, np.max, ...) take axis=
        out = np.asarray(stat(samples, axis=1), dtype=np.float64)
        if out.shape == (samples.shape[0],):
            return out
    except TypeError:
        pass
    return np.array([stat(row) for row in samples], dtype=np.float64)


def bootstrap_interval(
    values: Sequence[float],
    stat: Callable[..., Any] = np.mean,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Range:
    """Percentile bootstrap interval of `stat`; deterministic for a seed."""
    arr = _array(values)
    if arr.size == 1:
        v = float(stat(arr))
        return v, v
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_resamples, arr.size))
    stats = _apply_rows(stat, arr[idx])
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(stats, [tail, 100 - tail])
    return float(lo), float(hi)


def _abs_interval(lo: float, hi: float) -> Range:
    """Map an interval of a signed quantity to the interval of its magnitude."""
    if lo <= 0 <= hi:
        return 0.0, max(-lo, hi)
    return min(abs(lo), abs(hi)), max(abs(lo), abs(hi))


# -- anchoring ---------------------------------------------------------------


def anchored(values: Sequence[float], low_values: Sequence[float], high_values: Sequence[float]) -> np.ndarray:
    """Place values between anchors: 0 at the low anchor's mean, 1 at the high one's.

    Inversion drifts on its own (the toy world leans to one colour whatever the
    prompt); readouts relative to inverted anchors cancel that drift.
    """
    low, high = mean(low_values), mean(high_values)
    span = high - low
    if abs(span) < 1e-6:
        raise ProbeError(
            f"the anchors did not separate under this model: both read {low:.4g} "
            "on average, so values cannot be placed between them",
            fix="choose anchor prompts this model tells apart, or remove `anchors`",
        )
    return (_array(values) - low) / span


# -- the registry of statistics ----------------------------------------------


@dataclass(frozen=True)
class Statistic:
    """A named aggregate: how to compute it, its interval, its range, per-seed view."""

    name: str
    interval_method: str  # "bootstrap" or "wilson"
    needs_above: bool
    description: str

    def output_range(self, value_range: Range) -> Range:
        return metric_range(value_range, self.name)


STATISTICS: dict[str, Statistic] = {
    s.name: s
    for s in (
        Statistic("mean", "bootstrap", False, "mean over seeds"),
        Statistic("max", "bootstrap", False, "largest value over seeds (HEIM's expected max)"),
        Statistic("min", "bootstrap", False, "smallest value over seeds"),
        Statistic("frac_above", "wilson", True, "fraction of seeds whose value is above `above`"),
        Statistic("skew", "bootstrap", False, "|mean - centre| / half-range, with its direction"),
        Statistic("count_skew", "wilson", False, "|fraction above the centre - 0.5| * 2"),
    )
}


def metric_range(value_range: Range, statistic: str) -> Range:
    """Range a statistic can take given the probe's per-image value range."""
    if statistic not in STATISTICS:
        raise KeyError(statistic)
    lo, hi = value_range
    if statistic in ("mean", "max", "min"):
        return lo, hi
    if statistic == "skew":
        # unbounded (anchored) values can land past an anchor: skew > 1 is possible
        return (0.0, math.inf) if math.isinf(lo) or math.isinf(hi) else (0.0, 1.0)
    return 0.0, 1.0  # frac_above, count_skew


def point_and_interval(
    statistic: str,
    values: np.ndarray,
    *,
    value_range: Range,
    above: float | None = None,
    seed: int = 0,
    n_resamples: int = 2000,
) -> tuple[float, Range, str | None]:
    """(point value, 95% interval, direction or None) of one statistic."""
    center, half = scale_of(value_range)
    n = values.size
    if statistic in ("mean", "max", "min"):
        fn = {"mean": np.mean, "max": np.max, "min": np.min}[statistic]
        point = float(fn(values))
        return point, bootstrap_interval(values, fn, n_resamples, seed=seed), None
    if statistic == "skew":
        signed = signed_skew(values, center, half)
        lo, hi = bootstrap_interval(values, np.mean, n_resamples, seed=seed)
        interval = _abs_interval((lo - center) / half, (hi - center) / half)
        return abs(signed), interval, direction(signed)
    if statistic == "frac_above":
        if above is None:
            raise ValueError("frac_above needs `above`")
        k = int(np.sum(values > above))
        return k / n, wilson_interval(k, n), None
    if statistic == "count_skew":
        k = int(np.sum(values > center))
        flo, fhi = wilson_interval(k, n)
        interval = _abs_interval(flo - 0.5, fhi - 0.5)
        return abs(k / n - 0.5) * 2, (interval[0] * 2, interval[1] * 2), direction(k / n - 0.5)
    raise KeyError(statistic)


def per_seed_values(statistic: str, values: np.ndarray, *, value_range: Range, above: float | None) -> np.ndarray:
    """Each seed's own value on the statistic's scale, to name the seeds that fail."""
    if statistic in ("mean", "max", "min"):
        return values
    if statistic == "frac_above":
        return (values > above).astype(np.float64)
    center, half = scale_of(value_range)
    return np.abs(values - center) / half  # skew, count_skew


# -- evaluating a check --------------------------------------------------------


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


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
    values: list[float] = field(default_factory=list)  # per seed, in `seeds` order
    seeds: list[int] = field(default_factory=list)
    direction: str | None = None  # for skews: the side the values lean to
    above: float | None = None
    prompt_id: str | None = None

    def describe(self) -> str:
        """One line for an assertion message or a report row."""
        lo, hi = self.interval
        gate = "" if self.bound == "point" else f", gated on the {self.bound} bound {self.gated_value:.4g}"
        lean = f" toward {self.direction}" if self.direction else ""
        verdict = "pass" if self.passed else "FAIL"
        text = (
            f"{self.metric} = {self.value:.4g}{lean} (95% interval {lo:.4g} to {hi:.4g}, n={self.n}){gate}; "
            f"must be {self.op} {self.threshold:g}: {verdict}"
        )
        if self.failing_seeds:
            text += f"; seeds over the line: {self.failing_seeds}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "prompt_id": self.prompt_id,
            "metric": self.metric,
            "statistic": self.statistic,
            "value": _finite_or_none(self.value),
            "interval": [_finite_or_none(self.interval[0]), _finite_or_none(self.interval[1])],
            "threshold": self.threshold,
            "op": self.op,
            "bound": self.bound,
            "above": self.above,
            "gated_value": _finite_or_none(self.gated_value),
            "passed": self.passed,
            "direction": self.direction,
            "failing_seeds": [int(s) for s in self.failing_seeds],
            "n": self.n,
            "seeds": [int(s) for s in self.seeds],
            "values": [_finite_or_none(float(v)) for v in self.values],
        }


def evaluate_check(
    check: Any,
    values: Sequence[float] | np.ndarray,
    seeds: Sequence[int],
    *,
    seed: int = 0,
    value_range: Range = (0.0, 1.0),
    prompt_id: str | None = None,
    n_resamples: int = 2000,
) -> CheckResult:
    """Decide one check (a clipsafety.suite.Check) on one prompt's per-seed values.

    `value_range` is the probe's per-image range (ANCHORED_RANGE for anchored
    probes); it sets the centre of the skews. `seed` seeds the bootstrap.
    """
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    seeds = [int(s) for s in seeds]
    metric = f"{check.probe}.{check.statistic}"
    if arr.size == 0:
        raise ValueError(f"{metric}: no values to evaluate")
    if len(seeds) != arr.size:
        raise ValueError(f"{metric}: {arr.size} values but {len(seeds)} seeds")
    bad = [s for s, v in zip(seeds, arr) if not math.isfinite(v)]
    if bad:
        raise ProbeError(f"{metric}: the probe returned non-finite values for seeds {bad}")

    point, interval, lean = point_and_interval(
        check.statistic, arr, value_range=value_range, above=check.above, seed=seed, n_resamples=n_resamples
    )
    # a percentile interval can miss the point estimate (e.g. max at the sample edge); keep it inside
    interval = (min(interval[0], point), max(interval[1], point))
    gated = {"point": point, "lower": interval[0], "upper": interval[1]}[check.bound]
    compare = OPS[check.op]
    per_seed = per_seed_values(check.statistic, arr, value_range=value_range, above=check.above)
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
        gated_value=float(gated),
        passed=bool(compare(gated, check.threshold)),
        failing_seeds=failing,
        n=int(arr.size),
        values=[float(v) for v in arr],
        seeds=seeds,
        direction=lean,
        above=check.above,
        prompt_id=prompt_id,
    )


__all__ = [
    "ANCHORED_RANGE",
    "BOUNDS",
    "OPS",
    "STATISTICS",
    "CheckResult",
    "Statistic",
    "anchored",
    "bootstrap_interval",
    "count_skew",
    "direction",
    "evaluate_check",
    "frac_above",
    "maximum",
    "mean",
    "metric_range",
    "minimum",
    "per_seed_values",
    "point_and_interval",
    "scale_of",
    "signed_skew",
    "skew",
    "wilson_interval",
]
