"""A run of suites against one model: plan, invert (cached, batched), measure, decide.

The run pipeline (clipsafety.pipeline) drives a `Session`:

    session = Session(RunConfig(model="toyclip-biased"))
    session.prepare(cases)               # invert everything the cases need, in shared batches
    measured = session.evaluate(case)    # probes + statistics -> Measurement

Seeds derive from the base seed and the prompt text, never from test order or
worker, so a case gives the same verdict alone, in a full run, or under xdist.
A suite that names inversion conditions has each case measured under every
condition (the same seeds, other settings; clipsafety.conditions decides).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Iterable

import numpy as np

from .cache import InversionCache, entry_key
from .conditions import condition_label, decide
from .errors import ClipSafetyError, InversionError
from .executors import Executor, LocalExecutor
from .invert import InversionResult, InversionSettings, Progress, get_settings
from .kinds import DEFAULT_PROFILE
from .models import UNREADABLE_FIX, ModelHandle, load_model
from .probes import Probe, ProbeContext, create_probe
from .probes.association import reference_text
from .stats import (DEFAULT_LEVEL, CheckResult, anchored, decidable, evaluate_check, fails_only_on_evidence,
                    family_level, family_tests)
from .suite import Check, Prompt, Suite

DEFAULT_SEEDS = 8


@dataclass(frozen=True)
class RunConfig:
    """Everything a run depends on besides the suites; built from the shared options."""

    model: str | None = None
    pretrained: str | None = None
    device: str = "auto"
    precision: str = "auto"
    base_seed: int = 0
    seeds: int | None = None  # overrides every suite's seed count
    profile: str | None = None  # overrides every suite's profile
    steps: int | None = None
    batch_size: int | None = None
    cache_dir: str | None = ".clipsafety-cache"  # None: in memory only
    level: float = DEFAULT_LEVEL  # two-sided confidence level of every check's interval
    familywise: str = "none"  # correction for the checks that fail only on evidence (stats.FAMILY_METHODS)

    @classmethod
    def from_options(cls, get: Callable[[str], Any]) -> "RunConfig":
        """`get(dest)` reads one option (pytest's config.getoption, or argparse's namespace)."""
        return cls(
            model=get("clip_model"),
            pretrained=get("clip_pretrained"),
            device=get("clip_device") or "auto",
            precision=get("clip_precision") or "auto",
            base_seed=int(get("clip_seed") or 0),
            seeds=get("clip_seeds"),
            profile=get("clip_profile"),
            steps=get("clip_steps"),
            batch_size=get("clip_batch_size"),
            cache_dir=None if get("clip_no_cache") else (get("clip_cache") or None),
            familywise=get("clip_familywise") or "none",
        )


@dataclass(frozen=True)
class Case:
    """One test case: a check of a suite applied to one prompt."""

    suite: Suite
    check: Check
    prompt: Prompt

    @property
    def name(self) -> str:
        return f"{self.check.id}[{self.prompt.id}]"


@dataclass(frozen=True)
class Measurement:
    """What measuring one case gave: the check decided on its seeds' images, or why it could not be."""

    profile: str
    settings_key: str
    result: CheckResult | None = None  # None when measuring failed (see error)
    images: tuple[InversionResult, ...] = ()  # one per seed, in the order of result.values
    error: str | None = None
    condition: Mapping[str, Any] = field(default_factory=dict)  # the settings this was measured under
    # When the suite names conditions: one measurement per condition, in the suite's order; this
    # measurement is then the deciding one's (clipsafety.conditions.decide).
    conditions: tuple[Measurement, ...] = ()


