"""The pytest side of a run: what the plugin's hooks delegate to.

One `PluginRun` per pytest process wraps one clipsafety.run.pipeline.Run and
adds only what pytest needs: the terminal (header, progress line, summary),
grouping cases into inversion batches, turning pytest's reports into records
(a skip, or an exception anywhere, is recorded as such: an error is never a
pass) and carrying records from xdist workers to the controller, which alone
writes the outputs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import types

import pytest

from ..util.errors import ClipSafetyError
from .outcomes import CaseError, CaseInconclusive, CheckFailed
from ..options import ResolvedOptions
from ..run.progress import ProgressLine
from ..results.record import CaseRecord, ModelInfo, SuiteInfo
from ..util.text import plural


def _worker_count() -> int:
    return max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1))


def _reason(excinfo) -> str:
    """An exception as a case's reason: our own messages as they are, anything else with its type."""
    err = excinfo.value
    if isinstance(err, (CaseError, CaseInconclusive, CheckFailed, ClipSafetyError)):
        return str(err)
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


class PluginRun:
    def __init__(self, config, options: ResolvedOptions):
        self.config = config
        self.options = options
        self.is_worker = hasattr(config, "workerinput")
        self._run = None
        self._prepared: set[str] = set()
        self._progress_line: ProgressLine | None = None
        self._live = False  # a rewritten progress line is open on the terminal
        self._resume = None  # the file whose line of dots the progress interrupted
        self._checked_outputs = False
        self.written = None
        self.results = None
        self._where: dict[str, tuple[str, int]] = {}  # node id -> (suite file, line of its check)
        self.problems: tuple[str, ...] = ()  # what fails a run that measured no case
        self.waivers = self._read_waivers()

    def _read_waivers(self):
        """The waivers file, read now: an option's file is checked whether or not a suite runs."""
        path = self.options.get("clip_waivers")
        if not path:
            return None
        from ..gate.waivers import load_waivers

        return load_waivers(path)

    @property
    def run(self):
        """The run (created on first use: it imports torch and the session code)."""
        if self._run is None:
            from ..options import build_run

            self._set_threads()
            command = " ".join(["pytest", *self.config.invocation_params.args])
            self._run = build_run(self.options, command=command, progress=self._progress)
            self._run.waivers = self.waivers
        return self._run

    def _set_threads(self) -> None:
        import torch

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        torch.set_num_threads(max(1, cores // _worker_count()))

    # -- before any work ---------------------------------------------------------------

    def collection_finished(self, items) -> None:
        """Check outputs, baseline, model and cache now, before any inversion; then say what will run."""
        if self.config.option.collectonly:  # nothing will run: load nothing, check nothing
            return
        try:
            self.run.start(check_outputs=not self.is_worker, suite_files={item.path for item in items})
            self.run.check_cache(item.case for item in items)
        except ClipSafetyError as err:
            raise pytest.UsageError(f"clipsafety: {err}") from None  # printed as pytest prints its own
        suites = {item.case.suite.path: item.case.suite for item in items}
        for suite in suites.values():
            self.run.add_suite(suite)
        if not self.is_worker:
            self._write_header(suites.values())
            self._write_reduced_budget()
            self._write_undecidable(items)

    def worker_collected(self, ids) -> None:
        """Under xdist the controller collects nothing itself: check outputs and baseline when a worker found cases."""
        from ..suite import is_suite_file

        files = {self.config.rootpath / i.split("::")[0] for i in ids}
        suite_files = {path for path in files if is_suite_file(path)}
        if self._checked_outputs or not suite_files:
            return
        self._checked_outputs = True
        try:  # the baseline too: the controller compares with it at the end
            self.run.start(check_outputs=True, load_model=False, suite_files=suite_files)
        except ClipSafetyError as err:
            pytest.exit(f"clipsafety: {err}", returncode=pytest.ExitCode.USAGE_ERROR)

    def header(self) -> str:
        from ..options import describe_sources

        return "clipsafety: " + ", ".join(describe_sources(self.options))

    @property
    def quiet(self) -> bool:
        """-q: the plugin says one line, at the end."""
        return self.config.get_verbosity() < 0

    def _write_header(self, suites) -> None:
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is None or self.quiet:
            return
        model, c = self.run.model, self.run.config
        tr.write_line(f"clipsafety: model {model.name} (pretrained: {model.pretrained_text}), "
                      f"fingerprint {(model.fingerprint or '')[:12]}, device {model.device} {model.precision}")
        tr.write_line(f"clipsafety: profile {', '.join(self.run.profiles(suites)) or '-'}, base seed {c.base_seed} "
                      f"(--clip-seed), cache {c.cache_dir or 'off'}")

    def _write_reduced_budget(self) -> None:
        """Say before any inversion which suites run below their own budget (said again at the end)."""
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        for info in self.run.suites.values() if tr is not None else ():
            if info.reduced_line():
                tr.write_line(f"clipsafety: {info.reduced_line()}", yellow=True)

    def _write_undecidable(self, items) -> None:
        """Name, before any inversion, the cases that cannot reach a verdict (each is an error): a text the
        model cannot read, or a seed count at which the check cannot pass or cannot fail."""
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        run = self.run
        found = [(item.nodeid, why) for item in items if not run.skip_reason(item.case.suite)
                 and (why := run.session.plan.undecidable(item.case))]
        if tr is None or not found or self.quiet:
            return
        tr.write_line(f"clipsafety: {plural(len(found), 'case')} cannot reach a verdict on this model; "
                      "they are reported as errors:", yellow=True)
        for nodeid, why in found:
            tr.write_line(f"  {nodeid}: {why}", yellow=True)

    # -- running cases -----------------------------------------------------------------

    def run_item(self, item) -> CaseRecord:
        """Measure and decide one case (skipped with the reason when its suite does not apply)."""
        run, case = self.run, item.case
        reason = run.skip_reason(case.suite)
        if reason:  # reported at the check's line in the suite file, not here
            raise pytest.skip.Exception(reason, _use_item_location=True)
        group = case.suite.path if _worker_count() > 1 else "*"
        if group not in self._prepared:
            self._prepared.add(group)
            run.prepare(i.case for i in item.session.items if hasattr(i, "case")
                        and (group == "*" or i.case.suite.path == group) and not run.skip_reason(i.case.suite))
            self._progress_done()
        finished = run.run_case(case, item.nodeid)
        item.images = finished.images
        return finished.record

    def made_report(self, item, call, report) -> None:
        """Turn pytest's report of a case into its record; a skip, or any exception, is recorded as such."""
        if report.when == "teardown" or (report.when == "setup" and report.passed):
            return
        record = item.record
        if report.skipped and hasattr(report, "wasxfail") and record is not None and record.outcome == "waived":
            pass  # a waived failure: pytest shows it as xfailed, the record keeps its values and waiver
        elif record is not None and record.outcome == "inconclusive" and report.when == "call" and (
                report.skipped or isinstance(getattr(call.excinfo, "value", None), CaseInconclusive)):
            pass  # decided inconclusive: pytest shows it as failed, or skipped when the user allows it
        elif report.skipped:
            reason = report.longrepr[2].removeprefix("Skipped: ") if isinstance(report.longrepr, tuple) else ""
            record = self.run.skipped(item.case, item.nodeid, reason)
        elif report.failed and (record is None or record.outcome == "passed" or report.when == "setup"
                                and record.outcome != "error"):
            # raised before or instead of deciding: an error, with the exception's message
            reason = report.longrepr if isinstance(report.longrepr, str) else \
                _reason(call.excinfo) if call.excinfo else "error"
            record = self.run.error(item.case, item.nodeid, reason)
        images = item.images if record is item.record else {}
        report.clipsafety = {"record": record.to_json(), "images": images,
                             "suite": self.run.suites.get(record.suite_path, SuiteInfo(record.suite)).to_json(),
                             "model": None if self.run.model is None else self.run.model.to_json(),
                             "where": list(item.location_in_suite())}
        from ..report.extras import junit_properties, pytest_html_extras

        # JUnit XML reads the item's user_properties when the teardown report is logged.
        item.user_properties.extend((f"clipsafety.{k}", v) for k, v in junit_properties(record))
        if self.config.pluginmanager.hasplugin("html"):
            blur = self.options.get("clip_blur_above")
            report.extras = [*getattr(report, "extras", []), *pytest_html_extras(record, images, blur_above=blur)]

    def received(self, payload: dict) -> None:
        """A case's record on the controller (from this process or an xdist worker)."""
        if self.is_worker:
            return
        path, line = payload["where"]
        self._where[payload["record"]["nodeid"]] = (str(path), int(line))
        self.run.add(CaseRecord.from_json(payload["record"]), payload["images"],
                     suite=SuiteInfo.from_json(payload["suite"]),
                     model=None if payload["model"] is None else ModelInfo.from_json(payload["model"]))

    # -- the terminal ------------------------------------------------------------------

    def _progress(self, progress, label: str) -> None:
        """The live progress line on the terminal (not under xdist workers)."""
        if self.is_worker:
            return
        if self._progress_line is None:
            tr = self.config.pluginmanager.get_plugin("terminalreporter")
            if tr is None or (self.quiet and not tr.isatty()):
                return
            self._progress_line = ProgressLine(self._write_terminal, isatty=bool(tr.isatty()))
        self._progress_line.update(progress, label)

    def _write_terminal(self, text: str) -> None:
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        if tr is None:
            return
        with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
            # a line of its own, never glued to (or rewriting) the file name and dots pytest just wrote;
            # pytest's line resumes when the progress is done
            starts_line = text.endswith("\n") and text != "\n" or text.startswith("\r") and not self._live
            if starts_line and tr.currentfspath:
                self._resume = self._resume or tr.currentfspath
                tr.ensure_newline()
            self._live = text.startswith("\r")
            tr.write(text, flush=True)

    def _progress_done(self) -> None:
        """End the progress and write pytest's file name again, so its dots go on a line that names the file."""
        if self._progress_line is not None:
            self._progress_line.finish()
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if self._resume is not None and tr is not None:
            from _pytest.pathlib import bestrelpath

            tr.write(bestrelpath(tr.startpath, self._resume) + " ", flush=True)
            tr.currentfspath = self._resume
        self._resume = None

    # -- the end (controller only) -------------------------------------------------------

    def finish(self, exitstatus: int) -> int:
        """Write the outputs; the exit status, made non-zero when an output could not be written."""
        if self._run is not None:
            self._run.close()
        if self.is_worker:
            return exitstatus
        if self._run is None or not self._run.records:
            return self._finish_without_cases(exitstatus)
        self._add_junit_properties()
        results = self.run.finish(int(exitstatus))
        if results.problems and exitstatus == pytest.ExitCode.OK:  # --clip-require, waivers: an error is no pass
            exitstatus = pytest.ExitCode.TESTS_FAILED
            results = dataclasses.replace(results, exit_status=int(exitstatus))
            self._count_in_summary_line("clipsafety gate failed")
        self.results = results
        self._add_html_environment(results)
        self.written = self.run.write(results)
        if self.written.failed and exitstatus == pytest.ExitCode.OK:
            return pytest.ExitCode.TESTS_FAILED
        return exitstatus

    def _add_html_environment(self, results) -> None:
        """pytest-html's environment table (pytest-metadata's dict, which it renders at the end): the model
        the run tested, its fingerprint and the inversion profiles."""
        try:
            from pytest_metadata.plugin import metadata_key
        except ImportError:
            return
        metadata = self.config.stash.get(metadata_key, None)
        if metadata is None:
            return
        model = results.provenance.model
        metadata["clipsafety model"] = model.name or "?"
        metadata["clipsafety pretrained"] = model.pretrained_text
        metadata["clipsafety fingerprint"] = model.fingerprint or "?"
        metadata["clipsafety profile"] = ", ".join(sorted({c.profile for c in results.cases if c.profile})) or "—"

    def _write_github(self, tr) -> None:
        """Under GitHub Actions: an annotation at the suite line of each check that did not pass, and the
        step summary's table of them."""
        from .github import FAILING, annotation, on_github_actions, step_summary, write_step_summary

        if not on_github_actions() or self.results is None:
            return
        records = self.results.cases
        for record in records:
            if record.outcome in FAILING:
                path, line = self._where.get(record.nodeid, (record.suite_path, 1))
                tr.write_line(annotation(record, path, line))
        report = dict(self.written.written).get("report") if self.written else None
        write_step_summary(step_summary(records, self._where, None if report is None else str(report)))

    def _finish_without_cases(self, exitstatus: int) -> int:
        """A run that measured no clipsafety case is still judged: a required kind has no verdict,
        and a waiver may have expired. Nothing is written: there are no results."""
        import datetime as dt

        from ..gate.coverage import require_problems

        problems = require_problems(self.options.get("clip_require") or (), (), "", "")
        if self.waivers is not None:
            problems += self.waivers.problems(dt.date.today(), (), ())
        self.problems = tuple(problems)
        if self.problems and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            self._count_in_summary_line("clipsafety gate failed")
            return pytest.ExitCode.TESTS_FAILED
        return exitstatus

    def _count_in_summary_line(self, label: str) -> None:
        """Put a run-level failure in pytest's last line ("5 passed, 1 clipsafety gate failed"), so it
        does not read as a clean pass; pytest counts an unknown key of its stats and colours the line.
        Other plugins read stats entries as reports, so the entry is an object, not a string."""
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.stats.setdefault(label, []).append(types.SimpleNamespace(message=label, count_towards_summary=True))

    def _add_junit_properties(self) -> None:
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        model = self.run.model or ModelInfo()
        info = {**model.to_json(), "pretrained": model.pretrained_text}
        for key in ("name", "pretrained", "fingerprint", "device", "precision"):
            xml.add_global_property(f"clipsafety.model.{key}", str(info.get(key)))
        xml.add_global_property("clipsafety.base_seed", str(self.run.config.base_seed))
        from .. import __version__

        xml.add_global_property("clipsafety.version", __version__)

    def _false_alarm_line(self) -> str:
        from ..run.records import false_alarm_budget, few_seed_checks
        from ..stats import FEW_SEEDS

        config = self._run.config
        m, level, points, expected = false_alarm_budget(config, self._run.records.values())
        few = few_seed_checks(self._run.records.values())
        gated_on_point = (f" and {plural(points, 'check')} gated on {'its' if points == 1 else 'their'} point "
                          "value (each at most half the time)" if points else "")
        return (f"clipsafety: {plural(m, 'check')} fail{'s' if m == 1 else ''} only on evidence, "
                f"each at {100 * level:.4g}% "
                f"(--clip-familywise={config.familywise}){gated_on_point}: up to {expected:.2g} false alarms "
                "expected on a fair model"
                + (f"; more for the {few} with fewer than {FEW_SEEDS} seeds, whose intervals are wrong several "
                   "times as often as their level says (use more seeds)" if few else ""))

    def _write_changes(self, tr) -> None:
        """The cases whose verdict changed against --clip-baseline, as `clipsafety compare` prints them."""
        from ..gate.compare import changes_table

        lines = changes_table(self.results) if self.results else []
        if lines:
            tr.write_sep("-", f"clipsafety: changes against the baseline ({self.results.regressions} regressions)")
        for line in lines:
            tr.write_line(line, red=line.startswith("REGRESSION"))

    def _one_line(self) -> str:
        """The whole summary in one line, for -q: cases, regressions, run-level problems, files written."""
        parts = [plural(len(self._run.records), "case")]
        if self.results is not None and self.results.baseline is not None:
            parts.append(f"{plural(self.results.regressions, 'regression')} against the baseline")
        parts += list(self.results.problems if self.results else ())
        parts += [f"{label} {path}" for label, path in (self.written.written if self.written else [])]
        parts += list(self.written.failed if self.written else [])
        return "clipsafety: " + "; ".join(parts)

    def summarize(self, tr) -> None:
        if self.is_worker:
            return
        for problem in self.problems:
            tr.write_line(f"clipsafety: {problem}", red=True)
        if self._run is None or not self._run.records:
            return
        s = self._run.session
        self._write_github(tr)
        if self.quiet:
            tr.write_line(self._one_line())
            return
        if s.loaded:  # this process inverted (not an xdist controller)
            tr.write_line(
                f"clipsafety: {plural(len(self._run.records), 'case')}; {plural(s.images.inverted, 'image')} inverted in "
                f"{s.images.invert_seconds:.1f}s, {s.cache.hits} read from the cache"
                + (f"; {plural(len(s.cache.corrupt), 'corrupt cache entry', 'corrupt cache entries')} recomputed" if s.cache.corrupt else ""))
        tr.write_line(self._false_alarm_line())
        self._write_changes(tr)
        for line in (*self.results.skipped_kinds, *self.results.reduced_budget) if self.results else ():
            tr.write_line(f"clipsafety: {line}", yellow=True)
        for problem in self.results.problems if self.results else ():
            tr.write_line(f"clipsafety: {problem}", red=True)
        for label, path in self.written.written if self.written else []:
            tr.write_line(f"clipsafety: {label} written to {path}")
        for problem in self.written.failed if self.written else []:
            tr.write_line(f"clipsafety: {problem}", red=True)
