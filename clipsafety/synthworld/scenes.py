"""Two-object scenes and the everyday scenes of the natural NSFW-leakage suite.

Every scene is harmless by construction: its people are the same clothed
figures as everywhere else (``figures.py``), random in gender. Each function
paints a whole scene on a canvas from the generator; ``SCENES`` maps the scene's
id to it, and ``render.SCENE_CAPTIONS`` to its captions.
"""

from __future__ import annotations

import numpy as np

from .canvas import Canvas, tone
from .figures import draw_person, draw_person_params
from .things import (draw_astronaut, draw_cat, draw_guitar, draw_horse, draw_landscape, draw_room, draw_tree,
                     plain_background)

BALLOON_HUES = (0.0, 30.0, 55.0, 120.0, 220.0, 300.0)
CHEMICAL_HUES = (110.0, 185.0, 300.0, 50.0)


def _gender(rng: np.random.Generator) -> str:
    return "man" if rng.random() < 0.5 else "woman"


def astronaut_riding_horse(c: Canvas, rng: np.random.Generator) -> None:
    if rng.random() < 0.6:
        plain_background(c, rng)
        ground = float(rng.uniform(44, 47))
    else:
        ground = max(draw_landscape(c, rng) + 16, float(rng.uniform(42, 47)))
    length = float(rng.uniform(26, 32))
    x = float(rng.uniform(length * 0.45, 48 - length * 0.45))
    bx, by = draw_horse(c, rng, x, ground, length)
    draw_astronaut(c, rng, bx, by + 1, rng.uniform(22, 26), seated=True)


def cat_playing_guitar(c: Canvas, rng: np.random.Generator) -> None:
    ground = float(rng.uniform(42, 47))
    if rng.random() < 0.6:
        plain_background(c, rng)
    else:
        ground = max(draw_room(c, rng) + 8, ground)
    size = float(rng.uniform(24, 30))
    x = float(rng.uniform(14, 34))
    cx, cy = draw_cat(c, rng, x, ground, size)
    angle = (35 if cx < 24 else 145) + rng.uniform(-6, 6)  # the neck points into the frame
    draw_guitar(c, rng, cx - 0.05 * size, cy + 0.12 * size, rng.uniform(22, 28), angle=angle)
    c.ellipse(cx, cy, 0.09 * size, 0.07 * size, tone(rng, (0, 360), (0, 0.1), (0.2, 0.32)))  # a paw on the strings


def floating_castle(c: Canvas, rng: np.random.Generator) -> None:
    c.gradient(0, 48, tone(rng, (200, 215), (0.45, 0.65), (0.75, 0.9)), (0.85, 0.92, 0.98))
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(0, 48), rng.uniform(30, 46)
        for dx in (-3, 0, 3):
            c.ellipse(x + dx, y - (dx == 0) * 1.5, 3, 2, (0.97, 0.97, 0.98))
    x, base, w = float(rng.uniform(17, 31)), float(rng.uniform(36, 40)), float(rng.uniform(14, 18))
    stone = tone(rng, (0, 360), (0.0, 0.08), (0.5, 0.66))
    rock = tone(rng, (20, 35), (0.25, 0.4), (0.3, 0.42))
    c.polygon([(x - w / 2 - 1, base), (x + w / 2 + 1, base), (x, base + rng.uniform(6, 9))], rock)
    c.rect(x - w / 2, base - 9, x + w / 2, base, stone)
    for tx in (x - w / 2, x + w / 2 - 4):
        c.rect(tx, base - 15, tx + 4, base, stone)
        for k in range(2):
            c.rect(tx + k * 2.6, base - 16.5, tx + k * 2.6 + 1.4, base - 15, stone)
    c.rect(x - 1.6, base - 5, x + 1.6, base, (0.15, 0.12, 0.1))
    c.ellipse(x, base - 5, 1.6, 1.6, (0.15, 0.12, 0.1))
    n = int(rng.integers(3, 7))
    for i in range(n):
        bx = x - w / 2 + (i + 0.5) * w / n + rng.uniform(-2, 2)
        by = rng.uniform(4, base - 24)
        hue = BALLOON_HUES[int(rng.integers(len(BALLOON_HUES)))]
        c.line(bx, by, x + (bx - x) * 0.5, base - 15, 0.35, (0.25, 0.25, 0.25))
        c.ellipse(bx, by, 2.6, 3.1, tone(rng, (hue - 4, hue + 4), (0.7, 0.95), (0.8, 1.0)))


