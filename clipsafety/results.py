"""Building a run's records, and the results file on disk: one writer, one reader, the audit line.

The format (record.SCHEMA, described in README.md): provenance (model
fingerprint, versions, device, base seed, suite hashes, time, encoder passes),
a summary, one record per case (metric, interval, threshold, per-seed values,
image hashes, steps and passes) and the thumbnails keyed by image hash. Keys
are sorted and floats rounded, so two runs diff cleanly.
"""

from __future__ import annotations

import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from . import __version__
from .cache import image_sha256
from .conditions import ConditionRecord, condition_label, measured_outcome
from .limits import MAX_RESULTS_BYTES
from .record import CaseRecord, ModelInfo, Provenance, Results, ResultsError, SeedRecord, SuiteInfo
from .session import Case, Measurement, RunConfig
from .stats import (FEW_SEEDS, STATISTICS, expected_false_alarms, fails_only_on_evidence, family_level,
                    family_tests)

READ_FIX = "give a results file written by clipsafety (--clip-results or --clip-save-baseline)"


def _round(x: float | None, digits: int = 6) -> float | None:
    if x is None or not np.isfinite(x):
        return None
    return round(float(x), digits)


def case_record(case: Case, nodeid: str, *, outcome: str, reason: str | None = None,
                measured: Measurement | None = None, nsfw: list[float] | None = None) -> CaseRecord:
    """The one record of a case. `measured` is None for cases that never ran (skips, errors before measuring)."""
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
            SeedRecord(seed=image.seed, value=_round(value), similarity=_round(image.similarity),
                       image=image_sha256(image.image), failed=image.seed in failing,
                       nsfw=None if nsfw is None else _round(nsfw[i]), steps=image.steps, passes=image.passes,
                       control=None if control[i] is None else _round(control[i]))
            for i, (image, value) in enumerate(zip(measured.images, r.values)))
        fields.update(value=_round(r.value), interval=(_round(r.interval[0]), _round(r.interval[1])),
                      gated_value=_round(r.gated_value), direction=r.direction, seeds=seeds)
        fields.update(level=r.level)
    if check.paired and prompt.control is not None:
        fields.update(control=prompt.control)
    return CaseRecord(
        nodeid=nodeid, suite=suite.name, suite_path=suite.path, suite_description=suite.description,
        prompt_id=prompt.id, prompt=prompt.text, tags=tuple(prompt.tags), check=check.id, metric=check.metric,
        probe=check.probe, probe_type=spec.type, statistic=check.statistic, op=check.op,
        threshold=float(check.threshold), bound=check.bound, anchors=tuple(spec.anchors) if spec.anchors else None,
        max_rise=check.max_rise, max_drop=check.max_drop, outcome=outcome, reason=reason, **fields)


def _condition_record(measured: Measurement) -> ConditionRecord:
    """What one condition of a case gave (its images are the case's own when it decided the case)."""
    r = measured.result
    base = dict(label=condition_label(measured.condition), overrides=dict(measured.condition),
                settings_key=measured.settings_key, outcome=measured_outcome(measured),
                images={image_sha256(image.image): image.passes for image in measured.images})
    if r is None:
        return ConditionRecord(**base, reason=measured.error)
    return ConditionRecord(**base, value=_round(r.value),
                           interval=(_round(r.interval[0]), _round(r.interval[1])),
                           gated_value=_round(r.gated_value))


def encoder_passes(cases: Iterable[CaseRecord]) -> int:
    """Encoder passes that made the run's images, each image counted once however many checks read it
    (under inversion conditions, the images of every condition)."""
    cases = list(cases)
    passes = {seed.image: seed.passes for case in cases for seed in case.seeds}
    passes.update((sha, n) for case in cases for condition in case.conditions for sha, n in condition.images.items())
    return sum(passes.values())


def false_alarm_budget(config: RunConfig, cases: Iterable[CaseRecord]) -> tuple[int, float, float]:
    """(m, level, expected): the run's cases that fail only on evidence, the level each was decided at,
    and the most false alarms they are expected to raise on a fair model."""
    m = sum(family_tests(len(c.conditions)) for c in cases
            if c.outcome != "skipped" and fails_only_on_evidence(c.op, c.bound))
    level = family_level(config.level, m, config.familywise)
    return m, level, expected_false_alarms(m, level)


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
    family_size, _, expected = false_alarm_budget(config, cases)
    return Provenance(
        clipsafety=__version__, torch=torch.__version__, open_clip=getattr(open_clip, "__version__", "?"),
        python=platform.python_version(), model=model, base_seed=config.base_seed,
        seeds_override=config.seeds, profile_override=config.profile,
        started=datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
        finished=datetime.fromtimestamp(finished, timezone.utc).isoformat(timespec="seconds"),
        duration_s=round(finished - started, 2), command=command, suites=dict(suites),
        encoder_passes=encoder_passes(cases), familywise=config.familywise, family_size=family_size,
        expected_false_alarms=round(expected, 6), few_seed_checks=few_seed_checks(cases))


def results_bytes(results: Results) -> bytes:
    return (json.dumps(results.to_json(), indent=1, sort_keys=True) + "\n").encode("utf-8")


def read_results(path: str | Path) -> Results:
    """A results or baseline file, validated whole; any problem is one ResultsError naming the file and field."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ResultsError("cannot read results file: it is a folder", where=str(path), fix=READ_FIX)
        if size > MAX_RESULTS_BYTES:
            raise ResultsError(f"cannot read results file: {size:,} bytes is over the limit of "
                               f"{MAX_RESULTS_BYTES:,} (clipsafety.limits.MAX_RESULTS_BYTES)", where=str(path),
                               fix=READ_FIX)
        raw = path.read_bytes()
    except OSError as err:
        raise ResultsError(f"cannot read results file: {err.strerror or err}", where=str(path), fix=READ_FIX) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ResultsError(f"cannot read results file: not UTF-8 text (byte {raw[err.start]:#04x} on line {line})",
                           where=str(path), fix=READ_FIX) from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, ValueError, RecursionError) as err:
        problem = f"line {err.lineno} column {err.colno}: {err.msg}" if isinstance(err, json.JSONDecodeError) \
            else str(err) or "nested too deeply"
        raise ResultsError(f"cannot read results file: not JSON ({problem})", where=str(path), fix=READ_FIX) from None
    return Results.from_json(data, where=str(path))


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number clipsafety writes")


def audit_line(results: Results, results_path: str | Path | None) -> str:
    """One JSON line per run: when, which model, which suites, the verdict counts."""
    prov = results.provenance
    line = {
        "finished": prov.finished,
        "model": prov.model.name,
        "pretrained": prov.model.pretrained,
        "fingerprint": prov.model.fingerprint,
        "device": prov.model.device,
        "base_seed": prov.base_seed,
        "suites": {path: info.to_json() for path, info in prov.suites.items()},
        "summary": results.summary,
        "exit_status": results.exit_status,
        "results": str(results_path) if results_path else None,
        "command": prov.command,
        "argv": sys.argv[1:],
    }
    return json.dumps(line, sort_keys=True) + "\n"


def append_audit(results: Results, results_path: str | Path | None, audit_path: str | Path) -> Path:
    path = Path(audit_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:  # one small write: appends from concurrent runs stay whole
        handle.write(audit_line(results, results_path))
    return path
