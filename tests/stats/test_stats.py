"""Statistics against hand-computed values, through what gates: evaluate_check and the registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clipsafety import stats
from clipsafety.util.errors import ProbeError
from clipsafety.stats import (
    ANCHORED_RANGE,
    STATISTICS,
    anchored,
    bootstrap_interval,
    evaluate_check,
    metric_range,
    point_and_interval,
    wilson_interval,
)
from clipsafety.suite import Check


def check(metric="nsfw.mean", op="<=", threshold=0.5, bound="point", above=None, id="c"):
    probe, statistic = metric.split(".")
    return Check(id=id, probe=probe, statistic=statistic, op=op, threshold=threshold, bound=bound, above=above)


def value_of(metric, values, *, above=None, value_range=(0.0, 1.0)):
    res = evaluate_check(check(metric, above=above), values, list(range(len(values))), value_range=value_range)
    return res.value, res.direction


# -- the statistics' point values, as a check reads them ------------------------


def test_mean_max_min():
    values = [0.2, 0.4, 0.9]
    assert value_of("nsfw.mean", values)[0] == pytest.approx(0.5)
    assert value_of("nsfw.max", values)[0] == 0.9
    assert value_of("nsfw.min", values)[0] == 0.2


def test_frac_above_is_strict():
    assert value_of("nsfw.frac_above", [0.1, 0.6, 0.7, 0.4], above=0.5)[0] == 0.5
    assert value_of("nsfw.frac_above", [0.5, 0.5], above=0.5)[0] == 0.0


def test_skew_toward_high():
    # mean 0.8: |0.8 - 0.5| * 2 = 0.6, leaning high
    assert value_of("gender.skew", [0.9, 0.7, 0.8]) == (pytest.approx(0.6), "high")


def test_skew_toward_low_and_on_a_signed_range():
    assert value_of("gender.skew", [0.1, 0.3]) == (pytest.approx(0.6), "low")
    assert value_of("gender.skew", [0.5, 0.5]) == (0.0, None)
    # (R-B)/(R+B) lives in [-1, 1]: centre 0, half-width 1, so skew = |mean|
    assert value_of("lean.skew", [-0.5, -0.3], value_range=(-1.0, 1.0)) == (pytest.approx(0.4), "low")


def test_count_skew():
    # 3 of 4 above 0.5: f = 0.75, |0.75 - 0.5| * 2 = 0.5
    assert value_of("gender.count_skew", [0.9, 0.7, 0.2, 0.8]) == (pytest.approx(0.5), "high")
    assert value_of("gender.count_skew", [0.9, 0.1])[0] == 0.0


def test_empty_values_rejected():
    with pytest.raises(ValueError, match="no values"):
        evaluate_check(check(), [], [])


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
    # (2,000 resamples: at 3 values the expanded interval asks for 200,000, one Python call each here)
    assert bootstrap_interval(values, lambda v: float(np.median(v)), n_resamples=2000, seed=0)[1] <= 0.9
    assert bootstrap_interval([0.4], seed=0) == (0.4, 0.4)


def test_bootstrap_in_chunks_matches_one_draw():
    # many seeds x many resamples are drawn in chunks to bound memory; same numbers either way
    values = np.random.default_rng(3).uniform(0, 1, 3000)
    chunked = bootstrap_interval(values, n_resamples=2000, seed=5)
    rng = np.random.default_rng(5)
    whole = []
    rows = 2_000_000 // values.size
    for start in range(0, 2000, rows):
        idx = rng.integers(0, values.size, size=(min(rows, 2000 - start), values.size))
        whole.append(values[idx].mean(axis=1))
    tail = stats.intervals.expanded_tail(0.95, values.size) * 100
    assert chunked == pytest.approx(tuple(np.percentile(np.concatenate(whole), [tail, 100 - tail])))


@pytest.mark.parametrize("df, level, t", [(1, 0.95, 12.7062), (2, 0.95, 4.3027), (3, 0.95, 3.1824),
                                          (7, 0.95, 2.3646), (15, 0.95, 2.1314), (30, 0.95, 2.0423),
                                          (3, 0.999, 12.924), (15, 0.99, 2.9467), (5000, 0.95, 1.9600)])
def test_t_quantiles_match_the_tables(df, level, t):
    assert stats.intervals.t_for(level, df) == pytest.approx(t, abs=5e-4)


def test_the_expanded_interval_is_the_t_width_for_few_seeds_and_the_range_at_two():
    values = np.random.default_rng(4).normal(0.5, 0.1, 8)
    plain = bootstrap_interval(values, seed=0, expand=False)
    expanded = bootstrap_interval(values, seed=0)
    assert expanded[0] < plain[0] and plain[1] < expanded[1]
    t_half = stats.intervals.t_for(0.95, 7) * values.std(ddof=1) / math.sqrt(8)
    assert (expanded[1] - expanded[0]) / 2 == pytest.approx(t_half, rel=0.1)
    # 2 seeds: the [min, max] of the values, not the t interval's +-12.7 standard errors
    assert bootstrap_interval([0.2, 0.6], seed=0) == (0.2, 0.6)


def test_the_expanded_interval_covers_where_the_plain_one_did_not():
    # the problem: at 8 seeds the plain percentile interval's lower end lies above the true mean
    # far more often than the nominal 2.5%; expanded, it is back near nominal
    rng = np.random.default_rng(12)
    draws = rng.normal(0.0, 1.0, (400, 8))
    plain = np.mean([bootstrap_interval(d, seed=i, expand=False)[0] > 0 for i, d in enumerate(draws)])
    expanded = np.mean([bootstrap_interval(d, seed=i)[0] > 0 for i, d in enumerate(draws)])
    assert plain > 0.045
    assert expanded < 0.035


# -- anchoring -------------------------------------------------------------------


def test_anchored_places_values_between_anchors():
    # low anchor mean 0.3, high 0.8: 0.5 sits 0.2 / 0.5 = 0.4 of the way
    out = anchored([0.5, 0.3, 0.8, 1.05], [0.2, 0.4], [0.8])
    assert out == pytest.approx([0.4, 0.0, 1.0, 1.5])


def test_anchored_rejects_coinciding_anchors():
    with pytest.raises(ProbeError, match="anchors did not separate under this model"):
        anchored([0.5], [0.3, 0.3], [0.3])


# -- ranges and the registry -----------------------------------------------------------


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
    assert set(STATISTICS) == {"mean", "max", "min", "frac_above", "skew", "count_skew"}
    assert STATISTICS["frac_above"].needs_above
    assert STATISTICS["frac_above"].interval_method == "wilson"
    assert STATISTICS["mean"].interval_method == "bootstrap"


@pytest.mark.parametrize("name", sorted(STATISTICS))
def test_the_interval_method_is_the_one_that_gates(name):
    """Each statistic's interval is exactly Wilson's or the bootstrap's, as its interval_method says."""
    values = np.array([0.1, 0.7, 0.2, 0.9, 0.65])
    above = 0.5 if STATISTICS[name].needs_above else None
    point, interval, _ = point_and_interval(name, values, value_range=(0.0, 1.0), above=above, seed=4)
    res = evaluate_check(check(f"p.{name}", above=above), values, range(5), seed=4)
    if STATISTICS[name].interval_method == "wilson":
        share = wilson_interval(3, 5)  # 0.7, 0.9, 0.65 are above 0.5
        expected = share if name == "frac_above" else stats.registry.abs_interval(2 * share[0] - 1, 2 * share[1] - 1)
        assert interval == pytest.approx(expected)
    else:
        reduce = {"mean": np.mean, "max": np.max, "min": np.min, "skew": np.mean}[name]
        lo, hi = bootstrap_interval(values, reduce, seed=4)
        expected = (lo, hi) if name != "skew" else stats.registry.abs_interval((lo - 0.5) * 2, (hi - 0.5) * 2)
        assert interval == pytest.approx(expected)
    assert (res.value, res.interval) == (point, (min(interval[0], point), max(interval[1], point)))


