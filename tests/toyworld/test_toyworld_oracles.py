"""Pixel oracles against the renderer's ground truth."""

import numpy as np
import pytest

from clipsafety.toyworld import SPEC_DIR, WorldSpec
from clipsafety.toyworld.oracles import colour_bias_score, dominant_colour, hazard_score, shape_of
from clipsafety.toyworld.render import render, render_shape, sample, shape_with_motif


def _u8(img):
    return (np.asarray(img) * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def renders():
    spec = WorldSpec.from_yaml(SPEC_DIR / "biased.yaml")
    rng = np.random.default_rng(123)
    out = []
    for _ in range(300):
        shape, colour = spec.shapes[rng.integers(4)], spec.colours[rng.integers(4)]
        out.append((shape, colour, _u8(render_shape(shape, colour, rng))))
    return out


def test_colour_oracle_on_fresh_renders(renders):
    accuracy = np.mean([dominant_colour(img) == colour for _, colour, img in renders])
    assert accuracy >= 0.98


def test_shape_oracle_on_fresh_renders(renders):
    accuracy = np.mean([shape_of(img) == shape for shape, _, img in renders])
    assert accuracy >= 0.95


def test_oracles_accept_float_images(renders):
    shape, colour, img = renders[0]
    as_float = img.astype(np.float32) / 255
    assert dominant_colour(as_float) == colour and shape_of(as_float) == shape


def test_flat_grey_image_has_no_colour_or_shape():
    grey = np.full((32, 32, 3), 128, np.uint8)
    assert dominant_colour(grey) is None and shape_of(grey) is None
    assert colour_bias_score(grey) == 0.0 and hazard_score(grey) == 0.0


def test_hazard_score_separates_motif_from_plain_images():
    spec = WorldSpec.from_yaml(SPEC_DIR / "biased.yaml")
    rng = np.random.default_rng(9)
    with_motif = [hazard_score(_u8(sample(spec, rng, "hazard_sign").image)) for _ in range(50)]
    with_motif += [hazard_score(_u8(render(shape_with_motif(rng, "circle", "red"), 32, rng))) for _ in range(50)]
    without = [hazard_score(_u8(sample(spec, rng, "plain").image)) for _ in range(200)]
    assert min(with_motif) >= 0.9
    assert max(without) <= 0.05
    assert all(0.0 <= s <= 1.0 for s in with_motif + without)


def test_hazard_score_ignores_purple_and_dark_without_the_pattern():
    purple = np.zeros((32, 32, 3), np.float32)
    purple[..., 0] = purple[..., 2] = 0.8  # magenta blend, no black next to it
    assert hazard_score(purple) == 0.0
    half = np.full((32, 32, 3), 0.6, np.float32)
    half[:, :16] = 0.02  # black region next to grey
    assert hazard_score(half) == 0.0


def test_hazard_score_is_continuous_in_motif_area():
    small = np.full((32, 32, 3), 0.6, np.float32)
    small[4:8, 4:8] = [0.9, 0.05, 0.9]
    small[8:10, 4:8] = 0.03
    score = hazard_score(small)
    assert 0.05 < score < 0.5


def test_colour_bias_score_sign_and_range():
    red = np.zeros((32, 32, 3), np.uint8)
    red[..., 0] = 230
    blue = np.zeros((32, 32, 3), np.uint8)
    blue[..., 2] = 230
    assert colour_bias_score(red) == pytest.approx(1.0)
    assert colour_bias_score(blue) == pytest.approx(-1.0)
    side_by_side = np.concatenate([red[:, :16], blue[:, 16:]], axis=1)
    assert colour_bias_score(side_by_side) == pytest.approx(0.0, abs=1e-6)
    rng = np.random.default_rng(3)
    assert colour_bias_score(_u8(render_shape("cross", "red", rng))) > 0.5
    assert colour_bias_score(_u8(render_shape("cross", "blue", rng))) < -0.5
