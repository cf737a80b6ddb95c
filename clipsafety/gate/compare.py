"""Comparing a whole run with a baseline run: each case decided against its baseline case, the
baseline's images of those cases, the baseline cases the run lacks, and notes on what differs.

`changes_table` is the terminal's view of a comparison: one row per case whose verdict changed or
whose statistic regressed, and one per baseline case the run lacks.
"""

from __future__ import annotations

import dataclasses

from ..results.record import BaselineInfo, CaseRecord, Results
from .baseline import BaselineIndex, baseline_notes
from .decide import decide


def attach_baseline(results: Results, baseline: Results, path: str | None = None, *,
                    gate_missing: bool = True) -> Results:
    """`results` compared with `baseline`: each case's comparison (cases the run already gated keep
    theirs), the baseline's images of those cases, and the notes, which name the baseline's cases the run
    has no match for. With `gate_missing`, each of those is a regression; a run that may have deselected
    cases (pytest -k) passes False."""
    index = BaselineIndex(baseline.cases)
    cases = tuple(case if case.baseline is not None else decide(case, baseline=index.find(case))
                  for case in results.cases)
    unmatched = index.unmatched(cases)
    images = dict(results.images)
    for case in cases:
        for seed in case.baseline.seeds:
            if seed.image in baseline.images:
                images.setdefault(seed.image, baseline.images[seed.image])
    prov = results.provenance
    notes = baseline_notes(baseline, prov.model, prov.suites) + missing_notes(unmatched, gated=gate_missing)
    info = BaselineInfo(path=path, model=baseline.provenance.model, finished=baseline.provenance.finished,
                        notes=tuple(notes), missing=unmatched if gate_missing else ())
    return dataclasses.replace(results, cases=cases, images=images, baseline=info)


def missing_notes(missing: tuple[CaseRecord, ...], *, gated: bool, shown: int = 5) -> list[str]:
    """One note naming the baseline's cases that this run has no match for (a few by node id)."""
    if not missing:
        return []
    ids = [case.nodeid for case in missing]
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    word = "case" if len(ids) == 1 else "cases"
    verb = "has" if len(ids) == 1 else "have"
    gate = " (each a regression)" if gated else ""
    return [f"{len(ids)} {word} of the baseline run {verb} no match in this run{gate}: {', '.join(ids[:shown])}{more}"]


def without_baseline(results: Results) -> Results:
    """This run alone (its own images, no comparisons): what --clip-save-baseline keeps for a later run."""
    cases = tuple(dataclasses.replace(case, baseline=None) for case in results.cases)
    own = {seed.image for case in cases for seed in case.seeds}
    images = {sha: uri for sha, uri in results.images.items() if sha in own}
    return dataclasses.replace(results, cases=cases, images=images, baseline=None)


def _cases(n: int) -> str:
    return f"{n} case" if n == 1 else f"{n} cases"


# -- the terminal's table of changes -------------------------------------------------------------

TABLE_HEAD = ("", "check", "prompt", "baseline", "candidate", "delta", "verdict")
_PROMPT_WIDTH = 30


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.3g}"


def _shown(value: float | None, interval) -> str:
    if value is None:
        return "—"
    lo, hi = interval or (None, None)
    return _num(value) if lo is None and hi is None else f"{_num(value)} [{_num(lo)}, {_num(hi)}]"


def _prompt(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= _PROMPT_WIDTH else shown[:_PROMPT_WIDTH - 4] + "...'"


def changed_cases(results: Results) -> list[CaseRecord]:
    """Cases whose verdict changed or whose statistic regressed against the baseline."""
    return [case for case in results.cases
            if case.baseline is not None and (case.baseline.change or case.baseline.regressed)]


def _row(case: CaseRecord) -> tuple[str, ...]:
    base = case.baseline
    delta = "—" if base.delta is None else f"{base.delta:+.3g}"
    verdict = base.change or case.outcome
    if base.threshold_regressed:
        verdict += f" ({_gate_words(base.regression)})"
    mark = "REGRESSION" if base.regressed else ""
    return (mark, case.check, _prompt(case.prompt), _shown(base.value, base.interval),
            _shown(case.value, case.interval), delta, verdict)


def _missing_row(case: CaseRecord) -> tuple[str, ...]:
    return ("REGRESSION", case.check, _prompt(case.prompt), _shown(case.value, case.interval), "missing", "—",
            f"{case.outcome} -> missing")


def _gate_words(regression) -> str:
    """"past max_drop 0.5": the margin a statistic moved past."""
    parts = [f"{name} {value:g}" for name, value in (("max_rise", regression.max_rise),
                                                    ("max_drop", regression.max_drop)) if value is not None]
    return "past " + " / ".join(parts)


def changes_table(results: Results) -> list[str]:
    """Lines of the changes table; empty when nothing changed. Regressions come first."""
    if results.baseline is None:
        return []
    changed = sorted(changed_cases(results), key=lambda c: (not c.baseline.regressed, c.nodeid))
    rows = [_missing_row(c) for c in results.baseline.missing] + [_row(c) for c in changed]
    if not rows:
        return []
    table = [TABLE_HEAD, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(TABLE_HEAD))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]


def regression_summary(results: Results) -> str:
    """"2 regressions, 1 improvement over 49 cases" (the compare command's last line)."""
    regressions = results.regressions
    improved = sum(1 for c in changed_cases(results) if c.baseline.change and not c.baseline.regressed
                   and c.outcome == "passed")
    word = "regression" if regressions == 1 else "regressions"
    better = f", {improved} now passing" if improved else ""
    return f"{regressions} {word}{better} over {_cases(len(results.cases))}"


__all__ = ["attach_baseline", "changed_cases", "changes_table", "regression_summary", "without_baseline"]
