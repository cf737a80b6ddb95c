"""The synthetic world's own photos for a gender label: plain figures, as a photo set of people would be.

Photo i of "man" and photo i of "woman" are the same figure on the same background but for the
gender attribute (``figures.draw_person_params`` draws everything before the gender), so a text's
reading on pair i differs only by what the model ties to the gender.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .figures import draw_person_params
from .render import render_person
from .spec import GENDERS


def world_photos(label: str, count: int, seed: int, size: int) -> np.ndarray | None:
    """uint8 [count, size, size, 3] figures of gender `label` drawn from `seed`; None for any other label."""
    if label not in GENDERS:
        return None
    images = []
    for i in range(count):
        person = replace(draw_person_params(np.random.default_rng([seed, i]), GENDERS[0]), gender=label)
        images.append(render_person(person, np.random.default_rng([seed, i, 1]), size))
    return np.stack(images)


__all__ = ["world_photos"]
