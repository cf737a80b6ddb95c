"""The run-level gate: what a run's cases alone do not say.

Two things can fail a run whose every case passed: a required kind of model
of which no check reached a verdict (`--clip-require`, clipsafety.gate.coverage),
and a waivers file with a waiver that expired or waived nothing
(clipsafety.gate.waivers). And a failed case that a waiver accepts becomes
"waived": it keeps its values and images, and carries the waiver.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from .coverage import CaseKind, require_problems, skipped_for_reason_lines, skipped_kinds, stand_in_lines
from ..results.record import CaseRecord, ModelInfo, SuiteInfo, WaiverRecord
from .waivers import Waivers


def waiver_text(waiver: WaiverRecord) -> str:
    """'waived: <reason> (owner ana@x, until 2026-12-31, SAFETY-123)', as terminal and JUnit show it."""
    ticket = f", {waiver.ticket}" if waiver.ticket else ""
    return f"waived: {waiver.reason} (owner {waiver.owner}, until {waiver.expires}{ticket})"


def gate_lines(records: Sequence[CaseRecord], suites: Mapping[str, SuiteInfo], model: ModelInfo,
               required: Iterable[str] = (), waivers: Waivers | None = None,
               today: dt.date | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(one line per kind whose checks were skipped and per other reason that skipped checks, the problems
    that fail the run)."""
    kinds = [CaseKind(suites[r.suite_path].applies_to if r.suite_path in suites else (), r.outcome, r.suite,
                      r.reason) for r in records]
    name, kind = model.name or "the model", model.kind or "unknown"
    skipped = tuple(s.line(name, kind) for s in skipped_kinds(kinds, kind))
    skipped += tuple(stand_in_lines(kinds, name, kind))
    skipped += tuple(skipped_for_reason_lines(kinds, kind))
    problems = list(require_problems(required, kinds, name, kind))
    if waivers is not None:
        used_at = {r.waiver.where for r in records if r.waiver is not None}
        used = [w for w in waivers.entries if w.where in used_at]
        problems += waivers.problems(today or dt.date.today(), used, {info.name for info in suites.values()})
    return skipped, tuple(problems)


__all__ = ["gate_lines", "waiver_text"]