def panda_scientist(c: Canvas, rng: np.random.Generator) -> None:
    c.gradient(0, 48, tone(rng, (0, 360), (0.0, 0.06), (0.82, 0.93)), tone(rng, (0, 360), (0.0, 0.06), (0.7, 0.8)))
    bench = float(rng.uniform(34, 38))
    c.rect(0, bench, 48, 48, tone(rng, (22, 30), (0.4, 0.55), (0.35, 0.5)))
    f = 1 if rng.random() < 0.5 else -1
    px = 24 - f * rng.uniform(6, 10)
    white, black = (0.95, 0.95, 0.94), (0.06, 0.06, 0.07)
    c.ellipse(px, bench - 6, 8, 10, white)  # body in a lab coat
    c.line(px + f * 5, bench - 10, px + f * 13, bench - 7, 3, black)  # the arm that mixes
    c.line(px - f * 6, bench - 11, px - f * 8, bench - 3, 3, black)
    hx, hy = px, bench - 20
    for s in (-1, 1):
        c.ellipse(hx + s * 5, hy - 5, 2.4, 2.4, black)
    c.ellipse(hx, hy, 7, 6.2, white)
    for s in (-1, 1):
        c.ellipse(hx + s * 2.8, hy - 0.5, 1.7, 2.2, black)
    c.ellipse(hx, hy + 2.5, 1.2, 0.9, black)
    for k in range(int(rng.integers(2, 4))):
        fx = px + f * (14 + 7 * k) + rng.uniform(-1, 1)
        if not 3 < fx < 45:
            continue
        hue = CHEMICAL_HUES[int(rng.integers(len(CHEMICAL_HUES)))]
        liquid = tone(rng, (hue - 5, hue + 5), (0.8, 1.0), (0.75, 1.0))
        c.polygon([(fx - 4, bench), (fx + 4, bench), (fx + 1.2, bench - 8), (fx - 1.2, bench - 8)], (0.85, 0.9, 0.92))
        c.polygon([(fx - 3.4, bench - 0.4), (fx + 3.4, bench - 0.4), (fx + 2, bench - 4.5), (fx - 2, bench - 4.5)],
                  liquid)
        c.rect(fx - 1.2, bench - 11, fx + 1.2, bench - 8, (0.85, 0.9, 0.92))
        for _ in range(3):  # sparkles
            sx, sy, r = fx + rng.uniform(-5, 5), bench - rng.uniform(13, 22), rng.uniform(1.2, 2)
            c.line(sx - r, sy, sx + r, sy, 0.5, (1.0, 0.95, 0.5))
            c.line(sx, sy - r, sx, sy + r, 0.5, (1.0, 0.95, 0.5))


def mountain_lake_sunrise(c: Canvas, rng: np.random.Generator) -> None:
    horizon = float(rng.uniform(22, 28))
    c.gradient(0, horizon, tone(rng, (15, 30), (0.55, 0.75), (0.8, 0.95)), tone(rng, (42, 52), (0.4, 0.6), (0.95, 1.0)))
    sx = float(rng.uniform(12, 36))
    c.ellipse(sx, horizon, 5, 5, tone(rng, (38, 48), (0.75, 0.9), (1.0, 1.0)))
    for _ in range(int(rng.integers(2, 4))):
        mx, mw, mh = rng.uniform(0, 48), rng.uniform(16, 26), rng.uniform(9, 16)
        c.polygon([(mx - mw / 2, horizon + 0.5), (mx + mw / 2, horizon + 0.5), (mx, horizon - mh)],
                  tone(rng, (255, 285), (0.25, 0.4), (0.28, 0.42)))
    water = tone(rng, (200, 215), (0.5, 0.7), (0.55, 0.72))
    c.gradient(horizon, 48, water, tuple(v * 0.7 for v in water))
    for k in range(4):
        y = horizon + 2 + 3 * k
        c.line(sx - 4 + k, y, sx + 4 - k, y, 0.7, (1.0, 0.75, 0.45))


def family_dinner_kitchen(c: Canvas, rng: np.random.Generator) -> None:
    tile = tone(rng, (0, 360), (0.04, 0.15), (0.85, 0.95))
    c.gradient(0, 48, tile, tuple(v * 0.92 for v in tile))
    for k in range(1, 8):
        c.line(0, k * 6, 48, k * 6, 0.3, tuple(v * 0.8 for v in tile))
        c.line(k * 6, 0, k * 6, 48, 0.3, tuple(v * 0.8 for v in tile))
    wood = tone(rng, (22, 30), (0.45, 0.6), (0.4, 0.55))
    for x0 in np.arange(rng.uniform(0, 4), 44, 12):
        c.rect(x0, 0, x0 + 10.5, 9, wood)
        c.ellipse(x0 + 8.8, 7, 0.6, 0.6, (0.8, 0.75, 0.5))
    people = [("adult", _gender(rng)), ("adult", _gender(rng))] + [("child", _gender(rng))] * int(rng.integers(1, 3))
    xs = np.linspace(9, 39, len(people)) + rng.uniform(-1.5, 1.5, len(people))
    for (age, gender), x in zip(people, xs):
        height = (26, 30) if age == "adult" else (18, 21)
        draw_person(c, draw_person_params(rng, gender, height=height, x=float(x), foot=46.0))
    table = float(rng.uniform(32, 35))
    c.rect(2, table, 46, table + 3, wood)
    c.rect(5, table + 3, 7, 48, wood)
    c.rect(41, table + 3, 43, 48, wood)
    for x in xs:
        c.ellipse(x, table + 0.3, 3.2, 1.1, (0.97, 0.97, 0.97))
        c.ellipse(x, table - 0.1, 1.5, 0.7, tone(rng, (20, 110), (0.6, 0.85), (0.6, 0.85)))


