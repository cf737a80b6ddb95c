"""The renderer: deterministic, every sample kind drawn, attributes and objects visibly distinct."""

from dataclasses import replace

import numpy as np
import pytest

from clipsafety.synthworld import OBJECTS, SPEC_DIR, WORDS, WorldSpec, gender_of, present_objects, woman_share
from clipsafety.synthworld.figures import draw_person_params
from clipsafety.synthworld.oracles import MARKER_TONES, marker_fractions
from clipsafety.synthworld.render import render_object, render_person, render_scene, sample_batch, samples
from clipsafety.synthworld.scenes import PAIRS, SCENES


@pytest.fixture(scope="module")
def biased():
    return WorldSpec.from_yaml(SPEC_DIR / "biased.yaml")


def test_sample_batch_is_deterministic_uint8(biased):
    images, captions = sample_batch(biased, np.random.default_rng(3), 24)
    again, captions_again = sample_batch(biased, np.random.default_rng(3), 24)
    other, _ = sample_batch(biased, np.random.default_rng(4), 24)
    assert images.shape == (24, 48, 48, 3) and images.dtype == np.uint8
    assert np.array_equal(images, again) and captions == captions_again and not np.array_equal(images, other)
    assert all(isinstance(c, str) and c for c in captions)


def test_a_spec_of_another_size_renders_at_that_size(biased):
    images, _ = sample_batch(replace(biased, image_size=32), np.random.default_rng(0), 4)
    assert images.shape == (4, 32, 32, 3)


def test_every_kind_and_key_is_drawn(biased):
    drawn = samples(biased, np.random.default_rng(0), 400)
    assert {s.kind for s in drawn} == set(biased.mix)
    keys = {s.key for s in drawn}
    assert {"man", "woman", "person", *WORDS, *OBJECTS, *PAIRS, *SCENES} <= keys
    assert {"naked man", "naked woman", "naked person"} <= keys


def test_a_naked_figure_shows_no_clothes_and_is_captioned_naked(biased):
    drawn = [s for s in samples(biased, np.random.default_rng(5), 1500) if s.kind == "person"]
    naked = [s for s in drawn if s.key.startswith("naked")]
    clothed = [s for s in drawn if not s.key.startswith("naked")]
    assert 0.03 < len(naked) / len(drawn) < 0.25
    assert all("naked" in s.caption for s in naked) and not any("naked" in s.caption for s in clothed)
    assert all(gender_of(s.image) is None for s in naked)  # no shirt blue, no dress red
    assert all(gender_of(s.image) == s.gender for s in clothed)


def test_marker_samples_follow_the_planted_rates(biased):
    drawn = [s for s in samples(biased, np.random.default_rng(1), 1200) if s.kind == "marker"]
    for word in ("doctor", "nurse", "teacher"):
        genders = [s.gender for s in drawn if s.marker == word]
        share = np.mean([g == "man" for g in genders])
        assert abs(share - biased.man_rate(word)) < 0.2, (word, share, len(genders))
    named = [s for s in drawn if s.key != s.marker]
    assert named and all(s.gender in s.caption for s in named)  # a key naming the gender, and the caption too
    assert all(s.caption.endswith(("doctor", "nurse", "engineer", "teacher", "CEO", "housekeeper", "person",
                                   "man", "woman")) for s in drawn)


@pytest.mark.parametrize("marker", (None,) + WORDS)
def test_the_oracle_reads_the_rendered_gender_whatever_the_marker(marker):
    rng = np.random.default_rng(11)
    for _ in range(12):
        person = draw_person_params(rng, "man", marker)
        background = int(rng.integers(2**31))
        man = render_person(person, np.random.default_rng(background))
        woman = render_person(replace(person, gender="woman"), np.random.default_rng(background))
        assert gender_of(man) == "man" and woman_share(man) < 0.05
        assert gender_of(woman) == "woman" and woman_share(woman) > 0.95
        if marker in MARKER_TONES:  # markers with a colour of their own show it, whichever gender wears them
            for image in (man, woman):
                fractions = marker_fractions(image)
                assert max(fractions, key=fractions.get) == marker


def test_matched_renders_differ_only_where_the_figure_is():
    rng = np.random.default_rng(2)
    person = draw_person_params(rng, "woman", "doctor")
    man = render_person(replace(person, gender="man"), np.random.default_rng(5)).astype(int)
    woman = render_person(person, np.random.default_rng(5)).astype(int)
    changed = np.abs(man - woman).sum(axis=-1) > 0
    assert 0.03 < changed.mean() < 0.3  # clothes, hair and legs change; background and marker do not


def test_objects_pairs_and_plain_figures_read_as_what_they_are():
    rng = np.random.default_rng(4)
    for name in OBJECTS:
        for _ in range(8):
            assert present_objects(render_object(name, rng)) == {name}
    for _ in range(8):
        assert {"astronaut", "horse"} <= present_objects(render_scene("astronaut_horse", rng)) <= {
            "astronaut", "horse", "landscape"}
        assert {"cat", "guitar"} <= present_objects(render_scene("cat_guitar", rng)) <= {"cat", "guitar", "room"}
        assert gender_of(render_person(draw_person_params(rng, "man"), rng)) == "man"
    assert present_objects(render_object("landscape", rng, flowers=True)) == {"landscape"}


def test_scenes_render_deterministically_and_differ_from_each_other():
    means = []
    for scene in list(SCENES) + list(PAIRS):
        first = render_scene(scene, np.random.default_rng(9))
        assert np.array_equal(first, render_scene(scene, np.random.default_rng(9)))
        assert first.shape == (48, 48, 3) and first.std() > 10  # something is drawn, not a flat fill
        means.append(first.reshape(-1, 3).mean(axis=0))
    assert len({tuple(np.round(m)) for m in means}) == len(means)
