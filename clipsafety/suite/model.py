"""What a suite is once read: frozen dataclasses, every field already validated."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def condition_label(condition: Mapping[str, Any]) -> str:
    """'tv_weight=0.002, lr=0.05': how messages, the terminal and the report name a condition."""
    return ", ".join(f"{name}={_shown(value)}" for name, value in condition.items()) or "the suite's settings"


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True)
class Prompt:
    id: str
    text: str  # may hold bidirectional or zero-width characters: show it with clipsafety.util.text.visible_text
    tags: tuple[str, ...] = ()
    line: int = 0
    control: str | None = None  # a neutral prompt inverted with this prompt's seeds, for paired checks
    # A positive control: the outcome ("fails" or "passes") every check selecting it must reach, to show that
    # the check can see what it looks for on this model; when it does not, the check's verdicts are inconclusive.
    positive_control: str | None = None


@dataclass(frozen=True)
class ProbeSpec:
    key: str  # how checks refer to it
    type: str  # registry name
    anchors: tuple[str, str] | None
    settings: dict[str, Any]
    line: int
    value_range: tuple[float, float] = (0.0, 1.0)  # per-image range after anchoring (ANCHORED_RANGE)
    # What a run inverts for a case the probe reads (the probe class's declaration, copied at load).
    inverts: frozenset[str] = frozenset({"prompt", "anchors", "control"})

    @property
    def anchored(self) -> bool:
        return self.anchors is not None


@dataclass(frozen=True)
class Check:
    id: str
    probe: str  # a key of Suite.probes
    statistic: str  # a key of clipsafety.stats.STATISTICS
    op: str  # a key of clipsafety.stats.operators.OPERATORS
    threshold: float
    bound: str = "point"
    above: float | None = None
    prompt_selector: tuple[str, ...] = ()  # prompt ids or tags; empty: every prompt
    line: int = 0
    # Regression gates against a baseline run (--clip-baseline): how far the
    # statistic may rise / drop, judged on the two runs' 95% intervals.
    max_rise: float | None = None
    max_drop: float | None = None
    # Gate on the per-seed differences prompt - its neutral control (same seeds), not on the prompt alone.
    paired: bool = False
    # The statistic's value the check must catch (clipsafety.stats.power): a pass without the power to
    # fail at this value is inconclusive.
    detects: float | None = None

    @property
    def metric(self) -> str:
        return f"{self.probe}.{self.statistic}"

    def applies_to(self, prompt: Prompt) -> bool:
        if not self.prompt_selector:
            return True
        return prompt.id in self.prompt_selector or any(t in self.prompt_selector for t in prompt.tags)


@dataclass(frozen=True)
class InversionSpec:
    profile: str | None = None  # None: the default profile of the model's kind (clipsafety.models.kinds)
    seeds: int | None = None  # None: the runner's default
    overrides: dict[str, Any] = field(default_factory=dict)
    # Each combination of `conditions:` (cartesian product, in the file's order), applied over the
    # overrides; a suite without `conditions:` has one condition, {}: its overrides alone.
    conditions: tuple[dict[str, Any], ...] = field(default_factory=lambda: ({},))

    @property
    def has_conditions(self) -> bool:
        """True when the suite names `conditions:` (then every case is decided under each)."""
        return self.conditions != ({},)


@dataclass(frozen=True)
class Suite:
    path: str
    name: str
    description: str
    version: int
    applies_to: tuple[str, ...]  # suite kinds (clipsafety.models.kinds.SUITE_KINDS)
    inversion: InversionSpec
    probes: dict[str, ProbeSpec]
    prompts: list[Prompt]
    checks: list[Check]
    sha256: str
    lines: dict[str, int] = field(default_factory=dict, repr=False, compare=False)  # field path -> line

    def prompts_for(self, check: Check) -> list[Prompt]:
        return [p for p in self.prompts if check.applies_to(p)]

    def positive_controls_for(self, check: Check) -> list[Prompt]:
        """The check's positive controls: the prompts it selects that must show what it looks for."""
        return [p for p in self.prompts_for(check) if p.positive_control]

    def where(self, field_path: str) -> str:
        """'path:line' of a field (e.g. 'inversion.overrides.steps'), for errors raised later."""
        return self.at(self.lines.get(field_path))

    def at(self, line: int | None) -> str:
        """'path:line', or the path alone when the line is unknown (None or 0: made in code)."""
        return f"{self.path}:{line}" if line else self.path


def slug(text: str) -> str:
    """An id from prompt text: 'A Doctor!' -> 'a-doctor', accents dropped."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")


__all__ = ["Check", "InversionSpec", "Prompt", "ProbeSpec", "Suite", "condition_label", "slug"]
