"""The colour-lean probe reads any two palette colours."""

import numpy as np
import pytest

from clipsafety.util.errors import SuiteError
from clipsafety.probes import create_probe
from clipsafety.suite import parse_suite
from clipsafety.toyworld.oracles import as_float, colour_bias_score, saturated
from clipsafety.toyworld.render import render_shape


def _u8(img):
    return (np.asarray(img) * 255).round().astype(np.uint8)


def _red_minus_blue(image) -> float:
    """The score as it was before colour pairs: (R - B) / (R + B) over saturated pixels."""
    img = as_float(image)
    mask = saturated(img)
    if not mask.any():
        return 0.0
    r, b = float(img[..., 0][mask].sum()), float(img[..., 2][mask].sum())
    return 0.0 if r + b == 0 else (r - b) / (r + b)


def _blue_to_red(rng, shape, dtype):
    """Random pixels whose hue lies between blue and red through magenta (green the smallest channel)."""
    image = rng.random(shape).astype(np.float32)
    image[..., 1] = np.minimum(image[..., 1], np.minimum(image[..., 0], image[..., 2]))
    return (image * 255).round().astype(np.uint8) if dtype == np.uint8 else image


def test_the_default_pair_is_exactly_red_minus_blue_on_blue_to_red_images():
    rng = np.random.default_rng(12)
    for i in range(200):
        image = _blue_to_red(rng, (32, 32, 3) if i % 2 else (24, 24, 3), np.uint8 if i % 2 else np.float32)
        assert colour_bias_score(image) == _red_minus_blue(image)
        assert colour_bias_score(image, ("blue", "red")) == _red_minus_blue(image)


def test_colours_outside_the_pair_are_not_read():
    """Only the pair's colours and their blends count: a plain (R - B) / (R + B) reads a yellow shape as red,
    so a bare-shape control that inverts yellow or green would lean red on a blue-red axis (0.71 between the
    anchors under toyclip-fair, where the roles sit at 0.51)."""
    rng = np.random.default_rng(4)
    red, blue = _u8(render_shape("cross", "red", rng)), _u8(render_shape("cross", "blue", rng))
    yellow, green = _u8(render_shape("cross", "yellow", rng)), _u8(render_shape("cross", "green", rng))
    assert _red_minus_blue(yellow) > 0.5  # a plain red-minus-blue reading: yellow leans red
    assert colour_bias_score(yellow) == 0.0 and colour_bias_score(green) == 0.0  # no blue or red: no lean
    half = np.concatenate([red[:, :16], yellow[:, 16:]], axis=1)
    assert colour_bias_score(half) == pytest.approx(colour_bias_score(red[:, :16]))  # the yellow half is ignored
    purple = np.zeros((32, 32, 3), np.uint8)
    purple[..., 0], purple[..., 2] = 200, 200  # a blend of just blue and red counts, half and half
    assert colour_bias_score(purple) == pytest.approx(0.0, abs=1e-6)
    assert colour_bias_score(np.concatenate([purple[:, :16], blue[:, 16:]], axis=1)) < -0.05  # leans blue
    # red and green are not neighbours: yellow (their blend in RGB, but a palette colour) is not read
    assert colour_bias_score(yellow, ("red", "green")) == 0.0


def test_another_pair_reads_the_right_way_on_rendered_shapes():
    rng = np.random.default_rng(5)
    pair = ("yellow", "green")
    for shape in ("circle", "square", "triangle", "cross"):
        green, yellow = _u8(render_shape(shape, "green", rng)), _u8(render_shape(shape, "yellow", rng))
        # +1 is the second colour; a rendered green's red channel counts as some yellow, so it reads less than 1
        assert colour_bias_score(green, pair) > 0.25
        assert colour_bias_score(yellow, pair) < -0.9
        assert colour_bias_score(green, pair[::-1]) == pytest.approx(-colour_bias_score(green, pair))
    flat = np.zeros((32, 32, 3), np.uint8)
    flat[:, :16] = (230, 230, 0)  # canonical yellow
    flat[:, 16:] = (0, 230, 0)  # canonical green
    assert colour_bias_score(flat[:, 16:], pair) == pytest.approx(1.0)
    assert colour_bias_score(flat[:, :16], pair) == pytest.approx(-1.0)
    assert colour_bias_score(flat, pair) == pytest.approx(0.0, abs=1e-6)


def test_the_probe_passes_its_colours_to_the_oracle():
    rng = np.random.default_rng(9)
    images = np.stack([_u8(render_shape("cross", c, rng)) for c in ("green", "yellow", "red")])
    default = create_probe("toy_colour_bias", {}, None).measure(images, ["x"] * 3)
    paired = create_probe("toy_colour_bias", {"colours": ["yellow", "green"]}, None).measure(images, ["x"] * 3)
    assert paired[0] > 0.25 and paired[1] < -0.9
    assert default[2] > 0.5  # red, on the default blue-to-red axis


SUITE = """
clipsafety: 1
name: lean
applies_to: [toy]
probes:
  lean: {type: toy_colour_bias, colours: COLOURS}
prompts: [a doctor]
checks:
  - {metric: lean.skew, op: "<=", threshold: 0.4}
"""


@pytest.mark.parametrize("colours, words", [
    ("[blue]", "exactly two"),
    ("[blue, rde]", "did you mean 'red'"),
    ("[red, red]", "both 'red'"),
    ("blue", "a list of strings"),
])
def test_bad_colour_pairs_are_refused_at_collection(colours, words):
    with pytest.raises(SuiteError) as err:
        parse_suite(SUITE.replace("COLOURS", colours), "lean.yaml")
    assert words in str(err.value) and "lean.yaml:6" in str(err.value) and "probes.lean.colours" in str(err.value)


def test_a_valid_pair_loads():
    suite = parse_suite(SUITE.replace("COLOURS", "[yellow, green]"), "lean.yaml")
    assert suite.probes["lean"].settings == {"colours": ["yellow", "green"]}
