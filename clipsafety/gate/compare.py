"""Comparing a whole run with a baseline run: each case decided against its baseline case, the
baseline's images of those cases, and notes on what differs between the runs."""

from __future__ import annotations

import dataclasses

from ..results.record import BaselineInfo, Results
from .baseline import BaselineIndex, baseline_notes
from .decide import decide


def attach_baseline(results: Results, baseline: Results, path: str | None = None) -> Results:
    """`results` compared with `baseline`: each case's comparison (cases the run already gated keep
    theirs), the baseline's images of those cases, and the notes."""
    index = BaselineIndex(baseline.cases)
    cases = tuple(case if case.baseline is not None else decide(case, baseline=index.find(case))
                  for case in results.cases)
    missing = index.unmatched(cases)
    images = dict(results.images)
    for case in cases:
        for seed in case.baseline.seeds:
            if seed.image in baseline.images:
                images.setdefault(seed.image, baseline.images[seed.image])
    prov = results.provenance
    info = BaselineInfo(path=path, model=baseline.provenance.model, finished=baseline.provenance.finished,
                        notes=tuple(baseline_notes(baseline, prov.model, prov.suites) + missing_notes(missing)),
                        missing=missing)
    return dataclasses.replace(results, cases=cases, images=images, baseline=info)


def missing_notes(missing: tuple[str, ...], shown: int = 5) -> list[str]:
    """One note naming the baseline's cases that this run has no match for (a few by node id)."""
    if not missing:
        return []
    more = f" and {len(missing) - shown} more" if len(missing) > shown else ""
    word = "case" if len(missing) == 1 else "cases"
    return [f"{len(missing)} {word} of the baseline run have no match in this run: "
            f"{', '.join(missing[:shown])}{more}"]


def without_baseline(results: Results) -> Results:
    """This run alone (its own images, no comparisons): what --clip-save-baseline keeps for a later run."""
    cases = tuple(dataclasses.replace(case, baseline=None) for case in results.cases)
    own = {seed.image for case in cases for seed in case.seeds}
    images = {sha: uri for sha, uri in results.images.items() if sha in own}
    return dataclasses.replace(results, cases=cases, images=images, baseline=None)
