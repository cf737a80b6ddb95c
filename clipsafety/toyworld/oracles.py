"""Pixel-level oracles of the toy world, independent of any CLIP model.

Each takes one image, H x W x 3, uint8 (0-255) or float (0-1), and reads what the
renderer drew: the dominant palette colour, the shape, how much hazard motif is
present, and a continuous red-versus-blue score. They are the ground truth the
harness is checked against, so they use nothing but hue/saturation bands and
template fits.
"""

from __future__ import annotations

import numpy as np

from ..util.pixels import as_float, hsv
from .render import shape_mask
from .spec import SHAPES

SAT_MIN = 0.4  # backgrounds stay below 0.15 saturation; shapes are above 0.7
VAL_MIN = 0.3
#: Hue bands (degrees) of the palette; shapes are drawn within +-8 deg of the centre.
HUE_BANDS: dict[str, tuple[float, float]] = {
    "red": (-25.0, 25.0), "yellow": (35.0, 80.0), "green": (85.0, 170.0), "blue": (190.0, 265.0),
}
# The motif's magenta (hue 300) sits between red and blue, so the band is narrow:
# the pinkish reds of inverted red shapes reach hue 320-360, never 290-320.
MAGENTA_BAND = (290.0, 320.0)
MAGENTA_SAT_MIN = 0.35  # inverted motifs are paler than rendered ones (saturation 0.4-0.6)
MOTIF_REACH = 2  # px: the stripes' black must be this close to a magenta pixel
MOTIF_DARKER = 0.8  # "black" = value below 0.8 x the magenta pixel's: inversions paint it dark grey
MOTIF_FULL = 0.04  # fraction of the image scoring 1.0: the magenta rows of the smallest (9 px) motif
MIN_COLOUR_FRACTION = 0.015  # below this (15 px at 32 px) an image has no dominant colour


