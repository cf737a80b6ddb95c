"""What a run works on: its configuration, a case (one check of a suite on one prompt), what measuring
a case gives, and how seeds derive from the prompt.

Seeds derive from the base seed and the prompt text, never from test order or worker, so a case gives
the same verdict alone, in a full run, or under xdist.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..invert import InversionResult
from ..stats import DEFAULT_LEVEL, CheckResult
from ..suite import Check, Prompt, Suite

DEFAULT_SEEDS = 8  # images per prompt when neither the suite nor --clip-seeds says


@dataclass(frozen=True)
class RunConfig:
    """Everything a run depends on besides the suites (clipsafety.options builds it from the options)."""

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
    # A probe that reads the prompt as text (text_association) never gates on the prompt's own inversions;
    # this many of them are still made and shown beside the verdict as evidence (0: none).
    evidence_seeds: int = 2
    # A folder of labelled photos (one subfolder per label) that photo_association probes read; None: the model
    # kind's own photos, if it has any (clipsafety.models.photos).
    photos: str | None = None


@dataclass(frozen=True)
class Case:
    """One test case: a check of a suite applied to one prompt."""

    suite: Suite
    check: Check
    prompt: Prompt

    @property
    def name(self) -> str:
        return f"{self.check.id}[{self.prompt.id}]"

    @property
    def control(self) -> str | None:
        """The neutral control a paired check compares the prompt with, or None."""
        return self.prompt.control if self.check.paired else None


@dataclass(frozen=True)
class Measurement:
    """What measuring one case gave: the check decided on its seeds' images, or why it could not be."""

    profile: str
    settings_key: str
    result: CheckResult | None = None  # None when measuring failed (see error)
    images: tuple[InversionResult, ...] = ()  # one per seed, in the order of result.values
    error: str | None = None
    condition: Mapping[str, Any] = field(default_factory=dict)  # the settings this was measured under
    photo_set: str | None = None  # the photos a photo-reading check read (Measure.photo_set), else None
    # When the suite names conditions: one measurement per condition, in the suite's order; this
    # measurement is then the deciding one's (clipsafety.run.measure.deciding_measurement).
    conditions: tuple[Measurement, ...] = ()

    @property
    def outcome(self) -> str:
        """passed, failed, or error (measuring gave no result)."""
        if self.result is None:
            return "error"
        return "passed" if self.result.passed else "failed"


def derive_seed(base_seed: int, prompt_text: str, index: int) -> int:
    """A 31-bit seed from the base seed, the prompt and the seed's index."""
    digest = hashlib.sha256(f"{base_seed}\x00{prompt_text}\x00{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def cases_of(suite: Suite) -> list[Case]:
    return [Case(suite, check, prompt) for check in suite.checks for prompt in suite.prompts_for(check)]


__all__ = ["DEFAULT_SEEDS", "Case", "Measurement", "RunConfig", "cases_of", "derive_seed"]
