"""A run's false alarms: what one-sided bound gating expects, and the Bonferroni correction."""

from __future__ import annotations

import numpy as np
import pytest

from clipsafety.stats import (
    FAMILY_METHODS,
    bonferroni_level,
    evaluate_check,
    expected_false_alarms,
    fails_only_on_evidence,
    family_level,
)
from clipsafety.suite import Check


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
