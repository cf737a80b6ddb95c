"""The run's images: inverted through an executor in shared batches, kept in the content-addressed cache.

Every finished batch is stored at once, so an interrupted run keeps it; another worker that holds a
key's lock is waited for rather than duplicated.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Callable, Iterable

from ..cache import InversionCache, entry_key
from ..invert import InversionResult, InversionSettings, Progress
from ..suite import Suite
from ..util.errors import ClipSafetyError, InversionError
from .case import Case
from .executors import Executor
from .plan import Plan


class Images:
    """Inverts what a plan asks for (through `executor()`, made on first need) into the cache."""

    def __init__(self, plan: Plan, cache: InversionCache, executor: Callable[[], Executor],
                 progress: Callable[[Progress, str], None] | None = None):
        self.plan = plan
        self.cache = cache
        self._executor = executor
        self.progress = progress
        self.inverted = 0  # images this run actually optimised (not from the cache)
        self.invert_seconds = 0.0

    def key(self, settings: InversionSettings, text: str, seed: int) -> str:
        handle = self.plan.handle
        return entry_key(handle.fingerprint, text, seed, settings, input_size=handle.input_size,
                         compute=handle.compute)

    def _keyed(self, cases: Iterable[Case]) -> list[tuple[InversionSettings, dict[str, tuple[str, int]]]]:
        """(settings, {cache key: (prompt, seed)}) for every image the cases need."""
        return [(settings, {self.key(settings, p, s): (p, s) for p, s in pairs})
                for settings, pairs in self.plan.requests(cases).values()]

    def check_cache(self, cases: Iterable[Case]) -> None:
        """Raise one ClipSafetyError now if the cache could not keep what these cases need.

        Cases whose settings are refused are left out: each is that case's own error later.
        """
        usable = []
        for case in cases:
            try:
                for condition in case.suite.inversion.conditions:
                    self.plan.settings_for(case.suite, condition)
            except ClipSafetyError:
                continue
            usable.append(case)
        self.cache.check_usable([key for _, keyed in self._keyed(usable) for key in keyed])

    def prepare(self, cases: Iterable[Case]) -> None:
        """Invert every image the cases need that the cache lacks, in shared batches."""
        groups = self._keyed(cases)
        self.cache.check_usable([key for _, keyed in groups for key in keyed])  # fail before inverting
        for settings, keyed in groups:
            missing = {k: v for k, v in keyed.items() if self.cache.get(k) is None}
            if not missing:
                continue
            with self.cache.locked(missing):
                # another worker may have finished some while we waited for the locks
                todo = {k: v for k, v in missing.items() if self.cache.get(k) is None}
                if todo:
                    self._invert(settings, todo)

    def _invert(self, settings: InversionSettings, todo: dict[str, tuple[str, int]]) -> None:
        label = f"inverting {len(todo)} images ({settings.steps} steps)"
        callback = (lambda p: self.progress(p, label)) if self.progress else None
        keys = iter(list(todo))

        def store(batch: list[InversionResult]) -> None:  # after each batch: Ctrl-C loses at most one
            for result in batch:
                key = next(keys)
                self.inverted += 1
                if result.ok:
                    self.cache.put(key, result)
                else:
                    self.cache.memory[key] = result  # keep the error for this run only

        started = time.perf_counter()
        try:
            self._executor().invert(list(todo.values()), settings, callback, store)
        finally:
            self.invert_seconds += time.perf_counter() - started

    def results(self, suite: Suite, prompt_text: str, seeds: list[int] | None = None,
                condition: Mapping[str, Any] | None = None) -> list[InversionResult]:
        """One image per seed (default: the prompt's own seeds; a control takes its prompt's), inverted
        under `condition` (default: the suite's first)."""
        settings = self.plan.settings_for(suite, condition)
        out = []
        for seed in self.plan.seeds_for(suite, prompt_text) if seeds is None else seeds:
            key = self.key(settings, prompt_text, seed)
            result = self.cache.get(key)
            if result is None:  # not planned (library use): invert now
                self._invert(settings, {key: (prompt_text, seed)})
                result = self.cache.get(key)
            out.append(result)
        failed = [r for r in out if not r.ok]
        if failed:
            raise InversionError(failed[0].error, where=suite.path)
        return out


__all__ = ["Images"]
