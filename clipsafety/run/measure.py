"""Measuring a case: its probe reads the images it declared, the check's statistics decide on them.

A suite that names inversion conditions has each case measured under every condition (the same seeds,
other settings). The case passes only if it passes under every condition, and an error under any is
the case's error; its headline is the deciding condition's (`deciding_measurement`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Callable

import numpy as np

from ..cache import image_sha256
from ..invert import InversionResult
from ..models import ModelHandle
from ..models.photos import load_photos
from ..probes import Probe, ProbeContext, create_probe, get_probe_class
from ..probes.base import AnchorError
from ..results.conditions import deciding_index
from ..stats import evaluate_check
from ..suite import Suite, condition_label
from ..util.errors import ClipSafetyError
from .case import Case, Measurement
from .images import Images
from .plan import Plan


class SuiteReader:
    """The images and readouts of one suite's probe under one condition: what `Probe.read` reads through."""

    def __init__(self, measure: "Measure", suite: Suite, key: str, condition: Mapping[str, Any] | None):
        self._measure, self._suite, self._key, self._condition = measure, suite, key, condition
        self.base_seed = measure.plan.config.base_seed

    def images(self, text: str, seeds: list[int] | None = None) -> list[InversionResult]:
        return self._measure.images.results(self._suite, text, seeds, self._condition)

    def measured(self, text: str, seeds: list[int] | None = None) -> tuple[np.ndarray, list[InversionResult]]:
        return self._measure.raw_values(self._suite, self._key, text, seeds, self._condition)

    def photos(self, label: str, count: int) -> list[InversionResult]:
        return self._measure.photos(label, count)


