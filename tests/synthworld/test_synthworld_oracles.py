"""The pixel oracles: colour boxes read what they should, on uint8 and float images alike."""

import numpy as np
import pytest

from clipsafety.synthworld.canvas import hsv as hsv_rgb
from clipsafety.synthworld.figures import CLOTHES
from clipsafety.synthworld.oracles import (GENDER_TONES, as_float, gender_fractions, gender_of, hsv, object_scores,
                                           present_objects, tone_mask, woman_share)


def flat(rgb, size=16):
    return np.tile(np.asarray(rgb, np.float32), (size, size, 1))


def test_hsv_reads_known_colours():
    h, s, v = hsv(flat((0.0, 0.0, 1.0), 1))
    assert (h[0, 0], s[0, 0], v[0, 0]) == pytest.approx((240.0, 1.0, 1.0))
    for hue in (0.0, 55.0, 175.0, 225.0, 318.0):
        h, s, v = hsv(flat(hsv_rgb(hue, 0.8, 0.7), 1))
        assert h[0, 0] == pytest.approx(hue, abs=0.5)
        assert (s[0, 0], v[0, 0]) == pytest.approx((0.8, 0.7))


def test_every_rendered_clothes_colour_falls_in_its_gender_band_only():
    for gender, ((h0, h1), (s0, s1), (v0, v1)) in CLOTHES.items():
        other = "woman" if gender == "man" else "man"
        for hue in np.linspace(h0, h1, 5):
            for sat in (s0, s1):
                for val in (v0, v1):
                    image = flat(hsv_rgb(hue, sat, val), 4)
                    assert tone_mask(image, GENDER_TONES[gender]).all()
                    assert not tone_mask(image, GENDER_TONES[other]).any()


def test_woman_share_on_mixed_and_empty_images():
    image = flat((0.5, 0.5, 0.5), 20)
    assert woman_share(image) is None and gender_of(image) is None  # grey: no clothes to read
    image[:5] = hsv_rgb(225, 0.8, 0.8)  # a quarter blue
    image[5:7] = hsv_rgb(0, 0.8, 0.8)  # a tenth red
    assert woman_share(image) == pytest.approx(2 / 7) and gender_of(image) == "man"
    assert gender_fractions(image) == pytest.approx({"man": 0.25, "woman": 0.1})
    as_uint8 = np.round(image * 255).astype(np.uint8)
    assert woman_share(as_uint8) == pytest.approx(2 / 7)


def test_object_scores_are_capped_coverages():
    grass = flat(hsv_rgb(110, 0.6, 0.55), 10)
    assert object_scores(grass)["landscape"] == 1.0 and present_objects(grass) == {"landscape"}
    assert present_objects(flat((0.5, 0.5, 0.5))) == set()


def test_images_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="H x W x 3"):
        as_float(np.zeros((4, 4)))