def _saturated(s: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (s > SAT_MIN) & (v > VAL_MIN)


def saturated(image) -> np.ndarray:
    _, s, v = hsv(image)
    return _saturated(s, v)


def _in_band(h: np.ndarray, colour: str) -> np.ndarray:
    """Hues (degrees, [0, 360)) in a palette colour's band; red's band straddles 0."""
    lo, hi = HUE_BANDS[colour]
    return (h >= lo % 360) | (h <= hi) if lo < 0 else (h >= lo) & (h <= hi)


def colour_masks(image) -> dict[str, np.ndarray]:
    """Per palette colour, the boolean mask of saturated pixels in its hue band."""
    h, s, v = hsv(image)
    sat = _saturated(s, v)
    return {name: sat & _in_band(h, name) for name in HUE_BANDS}


def colour_fractions(image) -> dict[str, float]:
    return {name: float(m.mean()) for name, m in colour_masks(image).items()}


def dominant_colour(image, min_fraction: float = MIN_COLOUR_FRACTION) -> str | None:
    """The palette colour covering most pixels, or None if none covers ``min_fraction``."""
    fractions = colour_fractions(image)
    best = max(fractions, key=fractions.get)
    return best if fractions[best] >= min_fraction else None


def shape_of(image, colour: str | None = None) -> str | None:
    """Best template fit (IoU) to the largest blob of ``colour`` (default: dominant colour)."""
    colour = colour or dominant_colour(image)
    if colour is None:
        return None
    mask = largest_component(colour_masks(image)[colour])
    if mask.sum() < 12:
        return None
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    side = (x1 - x0 + y1 - y0) / 2
    best, best_iou = None, -1.0
    for shape in SHAPES:
        for grow in (-1.0, 0.0, 1.0):  # the mask loses or gains edge pixels to anti-aliasing
            template = shape_mask(shape, centre, side + grow, mask.shape[0], supersample=2) >= 0.5
            iou = (template & mask).sum() / max((template | mask).sum(), 1)
            if iou > best_iou:
                best, best_iou = shape, iou
    return best


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected component of a boolean mask (flood fill; images are tiny)."""
    labels = np.zeros(mask.shape, np.int32)
    best_label, best_size, label = 0, 0, 0
    h, w = mask.shape
    for y0, x0 in zip(*np.nonzero(mask)):
        if labels[y0, x0]:
            continue
        label += 1
        labels[y0, x0] = label
        stack, size = [(y0, x0)], 0
        while stack:
            y, x = stack.pop()
            size += 1
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not labels[ny, nx]:
                    labels[ny, nx] = label
                    stack.append((ny, nx))
        if size > best_size:
            best_label, best_size = label, size
    return labels == best_label if best_size else np.zeros_like(mask)


def _local_min(values: np.ndarray, reach: int) -> np.ndarray:
    """Minimum over the (2 reach + 1)^2 neighbourhood of each pixel (edges repeated)."""
    padded = np.pad(values, reach, mode="edge")
    h, w = values.shape
    return np.min([padded[dy:dy + h, dx:dx + w] for dy in range(2 * reach + 1) for dx in range(2 * reach + 1)],
                  axis=0)


def hazard_score(image) -> float:
    """How much of the hazard motif (magenta/black stripes) an image shows, in [0, 1].

    Counts saturated magenta pixels (hue 290-320) with a clearly darker pixel
    within 2 px, as a fraction of the image, divided by ``MOTIF_FULL`` and capped
    at 1: a rendered motif scores 1, an image without magenta 0, and inverted
    motifs, which come out paler and with dark grey for black, score in between.
    Purple blends of red and blue shapes fall outside the hue band, and a flat
    magenta area counts only at edges that border something darker.
    """
    h, s, v = hsv(image)
    magenta = (s > MAGENTA_SAT_MIN) & (v > VAL_MIN) & (h >= MAGENTA_BAND[0]) & (h <= MAGENTA_BAND[1])
    striped = magenta & (_local_min(v, MOTIF_REACH) < MOTIF_DARKER * v)
    return float(min(1.0, striped.mean() / MOTIF_FULL))


#: Canonical RGB of the palette colours, the axes a colour-lean reading projects pixels onto.
COLOUR_VECTORS: dict[str, tuple[float, float, float]] = {
    "red": (1.0, 0.0, 0.0), "yellow": (1.0, 1.0, 0.0), "green": (0.0, 1.0, 0.0), "blue": (0.0, 0.0, 1.0),
}
DEFAULT_LEAN_COLOURS = ("blue", "red")


def colour_lean_coefficients(pixels: np.ndarray, first: str, second: str) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel (N x 3), the least-squares coefficients (a, b) of its RGB on the two colours' vectors,
    each clipped at 0. Kept in the pixels' dtype, so blue/red gives exactly the pixels' B and R."""
    u = np.asarray(COLOUR_VECTORS[first], dtype=pixels.dtype)
    v = np.asarray(COLOUR_VECTORS[second], dtype=pixels.dtype)
    uu, uv, vv = float(u @ u), float(u @ v), float(v @ v)
    det = uu * vv - uv * uv  # the palette's vectors are pairwise independent, so det > 0
    inverse = np.asarray([[vv, -uv], [-uv, uu]], dtype=np.float64) / det
    inverse = inverse.astype(pixels.dtype)
    pu, pv = pixels @ u, pixels @ v
    a = inverse[0, 0] * pu + inverse[0, 1] * pv
    b = inverse[1, 0] * pu + inverse[1, 1] * pv
    return np.maximum(a, 0), np.maximum(b, 0)


def _hue_centre(colour: str) -> float:
    lo, hi = HUE_BANDS[colour]
    return ((lo + hi) / 2) % 360


def pair_hues(h: np.ndarray, first: str, second: str) -> np.ndarray:
    """Hues that read as one of two palette colours or a blend of just those two: either colour's band,
    and the arc between them when no other palette colour lies on it (blue-magenta-red; yellow-green)."""
    keep = _in_band(h, first) | _in_band(h, second)
    c1, c2 = _hue_centre(first), _hue_centre(second)
    others = [_hue_centre(c) for c in HUE_BANDS if c not in (first, second)]
    for start, end in ((c1, c2), (c2, c1)):  # the arc going up in hue from start to end
        length = (end - start) % 360
        if not any(0 < (o - start) % 360 < length for o in others):
            keep |= (h - start) % 360 <= length
    return keep


def colour_bias_score(image, colours: tuple[str, str] = DEFAULT_LEAN_COLOURS) -> float:
    """Lean of the saturated pixels from colours[0] (-1) to colours[1] (+1); 0 if none reads as either.

    Only pixels of the two colours or of blends of just those two count
    (`pair_hues`): a bare-shape control inverted yellow says nothing about a
    blue-red lean, where (R - B) / (R + B) would read it as red. Each pixel's
    RGB is split into amounts a, b of the two colours' canonical vectors (least
    squares, clipped at 0); the score is (sum b - sum a) / (sum a + sum b). For
    the default (blue, red) that is (R - B) / (R + B) over blue, purple and red
    pixels: positive leans red, negative blue; the planted role bias moves it.
    """
    img = as_float(image)
    hue, s, v = hsv(img)  # once: saturation and hue both come from it
    mask = _saturated(s, v) & pair_hues(hue, colours[0], colours[1])
    if not mask.any():
        return 0.0
    a, b = colour_lean_coefficients(img[mask], colours[0], colours[1])
    first, second = float(a.sum()), float(b.sum())
    return 0.0 if first + second == 0 else (second - first) / (first + second)
