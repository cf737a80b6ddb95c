"""Run suites without pytest: the library entry point (notebooks, scripts, the CLI).

    from clipsafety.run.runner import run_suites
    results = run_suites(["suites/"], RunConfig(model="toyclip-biased"))
    results.summary   # {"passed": .., "failed": .., "skipped": .., "error": ..}
    results.cases     # one clipsafety.results.record.CaseRecord per prompt x check

It goes through the same pipeline (clipsafety.run.pipeline.Run) as the pytest
plugin: the same cases, seeds, cache keys, records and baseline gate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from ..util.errors import ClipSafetyError
from .executors import Executor
from .case import cases_of
from .pipeline import Run
from ..results.record import CaseRecord, Results
from .session import RunConfig
from ..suite import is_suite_file, load_suite


def find_suite_files(paths: Iterable[str | Path]) -> list[Path]:
    """Suite files among `paths` (files, or folders searched recursively), sorted; at least one."""
    paths = [Path(p) for p in paths]
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += [p for p in sorted(path.rglob("*")) if is_suite_file(p)]  # the suffix in any case
        elif path.is_file():
            found.append(path)
        else:
            raise ClipSafetyError(f"no such file or folder: {path}", fix="give suite files or folders of them")
    if not found:
        raise ClipSafetyError(f"no suite files in {', '.join(map(str, paths))}",
                              fix="a suite is a YAML file whose first key is `clipsafety: 1`")
    return found


def run_suites(
    paths: Iterable[str | Path],
    config: RunConfig,
    *,
    baseline: str | None = None,
    progress: Callable | None = None,
    on_case: Callable[[CaseRecord], None] | None = None,
    executor: Executor | None = None,
) -> Results:
    """Run every case of the suites under `paths` (gated against `baseline`, a results file, when given).

    Writes nothing: `clipsafety run` writes the outputs (Run.write), the library caller decides.
    """
    run = Run(config, baseline=baseline, progress=progress, executor=executor)
    return run.run_all(load_suites(paths), on_case)


def load_suites(paths: Iterable[str | Path]) -> list:
    return [load_suite(p) for p in find_suite_files(paths)]


__all__ = ["cases_of", "find_suite_files", "load_suites", "run_suites"]
