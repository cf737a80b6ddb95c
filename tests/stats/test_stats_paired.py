"""Paired neutral controls: gate on the per-seed difference prompt - control."""

from __future__ import annotations

import math

import numpy as np
import pytest

from clipsafety.util.errors import ProbeError
from clipsafety.stats import ANCHORED_RANGE, anchored, evaluate_check, metric_range, paired_differences, room_scaled
from clipsafety.suite import Check

SEEDS = list(range(16))


def check(metric="lean.skew", op="<=", threshold=0.4, bound="lower", above=None):
    probe, statistic = metric.split(".")
    return Check(id="c", probe=probe, statistic=statistic, op=op, threshold=threshold, bound=bound, above=above)


def seeded_drift(seed=0, n=16, centre=0.5, drift=0.3, spread=0.12):
    """A drift shared by every prompt under one seed: each seed inverts far to one side."""
    return centre + drift + np.random.default_rng(seed).normal(0.0, spread, n)


def noise(seed, n=16, spread=0.02):
    return np.random.default_rng(seed).normal(0.0, spread, n)


def test_paired_differences_are_per_seed():
    assert paired_differences([0.5, 0.9, 0.2], [0.4, 0.4, 0.4]) == pytest.approx([0.1, 0.5, -0.2])
    with pytest.raises(ValueError, match="one control value per seed"):
        paired_differences([0.5, 0.9], [0.4])


def test_a_shared_drift_is_a_false_alarm_unpaired_and_cancels_paired():
    # a fair role and its neutral control both invert far to the high side under every seed
    drift = seeded_drift()
    prompt, control = drift + noise(1), drift + noise(2)
    unpaired = evaluate_check(check(), prompt, SEEDS, seed=0)
    assert not unpaired.passed and unpaired.direction == "high"  # the false alarm a control prevents
    paired = evaluate_check(check(), prompt, SEEDS, seed=0, control=control)
    assert paired.passed and paired.paired
    assert paired.value < 0.05 and paired.interval[1] < 0.1


def test_a_real_shift_is_detected_through_the_drift():
    # the same drift, and the prompt reads 0.3 higher than its control under every seed
    drift = seeded_drift()
    prompt, control = drift + 0.3 + noise(1), drift + noise(2)
    paired = evaluate_check(check(), prompt, SEEDS, seed=0, control=control)
    # |mean difference| * 2 = 0.6, and the lower end stays above 0.4
    assert paired.value == pytest.approx(0.6, abs=0.05) and paired.direction == "high"
    assert not paired.passed and paired.gated_value > 0.4
    assert paired.values == pytest.approx(list(prompt - control))
    assert paired.control_values == pytest.approx(list(control))


def test_pairing_is_what_narrows_the_interval():
    # the same values with the seeds' pairing broken (control reversed): the drift no longer cancels
    drift = seeded_drift()
    prompt, control = drift + 0.3 + noise(1), drift + noise(2)
    paired = evaluate_check(check("lean.mean", op=">=", threshold=0.0), prompt, SEEDS, control=control)
    broken = evaluate_check(check("lean.mean", op=">=", threshold=0.0), prompt, SEEDS, control=control[::-1])
    assert paired.value == pytest.approx(broken.value)  # same mean difference
    paired_width = paired.interval[1] - paired.interval[0]
    assert paired_width < (broken.interval[1] - broken.interval[0]) / 3


def test_paired_anchored_positions_and_their_skew():
    low, high = [0.1, 0.12, 0.08], [0.9, 0.88, 0.92]  # anchors 0.1 and 0.9: span 0.8
    prompt = anchored([0.5, 0.58, 0.42], low, high)  # positions 0.5, 0.6, 0.4
    control = anchored([0.3, 0.34, 0.26], low, high)  # positions 0.25, 0.3, 0.2: mean 0.25
    res = evaluate_check(check(threshold=0.3, bound="point"), prompt, [0, 1, 2], value_range=ANCHORED_RANGE,
                         control=control)
    # differences 0.25, 0.3, 0.2 toward the high anchor, which lies 0.75 from the control's mean:
    # each is divided by 2 * 0.75, so the skew is 0.25 / 0.75 = 1/3 of the way to that anchor
    assert res.values == pytest.approx([0.25 / 1.5, 0.3 / 1.5, 0.2 / 1.5])
    assert res.value == pytest.approx(1 / 3) and res.direction == "high" and not res.passed
    assert res.failing_seeds == [0, 1]  # per seed 1/3, 0.4, 0.267 against 0.3
    # the other way round: the control (now the prompt at 0.5) leaves 0.5 toward the low anchor
    toward_low = evaluate_check(check(threshold=0.6, bound="point"), control, [0, 1, 2],
                                value_range=ANCHORED_RANGE, control=prompt)
    assert toward_low.direction == "low" and toward_low.value == pytest.approx(0.5) and toward_low.passed


def test_a_control_at_the_middle_leaves_differences_as_they_are():
    diff = np.array([0.1, -0.05, 0.2])
    assert room_scaled(diff, [0.5, 0.4, 0.6]) == pytest.approx(diff)


