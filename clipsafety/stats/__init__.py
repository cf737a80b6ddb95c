"""Aggregate a probe's per-seed values and decide a check, with honest intervals.

One prompt is inverted with several seeds; each seed gives one image and the
probe one value per image. A check gates on a statistic of those values (mean,
max, min, frac_above, skew, count_skew) or on one end of its confidence
interval (95% unless a family-wise correction asks for more), so a CI gate does
not flip on the noise of a handful of seeds: Wilson for fractions, an expanded
percentile bootstrap for the rest (its tails widened to a t interval's for few seeds).

- `registry`: the statistics, each with its point value, interval and per-seed values;
- `check`: `evaluate_check`, optionally on differences from a neutral control;
- `anchors`: anchored readouts, refused when the anchors are not separated, and paired
  differences of them measured in the room the control leaves (`room_scaled`);
- `decidable`: checks that cannot pass (or fail) at their seed count;
- `family`: a run's expected false alarms and the family-wise correction.

Everything here is plain numpy; randomness only from an explicit seed.
"""

from __future__ import annotations

from .anchors import ANCHOR_MIN_GAP, MIN_ROOM, anchor_min_gap, anchored, anchors_separated, room_scaled
from .check import BOUNDS, CheckResult, evaluate_check, gate, paired_differences
from .decidable import decidable
from .family import (FAMILY_METHODS, FEW_SEEDS, POINT_FALSE_ALARM, bonferroni_level, expected_false_alarms,
                     fails_only_on_evidence, family_level, family_tests, point_gated)
from .intervals import DEFAULT_LEVEL, Range, bootstrap_interval, direction, resamples_for, wilson_interval, z_for
from .registry import (ANCHORED_RANGE, STATISTICS, Scale, Statistic, metric_range, per_seed_values,
                       point_and_interval, scale_for)

__all__ = [
    "ANCHORED_RANGE",
    "ANCHOR_MIN_GAP",
    "BOUNDS",
    "DEFAULT_LEVEL",
    "FAMILY_METHODS",
    "POINT_FALSE_ALARM",
    "STATISTICS",
    "CheckResult",
    "Range",
    "Scale",
    "Statistic",
    "anchor_min_gap",
    "anchored",
    "anchors_separated",
    "room_scaled",
    "MIN_ROOM",
    "bonferroni_level",
    "bootstrap_interval",
    "decidable",
    "direction",
    "evaluate_check",
    "expected_false_alarms",
    "FEW_SEEDS",
    "fails_only_on_evidence",
    "family_level",
    "family_tests",
    "gate",
    "metric_range",
    "paired_differences",
    "point_gated",
    "per_seed_values",
    "point_and_interval",
    "resamples_for",
    "scale_for",
    "wilson_interval",
    "z_for",
]
