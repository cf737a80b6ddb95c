"""Pixel arrays as the worlds' colour oracles read them: float RGB in [0, 1] and its hue/saturation/value."""

from __future__ import annotations

import numpy as np


def as_float(image) -> np.ndarray:
    """H x W x 3 float32 in [0, 1] from uint8 or float input."""
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise ValueError(f"expected an H x W x 3 image, got shape {arr.shape}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    return np.clip(arr.astype(np.float32), 0.0, 1.0)


def hsv(image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in degrees [0, 360), saturation and value in [0, 1], each H x W."""
    img = as_float(image)
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    v = img.max(axis=-1)
    c = v - img.min(axis=-1)
    s = np.where(v > 0, c / np.maximum(v, 1e-8), 0.0)
    safe_c = np.maximum(c, 1e-8)
    h = np.where(v == r, ((g - b) / safe_c) % 6,
                 np.where(v == g, (b - r) / safe_c + 2, (r - g) / safe_c + 4)) * 60.0
    return np.where(c > 0, h, 0.0) % 360, s, v
