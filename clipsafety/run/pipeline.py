"""One run, start to finish: the pipeline the pytest plugin, `clipsafety run` and the report fixtures share.

    run = Run(RunConfig(model="toyclip-biased"), RunOutputs(results=Path("r.json")), baseline="base.json")
    run.start()                          # outputs writable? baseline readable? model loads? (before any work)
    run.check_cache(cases)               # can the cache keep what the cases need?
    run.prepare(cases)                   # invert what the cases need, in shared batches
    record = run.run_case(case, nodeid)  # measure, decide, gate against the baseline -> CaseRecord
    results = run.finish(exit_status)    # Results: provenance, records, thumbnails, baseline
    written = run.write(results)         # results JSON, audit line, HTML report, saved baseline

Everything that can be refused is refused in `start` and `check_cache`, so a
bad path, baseline or cache costs a second, not the inversion. A case that raises is an error
record with the exception's message; an error is never a pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..gate.baseline import BaselineIndex
from ..gate.compare import attach_baseline, without_baseline
from ..gate.decide import NO_BASELINE, SHOWN_BY, decide
from ..cache import image_sha256
from ..results.conditions import FLIP_TEXT, ConditionRecord, deciding_condition
from ..util import limits
from ..util.errors import ClipSafetyError
from ..util.text import visible_text
from .executors import Executor
from ..results.outputs import RunOutputs, Written, write_outputs
from ..results.record import CaseRecord, ModelInfo, Results, SuiteInfo
from ..results.files import append_audit, read_results, results_bytes
from .case import Case, Measurement, RunConfig, cases_of
from .records import case_record, evidence_records, provenance
from .session import Session
from ..suite import Suite
from ..gate.verdict import gate_lines
from ..stats.operators import OPERATORS
from ..gate.waivers import Waivers, load_waivers


REDUCED_BUDGET_PROBLEM = (
    "this run used less inversion budget than its suites declare, so it is no release verdict unless "
    "--clip-allow-reduced-budget is given\n"
    "  fix: drop the --clip-seeds / --clip-steps / --clip-profile that cut the budget, or accept the cut "
    "explicitly with --clip-allow-reduced-budget (ini clip_allow_reduced_budget = true)")


@dataclass(frozen=True)
class Finished:
    """A case's record and its images' thumbnails ({sha256: data URI})."""

    record: CaseRecord
    images: dict[str, str]


class Run:
    def __init__(self, config: RunConfig, outputs: RunOutputs | None = None, *, baseline: str | None = None,
                 command: str = "clipsafety run", progress: Callable | None = None,
                 executor: Executor | None = None, require: Sequence[str] = (), waivers: str | None = None,
                 allow_reduced_budget: bool = False):
        self.session = Session(config, progress=progress, executor=executor)
        self.outputs = outputs or RunOutputs()
        self.baseline_path = baseline
        self.baseline: Results | None = None
        self.command = command
        self.started = time.time()
        self.records: dict[str, CaseRecord] = {}
        self.images: dict[str, str] = {}
        self.suites: dict[str, SuiteInfo] = {}
        self.model: ModelInfo | None = None
        self._baseline_cases = BaselineIndex(())
        self.require = tuple(require or ())
        self.waivers_path = waivers
        self.waivers: Waivers | None = None
        self._controls: dict[tuple[str, str, str], bool] = {}  # (suite, check, prompt) -> the control showed
        self.allow_reduced_budget = allow_reduced_budget

    @property
    def config(self) -> RunConfig:
        return self.session.config

    # -- before any work -----------------------------------------------------------------

    def start(self, *, check_outputs: bool = True, load_model: bool = True,
              suite_files: Iterable[str | Path] = ()) -> None:
        """Refuse now what would fail later: output paths (none may be an input: a suite file, the
        baseline, the waivers file), the baseline file, the model, a limit set to junk."""
        limits.check_environment()
        if check_outputs:
            inputs = {f"the suite file {path}": path for path in suite_files}
            inputs.update({"--clip-baseline": self.baseline_path, "--clip-waivers": self.waivers_path})
            self.outputs.check(inputs)
        if self.baseline_path and self.baseline is None:
            try:
                self.baseline = read_results(self.baseline_path)
            except ClipSafetyError as err:
                raise type(err)(err.message, where=f"--clip-baseline: {err.where}", fix=err.fix) from None
            self._baseline_cases = BaselineIndex(self.baseline.cases)
        if self.waivers_path and self.waivers is None:
            self.waivers = load_waivers(self.waivers_path)
        if load_model:
            self.model = ModelInfo.from_json(self.session.handle.describe())

    def check_cache(self, cases: Iterable[Case]) -> None:
        """Before any inversion: the cache can keep what the runnable cases need (else ClipSafetyError).

        These are the run's cases: the family a family-wise correction spreads over."""
        runnable = [case for case in cases if not self.skip_reason(case.suite)]
        self.session.plan.set_family(runnable)
        self.session.images.check_cache(runnable)

    def skip_reason(self, suite: Suite) -> str | None:
        return self.session.plan.skip_reason(suite)

    def profiles(self, suites: Iterable[Suite]) -> list[str]:
        return sorted({self.session.plan.profile_for(s) for s in suites if not self.skip_reason(s)})

    # -- measuring -------------------------------------------------------------------------

    def prepare(self, cases: Iterable[Case]) -> None:
        """Invert every image the cases need, in shared batches (what fails here, each case meets again)."""
        self.session.prepare(cases)

    def run_case(self, case: Case, nodeid: str) -> Finished:
        """Measure and decide one case, gated against the baseline when there is one."""
        try:
            measured = self.session.evaluate(case)
            nsfw = self.session.measure.nsfw_scores(case, measured.condition) if measured.result is not None else None
        except ClipSafetyError as err:
            return Finished(self.error(case, nodeid, str(err)), {})
        if measured.result is None:
            return Finished(self.error(case, nodeid, measured.error or "not measured", measured=measured), {})
        evidence = self._evidence_images(case, measured)
        record = case_record(case, nodeid, outcome=measured.outcome, measured=measured, nsfw=nsfw,
                             config=self.session.config,
                             evidence=evidence_records(evidence, self.session.config, measured.profile))
        baseline = self._baseline_cases.find(record) if self.baseline is not None else NO_BASELINE
        record = decide(record, baseline=baseline, waivers=self.waivers, model=self.model,
                        positive_control=case.prompt.positive_control, controls_missed=self._controls_missed(case))
        return Finished(record, {**thumbnails(measured, self.images), **thumbnails_of(evidence, self.images)})

    def _evidence_images(self, case: Case, measured: Measurement) -> list:
        """The prompt's own inversions shown beside a text-read check; [] when it has none or they failed
        (evidence never turns a measured case into an error)."""
        seeds = self.session.plan.evidence_seeds(case)
        if not seeds:
            return []
        try:
            return self.session.images.results(case.suite, case.prompt.text, seeds, measured.condition or None)
        except ClipSafetyError:
            return []

    def _controls_missed(self, case: Case) -> tuple[str, ...]:
        """The ids of the case's check's positive controls that did not show what the check looks for."""
        if case.prompt.positive_control:
            return ()
        return tuple(control.id for control in case.suite.positive_controls_for(case.check)
                     if not self._control_shown(Case(case.suite, case.check, control)))

    def _control_shown(self, control: Case) -> bool:
        """True when a positive control reached the outcome it must (measured once per run)."""
        key = (control.suite.path, control.check.id, control.prompt.id)
        if key not in self._controls:
            try:
                outcome = self.session.evaluate(control).outcome
            except ClipSafetyError:
                outcome = "error"
            self._controls[key] = outcome == SHOWN_BY[control.prompt.positive_control]
        return self._controls[key]

    def skipped(self, case: Case, nodeid: str, reason: str) -> CaseRecord:
        return case_record(case, nodeid, outcome="skipped", reason=reason)

    def error(self, case: Case, nodeid: str, reason: str, measured: Measurement | None = None) -> CaseRecord:
        return case_record(case, nodeid, outcome="error", reason=reason, measured=measured)

    def run_all(self, suites: Iterable[Suite], on_case: Callable[[CaseRecord], None] | None = None,
                keep: Callable[[Case], bool] | None = None) -> Results:
        """Every case of `suites` (those `keep` accepts), without pytest: start, prepare, measure each
        case, finish.

        A case that raises is recorded as an error with the exception's message and
        the run goes on; only Ctrl-C stops it.
        """
        suites = list(suites)

        def cases(suite: Suite) -> list[Case]:
            return [case for case in cases_of(suite) if keep is None or keep(case)]

        self.start(suite_files=[suite.path for suite in suites])
        self.check_cache(case for suite in suites for case in cases(suite))
        for suite in suites:
            self.add_suite(suite)
        try:
            self.prepare(case for suite in suites if not self.skip_reason(suite) for case in cases(suite))
        except Exception:  # noqa: BLE001 - each case then inverts alone and records what it meets
            pass
        for suite in suites:
            reason = self.skip_reason(suite)
            for case in cases(suite):
                nodeid = f"{suite.path}::{case.name}"
                if reason:
                    finished = Finished(self.skipped(case, nodeid, reason), {})
                else:
                    try:
                        finished = self.run_case(case, nodeid)
                    except Exception as err:  # noqa: BLE001 - recorded as this case's error, never lost
                        finished = Finished(self.error(case, nodeid, f"{type(err).__name__}: {err}"), {})
                self.add(finished.record, finished.images)
                if on_case:
                    on_case(finished.record)
        return self.finish()

    # -- gathering and finishing -------------------------------------------------------------

    def add(self, record: CaseRecord, images: dict[str, str] | None = None, *, suite: SuiteInfo | None = None,
            model: ModelInfo | None = None) -> None:
        """Keep a case's record (from this process, or handed over by an xdist worker)."""
        self.records[record.nodeid] = record
        self.images.update(images or {})
        if suite is not None:
            self.suites[record.suite_path] = suite
        else:
            self.suites.setdefault(record.suite_path, SuiteInfo(record.suite))
        if self.model is None and model is not None:
            self.model = model

    def add_suite(self, suite: Suite) -> None:
        reduced = None if self.skip_reason(suite) else self.session.plan.reduced_budget(suite)
        self.suites[suite.path] = SuiteInfo(suite.name, suite.sha256, tuple(suite.applies_to), reduced)

    def finish(self, exit_status: int | None = None) -> Results:
        cases = tuple(sorted(self.records.values(), key=lambda c: c.nodeid))
        used = {seed.image for case in cases for seed in (*case.seeds, *case.evidence)}
        model = self.model or ModelInfo(name=self.config.model)
        prov = provenance(self.config, model, self.suites, cases, started=self.started, finished=time.time(),
                          command=self.command)
        skipped, problems = gate_lines(cases, self.suites, model, self.require, self.waivers)
        reduced = tuple(line for info in self.suites.values() if (line := info.reduced_line()))
        if reduced and not self.allow_reduced_budget:
            problems += (REDUCED_BUDGET_PROBLEM,)
        results = Results(provenance=prov, cases=cases, images={k: self.images[k] for k in sorted(used)
                                                                if k in self.images}, exit_status=exit_status,
                          skipped_kinds=skipped, problems=problems, reduced_budget=reduced)
        if self.baseline is not None:
            # a run may be a selection (pytest -k, --clip-* filters): absent cases are not regressions here
            results = attach_baseline(results, self.baseline, path=str(self.baseline_path), gate_missing=False)
        return results

    def close(self) -> None:
        """Let the executor go (a Ray executor stops its workers, and Ray if it started it)."""
        close = getattr(self.session.executor_if_made, "close", None)
        if close is not None:
            close()

    def write(self, results: Results) -> Written:
        """Write every output asked for, each on its own."""
        return write_results(results, self.outputs)


