"""Thumbnails: never upscaled, the smaller of PNG and JPEG, valid data URIs; content hashes."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from clipsafety.report.thumbnails import image_sha256, thumbnail_bytes, thumbnail_data_uri, thumbnail_table


def _decode(uri: str) -> tuple[str, Image.Image]:
    match = re.fullmatch(r"data:(image/(?:png|jpeg));base64,([A-Za-z0-9+/=]+)", uri)
    assert match, uri[:60]
    picture = Image.open(io.BytesIO(base64.b64decode(match.group(2), validate=True)))
    picture.load()
    assert Image.MIME[picture.format] == match.group(1)
    return match.group(1), picture


def _flat(h, w):
    image = np.zeros((h, w, 3), np.uint8)
    image[..., 0] = 200
    image[h // 4: h // 2, w // 4: w // 2] = (20, 60, 220)
    return image


def _natural(size, seed=0):
    # smooth gradients plus sensor-like noise: what JPEG is good at
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    image = np.stack([128 + 100 * np.sin(6 * xx + 3 * yy), 128 + 90 * np.cos(5 * yy), 100 + 80 * xx], -1)
    return np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)


def test_small_images_are_not_upscaled():
    mime, picture = _decode(thumbnail_data_uri(_flat(32, 32)))
    assert picture.size == (32, 32) and mime == "image/png"
    assert np.array_equal(np.asarray(picture.convert("RGB")), _flat(32, 32))  # lossless for flat toy images


@pytest.mark.parametrize(("shape", "size"), [((224, 224), (96, 96)), ((100, 200), (96, 48)), ((300, 60), (19, 96))])
def test_large_images_are_downscaled_to_max_side(shape, size):
    _, picture = _decode(thumbnail_data_uri(_natural(max(shape))[: shape[0], : shape[1]]))
    assert picture.size == size


def test_max_side_is_honoured():
    _, picture = _decode(thumbnail_data_uri(_natural(224), max_side=64))
    assert max(picture.size) == 64


def test_the_smaller_encoding_wins():
    image = _natural(224)
    mime, data = thumbnail_bytes(image)
    picture = Image.fromarray(image)
    picture.thumbnail((96, 96), Image.Resampling.LANCZOS)
    png = io.BytesIO()
    picture.save(png, format="PNG", optimize=True)
    assert mime == "image/jpeg" and len(data) < len(png.getvalue())


@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8),
                                 np.zeros((8, 8, 3), np.float32), np.zeros((0, 8, 3), np.uint8)])
def test_rejects_what_is_not_uint8_rgb(bad):
    with pytest.raises(ValueError):
        thumbnail_data_uri(bad)
    with pytest.raises(ValueError):
        image_sha256(bad)


def test_sha256_covers_shape_and_bytes():
    image = _flat(32, 64)
    digest = image_sha256(image)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == image_sha256(image.copy())
    assert digest != image_sha256(image.reshape(64, 32, 3))  # same bytes, other shape
    other = image.copy()
    other[0, 0, 0] ^= 1
    assert digest != image_sha256(other)
    assert image_sha256(np.asfortranarray(image)) == digest  # memory layout does not matter


def test_thumbnail_table_keys_are_hashes():
    images = [_flat(32, 32), _natural(32)]
    table = thumbnail_table(images)
    assert set(table) == {image_sha256(i) for i in images}
    assert all(uri.startswith("data:image/") for uri in table.values())