def test_an_unknown_interval_method_is_refused():
    odd = stats.Statistic("odd", "jackknife", "not a method we have", reduce=np.mean)
    with pytest.raises(ValueError, match="unknown interval method 'jackknife'"):
        odd.evaluate(np.array([0.1, 0.2]), stats.scale_for((0.0, 1.0)), None, level=0.95, seed=0, n_resamples=10)


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


def test_a_higher_level_widens_the_interval_and_can_flip_the_gate():
    # lower end 0.15 at 95%; at 99.9% with 6 seeds the expanded interval reaches the smallest value, 0.1
    at95 = evaluate_check(check(op=">=", threshold=0.12, bound="lower"), SPREAD, SEEDS, seed=0)
    at999 = evaluate_check(check(op=">=", threshold=0.12, bound="lower"), SPREAD, SEEDS, seed=0, level=0.999)
    assert at999.level == 0.999 and at95.level == 0.95
    assert at999.interval[0] < at95.interval[0] and at999.interval[1] > at95.interval[1]
    assert at95.passed and not at999.passed


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


def test_result_carries_what_the_results_file_records():
    res = evaluate_check(check(threshold=0.5, bound="upper", id="my-check"), SPREAD, SEEDS, seed=0, prompt_id="p")
    assert res.check_id == "my-check" and res.prompt_id == "p" and res.passed is False
    assert res.seeds == SEEDS and res.n == 6 and res.failing_seeds == [13, 14]
    assert res.bound == "upper" and res.gated_value == res.interval[1]
    assert res.values == SPREAD and res.metric == "nsfw.mean" and not res.paired and res.control_values is None


def test_bad_values():
    with pytest.raises(ValueError, match="seeds"):
        evaluate_check(check(), [0.1, 0.2], [0])
    with pytest.raises(ProbeError, match="non-finite"):
        evaluate_check(check(), [0.1, float("nan")], [0, 1])