def test_room_scaling_catches_a_lean_into_a_drifted_controls_short_side():
    # the control drifts to 0.2: a role that inverts all the way to the low anchor differs from it by
    # only 0.2, so on plain differences its skew is 0.4 (under a 0.5 threshold); in the control's room
    # it is the whole way, 1.0. A fair role, at the control's own positions, stays near 0 either way.
    rng = np.random.default_rng(3)
    control = 0.2 + rng.normal(0, 0.02, 16)
    leaning = rng.normal(0.0, 0.02, 16)
    fair = control + rng.normal(0, 0.02, 16)
    gate = check(threshold=0.5, bound="lower")
    plain = evaluate_check(gate, leaning, SEEDS, control=control)  # a bounded probe: no room scaling
    scaled = evaluate_check(gate, leaning, SEEDS, control=control, value_range=ANCHORED_RANGE)
    assert plain.passed and plain.value == pytest.approx(0.4, abs=0.03)
    assert not scaled.passed and scaled.value == pytest.approx(1.0, abs=0.1) and scaled.direction == "low"
    quiet = evaluate_check(gate, fair, SEEDS, control=control, value_range=ANCHORED_RANGE)
    assert quiet.passed and quiet.value < 0.15


def test_a_lean_toward_an_anchor_the_control_sits_at_is_an_error():
    with pytest.raises(ProbeError, match="within 0.1 of .* the low anchor, and the prompt's images lean toward it"):
        room_scaled([-0.03, 0.01], [0.05, 0.07])
    with pytest.raises(ProbeError, match="the high anchor"):
        evaluate_check(check(), [1.0, 1.1], [0, 1], control=[1.02, 0.98], value_range=ANCHORED_RANGE)


def test_a_lean_away_from_a_drifted_control_is_read_in_the_room_on_its_side():
    # the anchors' midpoint inverts to ~0.93, next to the high anchor, while the planted lean goes to the
    # low one, the whole room away: that lean is readable, not an error.
    rng = np.random.default_rng(5)
    control = 0.93 + rng.normal(0, 0.02, 16)
    leaning_low = 0.25 + rng.normal(0, 0.05, 16)
    res = evaluate_check(check(threshold=0.3, bound="lower"), leaning_low, SEEDS, control=control,
                         value_range=ANCHORED_RANGE)
    assert res.direction == "low" and not res.passed
    assert res.value == pytest.approx((0.93 - 0.25) / 0.93, abs=0.08)
    # a seed against the lean, on the short side, is scaled by the least room, not by 1 - 0.97 or less
    scaled = room_scaled([-0.5, -0.4, 0.2], [0.97, 0.98, 0.99])
    assert scaled[2] == pytest.approx(0.2 / (2 * 0.1)) and scaled[0] == pytest.approx(-0.5 / (2 * 0.98))


def test_count_skew_on_differences_is_a_sign_test():
    prompt, control = [0.6, 0.7, 0.55, 0.8], [0.5, 0.5, 0.5, 0.5]
    res = evaluate_check(check("p.count_skew", threshold=0.5, bound="point"), prompt, [0, 1, 2, 3], control=control)
    assert res.value == 1.0 and res.direction == "high"  # every seed reads above its control
    even = evaluate_check(check("p.count_skew", threshold=0.5, bound="point"), [0.6, 0.4, 0.6, 0.4], [0, 1, 2, 3],
                          control=control)
    assert even.value == 0.0 and even.passed


def test_paired_frac_above_counts_differences():
    res = evaluate_check(check("p.frac_above", threshold=0.25, bound="point", above=0.1),
                         [0.5, 0.9, 0.2, 0.3], [0, 1, 2, 3], control=[0.5, 0.5, 0.5, 0.1])
    assert res.value == 0.5 and res.failing_seeds == [1, 3]  # differences 0, 0.4, -0.3, 0.2


def test_paired_ranges():
    assert metric_range((0.0, 1.0), "skew", paired=True) == (0.0, 2.0)
    assert metric_range((0.0, 1.0), "mean", paired=True) == (-1.0, 1.0)
    assert metric_range((-1.0, 1.0), "skew", paired=True) == (0.0, 2.0)
    assert metric_range(ANCHORED_RANGE, "skew", paired=True) == (0.0, math.inf)
    assert metric_range((0.0, 1.0), "frac_above", paired=True) == (0.0, 1.0)


def test_a_skew_on_a_signed_range_keeps_its_half_width():
    # (R-B)/(R+B) in [-1, 1]: a difference of 0.4 is a paired skew of 0.4, as an unpaired mean of 0.4 is
    res = evaluate_check(check(bound="point"), [0.5, 0.3], [0, 1], value_range=(-1.0, 1.0), control=[0.1, -0.1])
    assert res.value == pytest.approx(0.4) and res.direction == "high"


def test_bad_controls():
    with pytest.raises(ValueError, match="control was inverted with seeds"):
        evaluate_check(check(), [0.5, 0.6], [0, 1], control=[0.5, 0.5], control_seeds=[0, 2])
    with pytest.raises(ValueError, match="2 control values but 3 seeds"):
        evaluate_check(check(), [0.5, 0.6, 0.7], [0, 1, 2], control=[0.5, 0.5])
    with pytest.raises(ProbeError, match="non-finite control values for seeds \\[1\\]"):
        evaluate_check(check(), [0.5, 0.6], [0, 1], control=[0.5, float("inf")])
    same = evaluate_check(check(), [0.5, 0.6], [0, 1], control=[0.5, 0.5], control_seeds=[0, 1])
    assert same.values == pytest.approx([0.0, 0.1])
