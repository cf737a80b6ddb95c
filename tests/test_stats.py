"""Statistics against hand-computed values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from clipsafety import stats
from clipsafety.errors import ProbeError
from clipsafety.stats import ANCHORED_RANGE, anchored, bootstrap_interval, evaluate_check, metric_range, wilson_interval
from clipsafety.suite import Check


def check(metric="nsfw.mean", op="<=", threshold=0.5, bound="point", above=None, id="c"):
    probe, statistic = metric.split(".")
    return Check(id=id, probe=probe, statistic=statistic, op=op, threshold=threshold, bound=bound, above=above)


# -- small statistics ----------------------------------------------------------


def test_mean_max_min():
    values = [0.2, 0.4, 0.9]
    assert stats.mean(values) == pytest.approx(0.5)
    assert stats.maximum(values) == 0.9
    assert stats.minimum(values) == 0.2


def test_frac_above_is_strict():
    assert stats.frac_above([0.1, 0.6, 0.7, 0.4], 0.5) == 0.5
    assert stats.frac_above([0.5, 0.5], 0.5) == 0.0


def test_skew_toward_high():
    values = [0.9, 0.7, 0.8]  # mean 0.8: |0.8 - 0.5| * 2 = 0.6, leaning high
    assert stats.skew(values) == pytest.approx(0.6)
    assert stats.signed_skew(values) == pytest.approx(0.6)
    assert stats.direction(stats.signed_skew(values)) == "high"


def test_skew_toward_low_and_on_a_signed_range():
    assert stats.signed_skew([0.1, 0.3]) == pytest.approx(-0.6)
    assert stats.direction(-0.6) == "low" and stats.direction(0.0) is None
    # (R-B)/(R+B) lives in [-1, 1]: centre 0, half-width 1, so skew = |mean|
    centre, half = stats.scale_of((-1.0, 1.0))
    assert stats.skew([-0.5, -0.3], centre, half) == pytest.approx(0.4)


def test_count_skew():
    # 3 of 4 above 0.5: f = 0.75, |0.75 - 0.5| * 2 = 0.5
    assert stats.count_skew([0.9, 0.7, 0.2, 0.8]) == pytest.approx(0.5)
    assert stats.count_skew([0.9, 0.1]) == 0.0


def test_empty_values_rejected():
    with pytest.raises(ValueError):
        stats.mean([])


# -- intervals -------------------------------------------------------------------


def test_wilson_hand_computed():
    lo, hi = wilson_interval(3, 10)
    assert lo == pytest.approx(0.1078, abs=1e-4)
    assert hi == pytest.approx(0.6032, abs=1e-4)


def test_wilson_at_the_edges():
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(4, 4) == pytest.approx((0.5101, 1.0), abs=1e-4)
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


def test_bootstrap_contains_mean_and_is_deterministic():
    values = np.random.default_rng(1).uniform(0, 1, 12)
    a = bootstrap_interval(values, seed=7)
    assert a == bootstrap_interval(values, seed=7)
    assert a != bootstrap_interval(values, seed=8)
    assert a[0] < values.mean() < a[1]


def test_bootstrap_narrows_with_n():
    rng = np.random.default_rng(2)
    small = bootstrap_interval(rng.normal(0.5, 0.1, 8), seed=0)
    large = bootstrap_interval(rng.normal(0.5, 0.1, 400), seed=0)
    assert large[1] - large[0] < (small[1] - small[0]) / 3


def test_bootstrap_of_other_statistics():
    values = [0.1, 0.2, 0.9]
    lo, hi = bootstrap_interval(values, np.max, seed=0)
    assert 0.1 <= lo <= hi == pytest.approx(0.9)
    # a callable without axis= still works, row by row
    assert bootstrap_interval(values, lambda v: float(np.median(v)), seed=0)[1] <= 0.9
    assert bootstrap_interval([0.4], seed=0) == (0.4, 0.4)


# -- anchoring -------------------------------------------------------------------


def test_anchored_places_values_between_anchors():
    # low anchor mean 0.3, high 0.8: 0.5 sits 0.2 / 0.5 = 0.4 of the way
    out = anchored([0.5, 0.3, 0.8, 1.05], [0.2, 0.4], [0.8])
    assert out == pytest.approx([0.4, 0.0, 1.0, 1.5])


def test_anchored_rejects_coinciding_anchors():
    with pytest.raises(ProbeError, match="anchors did not separate under this model"):
        anchored([0.5], [0.3, 0.3], [0.3])


# -- ranges --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value_range, statistic, expected",
    [
        ((0.0, 1.0), "max", (0.0, 1.0)),
        ((-1.0, 1.0), "mean", (-1.0, 1.0)),
        ((-1.0, 1.0), "skew", (0.0, 1.0)),
        ((-1.0, 1.0), "frac_above", (0.0, 1.0)),
        ((0.0, 1.0), "count_skew", (0.0, 1.0)),
        (ANCHORED_RANGE, "skew", (0.0, math.inf)),
        (ANCHORED_RANGE, "mean", ANCHORED_RANGE),
    ],
)
def test_metric_range(value_range, statistic, expected):
    assert metric_range(value_range, statistic) == expected


def test_statistics_registry():
    assert set(stats.STATISTICS) == {"mean", "max", "min", "frac_above", "skew", "count_skew"}
    assert stats.STATISTICS["frac_above"].needs_above
    assert stats.STATISTICS["frac_above"].interval_method == "wilson"
    assert stats.STATISTICS["mean"].interval_method == "bootstrap"


# -- evaluate_check --------------------------------------------------------------------

SEEDS = [10, 11, 12, 13, 14, 15]
SPREAD = [0.1, 0.2, 0.3, 0.9, 0.8, 0.2]  # mean 2.5 / 6 = 0.4167, wide interval


def test_mean_check_passes_and_fails():
    ok = evaluate_check(check(threshold=0.5), SPREAD, SEEDS, seed=0)
    assert ok.passed and ok.value == pytest.approx(2.5 / 6) and ok.gated_value == ok.value
    assert ok.failing_seeds == [13, 14]  # their own values 0.9, 0.8 exceed 0.5
    bad = evaluate_check(check(threshold=0.4), SPREAD, SEEDS, seed=0)
    assert not bad.passed


def test_upper_bound_fails_where_the_point_passes():
    point = evaluate_check(check(threshold=0.5), SPREAD, SEEDS, seed=0)
    upper = evaluate_check(check(threshold=0.5, bound="upper"), SPREAD, SEEDS, seed=0)
    assert point.passed and not upper.passed
    assert upper.gated_value == upper.interval[1] > 0.5 > upper.value


def test_lower_bound_passes_where_the_point_fails():
    # "mean >= 0.3": the point 0.4167 passes; the lower bound (about 0.2) does not
    point = evaluate_check(check(op=">=", threshold=0.3), SPREAD, SEEDS, seed=0)
    lower = evaluate_check(check(op=">=", threshold=0.3, bound="lower"), SPREAD, SEEDS, seed=0)
    assert point.passed and not lower.passed
    assert point.failing_seeds == [10, 11, 15]


def test_max_check():
    res = evaluate_check(check("nsfw.max", "<", 0.85), SPREAD, SEEDS, seed=0)
    assert res.value == 0.9 and not res.passed and res.failing_seeds == [13]
    assert res.interval[1] == pytest.approx(0.9)


def test_frac_above_check_uses_wilson_and_names_seeds_above():
    res = evaluate_check(check("nsfw.frac_above", "<=", 0.25, above=0.5), [0.1, 0.7, 0.2, 0.9], [0, 1, 2, 3])
    assert res.value == 0.5 and not res.passed
    assert res.interval == pytest.approx(wilson_interval(2, 4))
    assert res.failing_seeds == [1, 3]
    # a ">=" frac_above check blames the seeds that did NOT get above
    res = evaluate_check(check("sim.frac_above", ">=", 0.75, above=0.5), [0.1, 0.7, 0.2, 0.9], [0, 1, 2, 3])
    assert res.failing_seeds == [0, 2]


def test_skew_check_direction_and_per_seed_skew():
    res = evaluate_check(check("gender.skew", "<=", 0.5), [0.9, 0.5, 0.2, 0.95], [1, 2, 3, 4], seed=3)
    # mean 0.6375: skew 0.275 toward high; per seed |v - 0.5| * 2 = 0.8, 0, 0.6, 0.9
    assert res.value == pytest.approx(0.275) and res.direction == "high" and res.passed
    assert res.failing_seeds == [1, 3, 4]
    assert res.interval[0] <= res.value <= res.interval[1]


def test_skew_on_anchored_values_centres_on_half():
    res = evaluate_check(check("bias.skew", "<=", 0.5), [1.1, 0.9], [0, 1], value_range=ANCHORED_RANGE)
    assert res.value == pytest.approx(1.0) and not res.passed


def test_count_skew_check():
    res = evaluate_check(check("gender.count_skew", "<=", 0.5), [0.9, 0.7, 0.6, 0.8], [0, 1, 2, 3])
    assert res.value == 1.0 and res.direction == "high" and not res.passed
    # Wilson for 4/4 is (0.5101, 1), so the skew interval is (0.0202, 1)
    assert res.interval == pytest.approx((0.0202, 1.0), abs=1e-4)


def test_result_is_json_safe_and_describes_itself():
    res = evaluate_check(check(threshold=0.5, bound="upper", id="my-check"), SPREAD, SEEDS, seed=0, prompt_id="p")
    data = json.loads(json.dumps(res.to_dict()))
    assert data["check_id"] == "my-check" and data["prompt_id"] == "p" and data["passed"] is False
    assert data["seeds"] == SEEDS and data["n"] == 6 and data["failing_seeds"] == [13, 14]
    assert "FAIL" in res.describe() and "upper bound" in res.describe()


def test_bad_values():
    with pytest.raises(ValueError, match="seeds"):
        evaluate_check(check(), [0.1, 0.2], [0])
    with pytest.raises(ProbeError, match="non-finite"):
        evaluate_check(check(), [0.1, float("nan")], [0, 1])
