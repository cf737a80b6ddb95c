"""Images -> small data URIs for the report (their hash, image_sha256, lives with the cache).

Thumbnails are never upscaled: a 32 px toy image stays 32 px in the file and
the report displays it at a fixed box size with `image-rendering: pixelated`,
which costs no bytes. Larger images are downscaled (Lanczos) so the longest
side is `max_side`. We encode PNG (lossless, best for flat toy images and
small noise) and JPEG quality 80 (better for natural images), keep the
smaller one, and return it as a base64 data URI.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from ..cache import image_sha256

JPEG_QUALITY = 80


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected a uint8 HxWx3 image, got dtype {image.dtype} shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"empty image of shape {image.shape}")
    return np.ascontiguousarray(image)


def _encode(picture: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "PNG":
        picture.save(buffer, format="PNG", optimize=True)
    else:
        picture.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def thumbnail_bytes(image: np.ndarray, max_side: int = 96) -> tuple[str, bytes]:
    """(mime type, encoded bytes) of the thumbnail; see the module docstring."""
    if max_side < 1:
        raise ValueError(f"max_side must be >= 1, got {max_side}")
    picture = Image.fromarray(_check_image(image), mode="RGB")
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    png = _encode(picture, "PNG")
    jpeg = _encode(picture, "JPEG")
    return ("image/jpeg", jpeg) if len(jpeg) < len(png) else ("image/png", png)


def thumbnail_data_uri(image: np.ndarray, max_side: int = 96) -> str:
    """`data:image/png;base64,...` (or image/jpeg when smaller) of a uint8 HxWx3 image."""
    mime, data = thumbnail_bytes(image, max_side)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def thumbnail_table(images, max_side: int = 96) -> dict[str, str]:
    """{image_sha256: data URI} for an iterable of images: the results' "images" table."""
    return {image_sha256(image): thumbnail_data_uri(image, max_side) for image in images}
