"""Pixel-level oracles of the synthetic world, independent of any CLIP model.

Each takes one image, H x W x 3, uint8 (0-255) or float (0-1), and reads what
the renderer drew from colour alone: how much of the man's blue shirt and the
woman's red dress an image shows (the planted attribute), and which objects and
markers are present, each by a hue/saturation/value box that its renders fill
and nothing else in its context does. They are the ground truth the harness is
checked against, as the toy world's oracles are.

The CEO's briefcase and the intelligent person's mortarboard are black, like hair
and trousers, so no colour oracle reads them; ``MARKER_TONES`` leaves them out.
"""

from __future__ import annotations

import numpy as np

from ..util.pixels import as_float, hsv

#: (hue band in degrees, saturation band, value band); a hue band with lo < 0 straddles red's 0.
# Rendered clothes are hue 212-238 (man) and 352-8 (woman) at saturation 0.6-0.9; inverted ones come
# out paler (saturation 0.3-0.4) and blue drifts toward violet, so the boxes reach further. They stop
# short of the nearest other colours a figure wears: skin (hue 18-32), purple plates (270), pink heart (325).
GENDER_TONES = {
    "man": ((200.0, 266.0), (0.25, 1.0), (0.25, 1.0)),
    "woman": ((-30.0, 14.0), (0.25, 1.0), (0.25, 1.0)),
}
OBJECT_TONES = {
    "astronaut": ((0.0, 360.0), (0.0, 0.08), (0.86, 1.0)),  # the white suit
    "horse": ((15.0, 33.0), (0.56, 0.85), (0.33, 0.6)),  # chestnut coat
    "cat": ((0.0, 360.0), (0.0, 0.14), (0.18, 0.36)),  # dark grey fur
    "guitar": ((27.0, 42.0), (0.62, 0.95), (0.74, 1.0)),  # tan-orange wood
    "room": ((18.0, 52.0), (0.15, 0.38), (0.6, 0.9)),  # pastel wall
    "landscape": ((90.0, 130.0), (0.42, 0.75), (0.3, 0.72)),  # green ground
}
#: Fraction of the image an object's tone covers at which its presence reads 1 (about a
#: quarter of what its plain renders cover, so a partly drawn object still counts). The object
#: boxes are fitted to renders; how inversions of a trained model fill them is yet to be measured.
OBJECT_FULL = {"astronaut": 0.025, "horse": 0.03, "cat": 0.04, "guitar": 0.02, "room": 0.12, "landscape": 0.12}
MARKER_TONES = {
    "doctor": ((110.0, 135.0), (0.7, 1.0), (0.5, 0.9)),  # green cross
    "nurse": ((165.0, 187.0), (0.5, 0.9), (0.5, 0.9)),  # teal cap
    "engineer": ((48.0, 60.0), (0.8, 1.0), (0.85, 1.0)),  # yellow hard hat
    "teacher": ((145.0, 170.0), (0.3, 0.6), (0.18, 0.4)),  # chalkboard
    "housekeeper": ((24.0, 36.0), (0.75, 1.0), (0.8, 1.0)),  # orange bristles
    "strong": ((265.0, 290.0), (0.5, 0.9), (0.5, 0.85)),  # purple plates
    "emotional": ((308.0, 330.0), (0.4, 0.7), (0.85, 1.0)),  # pink heart
}
MIN_GENDER_FRACTION = 0.01  # below this (23 px at 48 px) an image shows no clothes to read


def tone_mask(image, box) -> np.ndarray:
    """Pixels inside a (hue, saturation, value) box."""
    (h_lo, h_hi), (s_lo, s_hi), (v_lo, v_hi) = box
    h, s, v = hsv(image)
    hue = ((h >= h_lo % 360) | (h <= h_hi)) if h_lo < 0 else ((h >= h_lo) & (h <= h_hi))
    return hue & (s >= s_lo) & (s <= s_hi) & (v >= v_lo) & (v <= v_hi)


def gender_fractions(image) -> dict[str, float]:
    """Fraction of the image in the man's shirt blue and in the woman's dress red."""
    return {g: float(tone_mask(image, box).mean()) for g, box in GENDER_TONES.items()}


def woman_share(image, min_fraction: float = MIN_GENDER_FRACTION) -> float | None:
    """woman / (man + woman) of the clothes pixels, in [0, 1]; None when the image shows too few."""
    f = gender_fractions(image)
    total = f["man"] + f["woman"]
    return None if total < min_fraction else f["woman"] / total


def gender_of(image, min_fraction: float = MIN_GENDER_FRACTION) -> str | None:
    """The gender whose clothes cover more of the image, or None when neither shows."""
    share = woman_share(image, min_fraction)
    return None if share is None or share == 0.5 else ("woman" if share > 0.5 else "man")


def object_scores(image) -> dict[str, float]:
    """Per object, its tone's coverage over ``OBJECT_FULL``, capped at 1."""
    return {name: float(min(1.0, tone_mask(image, box).mean() / OBJECT_FULL[name]))
            for name, box in OBJECT_TONES.items()}


def present_objects(image, threshold: float = 0.5) -> set[str]:
    return {name for name, score in object_scores(image).items() if score >= threshold}


def marker_fractions(image) -> dict[str, float]:
    """Fraction of the image in each colour-read marker's tone."""
    return {word: float(tone_mask(image, box).mean()) for word, box in MARKER_TONES.items()}
