"""Compare a run with a baseline run: the model users have today.

A baseline is a results file saved by an earlier run (`--clip-save-baseline=PATH`),
read by clipsafety.results.files.read_results. Cases are matched by suite name, check
and prompt, not by node id, whose path part depends on how the suite's path was typed
(absolute or relative, from which folder); when two suites share a name, their cases are
matched by node id.

A comparison gates by default, as pytest-benchmark's compare-fail does: a case
that fails (or errors) now where the baseline's did not, and a new case that
fails, are regressions with no suite setting needed (`verdict_change`); so is a
baseline case the candidate lacks (clipsafety.gate.compare). On top, a check
with `max_rise` / `max_drop` fails on a regression of its statistic, judged on the two runs' 95%
intervals rather than their point values: a rise counts only when the
candidate's lower bound is above the baseline's upper bound by more than
`max_rise` (a drop, mirrored), so noise between runs does not fail a release.

Cases inverted with other settings, a metric that changed, a check paired
against another control (or now paired, or no longer), or a check that read
other labelled photos (--clip-photos) are marked not comparable and never
gated; a baseline made by another model or another version of a suite is
named in the notes, which the report shows.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping

from ..results.record import BaselineInfo, CaseRecord, Comparison, ModelInfo, Regression, Results, SuiteInfo


def case_key(record: CaseRecord) -> tuple[str, str, str]:
    """What identifies a case across runs: its suite's name, its check and its prompt."""
    return record.suite, record.check, record.prompt_id


class BaselineIndex:
    """A baseline run's cases, found by case_key (by node id where two of its cases share a key)."""

    def __init__(self, cases: Iterable[CaseRecord]):
        self.cases = tuple(cases)
        keys = Counter(case_key(case) for case in self.cases)
        self._by_key = {case_key(c): c for c in self.cases if keys[case_key(c)] == 1}
        self._by_nodeid = {c.nodeid: c for c in self.cases}

    def find(self, record: CaseRecord) -> CaseRecord | None:
        return self._by_key.get(case_key(record)) or self._by_nodeid.get(record.nodeid)

    def unmatched(self, records: Iterable[CaseRecord]) -> tuple[CaseRecord, ...]:
        """The baseline's cases that none of `records` matches."""
        found = {id(base) for base in map(self.find, records) if base is not None}
        return tuple(case for case in self.cases if id(case) not in found)


def _bounds(record: CaseRecord) -> tuple[float, float] | None:
    if record.value is None:
        return None
    lo, hi = record.interval or (record.value, record.value)
    return (record.value if lo is None else lo), (record.value if hi is None else hi)


def compare_case(record: CaseRecord, base: CaseRecord | None) -> Comparison:
    """The comparison of one case with its baseline case (None: absent from the baseline)."""
    if base is None:
        return Comparison(comparable=False, note="not in the baseline run")
    base = _under_same_settings(record, base)
    seen = dict(value=base.value, interval=base.interval, outcome=base.outcome, seeds=base.seeds)
    if base.metric != record.metric:
        return Comparison(False, f"the baseline measured {base.metric}, not {record.metric}", **seen)
    if base.control != record.control:
        was, now = (case.paired_label or "unpaired" for case in (base, record))
        return Comparison(False, f"the baseline was {was}, this run is {now}: "
                                 "they measure different things, not comparable", **seen)
    if base.settings_key != record.settings_key:
        return Comparison(False, "inverted with other settings in the baseline run (profile, steps, ...): "
                                 "not comparable", **seen)
    if _bounds(base) is None or _bounds(record) is None:
        return Comparison(False, "no value in one of the runs", **seen)
    if base.photo_set != record.photo_set:
        return Comparison(False, "read against other labelled photos in the baseline run (--clip-photos): a change "
                                 "of photos, not of the model, could move it; not comparable", **seen)
    return Comparison(True, None, **seen, delta=round(record.value - base.value, 6),
                      regression=_regression(record, base))


FAILING = ("failed", "error")


def verdict_change(comparison: Comparison, outcome: str) -> Comparison:
    """The comparison with the verdict change: "passed -> failed" when the outcomes differ ("new -> failed"
    for a case the baseline lacks), and worsened when the case fails now where the baseline's did not."""
    was = comparison.outcome if comparison.outcome is not None else "new"
    if was == outcome:
        return comparison
    return dataclasses.replace(comparison, change=f"{was} -> {outcome}",
                               worsened=outcome in FAILING and was not in FAILING)


def _under_same_settings(record: CaseRecord, base: CaseRecord) -> CaseRecord:
    """The baseline case as measured under the record's settings. Under inversion conditions each run
    shows its deciding condition, which may differ: then compare with the baseline's value under the
    record's condition (its images are another condition's, so none are shown)."""
    if base.settings_key == record.settings_key:
        return base
    match = next((c for c in base.conditions if c.settings_key == record.settings_key), None)
    if match is None:
        return base
    return dataclasses.replace(base, settings_key=match.settings_key, value=match.value, interval=match.interval,
                               outcome=match.outcome, seeds=())


def _regression(record: CaseRecord, base: CaseRecord) -> Regression | None:
    rise, drop = record.max_rise, record.max_drop
    if rise is None and drop is None:
        return None
    c_lo, c_hi = _bounds(record)
    b_lo, b_hi = _bounds(base)
    problems = []
    if rise is not None and c_lo - b_hi > rise:
        problems.append(f"{record.metric} rose: candidate lower bound {c_lo:.4g} is {c_lo - b_hi:.4g} above "
                        f"the baseline's upper bound {b_hi:.4g} (max_rise {rise:g})")
    if drop is not None and b_lo - c_hi > drop:
        problems.append(f"{record.metric} dropped: candidate upper bound {c_hi:.4g} is {b_lo - c_hi:.4g} below "
                        f"the baseline's lower bound {b_lo:.4g} (max_drop {drop:g})")
    return Regression(max_rise=rise, max_drop=drop, passed=not problems, message="; ".join(problems) or None)


def baseline_notes(baseline: Results, model: ModelInfo, suites: Mapping[str, SuiteInfo]) -> list[str]:
    """What differs between the baseline run and this one, in words for the report."""
    notes = []
    base_model = baseline.provenance.model
    if model.fingerprint and base_model.fingerprint == model.fingerprint:
        notes.append("the baseline was made by the same model (same fingerprint)")
    else:
        notes.append(f"baseline model: {base_model.name} (pretrained {base_model.pretrained_text}, "
                     f"fingerprint {str(base_model.fingerprint)[:12]})")
    by_name = {old.name: old for old in baseline.provenance.suites.values()}
    for path, info in suites.items():
        old = baseline.provenance.suites.get(path) or by_name.get(info.name)
        if old is None:
            notes.append(f"suite {path} is not in the baseline run")
        elif old.sha256 and info.sha256 and old.sha256 != info.sha256:
            notes.append(f"suite {path} changed since the baseline run (another version of the file)")
    return notes
