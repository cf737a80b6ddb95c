"""One model's run, in its stages: plan (settings, seeds, what to invert), images (invert into the cache),
measure (probes and statistics).

    session = Session(RunConfig(model="toyclip-biased"))
    session.prepare(cases)               # invert everything the cases need, in shared batches
    measured = session.evaluate(case)    # probes + statistics -> Measurement

The pipeline (clipsafety.run.pipeline) decides and records each case from its Measurement.
"""

from __future__ import annotations

from functools import cached_property
from typing import Callable

from ..cache import InversionCache
from ..invert import Progress
from ..models import ModelHandle, load_model
from .case import Case, Measurement, RunConfig
from .executors import Executor, LocalExecutor
from .images import Images
from .measure import Measure
from .plan import Plan


class Session:
    """The stages of one model's run, sharing its model handle (loaded on first need), cache and executor."""

    def __init__(self, config: RunConfig, progress: Callable[[Progress, str], None] | None = None,
                 executor: Executor | None = None):
        self.config = config
        self._executor = executor
        self.cache = InversionCache(config.cache_dir)
        self.plan = Plan(config, lambda: self.handle)
        self.images = Images(self.plan, self.cache, lambda: self.executor, progress)
        self.measure = Measure(self.plan, self.images, load_model)

    @cached_property
    def handle(self) -> ModelHandle:
        c = self.config
        return load_model(c.model, c.pretrained, device=c.device, precision=c.precision)

    @property
    def loaded(self) -> bool:
        """True once this process loaded the model (an xdist controller never does)."""
        return "handle" in self.__dict__

    @property
    def executor_if_made(self) -> Executor | None:
        return self._executor

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            self._executor = LocalExecutor(self.handle)
        return self._executor

    # The stages' entry points, as the pipeline, the bench scripts and library callers use them.

    def prepare(self, cases) -> None:
        self.images.prepare(cases)

    def evaluate(self, case: Case) -> Measurement:
        return self.measure.evaluate(case)


__all__ = ["Session"]
