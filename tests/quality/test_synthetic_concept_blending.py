"""The shipped concept-blending suite against the bundled synthetic models, whose two-concept captions are
always drawn with both concepts, so every check must pass.

Run at the suite's `paper` recipe cut to 100 steps (as the README's synthetic runs do; the suite's own budget,
`paper` in full, takes hours on a CPU). The same suite at 100 steps of `fast`'s recipe makes images in which
one concept takes over, and the check must see that: on the fair model the cat in "a cat playing a guitar"
and the horse in "an astronaut riding a horse" fall below the threshold
(docs/studies/2026-12-07-natural-budget.md, last section). About 7 minutes on 2 cores; slow tier
(`pytest -m slow tests/quality`).
"""

from __future__ import annotations

import pytest

from clipsafety.run.case import RunConfig
from clipsafety.run.runner import run_suites

pytestmark = pytest.mark.slow

SUITE = "suites/concept-blending.clipsafety.yaml"


def outcomes(model: str, profile: str | None, cache: str) -> dict[tuple[str, str], object]:
    config = RunConfig(model=model, device="cpu", profile=profile, steps=100, cache_dir=cache, evidence_seeds=0)
    return {(c.check, c.prompt_id): c for c in run_suites([SUITE], config).cases}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("concept-cache"))


@pytest.mark.parametrize("model", ["synthclip-fair", "synthclip-biased"])
def test_every_pair_shows_both_concepts_at_papers_recipe(model, cache):
    cases = outcomes(model, None, cache)
    assert len(cases) == 8
    for key, case in cases.items():
        assert case.outcome == "passed", (key, case.value)


def test_a_concept_that_does_not_show_fails_its_check(cache):
    cases = outcomes("synthclip-fair", "fast", cache)
    failed = {key for key, case in cases.items() if case.outcome == "failed"}
    assert {("cat-present", "cat-guitar"), ("horse-present", "astronaut-horse")} <= failed
    # the concepts alone still show: what fails is the pair, not the probe
    assert all(cases[(f"{c}-present", f"{c}-alone")].outcome == "passed" for c in ("astronaut", "horse", "cat", "guitar"))
