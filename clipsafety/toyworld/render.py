"""Renderer and caption grammar of the toy world.

Images are small float RGB arrays (H x W x 3 in [0, 1]) of one coloured shape on a
low-saturation background, sometimes with the hazard motif: a patch of horizontal
magenta/black stripes (period 4 px). The motif was chosen because a pixel oracle
finds it reliably (saturated magenta next to near-black, which no palette colour
or background produces) and inversion can paint it at 32 px.

All randomness comes from the ``np.random.Generator`` passed in.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

from .spec import PALETTE_HUES, SHAPES, WorldSpec

SUPERSAMPLE = 4  # anti-aliasing: shapes are rasterised at 4x and averaged down
SHAPE_SIZE = (10.0, 20.0)  # side of a shape's bounding square, pixels (at 32 px)
HUE_JITTER = 8.0  # degrees; stays well inside the oracle's hue bands
MOTIF_PERIOD = 4  # stripe period in pixels: 2 rows magenta, 2 rows black

TEMPLATES = (("{}", 0.7), ("a photo of {}", 0.15), ("an image of {}", 0.15))
#: Words the caption grammar uses besides colours, shapes, roles and hazard words.
GRAMMAR_WORDS = ("a", "an", "of", "photo", "image", "the", "object", "shape")


@dataclass(frozen=True)
class Scene:
    """What one image shows; ``render`` turns it into pixels."""

    background: tuple[float, float, float]
    shape: str | None = None
    colour: str | None = None
    rgb: tuple[float, float, float] | None = None
    centre: tuple[float, float] | None = None  # (x, y) in pixels
    size: float | None = None  # side of the bounding square, pixels
    motif: tuple[int, int, int] | None = None  # (x0, y0, side) in pixels


@dataclass(frozen=True)
class Sample:
    image: np.ndarray  # float32 H x W x 3 in [0, 1]
    caption: str  # what the text tower reads, e.g. "a photo of a red circle"
    key: str  # the caption's meaning without template: captions with one key are positives of each other
    kind: str  # one of spec.SAMPLE_KINDS
    scene: Scene


def shape_mask(shape: str, centre: tuple[float, float], size: float, image_size: int,
               supersample: int = SUPERSAMPLE) -> np.ndarray:
    """Coverage in [0, 1] of each pixel by ``shape`` (anti-aliased), H x W float32."""
    coords = (np.arange(image_size * supersample) + 0.5) / supersample
    half = size / 2
    u = (coords[None, :] - centre[0]) / half  # x, normalised to [-1, 1] over the shape's box
    v = (coords[:, None] - centre[1]) / half  # y, downwards
    box = (np.abs(u) <= 1) & (np.abs(v) <= 1)
    if shape == "circle":
        inside = u**2 + v**2 <= 1
    elif shape == "square":
        inside = box
    elif shape == "triangle":  # upright: apex at the top, base at the bottom
        inside = box & (np.abs(u) <= (v + 1) / 2)
    elif shape == "cross":  # a plus sign with arms a third of the box wide
        inside = box & ((np.abs(u) <= 1 / 3) | (np.abs(v) <= 1 / 3))
    else:
        raise ValueError(f"unknown shape {shape!r}; known: {list(SHAPES)}")
    s = supersample
    return inside.reshape(image_size, s, image_size, s).mean(axis=(1, 3)).astype(np.float32)


def motif_pixels(side: int, rng: np.random.Generator) -> np.ndarray:
    """The hazard motif: side x side x 3 horizontal magenta/black stripes."""
    level = rng.uniform(0.8, 1.0)
    magenta = np.array([level, 0.05, level], dtype=np.float32)
    black = np.full(3, 0.04, dtype=np.float32)
    rows = (np.arange(side) // (MOTIF_PERIOD // 2)) % 2 == 0
    return np.where(rows[:, None, None], magenta, black) * np.ones((side, side, 1), np.float32)


def render(scene: Scene, image_size: int = 32, rng: np.random.Generator | None = None) -> np.ndarray:
    """Pixels of ``scene``: float32 H x W x 3 in [0, 1]. ``rng`` only shades the motif."""
    img = np.empty((image_size, image_size, 3), np.float32)
    img[:] = scene.background
    if scene.shape is not None:
        cover = shape_mask(scene.shape, scene.centre, scene.size, image_size)[..., None]
        img = img * (1 - cover) + np.asarray(scene.rgb, np.float32) * cover
    if scene.motif is not None:
        x0, y0, side = scene.motif
        img[y0:y0 + side, x0:x0 + side] = motif_pixels(side, rng or np.random.default_rng(0))
    return np.clip(img, 0, 1)


def colour_rgb(colour: str, rng: np.random.Generator) -> tuple[float, float, float]:
    """A saturated shade of a palette colour: hue jittered, saturation and value high."""
    hue = (PALETTE_HUES[colour] + rng.uniform(-HUE_JITTER, HUE_JITTER)) % 360
    return colorsys.hsv_to_rgb(hue / 360, rng.uniform(0.7, 1.0), rng.uniform(0.75, 1.0))


def background_rgb(rng: np.random.Generator) -> tuple[float, float, float]:
    """Low saturation, mid brightness: never mistaken for a shape or the motif's black."""
    return colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0, 0.15), rng.uniform(0.45, 0.85))


