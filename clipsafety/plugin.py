"""pytest hooks only: collect suite files into cases, and hand the work to a Session.

    pytest --clip-model=toyclip-biased suites/

Each suite file (YAML with a top-level `clipsafety:` key) becomes one pytest
File; each prompt x check becomes one item. Under pytest-xdist the cases of a
suite stay on one worker (loadgroup), only the controller writes reports, and
results travel from workers on the test reports.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

import pytest

from .errors import ClipSafetyError
from .options import add_to_pytest
from .progress import ProgressLine

PLUGIN_NAME = "clipsafety-run"


def pytest_addoption(parser) -> None:
    add_to_pytest(parser)


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def _worker_count() -> int:
    return max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1))


@pytest.hookimpl(trylast=True)
def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "clipsafety: a clipsafety suite case")
    # Keep each suite's cases (and so its inversion batches) on one xdist worker.
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"
    if _is_worker(config):
        from .workers import pin_worker_gpu

        pin_worker_gpu(config.workerinput.get("workerid", ""), config.getoption("clip_device") or "auto")
    config.pluginmanager.register(ClipSafetyRun(config), PLUGIN_NAME)


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix in (".yaml", ".yml"):
        from .suite import is_suite_file

        if is_suite_file(file_path):
            return SuiteFile.from_parent(parent, path=file_path)
    return None


class SuiteFile(pytest.File):
    def collect(self):
        from .session import Case
        from .suite import load_suite

        try:
            suite = load_suite(self.path)
        except ClipSafetyError as err:
            raise self.CollectError(str(err)) from None
        rel = os.path.relpath(self.path, self.config.rootpath)
        suite = _with_path(suite, rel)
        for check in suite.checks:
            for prompt in suite.prompts_for(check):
                case = Case(suite, check, prompt)
                item = CheckItem.from_parent(self, name=case.name, case=case)
                item.add_marker(pytest.mark.clipsafety)
                item.add_marker(pytest.mark.xdist_group(suite.path))
                yield item


def _with_path(suite, path: str):
    import dataclasses

    return dataclasses.replace(suite, path=path)


class CheckFailed(Exception):
    """A check's threshold was not met; the message is the failure table."""


class CaseError(Exception):
    """A case could not be measured (bad probe settings, a NaN image, ...)."""


