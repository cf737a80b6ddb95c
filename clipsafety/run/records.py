"""Building a run's records: one typed record per case, built once from its measurement, and the run's
provenance (model, versions, seeds, suites, time, encoder passes, the false-alarm budget)."""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from typing import Any, Iterable, NamedTuple

import numpy as np

from .. import __version__
from ..cache import image_sha256
from ..results.conditions import ConditionRecord
from ..results.files import encoder_passes
from ..results.record import CaseRecord, ModelInfo, Provenance, SeedRecord, SuiteInfo
from ..stats import (FEW_SEEDS, STATISTICS, expected_false_alarms, fails_only_on_evidence, family_level,
                    family_tests, point_gated)
from ..suite import condition_label
from .case import Case, Measurement, RunConfig
from .reproduce import command_for


def _round(x: float | None, digits: int = 6) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), digits)


def case_record(case: Case, nodeid: str, *, outcome: str, reason: str | None = None,
                measured: Measurement | None = None, nsfw: list[float] | None = None,
                config: RunConfig | None = None, evidence: tuple[SeedRecord, ...] = ()) -> CaseRecord:
    """The one record of a case. `measured` is None for cases that never ran (skips, errors before measuring);
    with the run's `config`, each seed carries the command that regenerates its image."""
    suite, check, prompt = case.suite, case.check, case.prompt
    spec = suite.probes[check.probe]
    fields: dict[str, Any] = {}
    if measured is not None:
        fields.update(profile=measured.profile, settings_key=measured.settings_key,
                      conditions=tuple(_condition_record(m) for m in measured.conditions))
    if measured is not None and measured.result is not None:
        r = measured.result
        failing = set(r.failing_seeds)
        control = r.control_values or [None] * len(r.values)
        seeds = tuple(
            _image_seed(image, config, measured.profile, value=_round(value), failed=image.seed in failing,
                        nsfw=None if nsfw is None else _round(nsfw[i]),
                        control=None if control[i] is None else _round(control[i]))
            for i, (image, value) in enumerate(zip(measured.images, r.values)))
        fields.update(value=_round(r.value), interval=(_round(r.interval[0]), _round(r.interval[1])),
                      gated_value=_round(r.gated_value), direction=r.direction, seeds=seeds)
        fields.update(level=r.level, power=r.power, seeds_for_power=r.seeds_for_power, photo_set=measured.photo_set)
    if check.paired and prompt.control is not None:
        fields.update(control=prompt.control)
    if prompt.positive_control:
        fields.update(positive_control=prompt.positive_control)
    if check.detects is not None:
        fields.update(detects=check.detects)
    if evidence:
        fields.update(evidence=evidence)
    return CaseRecord(
        nodeid=nodeid, suite=suite.name, suite_path=suite.path, suite_description=suite.description,
        prompt_id=prompt.id, prompt=prompt.text, tags=tuple(prompt.tags), check=check.id, metric=check.metric,
        probe=check.probe, probe_type=spec.type, statistic=check.statistic, op=check.op,
        threshold=float(check.threshold), bound=check.bound, anchors=tuple(spec.anchors) if spec.anchors else None,
        max_rise=check.max_rise, max_drop=check.max_drop, outcome=outcome, reason=reason, **fields)


def evidence_records(images: Iterable, config: RunConfig | None, profile: str) -> tuple[SeedRecord, ...]:
    """The prompt's own inversions as seed records without a value: shown as evidence, never gated."""
    return tuple(_image_seed(image, config, profile, value=None, failed=False) for image in images)


def _image_seed(image, config: RunConfig | None, profile: str, **read: Any) -> SeedRecord:
    """One image's seed record: what the image is (seed, hash, similarity, cost, how to regenerate it) and
    what a check `read` from it (value, failed, nsfw, control). A photo (settings None: never inverted) names
    its file instead of a command."""
    photo = image.prompt if image.settings is None else None
    return SeedRecord(seed=image.seed, similarity=_round(image.similarity), image=image_sha256(image.image),
                      steps=image.steps, passes=image.passes, photo=photo,
                      reproduce=None if config is None else command_for(config, profile, image), **read)


def _condition_record(measured: Measurement) -> ConditionRecord:
    """What one condition of a case gave (its images are the case's own when it decided the case)."""
    r = measured.result
    base = dict(label=condition_label(measured.condition), overrides=dict(measured.condition),
                settings_key=measured.settings_key, outcome=measured.outcome,
                images={image_sha256(image.image): image.passes for image in measured.images})
    if r is None:
        return ConditionRecord(**base, reason=measured.error)
    return ConditionRecord(**base, value=_round(r.value),
                           interval=(_round(r.interval[0]), _round(r.interval[1])),
                           gated_value=_round(r.gated_value))


class FalseAlarmBudget(NamedTuple):
    """The run's false alarms on a fair model: m tests that fail only on evidence, each decided at `level`,
    `points` point-gated tests (each fails a fair model at most half the time), and the most false
    alarms expected from both."""

    m: int
    level: float
    points: int
    expected: float


def false_alarm_budget(config: RunConfig, cases: Iterable[CaseRecord]) -> FalseAlarmBudget:
    """The run's false-alarm budget over the cases that were decided (skips raise none)."""
    cases = [c for c in cases if c.outcome != "skipped"]
    m = sum(family_tests(len(c.conditions)) for c in cases if fails_only_on_evidence(c.op, c.bound))
    points = sum(family_tests(len(c.conditions)) for c in cases if point_gated(c.bound))
    level = family_level(config.level, m, config.familywise)
    return FalseAlarmBudget(m, level, points, expected_false_alarms(m, level, points))


def few_seed_checks(cases: Iterable[CaseRecord]) -> int:
    """The tests (cases, times their inversion conditions, as the family counts them) that fail only on
    evidence of a bootstrap interval over fewer than FEW_SEEDS seeds: their chance of a false alarm is
    several times what the expected figure counts."""
    return sum(family_tests(len(c.conditions)) for c in cases
               if c.seeds and len(c.seeds) < FEW_SEEDS and fails_only_on_evidence(c.op, c.bound)
               and STATISTICS[c.statistic].interval_method == "bootstrap")


def provenance(config: RunConfig, model: ModelInfo, suites: dict[str, SuiteInfo], cases: Iterable[CaseRecord], *,
               started: float, finished: float, command: str) -> Provenance:
    import open_clip
    import torch

    cases = list(cases)
    budget = false_alarm_budget(config, cases)
    return Provenance(
        clipsafety=__version__, torch=torch.__version__, open_clip=getattr(open_clip, "__version__", "?"),
        python=platform.python_version(), model=model, base_seed=config.base_seed,
        seeds_override=config.seeds, profile_override=config.profile,
        started=datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        finished=datetime.fromtimestamp(finished, timezone.utc).isoformat(timespec="seconds"),
        duration_s=round(finished - started, 2), command=command, suites=dict(suites),
        encoder_passes=encoder_passes(cases), familywise=config.familywise, family_size=budget.m,
        point_gated_checks=budget.points, expected_false_alarms=round(budget.expected, 6),
        few_seed_checks=few_seed_checks(cases))



__all__ = ["FalseAlarmBudget", "case_record", "false_alarm_budget", "few_seed_checks", "provenance"]
