"""Showing untrusted text so that what a reviewer reads is what the model was given.

Suites refuse control characters (NUL, ESC, ...) in their strings, but allow
bidirectional controls and zero-width characters, which real scripts need
(Arabic, Hebrew, Persian, emoji sequences). Shown raw, the same characters
can make one prompt look like another: U+202E (right-to-left override) turns
"a nurse" into "esrun a" on screen, and a zero-width space makes two
different prompts look identical. So wherever a prompt, id or label is shown
to a person (report, terminal), pass it through `visible_text`, which writes
each such character as `<U+202E>`.
"""

from __future__ import annotations

import re

import unicodedata

# Control (Cc), format (Cf: bidi controls, zero-width space/joiners, BOM, soft
# hyphen), private-use, surrogate and unassigned characters, and line/paragraph
# separators: nothing a reader can see, or something that moves what they see.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
# Letters that render as blank space (Hangul fillers, Braille blank).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_ORDINARY = frozenset("\t\n")


def is_hidden(char: str) -> bool:
    """True for a character that is invisible, or changes how the text around it is displayed."""
    if char in _ORDINARY:
        return False
    return char in _BLANK_LETTERS or unicodedata.category(char) in _HIDDEN_CATEGORIES


def has_hidden_characters(text: str) -> bool:
    return any(is_hidden(c) for c in text)


def visible_text(text: str) -> str:
    """`text` with every hidden character written as <U+XXXX>: 'a\\u202eb' -> 'a<U+202E>b'.

    Plain text in, plain text out: HTML-escape the result where it goes into HTML.
    """
    if not has_hidden_characters(text):
        return text
    return "".join(f"<U+{ord(c):04X}>" if is_hidden(c) else c for c in text)




def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 case', '2 cases', '1 entry' / '3 entries' (with `many`)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


# C0 and C1 controls (and DEL) rewrite or hide what a terminal or a reviewer shows; tab and newline
# are ordinary text. Suites and waivers files refuse them in every string.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


__all__ = ["CONTROL_CHARACTER", "has_hidden_characters", "is_hidden", "plural", "visible_text"]
