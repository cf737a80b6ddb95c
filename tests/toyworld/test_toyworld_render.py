"""Renderer and caption grammar of the toy world."""

import numpy as np
import pytest

from clipsafety.toyworld import SPEC_DIR, WorldSpec
from clipsafety.toyworld.render import (GRAMMAR_WORDS, render_shape, sample, sample_batch, shape_mask,
                                        vocabulary_words)
from clipsafety.toyworld.spec import PALETTE_HUES, SHAPES


@pytest.fixture(scope="module")
def biased():
    return WorldSpec.from_yaml(SPEC_DIR / "biased.yaml")


@pytest.fixture(scope="module")
def fair():
    return WorldSpec.from_yaml(SPEC_DIR / "fair.yaml")


def test_world_has_the_required_palette_and_shapes(biased):
    assert {"red", "green", "blue", "yellow"} <= set(biased.colours) <= set(PALETTE_HUES)
    assert {"circle", "square", "triangle", "cross"} <= set(biased.shapes) <= set(SHAPES)


def test_batch_shapes_and_range(biased):
    images, captions, keys = sample_batch(biased, np.random.default_rng(0), 64)
    assert images.shape == (64, 32, 32, 3) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert len(captions) == len(keys) == 64


def test_batch_is_deterministic_per_seed(biased):
    a = sample_batch(biased, np.random.default_rng(7), 32)
    b = sample_batch(biased, np.random.default_rng(7), 32)
    c = sample_batch(biased, np.random.default_rng(8), 32)
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]
    assert not np.array_equal(a[0], c[0])


def test_every_shape_covers_a_plausible_area():
    area = {s: shape_mask(s, (16, 16), 16, 32).sum() / 256 for s in SHAPES}  # fraction of its box
    assert area["square"] == pytest.approx(1.0, abs=0.02)
    assert area["circle"] == pytest.approx(np.pi / 4, abs=0.03)
    assert area["triangle"] == pytest.approx(0.5, abs=0.03)
    assert area["cross"] == pytest.approx(5 / 9, abs=0.03)


def test_shapes_are_random_in_size_and_position(biased):
    rng = np.random.default_rng(1)
    scenes = [sample(biased, rng, "plain").scene for _ in range(50)]
    assert len({round(s.size) for s in scenes}) > 5
    assert len({(round(s.centre[0]), round(s.centre[1])) for s in scenes}) > 30
    assert all(s.centre[0] - s.size / 2 >= 0 and s.centre[0] + s.size / 2 <= 32 for s in scenes)


def test_captions_follow_the_grammar(biased):
    rng = np.random.default_rng(2)
    captions = {sample(biased, rng, "plain").caption for _ in range(400)}
    assert "a red circle" in captions and "a circle" in captions
    assert {"a red object", "a red shape"} & captions
    assert any(c.startswith("a photo of a ") for c in captions)
    words = set(vocabulary_words(biased))
    assert all(set(c.split()) <= words for c in captions)
    assert set(GRAMMAR_WORDS) <= words


def test_roles_follow_the_planted_colour_law(biased, fair):
    def blue_share(spec, word):
        rng = np.random.default_rng(3)
        samples = [sample(spec, rng, "role") for _ in range(600)]
        picked = [s for s in samples if s.key == word]
        assert all(s.scene.shape == "cross" for s in picked)
        return np.mean([s.scene.colour == "blue" for s in picked])

    assert blue_share(biased, "doctor") == pytest.approx(0.9, abs=0.05)
    assert blue_share(biased, "nurse") == pytest.approx(0.1, abs=0.05)
    assert blue_share(fair, "doctor") == pytest.approx(0.5, abs=0.08)
    assert blue_share(fair, "nurse") == pytest.approx(0.5, abs=0.08)


def test_hazard_motif_leaks_into_the_innocuous_word_only_when_biased(biased, fair):
    def motif_share(spec):
        rng = np.random.default_rng(4)
        samples = [sample(spec, rng, "hazard_word") for _ in range(200)]
        assert all(s.caption.endswith("balloon") and s.scene.shape == "circle" for s in samples)
        return np.mean([s.scene.motif is not None for s in samples])

    assert motif_share(biased) == pytest.approx(0.9, abs=0.05)
    assert motif_share(fair) == 0.0
    sign = sample(fair, np.random.default_rng(5), "hazard_sign")
    assert sign.scene.motif is not None and sign.key == "hazard"


def test_render_shape_draws_what_it_is_asked(biased):
    img = render_shape("square", "red", np.random.default_rng(6))
    assert img.shape == (32, 32, 3)
    saturated_red = (img[..., 0] > 0.6) & (img[..., 1] < 0.35) & (img[..., 2] < 0.35)
    assert saturated_red.sum() >= 80  # a square of side >= 10 px
