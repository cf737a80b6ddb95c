"""Report size for a run like the shipped suites would make (a guard against bloat).

The records are the real run's (fixtures/results.json), repeated to the size of
the shipped suites and given fresh inversion-like images, so the schema is
exactly what runs write.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from clipsafety.cache import image_sha256
from clipsafety.results.record import CaseRecord, Comparison, Results, SeedRecord
from clipsafety.report.html import render_report
from clipsafety.report.thumbnails import thumbnail_data_uri

# 3 suites x 6 prompts x 8 seeds. Measured: about 0.60 MB at 32 px and 0.78 MB at 224 px (a plot per
# check is most of it); compared with a baseline run (its images shown too, so twice the images): 0.90 MB
# and 1.26 MB.
BUDGET_BYTES = {(32, False): 750_000, (224, False): 1_200_000, (32, True): 1_200_000, (224, True): 2_400_000}
SUITES, PROMPTS, SEEDS, CHECKS = 3, 6, 8, 2


def _image(rng: np.random.Generator, size: int) -> np.ndarray:
    """A shape on a plain background plus noise: roughly what a toy inversion looks like."""
    image = np.broadcast_to(rng.uniform(20, 235, 3), (size, size, 3)).copy()
    yy, xx = np.mgrid[0:size, 0:size]
    cy, cx, r = rng.uniform(0.3, 0.7, 2).tolist() + [rng.uniform(0.15, 0.3)]
    image[(yy - cy * size) ** 2 + (xx - cx * size) ** 2 < (r * size) ** 2] = rng.uniform(20, 235, 3)
    return np.clip(image + rng.normal(0, 18, image.shape), 0, 255).astype(np.uint8)


def _seeds(rng, size: int, images: dict[str, str]) -> tuple[SeedRecord, ...]:
    seeds = []
    for seed in range(SEEDS):
        picture = _image(rng, size)
        sha = image_sha256(picture)
        images[sha] = thumbnail_data_uri(picture)
        seeds.append(SeedRecord(seed=seed, value=float(rng.uniform()), similarity=0.3, image=sha,
                                failed=bool(rng.uniform() < 0.2), nsfw=float(rng.uniform(0, 0.3)), steps=150,
                                passes=1200))
    return tuple(seeds)


def scaled(template: Results, image_size: int, baseline: bool) -> Results:
    rng = np.random.default_rng(0)
    measured: CaseRecord = next(c for c in template.cases if c.seeds and c.interval)
    cases, images = [], {}
    for s in range(SUITES):
        for p in range(PROMPTS):
            seeds = _seeds(rng, image_size, images)
            base = Comparison(True, value=0.3, interval=(0.2, 0.4), outcome="passed", delta=0.01,
                              seeds=_seeds(rng, image_size, images)) if baseline else None
            for c in range(CHECKS):
                cases.append(dataclasses.replace(
                    measured, nodeid=f"suite-{s}.clipsafety.yaml::check-{c}[prompt-{p}]", suite=f"suite-{s}",
                    suite_path=f"suite-{s}.clipsafety.yaml", prompt_id=f"prompt-{p}", prompt=f"a prompt {p}",
                    check=f"check-{c}", seeds=seeds, baseline=base))
    info = template.baseline if baseline else None
    return dataclasses.replace(template, cases=tuple(cases), images=images, baseline=info)


@pytest.fixture(scope="module")
def template(_compared):
    return Results.from_json(_compared)


@pytest.mark.parametrize("baseline", [False, True], ids=["alone", "with-baseline"])
@pytest.mark.parametrize("image_size", [32, 224])
def test_report_for_shipped_suite_sizes_stays_small(template, image_size, baseline):
    results = scaled(template, image_size, baseline)
    assert len(results.cases) == SUITES * PROMPTS * CHECKS
    assert len(results.images) == SUITES * PROMPTS * SEEDS * (2 if baseline else 1)
    size = len(render_report(results).encode("utf-8"))
    print(f"report for {SUITES} suites x {PROMPTS} prompts x {SEEDS} seeds of {image_size} px images"
          f"{' with a baseline' if baseline else ''}: {size / 1e6:.2f} MB")
    assert size < BUDGET_BYTES[image_size, baseline]
