"""Model kinds: what a model declares itself to be, and what a suite applies to.

A model folder declares its kind (its card or config says "toy", "synthetic" or
"natural"); a suite's `applies_to` lists the kinds it gates. The set is closed on
purpose: a mistyped kind in a suite would otherwise never match any model, and
every case of the suite would be skipped, a silent green.

A synthetic model is an open_clip model trained on rendered scenes captioned in
plain English: the natural-image suites run on it, so their verdicts can be
measured against the flaws planted in it, but its verdicts are never a release
verdict for a natural CLIP (clipsafety.gate.coverage).
"""

from __future__ import annotations

# The kind of suites a model of each kind runs (a suite's applies_to names these). Model kinds:
# "toy": a toy-world model (bundled, or trained with clipsafety.toyworld.train);
# "synthetic": a natural-vocabulary model of the synthetic world (clipsafety.synthworld.train);
# "natural": a CLIP trained on natural images.
SUITES_FOR: dict[str, str] = {"natural": "natural", "synthetic": "natural", "toy": "toy"}
# The kinds a suite may apply to: a synthetic model runs the natural suites.
SUITE_KINDS: tuple[str, ...] = tuple(sorted(set(SUITES_FOR.values())))

# The inversion profile a suite gets when neither it nor --clip-profile names one.
DEFAULT_PROFILE: dict[str, str] = {"toy": "toy", "natural": "paper", "synthetic": "paper"}


def runs_suites_of(model_kind: str, applies_to) -> bool:
    """True when a model of `model_kind` runs a suite that applies to `applies_to`."""
    return model_kind in applies_to or SUITES_FOR.get(model_kind, model_kind) in applies_to


__all__ = ["DEFAULT_PROFILE", "SUITES_FOR", "SUITE_KINDS", "runs_suites_of"]
