"""The one place a case's outcome is decided: from what measuring it gave, its comparison with a
baseline run, and a waiver.

    passed, failed, error, skipped   what the measurement gave (error: it could not be measured)
    + positive controls              a positive control that shows what its check looks for passes, one that
                                     does not is "inconclusive", and so is every case of its check that
                                     passed: the check could not have failed on this model
    + power                          a passed case whose power to fail at its suite's `detects` is below
                                     80% is "inconclusive", naming the seeds it needs
    + baseline                       a passed case whose statistic regressed beyond max_rise / max_drop fails;
                                     the comparison records the verdict change ("passed -> failed": a regression)
    + waiver                         a failed case that a waiver in effect matches is "waived"

Nothing else changes an outcome: the pipeline, `clipsafety compare` and the plugin all call `decide`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from ..results.record import CaseRecord, Comparison, ModelInfo, WaiverRecord
from ..stats.power import MAX_SEEDS, POWER_TARGET
from .baseline import compare_case, verdict_change
from .waivers import Waivers

NO_BASELINE = object()  # decide without a baseline run (None: the baseline run lacks this case)


# A positive control's required outcome, as the suite writes it -> the check outcome that shows it.
SHOWN_BY = {"fails": "failed", "passes": "passed"}


def decide(record: CaseRecord, *, baseline: CaseRecord | None | object = NO_BASELINE,
           waivers: Waivers | None = None, model: ModelInfo | None = None, today: dt.date | None = None,
           positive_control: str | None = None, controls_missed: tuple[str, ...] = ()) -> CaseRecord:
    """The record with its final outcome, its baseline comparison and the waiver that waived it.

    `positive_control`: the outcome the case must reach when its prompt is a positive control ("fails" or
    "passes"); `controls_missed`: the check's positive controls (prompt ids) that did not show on this model."""
    record = _powered(_controlled(record, positive_control, controls_missed))
    comparison = record.baseline if baseline is NO_BASELINE else compare_case(record, baseline)
    outcome = final_outcome(record.outcome, comparison)
    waiver = None
    if outcome == "failed" and waivers is not None:
        waiver = matching_waiver(record, waivers, model or ModelInfo(), today or dt.date.today())
        if waiver is not None:
            outcome = "waived"
    if baseline is not NO_BASELINE:
        comparison = verdict_change(comparison, outcome)
    changed = dict(outcome=outcome, baseline=comparison)
    if waiver is not None:
        changed["waiver"] = waiver
    return dataclasses.replace(record, **changed)


def _controlled(record: CaseRecord, positive_control: str | None, controls_missed: tuple[str, ...]) -> CaseRecord:
    """The outcome the positive controls allow: a control passes when it shows, else it is inconclusive, and a
    check whose control did not show cannot pass."""
    if record.outcome not in ("passed", "failed"):
        return record
    if positive_control is not None:
        must = SHOWN_BY[positive_control]
        if record.outcome == must:
            return dataclasses.replace(record, outcome="passed", reason=f"positive control: it {positive_control} "
                                       "this check, as it must, so the check can see what it looks for")
        return dataclasses.replace(record, outcome="inconclusive", reason=(
            f"positive control: it must {positive_control.removesuffix('s')} this check but "
            f"{'passed' if must == 'failed' else 'failed'}, so on this model the check cannot see what it looks "
            "for, and its other verdicts are inconclusive"))
    if controls_missed and record.outcome == "passed":
        named = ", ".join(repr(c) for c in controls_missed)
        return dataclasses.replace(record, outcome="inconclusive", reason=(
            f"the positive control {named} did not show what this check looks for on this model, so passing it "
            "says nothing: inconclusive, not passed"))
    return record


def _powered(record: CaseRecord) -> CaseRecord:
    """A pass without the power to fail on the value its suite says it must catch is inconclusive."""
    if record.outcome != "passed" or record.power is None or record.power >= POWER_TARGET \
            or record.positive_control is not None:
        return record
    n = len(record.seeds)
    needs = (f"about {record.seeds_for_power} seeds reach {POWER_TARGET:.0%}" if record.seeds_for_power
             else f"more than {MAX_SEEDS} seeds would be needed at this spread")
    return dataclasses.replace(record, outcome="inconclusive", reason=(
        f"underpowered: at {n} seeds this check fails a {record.statistic} of {record.detects:g} only "
        f"{record.power:.0%} of the time, so its pass says little; {needs} (--clip-seeds or the suite's "
        "inversion.seeds)"))


def final_outcome(measured: str, comparison: Comparison | None) -> str:
    """A passed case that regressed against its baseline fails; every other outcome stands."""
    if measured == "passed" and comparison is not None and comparison.threshold_regressed:
        return "failed"
    return measured


def matching_waiver(record: CaseRecord, waivers: Waivers, model: ModelInfo, today: dt.date) -> WaiverRecord | None:
    """The waiver in effect that accepts this failed case, as the record keeps it; None when none does."""
    waiver = waivers.match(record.check, record.prompt_id, record.suite, model.name, model.fingerprint, today)
    if waiver is None:
        return None
    kept = {k: v for k, v in waiver.to_dict().items() if k in WaiverRecord.__dataclass_fields__}
    return WaiverRecord(**kept)


__all__ = ["NO_BASELINE", "SHOWN_BY", "decide", "final_outcome", "matching_waiver"]
