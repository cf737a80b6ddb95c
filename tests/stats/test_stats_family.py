"""A run's false alarms: what one-sided bound gating expects, and the Bonferroni correction."""

from __future__ import annotations

import numpy as np
import pytest

from clipsafety.stats import (
    FAMILY_METHODS,
    POINT_FALSE_ALARM,
    bonferroni_level,
    decidable,
    evaluate_check,
    expected_false_alarms,
    fails_only_on_evidence,
    family_level,
    point_gated,
)
from clipsafety.stats.intervals import bootstrap_resolves, seeds_to_resolve, t_interval
from clipsafety.suite import Check
from clipsafety.util.errors import ProbeError


def test_expected_false_alarms_is_one_sided():
    assert expected_false_alarms(50, 0.95) == pytest.approx(1.25)
    assert expected_false_alarms(1, 0.99) == pytest.approx(0.005)
    assert expected_false_alarms(0, 0.95) == 0.0
    with pytest.raises(ValueError):
        expected_false_alarms(-1, 0.95)


@pytest.mark.parametrize(
    "op, bound, expected",
    [("<=", "lower", True), ("<", "lower", True), (">=", "upper", True), (">", "upper", True),
     ("<=", "upper", False), (">=", "lower", False), ("<=", "point", False), (">=", "point", False)],
)
def test_which_checks_fail_only_on_evidence(op, bound, expected):
    assert fails_only_on_evidence(op, bound) is expected


def test_bonferroni_level():
    assert bonferroni_level(0.95, 50) == pytest.approx(0.999)
    assert bonferroni_level(0.95, 1) == pytest.approx(0.95)
    assert bonferroni_level(0.95, 0) == 0.95
    assert family_level(0.95, 50, "bonferroni") == pytest.approx(0.999)
    assert family_level(0.95, 50, "none") == 0.95
    assert set(FAMILY_METHODS) == {"none", "bonferroni"}
    with pytest.raises(ValueError, match="not one of none, bonferroni"):
        family_level(0.95, 50, "holm")


def _false_alarms(bound: str, level: float = 0.95, m: int = 200) -> int:
    """m fair checks whose true skew sits exactly at the threshold: how many fail."""
    check = Check(id="c", probe="lean", statistic="mean", op="<=", threshold=0.7, bound=bound)
    rng = np.random.default_rng(11)
    fails = 0
    for i in range(m):
        values = rng.normal(0.7, 0.1, 16)  # true mean = the threshold: a fair model at the line
        fails += not evaluate_check(check, values, range(16), seed=i, level=level).passed
    return fails


def test_gating_on_the_failing_side_bound_holds_false_alarms_near_the_expectation():
    """200 fair checks at the line: the lower bound fails a few (nominally 5; 15 here, since the
    percentile bootstrap under-covers at 16 seeds: about 3.9% a check over 1500, not 2.5%); the
    point and the passing-side bound fail about half and nearly all: they do not control false alarms."""
    on_evidence = _false_alarms("lower")
    assert on_evidence <= 4 * expected_false_alarms(200, 0.95)
    assert _false_alarms("lower", level=0.99) < on_evidence / 2
    assert _false_alarms("point") > 70
    assert _false_alarms("upper") > 180


def test_point_gated_checks_count_at_half_each_in_the_expected_false_alarms():
    assert POINT_FALSE_ALARM == 0.5
    assert expected_false_alarms(2, 0.95, points=3) == pytest.approx(0.05 + 1.5)
    assert point_gated("point") and not point_gated("lower")
    with pytest.raises(ValueError):
        expected_false_alarms(1, 0.95, points=-1)


def test_a_point_gated_check_fails_a_fair_model_at_most_half_the_time():
    """The bound POINT_FALSE_ALARM counts: at the threshold about half fail; inside it, fewer."""
    at_line = _false_alarms("point")
    assert at_line <= 200 * POINT_FALSE_ALARM * 1.2


BONFERRONI_9 = 1 - 0.05 / 9


def test_the_bootstrap_resolves_the_run_level_and_family_levels_only_with_enough_seeds():
    assert bootstrap_resolves(0.95, 4) and bootstrap_resolves(0.95, 8)
    assert not bootstrap_resolves(BONFERRONI_9, 8)
    assert bootstrap_resolves(BONFERRONI_9, 16)
    assert seeds_to_resolve(BONFERRONI_9) == 13


def test_a_mean_like_check_takes_the_t_interval_where_the_bootstrap_cannot_reach():
    values = np.random.default_rng(3).normal(0.1, 0.1, 8)
    check = Check(id="c", probe="lean", statistic="skew", op="<=", threshold=0.1, bound="lower")
    r = evaluate_check(check, values, range(8), value_range=(-1.0, 1.0), level=BONFERRONI_9)
    lo, hi = t_interval(values, BONFERRONI_9)
    assert r.interval == (pytest.approx(max(0.0, lo)), pytest.approx(hi))
    at_run_level = evaluate_check(check, values, range(8), value_range=(-1.0, 1.0), level=0.95)
    assert at_run_level.interval[1] < hi  # the bootstrap's, far narrower


def test_a_max_at_an_unresolved_family_level_is_refused_with_the_seeds_it_needs():
    check = Check(id="c", probe="nsfw", statistic="max", op="<=", threshold=0.8, bound="lower")
    why = decidable(check, 8, (0.0, 1.0), level=BONFERRONI_9)
    assert why and "it needs 13 seeds" in why
    assert decidable(check, 16, (0.0, 1.0), level=BONFERRONI_9) is None
    assert decidable(check, 8, (0.0, 1.0), level=0.95) is None
    with pytest.raises(ProbeError, match="needs 13 seeds"):
        evaluate_check(check, np.linspace(0, 0.5, 8), range(8), level=BONFERRONI_9)
