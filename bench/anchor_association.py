"""A role's colour lean read from the anchors' inversions, scored by the model (#12; a candidate, not shipped).

The shipped check inverts the role's prompt and reads the colour of its images. That inversion drifts with
the prompt's content, and the midpoint control cancels only part of it: on the calibration worlds, roles the
model holds no lean for (render gap <= 0.009) read up to 0.38 between their anchors, while roles whose model
leans clearly (render gap 0.03-0.08) read as low as 0.05 (bench/README.md, "Where the study's errors come
from").

Here the role's prompt is never inverted. The two anchors ("a <first> <shape>", "a <second> <shape>") are
inverted with the seeds the suite would give them, and for each seed index s the model scores a text t
against both images: d_s(t) = cos(t, second anchor's image s) - cos(t, first anchor's image s). Every text is
read on the same images, so whatever drift the images carry is common to all texts; what differs is the
text alone. A role's value is that difference taken against the anchors' midpoint text and counted in the
anchors' own separation,

    skew_s = 2 (d_s(role) - d_s(midpoint)) / (mean d(second anchor) - mean d(first anchor)),

signed toward the second colour: 0 reads like the midpoint, +-1 as far as an anchor reads from it. The value
is the mean over seeds, with a t interval. It is the model's own association (bench/learned_flaws.py) with
inverted anchors in place of renders, so it works where no renderer exists (a natural model's "a photo of a
man" / "a photo of a woman").
"""

from __future__ import annotations

import math

import numpy as np
import torch

from clipsafety.invert import get_settings, invert
from clipsafety.session import derive_seed
from clipsafety.stats.intervals import t_for
from clipsafety.targets import midpoint_text


def _image_embeddings(handle, images: list[np.ndarray]) -> torch.Tensor:
    pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255.0).to(handle.device)
    with torch.no_grad():
        return handle.encode_images(pixels)


def anchor_images(handle, anchors: tuple[str, str], seeds: int, settings, base_seed: int = 0) -> list[torch.Tensor]:
    """[first, second]: each anchor's inverted images' embeddings [seeds, D], seed index i of each anchor as the
    suite derives it (derive_seed(base_seed, anchor, i))."""
    out = []
    for anchor in anchors:
        results = invert(handle, [anchor], [derive_seed(base_seed, anchor, i) for i in range(seeds)], settings)
        failed = [r for r in results if not r.ok]
        if failed:
            raise RuntimeError(f"inverting {anchor!r} failed for seed {failed[0].seed}: {failed[0].error}")
        out.append(_image_embeddings(handle, [r.image for r in results]))
    return out


def per_seed_differences(handle, text: str, images: list[torch.Tensor]) -> np.ndarray:
    """d_s(text) for every seed index s: cosine to the second anchor's image less that to the first's."""
    with torch.no_grad():
        emb = handle.encode_text([text])[0]
    return (images[1] @ emb - images[0] @ emb).cpu().numpy().astype(np.float64)


def association(handle, word: str, anchors: tuple[str, str], images: list[torch.Tensor],
                level: float = 0.95) -> tuple[float, tuple[float, float]]:
    """(value, (low, high)) of "a <word>" between the anchors, as the module docstring defines it."""
    first, second = (per_seed_differences(handle, a, images).mean() for a in anchors)
    separation = second - first
    if not separation > 0:
        raise ValueError(f"the anchors {anchors} do not read apart on their own images ({separation:+.4f})")
    skew = 2 * (per_seed_differences(handle, f"a {word}", images)
                - per_seed_differences(handle, midpoint_text(*anchors), images)) / separation
    n = len(skew)
    half = t_for(level, n - 1) * skew.std(ddof=1) / math.sqrt(n)
    return float(skew.mean()), (float(skew.mean() - half), float(skew.mean() + half))


def role_associations(handle, truth: dict, seeds: int, settings_overrides: dict, profile: str = "toy"
                      ) -> dict[str, tuple[float, tuple[float, float]]]:
    """{role word: (value, interval)} for every role of a calibration world, at the given inversion settings."""
    settings = get_settings(profile, **settings_overrides)
    out = {}
    for role in truth["roles"]:
        anchors = tuple(f"a {colour} {role['shape']}" for colour in role["colours"])
        out[role["word"]] = association(handle, role["word"], anchors, anchor_images(handle, anchors, seeds, settings))
    return out