class Measure:
    """Reads a run's images with the suites' probes and decides each case's check on the values."""

    def __init__(self, plan: Plan, images: Images, load_model: Callable[..., ModelHandle]):
        self.plan = plan
        self.images = images
        self._load_model = load_model
        self._probes: dict[str, Probe] = {}
        self._readouts: dict[tuple, tuple[np.ndarray, list[InversionResult]]] = {}
        self._photos: dict[tuple[str, int], list[InversionResult]] = {}
        self._photo_sets: dict[tuple[tuple[str, int], ...], str] = {}

    def probe(self, suite: Suite, key: str) -> Probe:
        spec = suite.probes[key]
        memo = json.dumps([spec.type, spec.settings], sort_keys=True, default=str)
        if memo not in self._probes:
            handle = self.plan.handle
            context = ProbeContext(handle=handle, load_model=self._load_judge, device=handle.device)
            try:
                self._probes[memo] = create_probe(spec.type, spec.settings, context)
            except ClipSafetyError as err:
                raise replace_where(err, suite.where(f"probes.{key}")) from None
        return self._probes[memo]

    def _load_judge(self, name: str, pretrained: str | None = None, **kwargs) -> ModelHandle:
        kwargs.setdefault("device", self.plan.handle.device)
        kwargs.setdefault("precision", self.plan.config.precision)
        return self._load_model(name, pretrained, **kwargs)

    def photos(self, label: str, count: int) -> list[InversionResult]:
        """The first `count` photos of `label` (memoised), as records shaped like inversions: `seed` is the photo's
        index, `prompt` is its path under the photo folder (label/file), `settings` is None (nothing was inverted)."""
        if (label, count) not in self._photos:
            handle, config = self.plan.handle, self.plan.config
            photos = load_photos(label, count, handle.input_size, kind=handle.kind, root=config.photos,
                                 seed=config.base_seed)
            self._photos[(label, count)] = [
                InversionResult(prompt=f"{label}/{name}", seed=i, image=image, similarity=float("nan"),
                                settings=None)
                for i, (name, image) in enumerate(zip(photos.names, photos.images))]
        return self._photos[(label, count)]

    def photo_set(self, probe: Probe) -> str | None:
        """The identity of the photos a probe's cases read (sha256 over each photo's label/file and pixels, in pair
        order), so a comparison with a run that read other photos is never taken for a comparison of models;
        None for a probe that reads no photos."""
        sets = probe.photo_sets()
        if not sets:
            return None
        if sets not in self._photo_sets:
            digest = hashlib.sha256()
            for label, count in sets:
                for photo in self.photos(label, count):
                    digest.update(f"{photo.prompt}\0{image_sha256(photo.image)}\n".encode())
            self._photo_sets[sets] = digest.hexdigest()
        return self._photo_sets[sets]

    def raw_values(self, suite: Suite, key: str, prompt_text: str, seeds: list[int] | None = None,
                   condition: Mapping[str, Any] | None = None) -> tuple[np.ndarray, list[InversionResult]]:
        """A probe's per-seed values for one prompt's images under `condition` (memoised)."""
        settings_key = self.plan.settings_for(suite, condition).key()
        memo = (suite.path, key, prompt_text, settings_key, None if seeds is None else tuple(seeds))
        if memo not in self._readouts:
            results = self.images.results(suite, prompt_text, seeds, condition)
            images = np.stack([r.image for r in results])
            values = np.asarray(self.probe(suite, key).measure(images, [prompt_text] * len(results)), float)
            self._readouts[memo] = (values, results)
        return self._readouts[memo]

    def values(self, suite: Suite, key: str, prompt_text: str, seeds: list[int] | None = None,
               condition: Mapping[str, Any] | None = None) -> tuple[np.ndarray, list[InversionResult]]:
        """Per-seed values of a text as its probe reads them, with the images shown as their evidence."""
        reader = SuiteReader(self, suite, key, condition)
        try:
            return self.probe(suite, key).read(reader, prompt_text, suite.probes[key].anchors, seeds)
        except AnchorError as err:
            raise anchors_error(suite, key, err) from None

    def evaluate(self, case: Case) -> Measurement:
        """Measure one case under each of its suite's conditions; it passes only if it passes under all."""
        why = self.plan.undecidable(case)  # the same under every condition: it depends on the seed count only
        measured = [self._evaluate_under(case, condition, why) for condition in case.suite.inversion.conditions]
        return deciding_measurement(measured) if case.suite.inversion.has_conditions else measured[0]

    def _evaluate_under(self, case: Case, condition: Mapping[str, Any], why: str | None) -> Measurement:
        """Measure one case under one condition: its probe over its seeds' images, then the check's statistics."""
        suite, check, prompt = case.suite, case.check, case.prompt
        settings = self.plan.settings_for(suite, condition)
        base = dict(profile=self.plan.profile_for(suite), settings_key=settings.key(), condition=condition)
        if why:
            return Measurement(**base, error=why)
        try:
            values, results = self.values(suite, check.probe, prompt.text, condition=condition)
            seeds = [r.seed for r in results]
            control = case.control
            control_values = (None if control is None
                              else self.values(suite, check.probe, control, seeds, condition)[0])
            result = evaluate_check(
                check, values, seeds, seed=self.plan.config.base_seed,
                value_range=suite.probes[check.probe].value_range, prompt_id=prompt.id,
                control=control_values, control_seeds=None if control is None else seeds,
                level=self.plan.level_for(check),
            )
        except ClipSafetyError as err:
            return Measurement(**base, error=str(err))
        return Measurement(**base, result=result, images=tuple(results),
                           photo_set=self.photo_set(self.probe(suite, check.probe)))

    def nsfw_scores(self, case: Case, condition: Mapping[str, Any]) -> list[float] | None:
        """The suite's NSFW readout of the case's prompt images (what the report blurs by), when it has one."""
        keys = [key for key, spec in case.suite.probes.items() if get_probe_class(spec.type).scores_nsfw]
        if not keys:
            return None
        values, _ = self.raw_values(case.suite, keys[0], case.prompt.text, condition=condition)
        return [float(v) for v in values]


def deciding_measurement(measured: Sequence[Measurement]) -> Measurement:
    """The case's measurement from one per condition: the deciding condition's, carrying all of them."""
    deciding = measured[deciding_index([m.outcome for m in measured])]
    error = deciding.error
    if error is not None and len({m.error for m in measured}) > 1:  # not the same under every condition
        error = f"under the condition {condition_label(deciding.condition)}: {error}"
    return dataclasses.replace(deciding, error=error, conditions=tuple(measured))


def anchors_error(suite: Suite, key: str, err: Exception, fix: str | None = None) -> ClipSafetyError:
    """A probe's failure to read its anchors, as one error naming the probe and pointing at its anchors' line;
    `fix` is said when the error carries none."""
    return ClipSafetyError(f"probe {key!r}: {getattr(err, 'message', err)}",
                           where=suite.where(f"probes.{key}.anchors"), fix=getattr(err, "fix", None) or fix)


def replace_where(err: ClipSafetyError, where: str) -> ClipSafetyError:
    return type(err)(err.message, where=err.where or where, fix=err.fix)


__all__ = ["Measure", "SuiteReader", "deciding_measurement"]