def derive_seed(base_seed: int, prompt_text: str, index: int) -> int:
    """A 31-bit seed from the base seed, the prompt and the seed's index."""
    digest = hashlib.sha256(f"{base_seed}\x00{prompt_text}\x00{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


class Session:
    """Plans, inverts (through an executor, into the cache) and measures the cases of one model."""

    def __init__(self, config: RunConfig, progress: Callable[[Progress, str], None] | None = None,
                 executor: Executor | None = None):
        self.config = config
        self.progress = progress
        self._executor = executor
        self.cache = InversionCache(config.cache_dir)
        self.inverted = 0  # images this session actually optimised (not from the cache)
        self.invert_seconds = 0.0
        self._probes: dict[str, Probe] = {}
        self._readouts: dict[tuple, tuple[np.ndarray, list[InversionResult]]] = {}
        self.family_size = 0  # the run's cases that fail only on evidence (set_family)

    # -- model and settings ------------------------------------------------------

    @cached_property
    def handle(self) -> ModelHandle:
        c = self.config
        return load_model(c.model, c.pretrained, device=c.device, precision=c.precision)

    @property
    def executor_if_made(self) -> Executor | None:
        return self._executor

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            self._executor = LocalExecutor(self.handle)
        return self._executor

    def profile_for(self, suite: Suite) -> str:
        return self.config.profile or suite.inversion.profile or DEFAULT_PROFILE[self.handle.kind]

    def settings_for(self, suite: Suite, condition: Mapping[str, Any] | None = None) -> InversionSettings:
        """The suite's settings under one of its conditions (None: its first, {} when it names none);
        --clip-steps and --clip-batch-size apply over every condition."""
        condition = suite.inversion.conditions[0] if condition is None else condition
        overrides = {**suite.inversion.overrides, **condition}
        if self.config.steps is not None:
            overrides["steps"] = self.config.steps
        if self.config.batch_size is not None:
            overrides["batch_size"] = self.config.batch_size
        try:
            return get_settings(self.profile_for(suite), **overrides)
        except ClipSafetyError as err:
            under = f"under the condition {condition_label(condition)}: " if condition else ""
            where = suite.where("inversion.conditions" if condition else "inversion")
            raise ClipSafetyError(under + err.message, where=where, fix=err.fix) from None

    def seed_count(self, suite: Suite) -> int:
        return self.config.seeds or suite.inversion.seeds or DEFAULT_SEEDS

    def seeds_for(self, suite: Suite, prompt_text: str) -> list[int]:
        return [derive_seed(self.config.base_seed, prompt_text, i) for i in range(self.seed_count(suite))]

    # -- verdicts that can mean something ------------------------------------------

    def set_family(self, cases: Iterable[Case]) -> None:
        """Count the run's cases that fail only on evidence: the family a correction spreads over."""
        self.family_size = sum(family_tests(len(c.suite.inversion.conditions)) for c in cases
                               if fails_only_on_evidence(c.check.op, c.check.bound))

    def level_for(self, check: Check) -> float:
        """The interval level a check is decided at: the run's, or the family-wise one."""
        if not fails_only_on_evidence(check.op, check.bound):
            return self.config.level  # a wider interval would make it fail more, not less
        return family_level(self.config.level, self.family_size, self.config.familywise)

    def undecidable(self, case: Case) -> str | None:
        """Why the case cannot reach a verdict, known before inverting: a text the model cannot
        read, or a seed count at which it cannot pass (or cannot fail); else None."""
        unread = self.unreadable_text(case)
        if unread:
            return unread
        n = self.seed_count(case.suite)
        why = decidable(case.check, n, case.suite.probes[case.check.probe].value_range,
                        level=self.level_for(case.check), paired=self.control_for(case) is not None)
        if why is None:
            return None
        return (f"this check cannot decide anything at {n} seeds, so it is neither passed nor failed: {why} "
                "(set inversion.seeds in the suite, or --clip-seeds)")

    def unreadable_text(self, case: Case) -> str | None:
        """Why the model cannot read the case's prompt, an anchor or the control, or None.

        A toy model reads a word outside its vocabulary as <unk>: the images would show what
        it makes of <unk>, and a verdict on them would be about nothing the suite names.
        """
        suite, spec = case.suite, case.suite.probes[case.check.probe]
        prompt_line = suite.at(case.prompt.line)  # the line is kept when the suite was read
        texts = [("prompt", case.prompt.text, prompt_line)]
        texts += [(f"anchor of probe {case.check.probe!r}", a, suite.where(f"probes.{case.check.probe}.anchors"))
                  for a in spec.anchors or ()]
        if spec.reads_anchor_images:
            reference = reference_text(spec.settings["reference"], spec.anchors)  # a midpoint reads as its anchors
            texts.append(("reference", reference, suite.where(f"probes.{case.check.probe}.reference")))
        control = self.control_for(case)
        if control is not None:
            texts.append(("control", control, prompt_line))
        for role, text, where in texts:
            why = self.handle.unreadable(text)
            if why:
                return str(ClipSafetyError(
                    f"{self.handle.name} cannot read the {role} {text!r}: {why}; a verdict on it would be about "
                    "something the suite does not name, so the check is neither passed nor failed",
                    where=where, fix=UNREADABLE_FIX))
        return None

    def skip_reason(self, suite: Suite) -> str | None:
        kind = self.handle.kind
        if kind not in suite.applies_to:
            return (
                f"suite {suite.name!r} applies to {', '.join(suite.applies_to)} models; "
                f"{self.handle.name} is a {kind} model"
            )
        return None

    # -- planning and inversion --------------------------------------------------

    def _planned(self, case: Case) -> list[tuple[str, list[int]]]:
        """(prompt, seeds) the case needs: its prompt and any anchors, each with its own seeds,
        and a paired check's control, with the prompt's seeds (pairs share a seed)."""
        spec = case.suite.probes[case.check.probe]
        if spec.reads_anchor_images:  # the prompt is read as text on the anchors' images, never inverted
            return [(anchor, self.seeds_for(case.suite, anchor)) for anchor in spec.anchors]
        texts = [case.prompt.text, *(spec.anchors or ())]
        planned = [(text, self.seeds_for(case.suite, text)) for text in texts]
        control = self.control_for(case)
        if control is not None:
            planned.append((control, planned[0][1]))
        return planned

    @staticmethod
    def control_for(case: Case) -> str | None:
        """The neutral control a paired check compares the prompt with, or None."""
        return case.prompt.control if case.check.paired else None

    def requests(self, cases: Iterable[Case]) -> dict[str, tuple[InversionSettings, list[tuple[str, int]]]]:
        """settings key -> (settings, unique (prompt, seed) pairs) for these cases."""
        plan: dict[str, tuple[InversionSettings, dict[tuple[str, int], None]]] = {}
        for case in cases:
            if self.undecidable(case):
                continue  # an error without images: nothing to invert for it
            planned = self._planned(case)
            for condition in case.suite.inversion.conditions:  # images are shared per settings key
                settings = self.settings_for(case.suite, condition)
                _, pairs = plan.setdefault(settings.key(), (settings, {}))
                for text, seeds in planned:
                    for seed in seeds:
                        pairs[(text, seed)] = None
        return {k: (s, list(p)) for k, (s, p) in plan.items()}

    def _keyed(self, cases: Iterable[Case]) -> list[tuple[InversionSettings, dict[str, tuple[str, int]]]]:
        """(settings, {cache key: (prompt, seed)}) for every image the cases need."""
        fingerprint, size = self.handle.fingerprint, self.handle.input_size
        return [
            (settings, {entry_key(fingerprint, p, s, settings, input_size=size): (p, s) for p, s in pairs})
            for settings, pairs in self.requests(cases).values()
        ]

    def check_cache(self, cases: Iterable[Case]) -> None:
        """Raise one ClipSafetyError now if the cache could not keep what these cases need.

        Cases whose settings are refused are left out: each is that case's own error later.
        """
        usable = []
        for case in cases:
            try:
                for condition in case.suite.inversion.conditions:
                    self.settings_for(case.suite, condition)
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
            self.executor.invert(list(todo.values()), settings, callback, store)
        finally:
            self.invert_seconds += time.perf_counter() - started

    def image_results(self, suite: Suite, prompt_text: str, seeds: list[int] | None = None,
                      condition: Mapping[str, Any] | None = None) -> list[InversionResult]:
        """One image per seed (default: the prompt's own seeds; a control takes its prompt's), inverted
        under `condition` (default: the suite's first)."""
        settings = self.settings_for(suite, condition)
        out = []
        for seed in self.seeds_for(suite, prompt_text) if seeds is None else seeds:
            key = entry_key(self.handle.fingerprint, prompt_text, seed, settings, input_size=self.handle.input_size)
            result = self.cache.get(key)
            if result is None:  # not planned (library use): invert now
                self._invert(settings, {key: (prompt_text, seed)})
                result = self.cache.get(key)
            out.append(result)
        failed = [r for r in out if not r.ok]
        if failed:
            raise InversionError(failed[0].error, where=suite.path)
        return out

    # -- measuring ---------------------------------------------------------------

    def probe(self, suite: Suite, key: str) -> Probe:
        spec = suite.probes[key]
        memo = json.dumps([spec.type, spec.settings], sort_keys=True, default=str)
        if memo not in self._probes:
            context = ProbeContext(handle=self.handle, load_model=self._load_judge, device=self.handle.device)
            try:
                self._probes[memo] = create_probe(spec.type, spec.settings, context)
            except ClipSafetyError as err:
                raise replace_where(err, suite.where(f"probes.{key}")) from None
        return self._probes[memo]

    def _load_judge(self, name: str, pretrained: str | None = None, **kwargs) -> ModelHandle:
        kwargs.setdefault("device", self.handle.device)
        kwargs.setdefault("precision", self.config.precision)
        return load_model(name, pretrained, **kwargs)

    def raw_values(self, suite: Suite, key: str, prompt_text: str, seeds: list[int] | None = None,
                   condition: Mapping[str, Any] | None = None) -> tuple[np.ndarray, list[InversionResult]]:
        """A probe's per-seed values for one prompt's images under `condition` (memoised)."""
        settings_key = self.settings_for(suite, condition).key()
        memo = (suite.path, key, prompt_text, settings_key, None if seeds is None else tuple(seeds))
        if memo not in self._readouts:
            results = self.image_results(suite, prompt_text, seeds, condition)
            images = np.stack([r.image for r in results])
            values = np.asarray(self.probe(suite, key).measure(images, [prompt_text] * len(results)), float)
            self._readouts[memo] = (values, results)
        return self._readouts[memo]

    def values(self, suite: Suite, key: str, prompt_text: str, seeds: list[int] | None = None,
               condition: Mapping[str, Any] | None = None) -> tuple[np.ndarray, list[InversionResult]]:
        """Per-seed values, placed between the anchors' readouts (same condition) when the probe is anchored."""
        spec = suite.probes[key]
        if spec.reads_anchor_images:
            return self.associated(suite, key, prompt_text, condition)
        values, results = self.raw_values(suite, key, prompt_text, seeds, condition)
        if spec.anchors:
            low, _ = self.raw_values(suite, key, spec.anchors[0], condition=condition)
            high, _ = self.raw_values(suite, key, spec.anchors[1], condition=condition)
            try:  # the separation floor is a share of the probe's own range, not the anchored one
                values = anchored(values, low, high, value_range=type(self.probe(suite, key)).value_range,
                                  seed=self.config.base_seed)
            except (ValueError, ClipSafetyError) as err:
                # anchors are optional on an image probe, so dropping them is a fix (not on text_association)
                raise anchors_error(suite, key, err,
                                    fix="choose anchors the model tells apart, or drop the anchors") from None
        return values, results

    def associated(self, suite: Suite, key: str, prompt_text: str, condition: Mapping[str, Any] | None = None
                   ) -> tuple[np.ndarray, list[InversionResult]]:
        """A text-association probe's per-seed values of a prompt, read on the anchors' images (same condition),
        with each seed's image of the anchor the prompt leans to (what the report shows)."""
        low_anchor, high_anchor = suite.probes[key].anchors
        low = self.image_results(suite, low_anchor, condition=condition)
        high = self.image_results(suite, high_anchor, condition=condition)
        try:
            values = self.probe(suite, key).associate(prompt_text, (low_anchor, high_anchor),
                                                      np.stack([r.image for r in low]),
                                                      np.stack([r.image for r in high]))
        except ClipSafetyError as err:
            raise anchors_error(suite, key, err) from None
        values = np.asarray(values, dtype=np.float64)
        return values, [h if v >= 0 else lo for v, lo, h in zip(values, low, high)]

    def evaluate(self, case: Case) -> Measurement:
        """Measure one case under each of its suite's conditions; it passes only if it passes under all."""
        why = self.undecidable(case)  # the same under every condition: it depends on the seed count only
        measured = [self._evaluate_under(case, condition, why) for condition in case.suite.inversion.conditions]
        return decide(measured) if case.suite.inversion.has_conditions else measured[0]

    def _evaluate_under(self, case: Case, condition: Mapping[str, Any], why: str | None) -> Measurement:
        """Measure one case under one condition: its probe over its seeds' images, then the check's statistics."""
        suite, check, prompt = case.suite, case.check, case.prompt
        settings = self.settings_for(suite, condition)
        base = dict(profile=self.profile_for(suite), settings_key=settings.key(), condition=condition)
        if why:
            return Measurement(**base, error=why)
        try:
            values, results = self.values(suite, check.probe, prompt.text, condition=condition)
            seeds = [r.seed for r in results]
            control = self.control_for(case)
            control_values = (None if control is None
                              else self.values(suite, check.probe, control, seeds, condition)[0])
            result = evaluate_check(
                check, values, seeds, seed=self.config.base_seed,
                value_range=suite.probes[check.probe].value_range, prompt_id=prompt.id,
                control=control_values, control_seeds=None if control is None else seeds,
                level=self.level_for(check),
            )
        except ClipSafetyError as err:
            return Measurement(**base, error=str(err))
        return Measurement(**base, result=result, images=tuple(results))


def anchors_error(suite: Suite, key: str, err: Exception, fix: str | None = None) -> ClipSafetyError:
    """A probe's failure to read its anchors, as one error naming the probe and pointing at its anchors' line;
    `fix` is said when the error carries none."""
    return ClipSafetyError(f"probe {key!r}: {getattr(err, 'message', err)}",
                           where=suite.where(f"probes.{key}.anchors"), fix=getattr(err, "fix", None) or fix)


def replace_where(err: ClipSafetyError, where: str) -> ClipSafetyError:
    return type(err)(err.message, where=err.where or where, fix=err.fix)


__all__ = ["Case", "Measurement", "RunConfig", "Session", "derive_seed"]
