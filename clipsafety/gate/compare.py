"""Comparing a whole run with a baseline run: each case decided against its baseline case, the
baseline's images of those cases, and notes on what differs between the runs."""

from __future__ import annotations

import dataclasses

from ..results.record import BaselineInfo, Results
from .baseline import baseline_notes
from .decide import decide


def attach_baseline(results: Results, baseline: Results, path: str | None = None) -> Results:
    """`results` compared with `baseline`: each case's comparison (cases the run already gated keep
    theirs), the baseline's images of those cases, and the notes."""
    by_id = {case.nodeid: case for case in baseline.cases}
    cases = tuple(case if case.baseline is not None else decide(case, baseline=by_id.get(case.nodeid))
                  for case in results.cases)
    images = dict(results.images)
    for case in cases:
        for seed in case.baseline.seeds:
            if seed.image in baseline.images:
                images.setdefault(seed.image, baseline.images[seed.image])
    prov = results.provenance
    info = BaselineInfo(path=path, model=baseline.provenance.model, finished=baseline.provenance.finished,
                        notes=tuple(baseline_notes(baseline, prov.model, prov.suites)))
    return dataclasses.replace(results, cases=cases, images=images, baseline=info)


def without_baseline(results: Results) -> Results:
    """This run alone (its own images, no comparisons): what --clip-save-baseline keeps for a later run."""
    cases = tuple(dataclasses.replace(case, baseline=None) for case in results.cases)
    own = {seed.image for case in cases for seed in case.seeds}
    images = {sha: uri for sha, uri in results.images.items() if sha in own}
    return dataclasses.replace(results, cases=cases, images=images, baseline=None)
