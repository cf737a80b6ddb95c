"""What an inversion aims at: a prompt's text, the midpoint of two prompts' text embeddings, or a
prompt's embedding with the axis between two prompts removed.

A midpoint target is the neutral control of an anchored check: "a doctor" is
compared, seed by seed, with the inversion of the point halfway between "a blue
cross" and "a red cross" in the model's text space. That point is balanced
between the anchors by construction, yet it shares the inversion's drift along
the anchors' axis (one colour's basin is wider than the other's), which a bare
prompt such as "a cross" does not: the bare shape is drawn in every colour and
carries every role on that shape. See docs/methodology.md, "Neutral controls".

An axis-removed target is the tighter control: "a doctor" itself, with the
component of its embedding along the anchors' axis ("a red cross" minus "a blue
cross") taken out. It keeps everything of the prompt but its lean between the
anchors, so it shares the prompt's own drift (a role word drifts in its own way,
not as the midpoint does: the axis-removed control study in docs/studies/), and the
paired difference is what that lean does to the images. The removed component
is set to the midpoint's, which is zero (two unit vectors' sum is orthogonal to
their difference).

A target travels as text, so the cache, seeds, executors and records need
nothing new. Its text, `midpoint("a blue cross", "a red cross")`, is written by
`midpoint_text` only (an axis-removed one by `axis_removed_text`); the suite
reader refuses prompts, anchors and controls written in either form, so no
suite text is ever read as a target by accident.
"""

from __future__ import annotations

import json

_MIDPOINT, _AXIS_REMOVED, _CLOSE = "midpoint(", "axis_removed(", ")"


def _text(opening: str, parts: list[str]) -> str:
    return opening + json.dumps(parts, ensure_ascii=False)[1:-1] + _CLOSE


def _parts(text: str, opening: str, count: int) -> tuple[str, ...] | None:
    if not (text.startswith(opening) and text.endswith(_CLOSE)):
        return None
    try:
        parts = json.loads("[" + text[len(opening):-len(_CLOSE)] + "]")
    except ValueError:
        return None
    if len(parts) != count or not all(isinstance(p, str) for p in parts):
        return None
    return tuple(parts)


def midpoint_text(first: str, second: str) -> str:
    """The target text for the midpoint of two prompts' normalised text embeddings."""
    return _text(_MIDPOINT, [first, second])


def midpoint_parts(text: str) -> tuple[str, str] | None:
    """The two prompts of a midpoint target's text, or None when `text` is not one."""
    return _parts(text, _MIDPOINT, 2)  # type: ignore[return-value]


def axis_removed_text(prompt: str, low: str, high: str) -> str:
    """The target text for `prompt`'s embedding with its component along `high` - `low` removed."""
    return _text(_AXIS_REMOVED, [prompt, low, high])


def axis_removed_parts(text: str) -> tuple[str, str, str] | None:
    """(prompt, low, high) of an axis-removed target's text, or None when `text` is not one."""
    return _parts(text, _AXIS_REMOVED, 3)  # type: ignore[return-value]


def target_prompts(text: str) -> tuple[str, ...]:
    """The plain prompts a target is made of (the text itself for a plain prompt)."""
    return midpoint_parts(text) or axis_removed_parts(text) or (text,)


def looks_like_target(text: str) -> bool:
    """Whether a text written in a suite would be read as a target (a midpoint or an axis-removed one)."""
    return target_prompts(text) != (text,)


__all__ = ["axis_removed_parts", "axis_removed_text", "looks_like_target", "midpoint_parts", "midpoint_text",
           "target_prompts"]
