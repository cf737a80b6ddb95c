"""pytest hooks only: collect suite files into cases; each hook hands its work to the run's PluginRun.

    pytest --clip-model=toyclip-biased suites/

Each suite file (YAML with a top-level `clipsafety:` key) becomes one pytest
File; each prompt x check becomes one item. Under pytest-xdist the cases of a
suite stay on one worker (loadgroup), only the controller writes reports, and
records travel from workers on the test reports.

In a run that does not use clipsafety (no `--clip-*` option or `clip_*` ini key,
no suite named or collected) the plugin changes nothing: not xdist's mode, not
the environment, and it imports no torch (see `used`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from ..util.errors import ClipSafetyError
from .outcomes import CaseError, CaseInconclusive, CheckFailed, failure_repr
from ..options import add_to_pytest, resolve_pytest
from .used import names_a_suite, options_given

_PLUGIN_RUN = pytest.StashKey["PluginRun"]()
_USED_FROM_START = pytest.StashKey[bool]()
_ACTING = pytest.StashKey[bool]()


def _plugin_run(config):
    return config.stash.get(_PLUGIN_RUN, None)


def pytest_addoption(parser) -> None:
    add_to_pytest(parser)


@pytest.hookimpl(trylast=True)
def pytest_configure(config) -> None:
    from .pytest_run import PluginRun

    config.addinivalue_line("markers", "clipsafety: a clipsafety suite case")
    try:
        options = resolve_pytest(config)
        plugin_run = PluginRun(config, options)  # reads the option files: checked whether or not a suite runs
    except ClipSafetyError as err:
        raise pytest.UsageError(f"clipsafety: {err}") from None
    config.stash[_PLUGIN_RUN] = plugin_run
    config.pluginmanager.register(_ReportReceiver(plugin_run), "clipsafety-reports")
    # xdist's mode and a worker's GPU must be settled before collection, so they follow the
    # options and arguments; a run without xdist has nothing to settle yet.
    if (_is_worker(config) or getattr(config.option, "dist", "no") == "load") and _used_from_start(config):
        _act(config)


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def _used_from_start(config) -> bool:
    """Whether the options or the collection arguments show that this run uses clipsafety."""
    if _USED_FROM_START not in config.stash:
        plugin_run = _plugin_run(config)
        config.stash[_USED_FROM_START] = plugin_run is not None and (
            options_given(plugin_run.options) or names_a_suite(config))
    return config.stash[_USED_FROM_START]


def _act(config) -> None:
    """Set up a run that uses clipsafety, once: under xdist the controller keeps each suite's cases
    (and so its inversion batches) on one worker, and each worker takes its own GPU."""
    if config.stash.get(_ACTING, False) or _plugin_run(config) is None:
        return
    config.stash[_ACTING] = True
    if not _is_worker(config):
        if getattr(config.option, "dist", "no") == "load":
            config.option.dist = "loadgroup"  # only items marked xdist_group (suite cases) are grouped
        return
    from .workers import pin_worker_gpu

    pin_worker_gpu(config.workerinput.get("workerid", ""), _plugin_run(config).options.get("clip_device") or "auto")


def pytest_collect_file(file_path: Path, parent):
    from ..suite import is_suite_file  # the one rule, as `clipsafety run` applies it (suffix in any case)

    if is_suite_file(file_path):
        _act(parent.config)  # a worker pins its GPU now, before any model is loaded
        return SuiteFile.from_parent(parent, path=file_path)
    return None


class SuiteFile(pytest.File):
    def collect(self):
        from ..run.session import Case
        from ..suite import load_suite

        try:
            suite = load_suite(self.path)
        except ClipSafetyError as err:
            raise self.CollectError(str(err)) from None
        suite = dataclasses.replace(suite, path=os.path.relpath(self.path, self.config.rootpath))
        for check in suite.checks:
            for prompt in suite.prompts_for(check):
                case = Case(suite, check, prompt)
                item = CheckItem.from_parent(self, name=case.name, case=case)
                item.add_marker(pytest.mark.clipsafety)
                item.add_marker(pytest.mark.xdist_group(suite.path))
                yield item


class CheckItem(pytest.Item):
    """One prompt x check. It is measured in setup, so a case that cannot be measured is an
    error (pytest's E, JUnit's <error>), and only a threshold that is not met is a failure."""

    def __init__(self, *, case, **kwargs):
        super().__init__(**kwargs)
        self.case = case
        self.record = None  # its clipsafety.results.record.CaseRecord, once measured
        self.images: dict[str, str] = {}  # its images' thumbnails, {sha256: data URI}

    def setup(self) -> None:
        self.record = _plugin_run(self.config).run_item(self)
        if self.record.outcome == "error":
            raise CaseError(self.record.reason)

    def runtest(self) -> None:
        from ..run.pipeline import failure_table

        if self.record.outcome == "failed":
            raise CheckFailed(failure_table(self.record))
        if self.record.outcome == "waived":  # shown like xfail, with the waiver's reason
            from ..gate.verdict import waiver_text

            pytest.xfail(waiver_text(self.record.waiver))
        if self.record.outcome == "inconclusive":  # a failure unless the user lets inconclusive checks through
            if _plugin_run(self.config).options.get("clip_allow_inconclusive"):
                pytest.skip(f"inconclusive: {self.record.reason}")
            raise CaseInconclusive(f"inconclusive: {self.record.reason}")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, (CheckFailed, CaseError, CaseInconclusive, ClipSafetyError)):
            path, line = self.location_in_suite()
            return failure_repr(excinfo.value, path, line, style or self.config.getoption("tbstyle", "auto"))
        return super().repr_failure(excinfo, style)

    def location_in_suite(self) -> tuple[str, int]:
        """The suite file and the line of the check (1-based), as editors and CI annotations read them."""
        path, line, _ = self.reportinfo()
        return os.path.relpath(path, self.config.rootpath), (line or 0) + 1

    def reportinfo(self):
        return self.path, self.case.check.line - 1 if self.case.check.line else None, self.name


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session) -> None:
    items = [item for item in session.items if isinstance(item, CheckItem)]
    if items and _plugin_run(session.config) is not None:
        _plugin_run(session.config).collection_finished(items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids) -> None:
    if _plugin_run(node.config) is not None:
        _plugin_run(node.config).worker_collected(ids)


def pytest_report_header(config):
    if _plugin_run(config) is not None and _used_from_start(config):
        return _plugin_run(config).header()
    return None


@pytest.hookimpl(hookwrapper=True, tryfirst=True)  # outermost: it sees the report every other plugin made
def pytest_runtest_makereport(item, call):
    outcome = yield
    if not isinstance(item, CheckItem):
        return
    report = outcome.get_result()
    _decided_by_clipsafety(item, call, report)
    if call.when == "setup" and call.excinfo is not None and call.excinfo.errisinstance(CaseError):
        # pytest formats a setup error with the full traceback, not repr_failure: the reason is the message
        path, line = item.location_in_suite()
        report.longrepr = failure_repr(call.excinfo.value, path, line, item.config.getoption("tbstyle", "auto"))
    if _plugin_run(item.config) is not None:
        _plugin_run(item.config).made_report(item, call, report)


NOT_RUN_BY_XFAIL = ("not measured: another plugin or a conftest marked this clipsafety case xfail(run=False); "
                    "a clipsafety case is decided by clipsafety, and only a clipsafety waiver waives it\n"
                    "  fix: remove the xfail marker from the suite's cases, or write a waiver (--clip-waivers)")


def _decided_by_clipsafety(item, call, report) -> None:
    """Undo what another plugin's xfail made of a case's report: a failure stays a failure, a pass a
    pass, and a case that xfail(run=False) kept from running is an error. Only a clipsafety waiver
    (a record whose outcome is "waived") is shown as xfailed."""
    if item.record is not None and item.record.outcome == "waived":
        return
    foreign = hasattr(report, "wasxfail") or str(report.longrepr or "").startswith("[XPASS(strict)]")
    if not foreign:
        return
    if hasattr(report, "wasxfail"):
        del report.wasxfail
    if call.when == "call" and item.record is not None:
        failed = item.record.outcome == "failed"
        report.outcome = "failed" if failed else "passed"
        report.longrepr = item.repr_failure(call.excinfo) if failed and call.excinfo else None
    elif item.record is None:
        report.outcome, report.longrepr = "failed", NOT_RUN_BY_XFAIL
    else:  # a setup error (a case that could not be measured) stays an error
        report.outcome, report.longrepr = "failed", str(call.excinfo.value) if call.excinfo else report.longrepr


class _ReportReceiver:
    """Records reach the controller on logreport, a hook that names no config: one receiver per run."""

    def __init__(self, plugin_run):
        self.plugin_run = plugin_run

    def pytest_runtest_logreport(self, report) -> None:
        payload = getattr(report, "clipsafety", None)
        if payload:
            self.plugin_run.received(payload)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus) -> None:
    if _plugin_run(session.config) is not None:
        session.exitstatus = _plugin_run(session.config).finish(exitstatus)


def pytest_terminal_summary(terminalreporter) -> None:
    if _plugin_run(terminalreporter.config) is not None:
        _plugin_run(terminalreporter.config).summarize(terminalreporter)
