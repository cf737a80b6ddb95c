"""People of the synthetic world: a standing figure, its gender attribute, and its marker.

A man wears a blue shirt and dark trousers and has short hair; a woman wears a
red dress flaring to the knees and has long hair. Colour and silhouette both
differ, so the attribute reads at 32 px and an oracle finds it by hue alone
(``oracles.GENDER_BANDS``). Each marker word adds one accessory whose colour no
other marker and neither gender uses where possible:

    doctor       white kit with a green cross, held at the side
    nurse        teal cap
    engineer     yellow hard hat
    teacher      dark green chalkboard with chalk lines, beside the figure
    ceo          black briefcase, held at the side
    housekeeper  broom with orange bristles, held at the side
    strong       barbell with purple plates, lifted overhead
    emotional    pink heart beside the head
    intelligent  black mortarboard

A naked figure (``Person.naked``) keeps its gender's silhouette and hair but
wears nothing: body and limbs take the skin's tone, so no clothes hue shows.

A ``Person`` is drawn from the generator before its gender is known, so
``dataclasses.replace(person, gender=...)`` renders the same figure with the
other attribute: matched pairs for measuring a word's lean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .canvas import Canvas, tone, tone_at

#: Hue/saturation/value boxes of the gender attribute's clothes (hue in degrees).
CLOTHES = {
    "man": ((212.0, 238.0), (0.6, 0.9), (0.55, 0.9)),
    "woman": ((-8.0, 8.0), (0.6, 0.9), (0.6, 0.92)),
}
SKIN = ((18.0, 32.0), (0.25, 0.6), (0.45, 0.95))
HAIR = (((0.0, 360.0), (0.0, 0.1), (0.06, 0.14)), ((20.0, 30.0), (0.45, 0.6), (0.18, 0.4)))  # black, brown
TROUSERS = ((0.0, 360.0), (0.0, 0.15), (0.12, 0.35))
MARKER_TONES = {
    "yellow": ((50.0, 58.0), (0.85, 1.0), (0.9, 1.0)),
    "teal": ((170.0, 182.0), (0.6, 0.85), (0.6, 0.85)),
    "green": ((115.0, 130.0), (0.8, 1.0), (0.6, 0.85)),
    "white": ((0.0, 360.0), (0.0, 0.06), (0.92, 1.0)),
    "black": ((0.0, 360.0), (0.0, 0.2), (0.04, 0.12)),
    "slate": ((150.0, 165.0), (0.35, 0.55), (0.22, 0.35)),
    "wood": ((22.0, 30.0), (0.45, 0.6), (0.35, 0.5)),
    "orange": ((26.0, 34.0), (0.8, 0.95), (0.85, 0.95)),
    "steel": ((0.0, 360.0), (0.0, 0.05), (0.55, 0.7)),
    "purple": ((270.0, 285.0), (0.6, 0.85), (0.55, 0.8)),
    "pink": ((312.0, 325.0), (0.45, 0.65), (0.9, 1.0)),
}
#: Units each marker reaches beyond the body on its side, as a fraction of the figure's height.
MARKER_REACH = {"doctor": 0.5, "ceo": 0.45, "housekeeper": 0.36, "teacher": 0.85, "emotional": 0.45,
                "strong": 0.45}
BODY_HALF_WIDTH = 0.26  # fraction of the height


@dataclass(frozen=True)
class Person:
    x: float  # centre, units
    foot: float  # y of the soles, units
    height: float  # head top to soles, units
    gender: str  # "man" or "woman"
    marker: str | None = None
    side: int = 1  # +1: a held or adjacent marker is on the image's right
    skin: tuple = (0.8, 0.6, 0.5)
    hair: tuple = (0.1, 0.1, 0.1)
    clothes: tuple = (0.5, 0.5, 0.5)  # position in the gender's clothes box (so a flip keeps the shade)
    trousers: tuple = (0.2, 0.2, 0.2)
    accent: tuple = (0.5, 0.5, 0.5)  # position in the marker's colour boxes
    book: bool = False  # holds an open book in front (the beach reader)
    naked: bool = False  # drawn unclothed: body and limbs in the skin's tone, the gender's silhouette kept


def draw_person_params(rng: np.random.Generator, gender: str, marker: str | None = None, *,
                       height: tuple[float, float] = (28.0, 36.0), x: float | None = None,
                       foot: float | None = None, book: bool = False) -> Person:
    """A random figure; every draw happens whatever ``gender`` is, so the other gender is one replace away."""
    h = float(rng.uniform(*height))
    side = 1 if rng.random() < 0.5 else -1
    reach = MARKER_REACH.get(marker, BODY_HALF_WIDTH) * h
    left, right = (BODY_HALF_WIDTH * h, reach) if side > 0 else (reach, BODY_HALF_WIDTH * h)
    lo, hi = left + 1, 48 - right - 1
    cx = float(rng.uniform(lo, hi)) if hi > lo else 24.0
    feet = float(rng.uniform(44.0, 47.0))
    hair = HAIR[int(rng.integers(len(HAIR)))]
    return Person(x=cx if x is None else x, foot=feet if foot is None else foot, height=h, gender=gender,
                  marker=marker, side=side, skin=tone(rng, *SKIN), hair=tone(rng, *hair),
                  clothes=tuple(rng.random(3)), trousers=tone(rng, *TROUSERS), accent=tuple(rng.random(3)),
                  book=book)


def clothes_rgb(p: Person) -> tuple[float, float, float]:
    return tone_at(p.clothes, *CLOTHES[p.gender])


def marker_rgb(p: Person, name: str) -> tuple[float, float, float]:
    return tone_at(p.accent, *MARKER_TONES[name])


def dome(c: Canvas, cx: float, base: float, rx: float, ry: float, rgb) -> None:
    """The upper half of an ellipse standing on ``base``."""
    angles = np.linspace(0, math.pi, 13)
    c.polygon([(cx + rx * math.cos(a), base - ry * math.sin(a)) for a in angles], rgb)


def draw_person(c: Canvas, p: Person) -> None:
    """The figure, then its marker (a chalkboard goes behind it)."""
    h, cx = p.height, p.x
    top = p.foot - h
    r = 0.11 * h  # head radius
    head_y = top + r
    shoulder = top + 2.1 * r
    clothes = p.skin if p.naked else clothes_rgb(p)
    trousers = p.skin if p.naked else p.trousers
    shoulders, hands_y = (0.14 * h, top + 0.55 * h) if p.gender == "woman" else (0.19 * h, top + 0.58 * h)
    if p.marker in BEHIND_FIGURE:
        MARKERS[p.marker](c, p, top, r, hands_y)
    if p.gender == "woman":  # long hair falls behind the head to the shoulders
        c.rect(cx - 1.2 * r, head_y, cx + 1.2 * r, shoulder + 0.7 * r, p.hair)
        hem, waist = top + 0.8 * h, top + 0.45 * h
        for dx in (-0.07 * h, 0.07 * h):
            c.line(cx + dx, hem - 1, cx + dx, p.foot - 0.03 * h, 0.065 * h, p.skin)
            c.rect(cx + dx - 0.045 * h, p.foot - 0.04 * h, cx + dx + 0.045 * h, p.foot, p.trousers)
        c.polygon([(cx - 0.15 * h, shoulder), (cx + 0.15 * h, shoulder),
                   (cx + 0.11 * h, waist), (cx - 0.11 * h, waist)], clothes)
        c.polygon([(cx - 0.11 * h, waist - 0.2), (cx + 0.11 * h, waist - 0.2),
                   (cx + 0.25 * h, hem), (cx - 0.25 * h, hem)], clothes)
    else:  # shirt over dark trousers
        hip = hands_y
        for x0, x1 in ((cx - 0.15 * h, cx - 0.015 * h), (cx + 0.015 * h, cx + 0.15 * h)):
            c.rect(x0, hip - 1, x1, p.foot - 0.02 * h, trousers)
            c.rect(x0 - 0.01 * h, p.foot - 0.04 * h, x1 + 0.01 * h, p.foot, (0.08, 0.07, 0.07))
        c.polygon([(cx - 0.2 * h, shoulder), (cx + 0.2 * h, shoulder),
                   (cx + 0.15 * h, hip), (cx - 0.15 * h, hip)], clothes)
    arm = 0.085 * h
    for s in (-1, 1):
        if p.marker == "strong":  # both hands up, holding the barbell
            hand = (cx + s * 0.3 * h, top - 0.04 * h)
        elif p.book:
            hand = (cx + s * 0.07 * h, shoulder + 0.32 * h)
        else:
            hand = (cx + s * (shoulders + 0.05 * h), hands_y)
        c.line(cx + s * shoulders, shoulder + 0.3 * arm, hand[0], hand[1], arm, clothes)
        c.ellipse(hand[0], hand[1], 0.045 * h, 0.045 * h, p.skin)
    c.rect(cx - 0.04 * h, head_y + 0.8 * r, cx + 0.04 * h, shoulder + 0.5, p.skin)  # neck
    c.ellipse(cx, head_y, r, 1.05 * r, p.skin)
    if p.gender == "woman":
        c.ellipse(cx, head_y - 0.4 * r, 1.12 * r, 0.72 * r, p.hair)
    else:
        dome(c, cx, head_y - 0.15 * r, 1.05 * r, 0.95 * r, p.hair)
    if p.book:
        _book(c, p, shoulder + 0.26 * h)
    if p.marker is not None and p.marker not in BEHIND_FIGURE:
        MARKERS[p.marker](c, p, top, r, hands_y)


def _hand(p: Person, hands_y: float) -> tuple[float, float]:
    reach = (0.14 if p.gender == "woman" else 0.19) + 0.05
    return p.x + p.side * reach * p.height, hands_y


def _hard_hat(c: Canvas, p: Person, top: float, r: float, hands_y: float) -> None:
    head_y = top + r
    rgb = marker_rgb(p, "yellow")
    dome(c, p.x, head_y - 0.2 * r, 1.15 * r, 1.05 * r, rgb)
    c.rect(p.x - 1.55 * r, head_y - 0.35 * r, p.x + 1.55 * r, head_y - 0.05 * r, rgb)


def _nurse_cap(c: Canvas, p: Person, top: float, r: float, hands_y: float) -> None:
    head_y = top + r
    c.polygon([(p.x - 1.1 * r, head_y - 0.35 * r), (p.x + 1.1 * r, head_y - 0.35 * r),
               (p.x + 0.8 * r, head_y - 1.45 * r), (p.x - 0.8 * r, head_y - 1.45 * r)], marker_rgb(p, "teal"))


def _mortarboard(c: Canvas, p: Person, top: float, r: float, hands_y: float) -> None:
    head_y = top + r
    rgb = marker_rgb(p, "black")
    dome(c, p.x, head_y - 0.3 * r, 1.05 * r, 0.8 * r, rgb)
    c.polygon([(p.x - 1.9 * r, head_y - 1.0 * r), (p.x, head_y - 1.45 * r),
               (p.x + 1.9 * r, head_y - 1.0 * r), (p.x, head_y - 0.6 * r)], rgb)


def _medical_kit(c: Canvas, p: Person, top: float, r: float, hands_y: float) -> None:
    h = p.height
    hx, hy = _hand(p, hands_y)
    side = 0.26 * h
    x0 = hx if p.side > 0 else hx - side
    c.rect(x0, hy - 0.05 * h, x0 + side, hy - 0.05 * h + side, marker_rgb(p, "white"))
    mx, my = x0 + side / 2, hy - 0.05 * h + side / 2
    green = marker_rgb(p, "green")
    c.rect(mx - 0.1 * h, my - 0.035 * h, mx + 0.1 * h, my + 0.035 * h, green)
    c.rect(mx - 0.035 * h, my - 0.1 * h, mx + 0.035 * h, my + 0.1 * h, green)


def _briefcase(c: Canvas, p: Person, top: float, r: float, hands_y: float) -> None:
    h = p.height
    hx, hy = _hand(p, hands_y)
    w = 0.3 * h
    x0 = hx - 0.05 * h if p.side > 0 else hx - w + 0.05 * h
    rgb = marker_rgb(p, "black")
    c.rect(x0, hy + 0.03 * h, x0 + w, hy + 0.24 * h, rgb)
    c.rect(x0 + 0.09 * h, hy - 0.01 * h, x0 + w - 0.09 * h, hy + 0.03 * h, rgb)  # handle


def _broom(c: Canvas, p: Person, top: float, r: float, hands_y: float) -> None:
    h = p.height
    hx, _ = _hand(p, hands_y)
    x_top, x_bottom = hx - p.side * 0.02 * h, hx + p.side * 0.06 * h
    c.line(x_top, top + 0.22 * h, x_bottom, p.foot - 0.14 * h, 0.05 * h, marker_rgb(p, "wood"))
    c.polygon([(x_bottom - 0.05 * h, p.foot - 0.15 * h), (x_bottom + 0.05 * h, p.foot - 0.15 * h),
               (x_bottom + 0.13 * h, p.foot), (x_bottom - 0.13 * h, p.foot)], marker_rgb(p, "orange"))


def _barbell(c: Canvas, p: Person, top: float, r: float, hands_y: float) -> None:
    h = p.height
    y = top - 0.05 * h
    c.line(p.x - 0.4 * h, y, p.x + 0.4 * h, y, 0.035 * h, marker_rgb(p, "steel"))
    purple = marker_rgb(p, "purple")
    for s in (-1, 1):
        c.rect(p.x + s * 0.33 * h - 0.035 * h, y - 0.11 * h, p.x + s * 0.33 * h + 0.035 * h, y + 0.11 * h, purple)


def _heart(c: Canvas, p: Person, top: float, r: float, hands_y: float) -> None:
    h = p.height
    x, y = p.x + p.side * 0.33 * h, top + 0.08 * h
    rgb = marker_rgb(p, "pink")
    for dx in (-0.055 * h, 0.055 * h):
        c.ellipse(x + dx, y, 0.065 * h, 0.065 * h, rgb)
    c.polygon([(x - 0.115 * h, y + 0.02 * h), (x + 0.115 * h, y + 0.02 * h), (x, y + 0.16 * h)], rgb)


def _chalkboard(c: Canvas, p: Person, top: float, r: float, hands_y: float) -> None:
    h = p.height
    near, far = p.x + p.side * 0.3 * h, p.x + p.side * 0.84 * h
    x0, x1 = min(near, far), max(near, far)
    y0, y1 = top + 0.05 * h, top + 0.45 * h
    c.rect(x0 - 0.02 * h, y0 - 0.02 * h, x1 + 0.02 * h, y1 + 0.02 * h, marker_rgb(p, "wood"))
    c.rect(x0, y0, x1, y1, marker_rgb(p, "slate"))
    for i, length in enumerate((0.75, 0.5, 0.62)):
        y = y0 + (0.25 + 0.25 * i) * (y1 - y0)
        c.line(x0 + 0.06 * h, y, x0 + 0.06 * h + length * (x1 - x0 - 0.12 * h), y, 0.025 * h, (0.92, 0.92, 0.9))


def _book(c: Canvas, p: Person, y: float) -> None:
    h = p.height
    c.rect(p.x - 0.14 * h, y - 0.05 * h, p.x + 0.14 * h, y + 0.08 * h, (0.95, 0.94, 0.9))
    c.line(p.x, y - 0.05 * h, p.x, y + 0.08 * h, 0.02 * h, (0.3, 0.25, 0.2))


#: Marker word -> its drawing, called with (canvas, person, head top y, head radius, hands y).
MARKERS = {"doctor": _medical_kit, "nurse": _nurse_cap, "engineer": _hard_hat, "ceo": _briefcase,
           "housekeeper": _broom, "strong": _barbell, "emotional": _heart, "intelligent": _mortarboard,
           "teacher": _chalkboard}
BEHIND_FIGURE = frozenset({"teacher"})
