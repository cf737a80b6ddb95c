"""Model kinds: what a model declares itself to be, and what a suite applies to.

A model folder declares its kind (its card or config says "toy" or "natural");
a suite's `applies_to` lists the kinds it gates. The set is closed on purpose:
a mistyped kind in a suite would otherwise never match any model, and every
case of the suite would be skipped, a silent green.
"""

from __future__ import annotations

# "toy": a toy-world model (bundled, or trained with clipsafety.toyworld.train);
# "natural": a CLIP trained on natural images.
MODEL_KINDS: tuple[str, ...] = ("natural", "toy")

# The inversion profile a suite gets when neither it nor --clip-profile names one.
DEFAULT_PROFILE: dict[str, str] = {"toy": "toy", "natural": "paper"}

__all__ = ["DEFAULT_PROFILE", "MODEL_KINDS"]
