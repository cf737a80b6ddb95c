"""Anchored readouts: a prompt's values placed between two anchor prompts' readouts.

Inversion drifts on its own (the toy world leans to one colour whatever the
prompt); readouts relative to inverted anchors cancel that drift. That only
works when the model tells the anchors apart: if their readouts nearly
coincide, dividing by their difference turns noise into positions far outside
[0, 1] (skews of 5 on a [0, 1] metric). So the anchors must be separated
first: their intervals must not overlap, and their mean readouts must lie at
least ANCHOR_MIN_GAP of the probe's range apart. Otherwise the probe cannot
read this model, and that is an error, not a number.

Positions are not clipped. A prompt that reads past an anchor gets a position
below 0 or above 1 and a skew above 1: it leans further than the anchor prompt
itself, which every skew threshold in [0, 1] fails, as it should. Clipping
would hide how far it leans and shrink the interval (clipped seeds stop
varying). The separation floor bounds how far positions can go: a value at
most the probe's range away from the low anchor, divided by a gap of at least
ANCHOR_MIN_GAP of that range, lies within 1 / ANCHOR_MIN_GAP = 10 anchor-gaps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..util.errors import ProbeError
from .intervals import DEFAULT_LEVEL, Range, as_values, bootstrap_interval

# Least distance between the two anchors' mean readouts, as a share of the probe's value range.
ANCHOR_MIN_GAP = 0.1
# Floor for a probe whose values are unbounded (no range to take a share of).
_TINY_GAP = 1e-6


def anchor_min_gap(value_range: Range) -> float:
    """The least gap between anchors' mean readouts for a probe with this per-image range."""
    lo, hi = value_range
    if math.isinf(lo) or math.isinf(hi):
        return _TINY_GAP
    return ANCHOR_MIN_GAP * (hi - lo)


def _fmt(interval: Range) -> str:
    return f"[{interval[0]:.3g}, {interval[1]:.3g}]"


def anchors_separated(
    low_values: Sequence[float],
    high_values: Sequence[float],
    *,
    min_gap: float,
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
) -> str | None:
    """Why the anchors' readouts are not clearly apart, or None when they are.

    Not apart: their mean readouts differ by less than `min_gap`, or their
    bootstrap intervals of the mean (at `level`, seeded) overlap.
    """
    low, high = as_values(low_values), as_values(high_values)
    low_mean, high_mean = float(np.mean(low)), float(np.mean(high))
    gap = abs(high_mean - low_mean)
    if gap < min_gap:
        return (f"the anchors' mean readouts are only {gap:.3g} apart (low anchor {low_mean:.3g}, "
                f"high anchor {high_mean:.3g}), under the floor of {min_gap:.3g}")
    low_iv = bootstrap_interval(low, np.mean, confidence=level, seed=seed)
    high_iv = bootstrap_interval(high, np.mean, confidence=level, seed=seed)
    if low_iv[0] <= high_iv[1] and high_iv[0] <= low_iv[1]:
        return (f"the anchors' {level:.0%} intervals overlap (low anchor {_fmt(low_iv)}, "
                f"high anchor {_fmt(high_iv)}): the model does not tell them apart beyond seed noise")
    return None


def anchored(
    values: Sequence[float],
    low_values: Sequence[float],
    high_values: Sequence[float],
    *,
    value_range: Range = (0.0, 1.0),
    level: float = DEFAULT_LEVEL,
    seed: int = 0,
) -> np.ndarray:
    """Place values between anchors: 0 at the low anchor's mean, 1 at the high one's.

    `value_range` is the probe's own per-image range (it sets the separation
    floor). Raises ProbeError when the anchors are not clearly separated.
    """
    problem = anchors_separated(low_values, high_values, min_gap=anchor_min_gap(value_range), level=level, seed=seed)
    if problem:
        raise ProbeError(
            f"the anchors did not separate under this model: {problem}; "
            "this probe cannot read this model, so its checks have no value here",
            fix="choose anchor prompts this model tells apart, use more seeds, or remove `anchors`",
        )
    low, high = float(np.mean(as_values(low_values))), float(np.mean(as_values(high_values)))
    return (as_values(values) - low) / (high - low)


# Least room between a neutral control's mean position and either anchor (positions: anchors at 0 and 1).
MIN_ROOM = ANCHOR_MIN_GAP


def room_scaled(differences: Sequence[float], control_positions: Sequence[float], *,
                min_room: float = MIN_ROOM) -> np.ndarray:
    """Paired differences of anchored positions, measured in the room the control leaves on each side.

    A control's images drift too: a balanced control may sit at 0.25, a quarter
    of the way from the low anchor. A prompt that leans all the way to the low
    anchor then differs from it by only 0.25, and one that leans to the high
    anchor by 0.75. So each seed's difference is divided by twice the room on its
    side (the control's mean position for a lean toward the low anchor, one minus
    it for the high one): reaching an anchor reads +-0.5, as an unpaired position
    of 0 or 1 does, and a control at 0.5 leaves the differences as they are. The
    room comes from the control's mean over seeds, so one noisy seed does not
    set it.

    Raises ProbeError when the control sits within `min_room` of an anchor (or
    past it) and the prompt's mean difference leans toward that anchor: such a
    lean cannot be told from the control's drift. A lean toward the other
    anchor has the whole room on its side and is read (a control that drifts
    next to one anchor still leaves a lean toward the other one measurable);
    seeds against it are scaled by at least `min_room`, so one noisy seed on
    the short side cannot blow the value up.
    """
    diff = as_values(differences)
    centre = float(np.mean(as_values(control_positions)))
    low_room, high_room = centre, 1.0 - centre
    toward_high = float(np.mean(diff)) >= 0
    if (high_room if toward_high else low_room) < min_room:
        near = "high" if toward_high else "low"
        raise ProbeError(
            f"the neutral control's images sit at position {centre:.3g} between the anchors, within "
            f"{min_room:.3g} of (or past) the {near} anchor, and the prompt's images lean toward it: a lean "
            "toward that anchor cannot be told from the control's own drift",
            fix="use a control balanced between the anchors (control: {midpoint: [<low>, <high>]}), "
                "or choose anchors this model tells apart more clearly",
        )
    low_scale, high_scale = max(low_room, min_room), max(high_room, min_room)
    return np.where(diff < 0, diff / (2 * low_scale), diff / (2 * high_scale))
