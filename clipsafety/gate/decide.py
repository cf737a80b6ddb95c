"""The one place a case's outcome is decided: from what measuring it gave, its comparison with a
baseline run, and a waiver.

    passed, failed, error, skipped   what the measurement gave (error: it could not be measured)
    + baseline                       a passed case whose statistic regressed beyond max_rise / max_drop fails;
                                     the comparison records the verdict change ("passed -> failed": a regression)
    + waiver                         a failed case that a waiver in effect matches is "waived"

Nothing else changes an outcome: the pipeline, `clipsafety compare` and the plugin all call `decide`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from ..results.record import CaseRecord, Comparison, ModelInfo, WaiverRecord
from .baseline import compare_case, verdict_change
from .waivers import Waivers

NO_BASELINE = object()  # decide without a baseline run (None: the baseline run lacks this case)


def decide(record: CaseRecord, *, baseline: CaseRecord | None | object = NO_BASELINE,
           waivers: Waivers | None = None, model: ModelInfo | None = None,
           today: dt.date | None = None) -> CaseRecord:
    """The record with its final outcome, its baseline comparison and the waiver that waived it."""
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


__all__ = ["NO_BASELINE", "decide", "final_outcome", "matching_waiver"]
