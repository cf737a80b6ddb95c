"""A tiny numpy rasteriser: filled shapes painted in order, anti-aliased by supersampling.

Drawing code works in a fixed 48 x 48 unit square (x right, y down) whatever the
image size, so a scene looks the same at 32, 48 or 64 px. Each shape is tested
only on the pixels of its bounding box, so a scene of a few dozen shapes renders
in about a millisecond.
"""

from __future__ import annotations

import colorsys
import functools

import numpy as np

UNITS = 48.0  # side of the drawing square, in units
SUPERSAMPLE = 3  # shapes are rasterised at 3x and averaged down


def hsv(h: float, s: float, v: float) -> tuple[float, float, float]:
    """RGB in [0, 1] from hue in degrees, saturation and value in [0, 1]."""
    return colorsys.hsv_to_rgb((h % 360) / 360, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))


def tone(rng: np.random.Generator, hue: tuple[float, float], sat: tuple[float, float],
         val: tuple[float, float]) -> tuple[float, float, float]:
    """A random RGB inside a hue/saturation/value box."""
    return hsv(rng.uniform(*hue), rng.uniform(*sat), rng.uniform(*val))


def tone_at(u: tuple[float, float, float], hue, sat, val) -> tuple[float, float, float]:
    """The RGB at position ``u`` (three numbers in [0, 1]) of a hue/saturation/value box."""
    return hsv(*(lo + (hi - lo) * t for t, (lo, hi) in zip(u, (hue, sat, val))))


@functools.cache
def _centres(n: int, k: float) -> np.ndarray:
    """Centres of the supersampled pixels along one axis, in units (read-only, shared)."""
    centres = (np.arange(n, dtype=np.float32) + 0.5) / k
    centres.flags.writeable = False
    return centres


class Canvas:
    """An RGB float image being painted, ``size`` pixels square, ``supersample`` times finer inside."""

    def __init__(self, size: int, background=(0.5, 0.5, 0.5), supersample: int = SUPERSAMPLE):
        self.size, self.ss = size, supersample
        self.n = size * supersample
        self.k = self.n / UNITS  # supersampled pixels per unit
        self.pix = np.empty((self.n, self.n, 3), np.float32)
        self.pix[:] = background

    def _window(self, x0: float, y0: float, x1: float, y1: float):
        """Index ranges of the pixels whose centres may lie in the box, and those centres in units."""
        c0, c1 = max(int(np.floor(x0 * self.k)), 0), min(int(np.ceil(x1 * self.k)) + 1, self.n)
        r0, r1 = max(int(np.floor(y0 * self.k)), 0), min(int(np.ceil(y1 * self.k)) + 1, self.n)
        if c0 >= c1 or r0 >= r1:
            return None
        centres = _centres(self.n, self.k)
        return (slice(r0, r1), slice(c0, c1)), centres[None, c0:c1], centres[r0:r1, None]

    def _paint(self, box, inside_fn, rgb) -> None:
        window = self._window(*box)
        if window is None:
            return
        (rows, cols), x, y = window
        region = self.pix[rows, cols]  # a view: painting it paints the canvas
        region[np.broadcast_to(inside_fn(x, y), region.shape[:2])] = rgb

    def rect(self, x0, y0, x1, y1, rgb) -> None:
        self._paint((x0, y0, x1, y1), lambda x, y: (x >= x0) & (x < x1) & (y >= y0) & (y < y1), rgb)

    def ellipse(self, cx, cy, rx, ry, rgb) -> None:
        rx, ry = max(rx, 1e-3), max(ry, 1e-3)
        self._paint((cx - rx, cy - ry, cx + rx, cy + ry),
                    lambda x, y: ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1, rgb)

    def polygon(self, points, rgb) -> None:
        """A convex polygon (vertices in either winding order)."""
        pts = [(float(x), float(y)) for x, y in points]
        edges = list(zip(pts, pts[1:] + pts[:1]))
        area = sum(ax * by - bx * ay for (ax, ay), (bx, by) in edges)
        sign = 1.0 if area >= 0 else -1.0

        def inside(x, y):
            ok = None
            for (ax, ay), (bx, by) in edges:
                half = sign * ((bx - ax) * (y - ay) - (by - ay) * (x - ax)) >= 0
                ok = half if ok is None else ok & half
            return ok

        xs, ys = [x for x, _ in pts], [y for _, y in pts]
        self._paint((min(xs), min(ys), max(xs), max(ys)), inside, rgb)

    def line(self, x0, y0, x1, y1, width, rgb) -> None:
        """A stroke with round ends, ``width`` units thick."""
        r = width / 2
        dx, dy = x1 - x0, y1 - y0
        length2 = max(dx * dx + dy * dy, 1e-9)

        def inside(x, y):
            t = np.clip(((x - x0) * dx + (y - y0) * dy) / length2, 0, 1)
            return (x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2 <= r * r

        self._paint((min(x0, x1) - r, min(y0, y1) - r, max(x0, x1) + r, max(y0, y1) + r), inside, rgb)

    def gradient(self, y0, y1, top_rgb, bottom_rgb) -> None:
        """A full-width band from ``y0`` to ``y1`` shading from one colour to the other."""
        window = self._window(0, y0, UNITS, y1)
        if window is None:
            return
        (rows, cols), _, y = window
        t = np.clip((y - y0) / max(y1 - y0, 1e-6), 0, 1)[..., None]  # rows x 1 x 1
        band = (1 - t) * np.asarray(top_rgb, np.float32) + t * np.asarray(bottom_rgb, np.float32)
        keep = ((y >= y0) & (y < y1))[:, 0]
        region = self.pix[rows, cols]
        region[keep] = band[keep]

    def image(self) -> np.ndarray:
        """float32 size x size x 3 in [0, 1]."""
        s = self.ss
        out = sum(self.pix[i::s, j::s] for i in range(s) for j in range(s)) / (s * s)  # box filter
        return np.clip(out, 0, 1)
