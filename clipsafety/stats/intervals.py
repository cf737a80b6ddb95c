"""Confidence intervals over seeds: Wilson for shares, an expanded percentile bootstrap for the rest.

Both take a two-sided confidence `level`; a check gates on one end of that
interval, so the chance that the end falls on the wrong side of the true value
is (1 - level) / 2 nominally.

The plain percentile bootstrap under-covers at few seeds: its interval uses the
seeds' spread without the n - 1 correction and normal, not Student t, tails.
For the mean of normal values at 95%, the chance that the lower end lies above
the true mean was measured at 3.5% with 16 seeds, 5.1% with 8 and 11% with 4
(nominal 2.5%). So the bootstrap's percentiles are *expanded* (Hesterberg,
"What teachers should know about the bootstrap", The American Statistician,
2015): the tail alpha/2 becomes Phi(-sqrt(n / (n - 1)) * t(1 - alpha/2, n - 1)),
which widens the interval to what a t interval would give for normal means
while keeping the bootstrap's shape (skewed and bounded values, any
statistic). Expanded, the same chances are 2.5%, 2.3% and 5.9%. At 2 seeds
the tail vanishes: the interval is the two values' range, not the t
interval's +-12.7 standard errors, and it misses the mean about a quarter of
the time on each side; 2 seeds cannot give a 95% interval by resampling.
bench/interval_coverage.py measures all of this (the interval-coverage study
in docs/studies/).

A resampling distribution also has a finest tail it follows: beyond about
2^-n its outer percentiles are made of a few extreme resamples, not of the
statistic's sampling distribution (the max of n values, resampled, stays at or
below the sample's middle value with chance 2^-n; the mean cannot pass the
sample's own extremes, however far its t interval reaches). A family-wise
level asks for tails far out: Bonferroni over 9 checks at 95% wants 0.28%
each side, which the expanded bootstrap turns into 1.2e-5 at 8 seeds, beyond
2^-8 = 0.4%. There the measured lower ends lay above the true mean in 0.67%
of draws, not 0.28% (a family of 9 such checks: about 6%, not 2.5%), while a t
interval gave 0.17%. So a tail past 2^-n is not asked of the bootstrap
(`bootstrap_resolves`): a mean-like statistic takes the t interval there, and
any other bootstrap statistic cannot be decided at that level and seed count
(`seeds_to_resolve` names the count it needs). The run's own 95% level keeps
the bootstrap at any seed count: its 95% tail lies past 2^-n below 8 seeds,
where the bootstrap was measured 2.8-3.5% (nominal 2.5%) at 5 to 7 seeds, and
below 5 seeds the run names such checks (`family.FEW_SEEDS`). The family-wise
study in docs/studies/ (bench/familywise.py) has the figures.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

Range = tuple[float, float]

DEFAULT_LEVEL = 0.95
MIN_RESAMPLES = 2000
TAIL_RESAMPLES = 25  # bootstrap replicates wanted beyond each end of the interval
MAX_RESAMPLES = 200_000
_CHUNK_ELEMENTS = 2_000_000  # resampled values drawn at once, to bound memory


def z_for(level: float) -> float:
    """Normal quantile of a two-sided interval at `level`: 1.96 at 0.95."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"a confidence level lies strictly between 0 and 1, got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2)


def t_two_sided_cdf(t: float, df: int) -> float:
    """P(|T| <= t) for Student's t with integer `df` >= 1, in closed form (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(abs(t) / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2:  # odd: (2/pi) (theta + sin cos (1 + 2/3 c^2 + 2.4/(3.5) c^4 + ...)), terms up to c^(df-2)
        term = total = 1.0
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            total += term
        inner = math.sin(theta) * math.cos(theta) * total if df > 1 else 0.0
        return 2 / math.pi * (theta + inner)
    term = total = 1.0  # even: sin (1 + 1/2 c^2 + 1.3/(2.4) c^4 + ...), terms up to c^(df-2)
    for k in range(1, df // 2):
        term *= c2 * (2 * k - 1) / (2 * k)
        total += term
    return math.sin(theta) * total


MAX_EXACT_DF = 2000  # beyond this, t is the normal quantile to within 0.1% at the levels used here


@functools.lru_cache(maxsize=256)  # a run asks for the same few (level, seeds) for every case and anchor
def t_for(level: float, df: int) -> float:
    """Student t quantile of a two-sided interval at `level` with `df` degrees of freedom: 2.365 at 0.95, 7."""
    if df < 1:
        raise ValueError(f"a t quantile needs df >= 1, got {df}")
    z_for(level)  # validates the level
    if df > MAX_EXACT_DF:
        return z_for(level)
    lo, hi = 0.0, math.pi / 2  # bisect on the angle atan(t / sqrt(df)): t itself is unbounded as df -> 1
    for _ in range(80):
        mid = (lo + hi) / 2
        if t_two_sided_cdf(math.sqrt(df) * math.tan(mid), df) < level:
            lo = mid
        else:
            hi = mid
    return math.sqrt(df) * math.tan((lo + hi) / 2)


def expanded_tail(level: float, n: int) -> float:
    """The percentile tail the expanded bootstrap uses at `level` with n values (module docstring)."""
    if n < 2:
        return (1.0 - level) / 2
    return NormalDist().cdf(-math.sqrt(n / (n - 1)) * t_for(level, n - 1))


def bootstrap_resolves(level: float, n: int) -> bool:
    """Whether the expanded bootstrap of n values reaches the tail `level` asks for (module docstring):
    at the run's level always; beyond it, when the expanded tail is at least 2^-n."""
    return level <= DEFAULT_LEVEL or n < 2 or expanded_tail(level, n) >= 2.0 ** -n