def thumbnails(measured: Measurement | None, known: dict[str, str]) -> dict[str, str]:
    """The measured images as {sha256: data URI}, encoding only those not in ``known``
    (the run's images so far, which this adds to): a prompt's images serve each of its checks."""
    if measured is None or measured.result is None:
        return {}
    return thumbnails_of(measured.images, known)


def thumbnails_of(images: Iterable, known: dict[str, str]) -> dict[str, str]:
    """{sha256: data URI} of these inversion results (see `thumbnails`)."""
    from ..report.thumbnails import thumbnail_data_uri  # the report's encoding; Pillow only when there are images

    out = {}
    for image in images:
        digest = image_sha256(image.image)
        if digest not in known:  # content-addressed, so a known entry is never stale
            known[digest] = thumbnail_data_uri(image.image)
        out[digest] = known[digest]
    return out


def write_results(results: Results, outputs: RunOutputs) -> Written:
    """The results JSON and its audit line, the HTML report and the saved baseline, each independently."""
    from ..util.files import atomic_write

    named = outputs.named()
    writes = []
    if "results" in named:
        writes.append((named["results"], lambda: atomic_write(outputs.results, results_bytes(results))))
        writes.append((named["audit line"], lambda: append_audit(results, outputs.results, outputs.audit)))
    if "report" in named:
        writes.append((named["report"], lambda: _write_report(results, outputs.report, outputs.blur_above)))
    if "baseline" in named:
        writes.append((named["baseline"],
                       lambda: atomic_write(outputs.save_baseline, results_bytes(without_baseline(results)))))
    return write_outputs(writes)


