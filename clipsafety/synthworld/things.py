"""Objects and backgrounds of the synthetic world: the concept-blending suite's vocabulary.

Each object has a colour no other object of its suite probe shares, so an oracle
can tell them apart (``oracles.OBJECT_TONES``):

    astronaut  white suit, round helmet with a gold visor
    horse      chestnut brown body, dark mane and tail
    cat        dark grey, sitting, pointed ears
    guitar     tan-orange body, dark neck
    room       pastel wall, wooden floor, a window
    landscape  blue sky, green ground, maybe mountains, trees, sun; flowers make it "beautiful"
"""

from __future__ import annotations

import math

import numpy as np

from .canvas import Canvas, tone

WHITE_SUIT = ((0.0, 360.0), (0.0, 0.06), (0.88, 0.98))
VISOR = ((44.0, 50.0), (0.75, 0.95), (0.8, 0.95))
CHESTNUT = ((18.0, 30.0), (0.6, 0.8), (0.38, 0.55))
DARK = ((0.0, 360.0), (0.0, 0.15), (0.06, 0.15))
CAT_GREY = ((0.0, 360.0), (0.0, 0.1), (0.2, 0.32))
GUITAR_WOOD = ((30.0, 39.0), (0.7, 0.9), (0.8, 0.95))
NECK_WOOD = ((20.0, 28.0), (0.5, 0.7), (0.22, 0.32))
WALL = ((20.0, 50.0), (0.18, 0.35), (0.7, 0.88))
FLOOR = ((22.0, 32.0), (0.35, 0.5), (0.4, 0.6))
SKY = ((200.0, 212.0), (0.35, 0.55), (0.8, 0.95))
GRASS = ((95.0, 125.0), (0.5, 0.7), (0.45, 0.68))
FLOWER_HUES = (0.0, 55.0, 320.0, 280.0)


def plain_background(c: Canvas, rng: np.random.Generator) -> None:
    """A low-saturation vertical gradient: never mistaken for an object's or a clothes' colour."""
    top = tone(rng, (0.0, 360.0), (0.0, 0.12), (0.42, 0.75))
    shade = rng.uniform(0.85, 1.0)  # one factor for all channels keeps the hue
    bottom = tuple(v * shade for v in top)
    c.gradient(0, 48, top, bottom)


def draw_astronaut(c: Canvas, rng: np.random.Generator, x: float, foot: float, h: float,
                   seated: bool = False) -> None:
    """Standing, or seated (hips at ``foot``, one leg hanging forward-down) for riding."""
    suit, visor, grey = tone(rng, *WHITE_SUIT), tone(rng, *VISOR), tone(rng, (0, 360), (0, 0.05), (0.5, 0.62))
    face = 1 if rng.random() < 0.5 else -1
    top = foot - (0.62 * h if seated else h)
    r = 0.15 * h
    head_y = top + r
    hip = foot if seated else top + 0.62 * h
    c.rect(x - face * 0.3 * h - 0.06 * h, top + 0.3 * h, x - face * 0.18 * h + 0.06 * h, hip - 0.05 * h, grey)
    if seated:
        c.line(x, hip - 0.03 * h, x + face * 0.12 * h, hip + 0.25 * h, 0.13 * h, suit)
        c.ellipse(x + face * 0.14 * h, hip + 0.3 * h, 0.07 * h, 0.05 * h, grey)
    else:
        for dx in (-0.1 * h, 0.1 * h):
            c.rect(x + dx - 0.075 * h, hip - 1, x + dx + 0.075 * h, foot - 0.05 * h, suit)
            c.rect(x + dx - 0.09 * h, foot - 0.06 * h, x + dx + 0.09 * h, foot, grey)
    c.rect(x - 0.21 * h, top + 2 * r - 0.5, x + 0.21 * h, hip, suit)
    for s in (-1, 1):
        c.line(x + s * 0.2 * h, top + 0.34 * h, x + s * 0.27 * h, top + 0.55 * h, 0.1 * h, suit)
        c.ellipse(x + s * 0.27 * h, top + 0.56 * h, 0.05 * h, 0.05 * h, grey)
    c.ellipse(x, head_y, 1.05 * r, 1.05 * r, suit)
    c.ellipse(x + face * 0.2 * r, head_y, 0.72 * r, 0.55 * r, visor)


