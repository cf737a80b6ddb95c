"""A check's power to fail at the value its suite says it must catch, and the seeds that would give it."""

from __future__ import annotations

import numpy as np
import pytest

from clipsafety.stats.check import evaluate_check
from clipsafety.stats.power import POWER_TARGET, power, seeds_for_power
from clipsafety.suite.model import Check


def test_power_grows_with_seeds_and_the_gap_and_falls_with_the_spread():
    assert power(0.2, 0.2, 16, 0.95, "lower") > power(0.2, 0.2, 8, 0.95, "lower")
    assert power(0.3, 0.2, 16, 0.95, "lower") > power(0.2, 0.2, 16, 0.95, "lower")
    assert power(0.2, 0.4, 16, 0.95, "lower") < power(0.2, 0.2, 16, 0.95, "lower")
    # an interval end needs the t margin on top; the point does not
    assert power(0.1, 0.2, 16, 0.95, "point") > power(0.1, 0.2, 16, 0.95, "lower")


def test_power_matches_a_simulated_t_test():
    """Normal values whose mean lies `gap` beyond the threshold: the share whose 95% lower end clears it."""
    from clipsafety.stats.intervals import t_interval

    rng, gap, sd, n = np.random.default_rng(0), 0.1, 0.2, 16
    draws = rng.normal(0.1 + gap, sd, (4000, n))
    simulated = np.mean([t_interval(d)[0] > 0.1 for d in draws])
    assert power(gap, sd, n, 0.95, "lower") == pytest.approx(simulated, abs=0.05)


def test_the_seeds_it_needs_are_the_fewest_that_reach_the_target():
    n = seeds_for_power(0.1, 0.2, 0.95, "lower")
    assert power(0.1, 0.2, n, 0.95, "lower") >= POWER_TARGET > power(0.1, 0.2, n - 1, 0.95, "lower")
    assert seeds_for_power(1e-4, 1.0, 0.95, "lower") is None  # beyond any budget


CHECK = Check(id="skew", probe="gender", statistic="skew", op="<=", threshold=0.1, bound="lower", detects=0.3)


def test_a_check_with_detects_reports_its_power_from_the_values_spread():
    quiet = evaluate_check(CHECK, [0.02, -0.01, 0.03, 0.0, 0.01, -0.02, 0.02, 0.0], range(8), value_range=(-1, 1))
    noisy = evaluate_check(CHECK, [0.5, -0.45, 0.3, -0.4, 0.2, -0.35, 0.45, -0.3], range(8), value_range=(-1, 1))
    assert quiet.passed and noisy.passed  # both pass the gate itself ...
    assert quiet.power > POWER_TARGET > noisy.power  # ... but only the quiet one could have failed
    assert noisy.seeds_for_power > 8 and quiet.detects == 0.3
    plain = Check(id="skew", probe="gender", statistic="skew", op="<=", threshold=0.1, bound="lower")
    assert evaluate_check(plain, [0.1, 0.2, 0.0], range(3), value_range=(-1, 1)).power is None
