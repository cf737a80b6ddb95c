"""Run suites without pytest: the library entry point (notebooks, scripts, the CLI).

    from clipsafety.runner import run_suites
    results = run_suites(["suites/"], RunConfig(model="toyclip-biased"))
    results["summary"]   # {"passed": .., "failed": .., "skipped": .., "error": ..}

It builds the same cases, seeds, cache keys and records as the pytest plugin.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterable

from .results import build_results, case_record, provenance, thumbnails
from .session import Case, RunConfig, Session
from .suite import Suite, is_suite_file, load_suite


def find_suite_files(paths: Iterable[str | Path]) -> list[Path]:
    """Suite files among `paths` (files, or folders searched recursively), sorted."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += [p for p in sorted(path.rglob("*.y*ml")) if is_suite_file(p)]
        elif path.is_file():
            found.append(path)
        else:
            from .errors import ClipSafetyError

            raise ClipSafetyError(f"no such file or folder: {path}", fix="give suite files or folders of them")
    return found


def cases_of(suite: Suite) -> list[Case]:
    return [Case(suite, check, prompt) for check in suite.checks for prompt in suite.prompts_for(check)]


def run_suites(
    paths: Iterable[str | Path],
    config: RunConfig,
    *,
    progress: Callable | None = None,
    on_case: Callable[[dict], None] | None = None,
    session: Session | None = None,
) -> dict:
    """Run every case of the suites under `paths`; returns the results dict (results.FORMAT)."""
    started = time.time()
    session = session or Session(config, progress=progress)
    suites = [load_suite(p) for p in find_suite_files(paths)]
    handle = session.handle
    records, images = [], {}
    runnable = [c for s in suites if not session.skip_reason(s) for c in cases_of(s)]
    session.prepare(runnable)
    for suite in suites:
        reason = session.skip_reason(suite)
        for case in cases_of(suite):
            nodeid = f"{suite.path}::{case.name}"
            if reason:
                record = case_record(case, nodeid, None, status="skipped", reason=reason)
            else:
                outcome = session.evaluate(case)
                record = case_record(case, nodeid, outcome)
                thumbnails(outcome, images)
            records.append(record)
            if on_case:
                on_case(record)
    prov = provenance(session, suites, started=started, finished=time.time(),
                      command="clipsafety run", model_info=handle.describe())
    return build_results(prov, records, images)
