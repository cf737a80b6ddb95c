"""Planning a run: each suite's inversion settings and seeds, which cases can reach a verdict at all,
and the (prompt, seed) pairs every case needs inverted.

What a case needs inverted is its probe's declaration (`Probe.inverts`): its prompt, its anchors
(each with its own seeds) and a paired check's control (with the prompt's seeds: pairs share a seed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Iterable

from ..invert import InversionSettings, get_settings
from ..models import UNREADABLE_FIX, ModelHandle
from ..models.kinds import DEFAULT_PROFILE, runs_suites_of
from ..models.photos import has_photos
from ..probes import get_probe_class
from ..probes.association import reference_text
from ..stats import decidable, fails_only_on_evidence, family_level, family_tests
from ..suite import Check, Suite, condition_label
from ..util.errors import ClipSafetyError
from .case import DEFAULT_SEEDS, Case, RunConfig, derive_seed


class Plan:
    """What a run of one model will invert, and under which settings; the model loads on first need."""

    def __init__(self, config: RunConfig, handle: Callable[[], ModelHandle]):
        self.config = config
        self._handle = handle
        self.family_size = 0  # the run's cases that fail only on evidence (set_family)

    @property
    def handle(self) -> ModelHandle:
        return self._handle()

    # -- settings and seeds ------------------------------------------------------------

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

    def reduced_budget(self, suite: Suite) -> str | None:
        """How the run's --clip-seeds, --clip-steps or --clip-profile cut the suite's own budget (fewer
        seeds, or fewer encoder passes per image under one of its conditions), or None. A verdict
        reached on less than the budget its suite was validated at is no release verdict."""
        config, cuts = self.config, []
        if config.seeds is None and config.steps is None and config.profile is None:
            return None
        own_seeds = suite.inversion.seeds or DEFAULT_SEEDS
        if config.seeds is not None and config.seeds < own_seeds:
            cuts.append(f"{config.seeds} seeds instead of {own_seeds} (--clip-seeds={config.seeds})")
        flags = ", ".join(f for f in (config.steps and f"--clip-steps={config.steps}",
                                      config.profile and f"--clip-profile={config.profile}") if f)
        for condition in suite.inversion.conditions:
            ran, own = _passes(self.settings_for(suite, condition)), _passes(self._own_settings(suite, condition))
            if ran < own:
                under = f" under {condition_label(condition)}" if condition else ""
                cuts.append(f"{ran} encoder passes per image instead of {own}{under} ({flags})")
                break
        return "; ".join(cuts) or None

    def _own_settings(self, suite: Suite, condition: Mapping[str, Any]) -> InversionSettings:
        """The settings the suite itself declares under one of its conditions, without the run's overrides."""
        profile = suite.inversion.profile or DEFAULT_PROFILE[self.handle.kind]
        return get_settings(profile, **{**suite.inversion.overrides, **condition})

    def seed_count(self, suite: Suite) -> int:
        return self.config.seeds or suite.inversion.seeds or DEFAULT_SEEDS

    def seeds_for(self, suite: Suite, prompt_text: str) -> list[int]:
        return [derive_seed(self.config.base_seed, prompt_text, i) for i in range(self.seed_count(suite))]

    # -- verdicts that can mean something ------------------------------------------------

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
        unread = self.unreadable_text(case) or self.read_as_prompt(case)
        if unread:
            return unread
        spec = case.suite.probes[case.check.probe]
        pairs = get_probe_class(spec.type).values_per_case(spec.settings)
        n = self.seed_count(case.suite) if pairs is None else pairs
        why = decidable(case.check, n, spec.value_range, level=self.level_for(case.check),
                        paired=case.control is not None)
        if why is None:
            return None
        if pairs is not None:
            return (f"this check cannot decide anything on {n} photo pairs, so it is neither passed nor failed: "
                    f"{why} (set the probe's `pairs` in the suite)")
        return (f"this check cannot decide anything at {n} seeds, so it is neither passed nor failed: {why} "
                "(set inversion.seeds in the suite, or --clip-seeds)")

    def unreadable_text(self, case: Case) -> str | None:
        """Why the model cannot read the case's prompt, an anchor, the reference or the control, or None.

        A toy model reads a word outside its vocabulary as <unk>: the images would show what
        it makes of <unk>, and a verdict on them would be about nothing the suite names.
        """
        suite, spec = case.suite, case.suite.probes[case.check.probe]
        prompt_line = suite.at(case.prompt.line)  # the line is kept when the suite was read
        texts = [("prompt", case.prompt.text, prompt_line)]
        texts += [(f"anchor of probe {case.check.probe!r}", a, suite.where(f"probes.{case.check.probe}.anchors"))
                  for a in spec.anchors or ()]
        reference = _reference(spec)
        if reference is not None:  # a midpoint reads as its anchors; the anchors' mean reading has no text
            texts.append(("reference", reference, suite.where(f"probes.{case.check.probe}.reference")))
        if case.control is not None:
            texts.append(("control", case.control, prompt_line))
        for role, text, where in texts:
            why = self.handle.unreadable(text)
            if why:
                return str(ClipSafetyError(
                    f"{self.handle.name} cannot read the {role} {text!r}: {why}; a verdict on it would be about "
                    "something the suite does not name, so the check is neither passed nor failed",
                    where=where, fix=UNREADABLE_FIX))
        return None

    def read_as_prompt(self, case: Case) -> str | None:
        """Why the case's control or reference is the prompt as the model reads it (token ids alike:
        "A Balloon." for "a balloon"), or None. Every difference from it would be 0 by construction,
        and a check on those differences passes whatever the model does."""
        suite, spec = case.suite, case.suite.probes[case.check.probe]
        others = []
        if case.control is not None:
            others.append(("control", case.control, suite.at(case.prompt.line)))
        reference = _reference(spec)
        if reference is not None:
            others.append(("reference", reference, suite.where(f"probes.{case.check.probe}.reference")))
        prompt = self.handle.reading(case.prompt.text)
        for role, text, where in others:
            if self.handle.reading(text) == prompt:
                return str(ClipSafetyError(
                    f"{self.handle.name} reads the {role} {text!r} as the prompt {case.prompt.text!r} (the same "
                    f"tokens), so every difference from it is 0 and the check would pass whatever the model "
                    "does; it is neither passed nor failed", where=where,
                    fix=f"give a {role} that differs from the prompt in words, not only in case or punctuation"))
        return None

    def skip_reason(self, suite: Suite) -> str | None:
        kind = self.handle.kind
        if not runs_suites_of(kind, suite.applies_to):
            return (
                f"suite {suite.name!r} applies to {', '.join(suite.applies_to)} models; "
                f"{self.handle.name} is a {kind} model"
            )
        reads_photos = [key for key, spec in suite.probes.items() if get_probe_class(spec.type).reads_photos]
        if reads_photos and not has_photos(kind, self.config.photos):
            return (f"suite {suite.name!r} reads labelled photos (probe {reads_photos[0]!r}) and this run has none "
                    f"for a {kind} model: pass --clip-photos=DIR (ini clip_photos) to run it")
        return None

    # -- what to invert ------------------------------------------------------------------

    def planned(self, case: Case) -> list[tuple[str, list[int]]]:
        """(text, seeds) the case needs inverted, as its probe declares."""
        spec = case.suite.probes[case.check.probe]
        planned = []
        if "prompt" in spec.inverts:
            planned.append((case.prompt.text, self.seeds_for(case.suite, case.prompt.text)))
        if "anchors" in spec.inverts:
            planned += [(anchor, self.seeds_for(case.suite, anchor)) for anchor in spec.anchors or ()]
        if "control" in spec.inverts and case.control is not None:  # the prompt's seeds: pairs share a seed
            planned.append((case.control, self.seeds_for(case.suite, case.prompt.text)))
        evidence = self.evidence_seeds(case)
        if evidence:
            planned.append((case.prompt.text, evidence))
        return planned

    def evidence_seeds(self, case: Case) -> list[int]:
        """The seeds of the prompt's own inversions shown as evidence for a check that reads the prompt as
        text and never inverts it ([] for every other check, and with --clip-evidence-seeds=0)."""
        if "prompt" in case.suite.probes[case.check.probe].inverts:
            return []
        return self.seeds_for(case.suite, case.prompt.text)[:self.config.evidence_seeds]

    def requests(self, cases: Iterable[Case]) -> dict[str, tuple[InversionSettings, list[tuple[str, int]]]]:
        """settings key -> (settings, unique (prompt, seed) pairs) for these cases."""
        plan: dict[str, tuple[InversionSettings, dict[tuple[str, int], None]]] = {}
        for case in cases:
            if self.undecidable(case):
                continue  # an error without images: nothing to invert for it
            planned = self.planned(case)
            for condition in case.suite.inversion.conditions:  # images are shared per settings key
                settings = self.settings_for(case.suite, condition)
                _, pairs = plan.setdefault(settings.key(), (settings, {}))
                for text, seeds in planned:
                    for seed in seeds:
                        pairs[(text, seed)] = None
        return {k: (s, list(p)) for k, (s, p) in plan.items()}


def _reference(spec) -> str | None:
    """The text a probe reads each prompt against, or None (no `reference` setting, or the anchors' own mean)."""
    return reference_text(spec.settings["reference"], spec.anchors) if "reference" in spec.settings else None


def _passes(settings: InversionSettings) -> int:
    """Encoder passes that make one image: a step runs every augmented copy through the encoder."""
    return settings.steps * settings.copies


__all__ = ["Plan"]