def seeds_to_resolve(level: float, upto: int = 1000) -> int | None:
    """The fewest values whose bootstrap resolves `level` (None when none up to `upto` do)."""
    return next((n for n in range(2, upto + 1) if bootstrap_resolves(level, n)), None)


def t_interval(values: Sequence[float] | np.ndarray, confidence: float = DEFAULT_LEVEL) -> Range:
    """Student t interval of the mean of `values` at `confidence` (the value itself for one value)."""
    arr = as_values(values)
    mean = float(arr.mean())
    if arr.size == 1:
        return mean, mean
    half = t_for(confidence, arr.size - 1) * float(arr.std(ddof=1)) / math.sqrt(arr.size)
    return mean - half, mean + half


def resamples_for(level: float, n: int | None = None) -> int:
    """Enough bootstrap replicates that each tail of the interval holds TAIL_RESAMPLES of them
    (with n values, of the expanded interval's tail; at most MAX_RESAMPLES)."""
    tail = (1.0 - level) / 2 if n is None else expanded_tail(level, n)
    if tail * MAX_RESAMPLES < TAIL_RESAMPLES:  # 2 or 3 seeds: the tail is beyond any count of replicates
        return MAX_RESAMPLES
    return max(MIN_RESAMPLES, math.ceil(TAIL_RESAMPLES / tail))


def as_values(values: Sequence[float] | np.ndarray) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0:
        raise ValueError("no values to aggregate")
    return arr


def wilson_bounds(k: np.ndarray, n: int, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score bounds for arrays of successes `k` out of `n` (vectorised)."""
    p = np.asarray(k, dtype=np.float64) / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return np.maximum(0.0, centre - half), np.minimum(1.0, centre + half)


def wilson_interval(k: int, n: int, z: float | None = None) -> Range:
    """Wilson score interval for k successes out of n (good at small n and p near 0/1); z: 95% by default."""
    if n <= 0:
        raise ValueError("wilson_interval needs n >= 1")
    if not 0 <= k <= n:
        raise ValueError(f"wilson_interval needs 0 <= k <= n, got k={k}, n={n}")
    lo, hi = wilson_bounds(np.array([k]), n, z_for(DEFAULT_LEVEL) if z is None else z)
    return float(lo[0]), float(hi[0])


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
    n_resamples: int | None = None,
    confidence: float = DEFAULT_LEVEL,
    seed: int = 0,
    expand: bool = True,
) -> Range:
    """Percentile bootstrap interval of `stat`, expanded for few values unless `expand` is False
    (the plain percentile interval, kept to measure what the expansion corrects); deterministic
    for a seed."""
    arr = as_values(values)
    if arr.size == 1:
        v = float(stat(arr))
        return v, v
    n_resamples = n_resamples or resamples_for(confidence, arr.size if expand else None)
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK_ELEMENTS // arr.size)
    replicates = []
    for start in range(0, n_resamples, rows):
        idx = rng.integers(0, arr.size, size=(min(rows, n_resamples - start), arr.size))
        replicates.append(_apply_rows(stat, arr[idx]))
    tail = (expanded_tail(confidence, arr.size) if expand else (1 - confidence) / 2) * 100
    lo, hi = np.percentile(np.concatenate(replicates), [tail, 100 - tail])
    return float(lo), float(hi)


def abs_interval(lo: float, hi: float) -> Range:
    """Map an interval of a signed quantity to the interval of its magnitude."""
    if lo <= 0 <= hi:
        return 0.0, max(-lo, hi)
    return min(abs(lo), abs(hi)), max(abs(lo), abs(hi))


def direction(signed: float) -> str | None:
    """'high' / 'low' for the side a skew leans to; None when balanced."""
    if signed > 0:
        return "high"
    if signed < 0:
        return "low"
    return None
