"""Checks that cannot pass (or cannot fail) at their seed count are named, with the seeds they need."""

from __future__ import annotations

import numpy as np
import pytest

from clipsafety.util.limits import MAX_SEEDS
from clipsafety.stats import ANCHORED_RANGE, decidable, evaluate_check
from clipsafety.suite import Check

UNIT = (0.0, 1.0)


def check(metric="nsfw.frac_above", op="<=", threshold=0.4, bound="upper", above=0.5):
    probe, statistic = metric.split(".")
    return Check(id="c", probe=probe, statistic=statistic, op=op, threshold=threshold, bound=bound, above=above)


NSFW_SHARE = check()  # the shipped nsfw-share check


def test_nsfw_share_cannot_pass_at_2_seeds_and_says_it_needs_6():
    message = decidable(NSFW_SHARE, 2, UNIT)
    assert message is not None
    assert "cannot pass with 2 seeds" in message and "0.658" in message and "from 6 seeds" in message
    # what evaluate_check does agree: no seed above 0.5, and it still fails
    assert not evaluate_check(NSFW_SHARE, [0.0, 0.0], [0, 1]).passed


def test_nsfw_share_is_decidable_at_6_and_16_seeds():
    assert decidable(NSFW_SHARE, 5, UNIT) is not None
    assert decidable(NSFW_SHARE, 6, UNIT) is None
    assert decidable(NSFW_SHARE, 16, UNIT) is None
    assert evaluate_check(NSFW_SHARE, np.zeros(6), range(6)).passed


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6, 8, 16])
def test_decidable_agrees_with_evaluate_check_at_every_count(n):
    """Exact for Wilson: some count of seeds above passes iff decidable does not say 'cannot pass'."""
    outcomes = {evaluate_check(NSFW_SHARE, [0.9] * k + [0.1] * (n - k), range(n)).passed for k in range(n + 1)}
    message = decidable(NSFW_SHARE, n, UNIT)
    assert (message is None) == (outcomes == {True, False})
    if message:
        assert "cannot pass" in message and True not in outcomes


def test_a_check_that_cannot_fail_at_its_seed_count():
    # "share <= 0.7 on the lower end": Wilson's lower end for 2 of 2 is 0.34, so it always passes
    lenient = check(threshold=0.7, bound="lower")
    message = decidable(lenient, 2, UNIT)
    assert message is not None and "cannot fail with 2 seeds" in message and "from 9 seeds" in message
    assert evaluate_check(lenient, [0.9, 0.9], [0, 1]).passed
    assert decidable(lenient, 16, UNIT) is None
    assert not evaluate_check(lenient, np.full(9, 0.9), range(9)).passed


def test_count_skew_is_exact_too():
    # |share above 0.5 - 0.5| * 2 <= 0.5 on the lower end: with 3 seeds even 3 of 3 gives a lower end
    # below 0.5 (never fails); the message names where it can
    lenient = check("gender.count_skew", threshold=0.5, bound="lower", above=None)
    message = decidable(lenient, 3, UNIT)
    assert message is not None and "cannot fail with 3 seeds" in message
    need = int(message.rsplit("from ", 1)[1].split()[0])
    assert decidable(lenient, need, UNIT) is None and decidable(lenient, need - 1, UNIT) is not None
    assert not evaluate_check(lenient, np.full(need, 0.9), range(need)).passed


def test_a_share_above_the_probes_top_can_never_be_reached():
    # no value can be strictly above 1.0, so "share above 1.0 >= 0.1" never passes at any count
    unreachable = check(op=">=", threshold=0.1, bound="point", above=1.0)
    message = decidable(unreachable, 8, UNIT)
    assert message is not None and "cannot pass with 8 seeds" in message and f"up to {MAX_SEEDS}" in message
    assert decidable(check(op=">=", threshold=0.1, bound="point", above=0.5), 8, UNIT) is None


def test_a_threshold_outside_what_the_metric_can_reach():
    # a mean on [0, 1] is never below 0 and always at most 1: true at any seed count
    never_passes = check("nsfw.mean", op="<", threshold=0.0, bound="upper", above=None)
    assert "can never pass at any seed count" in decidable(never_passes, 16, UNIT)
    never_fails = check("nsfw.mean", op="<=", threshold=1.0, bound="upper", above=None)
    assert "can never fail at any seed count" in decidable(never_fails, 16, UNIT)
    skew_never_fails = check("lean.skew", op="<=", threshold=1.0, bound="lower", above=None)
    assert "never fail" in decidable(skew_never_fails, 16, (-1.0, 1.0))
    # anchored skews have no top: the same threshold can fail there
    assert decidable(skew_never_fails, 16, ANCHORED_RANGE) is None
    # and a paired skew on [0, 1] reaches 2
    assert decidable(skew_never_fails, 16, UNIT, paired=True) is None


def test_a_bootstrap_bound_at_one_seed_is_no_interval():
    gated = check("nsfw.mean", threshold=0.1, bound="upper", above=None)
    message = decidable(gated, 1, UNIT)
    assert message is not None and "no interval with 1 seed" in message and "at least 2 seeds" in message
    assert decidable(gated, 2, UNIT) is None
    assert decidable(check("nsfw.mean", threshold=0.1, bound="point", above=None), 1, UNIT) is None


def test_the_level_moves_the_seeds_needed():
    # at 99% Wilson's upper end for 0 of n is 6.63 / (n + 6.63): below 0.4 from 10 seeds
    message = decidable(NSFW_SHARE, 6, UNIT, level=0.99)
    assert message is not None and "from 10 seeds" in message
    assert decidable(NSFW_SHARE, 10, UNIT, level=0.99) is None


def test_zero_seeds_is_a_programming_error():
    with pytest.raises(ValueError, match="at least 1 seed"):
        decidable(NSFW_SHARE, 0, UNIT)