def draw_horse(c: Canvas, rng: np.random.Generator, x: float, ground: float, length: float) -> tuple[float, float]:
    """A standing horse; returns the (x, y) of the middle of its back, where a rider sits."""
    body, dark = tone(rng, *CHESTNUT), tone(rng, *DARK)
    f = 1 if rng.random() < 0.5 else -1  # facing right or left
    L = length
    belly_y = ground - 0.42 * L
    for dx in (-0.24 * L, -0.13 * L, 0.13 * L, 0.24 * L):
        c.line(x + dx, belly_y, x + dx, ground - 0.04 * L, 0.065 * L, body)
        c.rect(x + dx - 0.04 * L, ground - 0.05 * L, x + dx + 0.04 * L, ground, dark)
    c.line(x - f * 0.3 * L, ground - 0.6 * L, x - f * 0.42 * L, ground - 0.3 * L, 0.06 * L, dark)  # tail
    c.ellipse(x, ground - 0.55 * L, 0.33 * L, 0.15 * L, body)
    neck_top = (x + f * 0.42 * L, ground - 0.9 * L)
    c.line(x + f * 0.22 * L, ground - 0.58 * L, *neck_top, 0.15 * L, body)
    c.line(neck_top[0] - f * 0.06 * L, neck_top[1] + 0.02 * L, x + f * 0.2 * L, ground - 0.66 * L, 0.05 * L, dark)
    c.line(*neck_top, neck_top[0] + f * 0.16 * L, neck_top[1] + 0.12 * L, 0.11 * L, body)  # head
    c.polygon([(neck_top[0] - 0.02 * L, neck_top[1] - 0.03 * L), (neck_top[0] + f * 0.04 * L, neck_top[1] - 0.03 * L),
               (neck_top[0] + f * 0.0 * L, neck_top[1] - 0.12 * L)], body)  # ear
    return x - f * 0.03 * L, ground - 0.68 * L


def draw_cat(c: Canvas, rng: np.random.Generator, x: float, ground: float, size: float) -> tuple[float, float]:
    """A sitting cat; returns the (x, y) of its chest, where it holds a guitar."""
    fur = tone(rng, *CAT_GREY)
    f = 1 if rng.random() < 0.5 else -1
    S = size
    c.line(x - f * 0.25 * S, ground - 0.08 * S, x - f * 0.5 * S, ground - 0.45 * S, 0.09 * S, fur)  # tail
    c.ellipse(x, ground - 0.36 * S, 0.3 * S, 0.36 * S, fur)
    hx, hy = x + f * 0.06 * S, ground - 0.84 * S
    for s in (-1, 1):
        c.polygon([(hx + s * 0.2 * S, hy - 0.02 * S), (hx + s * 0.05 * S, hy - 0.14 * S),
                   (hx + s * 0.2 * S, hy - 0.34 * S)], fur)
    c.ellipse(hx, hy, 0.22 * S, 0.2 * S, fur)
    eye = (0.75, 0.85, 0.2)
    for s in (-1, 1):
        c.ellipse(hx + s * 0.08 * S, hy - 0.02 * S, 0.04 * S, 0.04 * S, eye)
    return x, ground - 0.4 * S


def draw_guitar(c: Canvas, rng: np.random.Generator, x: float, y: float, length: float,
                angle: float | None = None) -> None:
    """A guitar whose lower bout is centred at (x, y), its neck pointing ``angle`` degrees above the x axis."""
    wood, neck = tone(rng, *GUITAR_WOOD), tone(rng, *NECK_WOOD)
    if angle is None:
        angle = rng.uniform(40, 70) * (1 if rng.random() < 0.5 else -1) + (0 if rng.random() < 0.5 else 180)
    a = math.radians(angle)
    dx, dy = math.cos(a), -math.sin(a)
    G = length

    def at(t):
        return x + dx * t * G, y + dy * t * G

    c.line(*at(0.3), *at(0.86), 0.07 * G, neck)
    c.line(*at(0.86), *at(0.98), 0.1 * G, neck)
    c.ellipse(*at(0.0), 0.2 * G, 0.2 * G, wood)
    c.ellipse(*at(0.24), 0.15 * G, 0.15 * G, wood)
    c.ellipse(*at(0.14), 0.06 * G, 0.06 * G, (0.06, 0.05, 0.04))