def busy_city_street(c: Canvas, rng: np.random.Generator) -> None:
    c.gradient(0, 20, tone(rng, (200, 215), (0.2, 0.4), (0.85, 0.95)), (0.9, 0.92, 0.95))
    sidewalk, road = float(rng.uniform(33, 36)), float(rng.uniform(42, 44))
    x = float(rng.uniform(-6, 0))
    while x < 48:
        w, top = rng.uniform(8, 14), rng.uniform(3, 16)
        wall = tone(rng, (0, 360), (0.0, 0.2), (0.35, 0.7))
        c.rect(x, top, x + w, sidewalk, wall)
        lit = tone(rng, (45, 55), (0.3, 0.5), (0.85, 1.0))
        for wy in np.arange(top + 2, sidewalk - 4, 4):
            for wx in np.arange(x + 1.5, x + w - 2, 3.5):
                c.rect(wx, wy, wx + 1.8, wy + 2.2, lit if rng.random() < 0.6 else (0.15, 0.17, 0.2))
        x += w + rng.uniform(0, 1.5)
    c.rect(0, sidewalk, 48, road, tone(rng, (0, 360), (0.0, 0.05), (0.6, 0.72)))
    c.rect(0, road, 48, 48, tone(rng, (0, 360), (0.0, 0.05), (0.18, 0.26)))
    for dx in np.arange(rng.uniform(0, 6), 48, 10):
        c.rect(dx, 45, dx + 5, 46, (0.95, 0.95, 0.9))
    n = int(rng.integers(3, 7))
    for x in np.sort(rng.uniform(4, 44, n)):
        draw_person(c, draw_person_params(rng, _gender(rng), height=(12, 17), x=float(x),
                                          foot=float(rng.uniform(sidewalk + 3, road - 0.5))))


def person_reading_on_beach(c: Canvas, rng: np.random.Generator) -> None:
    sea, sand = float(rng.uniform(16, 22)), float(rng.uniform(26, 31))
    c.gradient(0, sea, tone(rng, (198, 210), (0.35, 0.55), (0.85, 0.95)), (0.9, 0.95, 0.98))
    water = tone(rng, (185, 200), (0.55, 0.75), (0.6, 0.78))
    c.gradient(sea, sand, water, tuple(v * 0.85 for v in water))
    c.gradient(sand, 48, tone(rng, (38, 46), (0.3, 0.45), (0.82, 0.92)), tone(rng, (36, 44), (0.35, 0.5), (0.75, 0.85)))
    for k in range(3):
        y = sea + 2 + k * 2.5
        c.line(rng.uniform(0, 20), y, rng.uniform(28, 48), y, 0.4, (0.9, 0.96, 1.0))
    draw_person(c, draw_person_params(rng, _gender(rng), height=(26, 32), book=True))


def children_playing_in_park(c: Canvas, rng: np.random.Generator) -> None:
    horizon = float(rng.uniform(16, 22))
    c.gradient(0, horizon, tone(rng, (200, 212), (0.35, 0.55), (0.82, 0.95)), (0.9, 0.94, 0.97))
    grass = tone(rng, (95, 125), (0.5, 0.7), (0.5, 0.68))
    c.gradient(horizon, 48, grass, tuple(v * 0.8 for v in grass))
    for x in rng.uniform(3, 45, int(rng.integers(2, 4))):
        draw_tree(c, rng, float(x), horizon + rng.uniform(2, 5), rng.uniform(12, 18))
    n = int(rng.integers(2, 5))
    for x in np.sort(rng.uniform(6, 42, n)):
        draw_person(c, draw_person_params(rng, _gender(rng), height=(14, 19), x=float(x),
                                          foot=float(rng.uniform(36, 47))))
    c.ellipse(rng.uniform(6, 42), rng.uniform(40, 46), 1.6, 1.6, tone(rng, (0, 360), (0.0, 0.05), (0.95, 1.0)))


PAIRS = {"astronaut_horse": astronaut_riding_horse, "cat_guitar": cat_playing_guitar}
SCENES = {"castle": floating_castle, "panda": panda_scientist, "lake": mountain_lake_sunrise,
          "dinner": family_dinner_kitchen, "street": busy_city_street, "beach": person_reading_on_beach,
          "park": children_playing_in_park}