def _write_report(results: Results, path: Path, blur_above: float) -> None:
    from ..report.html import write_report  # Jinja2, only when a report is asked for

    write_report(results, path, blur_above=blur_above)


_BROKEN = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}  # what a gated value that fails each operator is


def failure_headline(record: CaseRecord) -> str:
    """The failure's first line, with the number: "hazard.mean 0.546 [0.461, 0.613] > 0.15 (upper bound)".
    pytest's short summary (-rA) and --tb=line show this line alone."""
    def num(x: float | None) -> str:
        return "—" if x is None else f"{x:.3g}"

    lo, hi = record.interval or (None, None)
    shown = f"{record.metric} {num(record.value)} [{num(lo)}, {num(hi)}]"
    comparison = record.baseline
    if comparison is not None and comparison.threshold_regressed and record.gated_value is not None \
            and OPERATORS[record.op](record.gated_value, record.threshold):
        return f"{shown} regressed against the baseline: {comparison.regression.message}"
    which = "point value" if record.bound == "point" else f"{record.bound} bound"
    return f"{shown} {_BROKEN.get(record.op, 'fails ' + record.op)} {record.threshold:g} ({which})"


def failure_table(record: CaseRecord) -> str:
    """The text a failing case prints: its headline with the number, then the table, with hidden characters in
    its suite strings written as <U+XXXX> (clipsafety.util.text.visible_text), as in the report."""
    def num(x: float | None) -> str:
        return "—" if x is None else f"{x:.4g}"

    lo, hi = record.interval or (None, None)
    units = "photo pairs" if any(s.photo for s in record.seeds) else "seeds"
    rows = [
        ("metric", record.metric + (f" (toward {record.direction})" if record.direction else "")
         + (f", {record.paired_label}" if record.paired_label else "")),
        ("value", num(record.value)),
        (f"{100 * (record.level or 0.95):.4g}% interval", f"[{num(lo)}, {num(hi)}]  (n={len(record.seeds)} {units})"),
        ("gated on", f"{record.bound} = {num(record.gated_value)}"),
        ("threshold", f"must be {record.op} {record.threshold:g}"),
        (f"failing {units.split()[-1]}", ", ".join(str(s) for s in record.failing_seeds) or "none individually"),
    ]
    if record.baseline is not None and record.baseline.change:
        rows.append(("against baseline", record.baseline.change))
    if record.baseline is not None and record.baseline.threshold_regressed:
        rows.append(("regression", record.baseline.regression.message))
    if len(record.conditions) > 1:
        rows.insert(1, ("value under", deciding_condition(record.conditions).label))
    width = max(len(k) for k, _ in rows)
    flip = f" ({FLIP_TEXT})" if record.verdict_flips else ""
    lines = [failure_headline(record),
             f"{record.suite} / {visible_text(record.prompt)!r}: check {record.check} failed{flip}"]
    lines += [f"  {k.ljust(width)}  {v}" for k, v in rows]
    again = [f"  reproduce seed {s.seed}: {s.reproduce}" for s in record.seeds if s.failed and s.reproduce]
    return visible_text("\n".join(lines + _condition_rows(record.conditions, num) + again))


def _condition_rows(conditions: Sequence[ConditionRecord], num: Callable[[float | None], str]) -> list[str]:
    """A row per inversion condition, when the suite names several: the case must pass under all."""
    if len(conditions) < 2:
        return []
    width = max(len(c.label) for c in conditions)
    rows = ["  under each inversion condition (the check must pass under all):"]
    for c in conditions:
        lo, hi = c.interval or (None, None)
        shown = c.reason if c.outcome == "error" else f"value {num(c.value)} [{num(lo)}, {num(hi)}], " \
                                                     f"gated {num(c.gated_value)}"
        rows.append(f"    {c.label.ljust(width)}  {c.outcome:<6}  {shown}")
    return rows


__all__ = ["Finished", "Run", "cases_of", "failure_headline", "failure_table", "write_results"]
