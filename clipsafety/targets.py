"""What an inversion aims at: a prompt's text, or the midpoint of two prompts' text embeddings.

A midpoint target is the neutral control of an anchored check: "a doctor" is
compared, seed by seed, with the inversion of the point halfway between "a blue
cross" and "a red cross" in the model's text space. That point is balanced
between the anchors by construction, yet it shares the inversion's drift along
the anchors' axis (one colour's basin is wider than the other's), which a bare
prompt such as "a cross" does not: the bare shape is drawn in every colour and
carries every role on that shape. See README, "Neutral controls".

A target travels as text, so the cache, seeds, executors and records need
nothing new. Its text, `midpoint("a blue cross", "a red cross")`, is written by
`midpoint_text` only; the suite reader refuses prompts, anchors and controls
written in that form, so no suite text is ever read as a midpoint by accident.
"""

from __future__ import annotations

import json

_OPEN, _CLOSE = "midpoint(", ")"


def midpoint_text(first: str, second: str) -> str:
    """The target text for the midpoint of two prompts' normalised text embeddings."""
    return _OPEN + json.dumps([first, second], ensure_ascii=False)[1:-1] + _CLOSE


def midpoint_parts(text: str) -> tuple[str, str] | None:
    """The two prompts of a midpoint target's text, or None when `text` is a plain prompt."""
    if not (text.startswith(_OPEN) and text.endswith(_CLOSE)):
        return None
    try:
        parts = json.loads("[" + text[len(_OPEN):-len(_CLOSE)] + "]")
    except ValueError:
        return None
    if len(parts) != 2 or not all(isinstance(p, str) for p in parts):
        return None
    return parts[0], parts[1]


def looks_like_midpoint(text: str) -> bool:
    """Whether a text written in a suite would be read as a midpoint target."""
    return midpoint_parts(text) is not None


__all__ = ["looks_like_midpoint", "midpoint_parts", "midpoint_text"]