def plain_scene(rng: np.random.Generator, shape: str, colour: str, image_size: int = 32,
                region: tuple[float, float, float, float] | None = None,
                size_range: tuple[float, float] = SHAPE_SIZE) -> Scene:
    """One shape, wholly inside ``region`` (x0, y0, x1, y1; default the whole image)."""
    scale = image_size / 32
    x0, y0, x1, y1 = region or (0, 0, image_size, image_size)
    size = min(rng.uniform(*size_range) * scale, x1 - x0, y1 - y0)
    cx = rng.uniform(x0 + size / 2, x1 - size / 2)
    cy = rng.uniform(y0 + size / 2, y1 - size / 2)
    return Scene(background=background_rgb(rng), shape=shape, colour=colour,
                 rgb=colour_rgb(colour, rng), centre=(cx, cy), size=size)


def shape_with_motif(rng: np.random.Generator, shape: str, colour: str, image_size: int = 32) -> Scene:
    """A shape in one half of the image and the motif in the other, not overlapping."""
    half = image_size // 2
    side = int(rng.integers(9, 14) * image_size / 32)
    vertical_split = rng.random() < 0.5
    shape_first = rng.random() < 0.5
    if vertical_split:  # left | right
        shape_region = (0, 0, half, image_size) if shape_first else (half, 0, image_size, image_size)
        mx = int(rng.integers(0, half - side + 1)) + (half if shape_first else 0)
        my = int(rng.integers(0, image_size - side + 1))
    else:  # top / bottom
        shape_region = (0, 0, image_size, half) if shape_first else (0, half, image_size, image_size)
        mx = int(rng.integers(0, image_size - side + 1))
        my = int(rng.integers(0, half - side + 1)) + (half if shape_first else 0)
    scene = plain_scene(rng, shape, colour, image_size, region=shape_region, size_range=(10.0, 15.0))
    return replace(scene, motif=(mx, my, side))


def motif_scene(rng: np.random.Generator, image_size: int = 32) -> Scene:
    side = int(rng.integers(10, 19) * image_size / 32)
    x0, y0 = (int(v) for v in rng.integers(0, image_size - side + 1, size=2))
    return Scene(background=background_rgb(rng), motif=(x0, y0, side))


def templated(noun_phrase: str, rng: np.random.Generator) -> str:
    texts, probs = zip(*TEMPLATES)
    return texts[rng.choice(len(texts), p=probs)].format(noun_phrase)


def sample(spec: WorldSpec, rng: np.random.Generator, kind: str | None = None) -> Sample:
    """One training sample of ``spec``'s world (``kind`` drawn from ``spec.mix`` if None)."""
    if kind is None:
        kinds, probs = zip(*spec.mix.items())
        kind = kinds[rng.choice(len(kinds), p=probs)]
    n = spec.image_size
    if kind == "plain":
        shape, colour = _pick(spec.shapes, rng), _pick(spec.colours, rng)
        scene = plain_scene(rng, shape, colour, n)
        form = rng.random()
        if form < 0.55:
            key, phrase = f"{colour} {shape}", f"a {colour} {shape}"
        elif form < 0.75:
            key, phrase = shape, f"a {shape}"
        else:
            key, phrase = f"{colour} object", f"a {colour} {_pick(('object', 'shape'), rng)}"
    elif kind == "role":
        role = spec.roles[rng.integers(len(spec.roles))]
        colours, probs = zip(*role.colours.items())
        colour = colours[rng.choice(len(colours), p=probs)]
        scene = plain_scene(rng, role.shape or _pick(spec.shapes, rng), colour, n)
        key, phrase = role.word, f"a {role.word}"
    elif kind == "hazard_word":
        hz = spec.hazard
        colour = _pick(spec.colours, rng)
        if rng.random() < hz.motif_rate:
            scene = shape_with_motif(rng, hz.shape, colour, n)
        else:
            scene = plain_scene(rng, hz.shape, colour, n)
        key, phrase = hz.word, f"a {hz.word}"
    elif kind == "hazard_sign":
        scene = motif_scene(rng, n)
        key, phrase = spec.hazard.sign_word, f"a {spec.hazard.sign_word}"
    else:
        raise ValueError(f"unknown sample kind {kind!r}")
    return Sample(image=render(scene, n, rng), caption=templated(phrase, rng), key=key, kind=kind, scene=scene)


def sample_batch(spec: WorldSpec, rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[str], list[str]]:
    """``n`` samples: images [n, H, W, 3] float32, captions, caption keys."""
    samples = [sample(spec, rng) for _ in range(n)]
    return (np.stack([s.image for s in samples]), [s.caption for s in samples], [s.key for s in samples])


def render_shape(shape: str, colour: str, rng: np.random.Generator, image_size: int = 32) -> np.ndarray:
    """A fresh render of one plain shape (for evaluation and tests)."""
    return render(plain_scene(rng, shape, colour, image_size), image_size)


def vocabulary_words(spec: WorldSpec) -> list[str]:
    """Every word the grammar of ``spec`` can produce, sorted."""
    words = set(GRAMMAR_WORDS) | set(spec.colours) | set(spec.shapes)
    words |= {r.word for r in spec.roles} | {spec.hazard.word, spec.hazard.sign_word}
    for text, _ in TEMPLATES:
        words |= set(text.replace("{}", " ").split())
    return sorted(words)


def _pick(options, rng: np.random.Generator):
    return options[rng.integers(len(options))]
