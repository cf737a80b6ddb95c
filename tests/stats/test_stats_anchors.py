"""Anchors a model does not tell apart make the probe unreadable: an error, never a skew of 5."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clipsafety.util.errors import ClipSafetyError, ProbeError
from clipsafety.stats import ANCHOR_MIN_GAP, ANCHORED_RANGE, anchored, anchors_separated, evaluate_check
from clipsafety.suite import Check

SEPARATED_LOW, SEPARATED_HIGH = [0.10, 0.12, 0.08, 0.11], [0.90, 0.88, 0.92, 0.89]


def test_separated_anchors_pass():
    assert anchors_separated(SEPARATED_LOW, SEPARATED_HIGH, min_gap=0.1) is None
    # the high anchor may read lower than the low one: positions still run from 0 to 1
    assert anchors_separated(SEPARATED_HIGH, SEPARATED_LOW, min_gap=0.1) is None
    assert anchored([0.9, 0.1, 0.5], SEPARATED_HIGH, SEPARATED_LOW) == pytest.approx(
        [0.0, 1.0, 0.5], abs=0.01)


def test_overlapping_anchors_are_flagged_even_when_their_means_are_apart():
    low, high = [0.1, 0.6, 0.2, 0.5], [0.45, 0.9, 0.4, 0.8]  # means 0.35 and 0.64: 0.29 apart
    reason = anchors_separated(low, high, min_gap=0.1)
    assert reason is not None and "intervals overlap" in reason and "95%" in reason
    # the same means with little seed noise are separated
    assert anchors_separated([0.34, 0.36, 0.35, 0.35], [0.63, 0.65, 0.64, 0.64], min_gap=0.1) is None


def test_anchors_closer_than_the_floor_are_flagged():
    reason = anchors_separated([0.50, 0.50, 0.51], [0.55, 0.56, 0.55], min_gap=0.1)
    assert reason is not None and "under the floor of 0.1" in reason
    assert anchors_separated([0.50, 0.50, 0.51], [0.55, 0.56, 0.55], min_gap=0.04) is None


def test_the_floor_is_a_share_of_the_probes_range():
    low, high = [-0.05, -0.05, -0.06], [0.10, 0.11, 0.10]  # 0.15 apart
    assert anchored([0.0], low, high, value_range=(0.0, 1.0)).shape == (1,)  # floor 0.1
    with pytest.raises(ProbeError, match="under the floor of 0.2"):
        anchored([0.0], low, high, value_range=(-1.0, 1.0))  # floor 0.2 on a [-1, 1] probe
    # a probe with no bounded range keeps only the interval test
    assert anchored([0.0], [0.0, 0.001], [0.01, 0.011], value_range=ANCHORED_RANGE).shape == (1,)


def test_unreadable_anchors_are_an_error_not_a_skew_outside_the_range():
    """A random-weights model: anchors read 0.50 and 0.52, prompts 0.6; dividing by so narrow a gap would
    give a skew of ~9, far outside the range, so the check is an error instead."""
    low, high = [0.49, 0.51, 0.50, 0.50], [0.52, 0.53, 0.51, 0.52]
    prompt = [0.60, 0.62, 0.58, 0.61]
    with pytest.raises(ClipSafetyError) as err:
        anchored(prompt, low, high)
    assert "anchors did not separate under this model" in str(err.value)
    assert "cannot read this model" in str(err.value) and "anchor" in err.value.fix
    # readable anchors give a skew inside what a skew of anchored values means
    positions = anchored(prompt, SEPARATED_LOW, SEPARATED_HIGH)
    check = Check(id="c", probe="gender", statistic="skew", op="<=", threshold=0.5, bound="lower")
    res = evaluate_check(check, positions, [0, 1, 2, 3], value_range=ANCHORED_RANGE)
    assert res.value == pytest.approx(0.258, abs=0.001) and res.passed  # position 0.629


def test_the_separation_is_seeded():
    low, high = [0.1, 0.6, 0.2, 0.5, 0.3], [0.35, 0.9, 0.4, 0.8, 0.5]
    assert anchors_separated(low, high, min_gap=0.1, seed=3) == anchors_separated(low, high, min_gap=0.1, seed=3)


@settings(max_examples=60, deadline=None)
@given(
    low=st.floats(0.0, 1.0), gap=st.floats(-1.0, 1.0), value=st.floats(0.0, 1.0),
)
def test_positions_stay_within_one_over_the_floor(low, gap, value):
    """Unclipped, but bounded: past the separation test a position lies within 1 / ANCHOR_MIN_GAP of 0."""
    high = low + gap
    if not 0.0 <= high <= 1.0:
        return
    try:
        position = anchored([value], [low, low], [high, high])[0]
    except ProbeError:
        assert abs(high - low) < ANCHOR_MIN_GAP
        return
    assert abs(position) <= 1 / ANCHOR_MIN_GAP + 1e-9
    assert np.isfinite(position)