class CheckItem(pytest.Item):
    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case
        self.outcome = None

    def runtest(self) -> None:
        run: ClipSafetyRun = self.config.pluginmanager.get_plugin(PLUGIN_NAME)
        self.outcome = run.run_case(self)
        if self.outcome.outcome == "error":
            raise CaseError(self.outcome.reason)
        if self.outcome.outcome == "failed":
            raise CheckFailed(self.outcome.failure_table())

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, (CheckFailed, CaseError, ClipSafetyError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, self.case.check.line - 1 if self.case.check.line else None, self.name


class ClipSafetyRun:
    """Per-process state of a run: the session (lazily), and the results gathered."""

    def __init__(self, config):
        self.config = config
        self.started = time.time()
        self._session = None
        self._prepared: set[str] = set()
        self.records: dict[str, dict] = {}
        self.images: dict[str, str] = {}
        self.suites: dict[str, object] = {}
        self.model_info: dict | None = None
        self._progress_line: ProgressLine | None = None
        self._baseline: dict | None = None
        self._baseline_cases: dict[str, dict] = {}

    # -- the session ---------------------------------------------------------------

    @property
    def session(self):
        if self._session is None:
            from .session import RunConfig, Session

            self._set_threads()
            config = RunConfig.from_options(self.config.getoption)
            self._session = Session(config, progress=self._progress)
        return self._session

    def _set_threads(self) -> None:
        import torch

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        torch.set_num_threads(max(1, cores // _worker_count()))

    def _handle(self):
        try:
            return self.session.handle
        except ClipSafetyError as err:
            pytest.exit(f"clipsafety: {err}", returncode=pytest.ExitCode.USAGE_ERROR)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session) -> None:
        items = [i for i in session.items if isinstance(i, CheckItem)]
        if not items:
            return
        handle = self._handle()
        self.baseline  # a bad --clip-baseline stops the run before any inversion
        self.model_info = handle.describe()
        for item in items:
            self.suites[item.case.suite.path] = item.case.suite
        if _is_worker(self.config):
            return
        c = self.session.config
        runnable = {i.case.suite.path: i.case.suite for i in items if not self.session.skip_reason(i.case.suite)}
        profiles = sorted({self.session.profile_for(suite) for suite in runnable.values()}) or ["-"]
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            tr.write_line(
                f"clipsafety: model {handle.name} (pretrained: {handle.pretrained or '-'}), "
                f"fingerprint {handle.short_fingerprint}, device {handle.device} {handle.precision}"
            )
            tr.write_line(
                f"clipsafety: profile {', '.join(profiles)}, base seed {c.base_seed} (--clip-seed), "
                f"cache {c.cache_dir or 'off'}"
            )

    def pytest_report_header(self, config):
        return (
            f"clipsafety: model {config.getoption('clip_model') or 'toyclip-fair (default)'}, "
            f"base seed {config.getoption('clip_seed')}"
        )

    # -- running cases ---------------------------------------------------------------

    def run_case(self, item: CheckItem):
        session = self.session
        self._handle()
        reason = session.skip_reason(item.case.suite)
        if reason:
            pytest.skip(reason)
        group = item.case.suite.path if _worker_count() > 1 else "*"
        if group not in self._prepared:
            self._prepared.add(group)
            cases = [
                i.case for i in item.session.items
                if isinstance(i, CheckItem) and (group == "*" or i.case.suite.path == group)
                and not session.skip_reason(i.case.suite)
            ]
            try:
                session.prepare(cases)
            except ClipSafetyError as err:
                raise CaseError(str(err)) from None
            self._progress_done()
        outcome = session.evaluate(item.case)
        if self.baseline is not None and outcome.result is not None:
            self._compare_with_baseline(item, outcome)
        return outcome

    @property
    def baseline(self) -> dict | None:
        """The --clip-baseline results, read once; a bad file stops the run with one message."""
        path = self.config.getoption("clip_baseline")
        if not path:
            return None
        if self._baseline is None:
            from .baseline import load_baseline

            try:
                self._baseline = load_baseline(path)
            except ClipSafetyError as err:
                pytest.exit(f"clipsafety: --clip-baseline: {err}", returncode=pytest.ExitCode.USAGE_ERROR)
            self._baseline_cases = {c["nodeid"]: c for c in self._baseline.get("cases", [])}
        return self._baseline

    def _compare_with_baseline(self, item: CheckItem, outcome) -> None:
        from .baseline import compare_case
        from .results import case_record

        record = case_record(item.case, item.nodeid, outcome)
        outcome.baseline = compare_case(record, self._baseline_cases.get(item.nodeid))
        if (outcome.baseline.get("regression") or {}).get("passed") is False:
            outcome.outcome = "failed"

    def _progress(self, progress, label: str) -> None:
        """The live progress line on the terminal (not under xdist workers)."""
        if _is_worker(self.config):
            return
        if self._progress_line is None:
            tr = self.config.pluginmanager.get_plugin("terminalreporter")
            if tr is None:
                return
            self._progress_line = ProgressLine(self._write_terminal, isatty=bool(tr.isatty()))
        self._progress_line.update(progress, label)

    def _write_terminal(self, text: str) -> None:
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        if tr is None:
            return
        with capman.global_and_fixture_disabled() if capman else contextlib.nullcontext():
            if text.endswith("\n"):  # a whole log line: not glued to the file name pytest just wrote
                tr.ensure_newline()
            tr.write(text, flush=True)

    def _progress_done(self) -> None:
        if self._progress_line is not None:
            self._progress_line.finish()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if not isinstance(item, CheckItem) or report.when not in ("setup", "call"):
            return
        if report.when == "setup" and report.passed:
            return
        from .results import case_record, thumbnails

        status = None if report.when == "call" and not report.skipped else "skipped"
        if report.when == "setup" and report.failed:
            status = "error"
        reason = None
        if report.skipped and isinstance(report.longrepr, tuple):
            reason = report.longrepr[2].removeprefix("Skipped: ")
        record = case_record(item.case, item.nodeid, item.outcome, status=status, reason=reason)
        report.clipsafety = {"record": record, "images": thumbnails(item.outcome, self.images)}
        # JUnit XML reads the item's user_properties when the teardown report is logged.
        from .report.extras import junit_properties

        item.user_properties.extend((f"clipsafety.{k}", v) for k, v in junit_properties(record))
        self._add_html_extras(report, record, report.clipsafety["images"])

    def _add_html_extras(self, report, record: dict, images: dict) -> None:
        if not self.config.pluginmanager.hasplugin("html"):
            return
        from .report.extras import pytest_html_extras

        blur = self.config.getoption("clip_blur_above")
        report.extras = list(getattr(report, "extras", [])) + pytest_html_extras(record, images, blur_above=blur)

    def pytest_runtest_logreport(self, report) -> None:
        data = getattr(report, "clipsafety", None)
        if not data or _is_worker(self.config):
            return
        self.records[report.nodeid] = data["record"]
        self.images.update(data["images"])

    # -- writing results (controller only) -------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session, exitstatus) -> None:
        if _is_worker(self.config) or not self.records:
            return
        self._add_junit_properties()
        from .results import append_audit, build_results, provenance, write_json_atomic

        suites = self.suites.values() or []
        prov = provenance(self._session, suites, started=self.started, finished=time.time(),
                          command=" ".join(["pytest", *self.config.invocation_params.args]),
                          model_info=self.model_info)
        if not prov["suites"]:  # under xdist the controller collected nothing itself
            prov["suites"] = {r["suite_path"]: {"name": r["suite"], "sha256": None} for r in self.records.values()}
        results = build_results(prov, list(self.records.values()), self.images)
        self.outputs = []
        save_baseline = self.config.getoption("clip_save_baseline")
        if save_baseline:
            self.outputs.append(("baseline", write_json_atomic(results, save_baseline)))
        if self.baseline is not None:
            from .baseline import attach_baseline

            results = attach_baseline(results, self.baseline)
        json_path = self.config.getoption("clip_results")
        if json_path:
            self.outputs.append(("results", write_json_atomic(results, json_path)))
            append_audit(results, json_path, Path(json_path).with_name("audit.log"))
        html_path = self.config.getoption("clip_report")
        if html_path:
            from .report.html import write_report

            blur = self.config.getoption("clip_blur_above")
            self.outputs.append(("report", write_report(results, html_path, blur_above=blur)))
        self.summary = results["summary"]

    def _add_junit_properties(self) -> None:
        try:
            from _pytest.junitxml import xml_key
        except ImportError:  # pragma: no cover - pytest internals moved
            return
        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        info = self.model_info or {}
        for key in ("name", "pretrained", "fingerprint", "device", "precision"):
            xml.add_global_property(f"clipsafety.model.{key}", str(info.get(key)))
        xml.add_global_property("clipsafety.base_seed", str(self.config.getoption("clip_seed")))
        from . import __version__

        xml.add_global_property("clipsafety.version", __version__)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if _is_worker(self.config) or not self.records:
            return
        tr = terminalreporter
        s = self._session
        if s is not None:
            tr.write_line(
                f"clipsafety: {len(self.records)} cases; {s.inverted} images inverted in "
                f"{s.invert_seconds:.1f}s, {s.cache.hits} read from the cache"
                + (f"; {len(s.cache.corrupt)} corrupt cache entries recomputed" if s.cache.corrupt else "")
            )
        for label, path in getattr(self, "outputs", []):
            tr.write_line(f"clipsafety: {label} written to {path}")


def main() -> int:  # pragma: no cover - convenience for `python -m clipsafety.plugin`
    return pytest.main(sys.argv[1:])