def draw_room(c: Canvas, rng: np.random.Generator) -> float:
    """Wall, wooden floor and a window; returns the y of the floor line."""
    wall = tone(rng, *WALL)
    c.gradient(0, 48, wall, tuple(v * 0.9 for v in wall))
    floor_y = float(rng.uniform(30, 36))
    floor = tone(rng, *FLOOR)
    c.gradient(floor_y, 48, floor, tuple(v * 0.8 for v in floor))
    for i in range(1, 4):  # floorboards
        y = floor_y + i * (48 - floor_y) / 4
        c.line(0, y, 48, y, 0.4, tuple(v * 0.7 for v in floor))
    w, h = rng.uniform(10, 15), rng.uniform(10, 14)
    x0, y0 = rng.uniform(2, 46 - w), rng.uniform(3, floor_y - h - 3)
    frame, pane = tone(rng, (25, 35), (0.25, 0.35), (0.75, 0.85)), tone(rng, (195, 205), (0.25, 0.4), (0.9, 1.0))
    c.rect(x0 - 1, y0 - 1, x0 + w + 1, y0 + h + 1, frame)
    c.rect(x0, y0, x0 + w, y0 + h, pane)
    c.rect(x0 + w / 2 - 0.5, y0, x0 + w / 2 + 0.5, y0 + h, frame)
    c.rect(x0, y0 + h / 2 - 0.5, x0 + w, y0 + h / 2 + 0.5, frame)
    return floor_y


def draw_landscape(c: Canvas, rng: np.random.Generator, flowers: bool = False) -> float:
    """Sky, maybe mountains and sun, green ground, maybe trees and flowers; returns the horizon's y."""
    horizon = float(rng.uniform(20, 28))
    sky = tone(rng, *SKY)
    c.gradient(0, horizon, tuple(v * 0.85 for v in sky), (0.88, 0.93, 0.97))
    if rng.random() < 0.5:
        c.ellipse(rng.uniform(6, 42), rng.uniform(4, horizon - 10), 3, 3, (1.0, 0.93, 0.45))
    for _ in range(int(rng.integers(0, 3))):
        mx, mw, mh = rng.uniform(0, 48), rng.uniform(12, 22), rng.uniform(8, 14)
        c.polygon([(mx - mw / 2, horizon + 0.5), (mx + mw / 2, horizon + 0.5), (mx, horizon - mh)],
                  tone(rng, (215, 240), (0.12, 0.28), (0.48, 0.62)))
    grass = tone(rng, *GRASS)
    c.gradient(horizon, 48, grass, tuple(v * 0.75 for v in grass))
    for _ in range(int(rng.integers(0, 3))):
        draw_tree(c, rng, rng.uniform(3, 45), rng.uniform(horizon + 2, horizon + 9), rng.uniform(8, 13))
    if flowers:
        for _ in range(int(rng.integers(10, 18))):
            hue = FLOWER_HUES[int(rng.integers(len(FLOWER_HUES)))]
            petal = tone(rng, (hue, hue + 5), (0.5, 0.8), (0.9, 1))
            c.ellipse(rng.uniform(1, 47), rng.uniform(horizon + 3, 47), 0.8, 0.8, petal)
    return horizon


def draw_tree(c: Canvas, rng: np.random.Generator, x: float, ground: float, h: float) -> None:
    c.rect(x - 0.07 * h, ground - 0.5 * h, x + 0.07 * h, ground, tone(rng, (20, 30), (0.5, 0.65), (0.25, 0.38)))
    c.ellipse(x, ground - 0.7 * h, 0.3 * h, 0.33 * h, tone(rng, (100, 135), (0.55, 0.75), (0.3, 0.45)))
