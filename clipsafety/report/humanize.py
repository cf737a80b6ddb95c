"""Numbers and strings of a run, in a reader's terms: durations, moments, paths.

- A duration reads "4 min 12 s", not 252.3.
- A moment is written in UTC with the zone named ("29 Nov 2026, 15:00 UTC") and
  carries its ISO form in a <time datetime> attribute: the report's own script
  rewrites it in the reader's local time zone, and without script the UTC text
  stands, never a bare ISO string.
- Absolute paths (the model's weights, a local-dir: model, the command line)
  are cut to their last two parts ("…/models/a.safetensors"): the rest names
  someone's machine (often a user name) and means nothing on another one. The
  report is shared; the JSON results beside it keep the full paths for tools.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

MISSING = "—"
ELLIPSIS = "…"
KEEP_PARTS = 2  # a path keeps its folder and file name
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# An absolute POSIX path (/a/b/c) or Windows one (C:\a\b), up to whitespace, a quote or a
# bracket. Not inside a word, a relative path (a/b), a home path (~/a) or a URL (x://a/b).
_ABSOLUTE_PATH = re.compile(r"(?<![\w./~])(?:/(?!/)|(?<![\w:])[A-Za-z]:\\)[^\s'\"()<>\[\]{},;]+")


def duration(seconds: Any) -> str:
    """'0.4 s', '12.3 s', '4 min 12 s', '1 h 5 min'; '—' when unknown."""
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds) \
            or seconds < 0:
        return MISSING
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@dataclass(frozen=True)
class Moment:
    """A point in time as the report shows it."""
    iso: str  # for <time datetime="...">, which the report's script shows in local time
    text: str  # "29 Nov 2026, 15:00 UTC"


def moment(value: Any) -> Moment | None:
    """An ISO 8601 timestamp with its offset, as a Moment in UTC; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:  # clipsafety writes offsets; a naive time's zone is unknown, so say nothing
        return None
    utc = parsed.astimezone(timezone.utc)
    text = f"{utc.day} {_MONTHS[utc.month - 1]} {utc.year}, {utc:%H:%M} UTC"
    return Moment(iso=utc.isoformat(timespec="seconds"), text=text)


def short_path(path: str, keep: int = KEEP_PARTS) -> str:
    """'/home/x/models/a.safetensors' -> '…/models/a.safetensors' (short ones stay whole)."""
    separator = "\\" if re.match(r"[A-Za-z]:\\", path) else "/"
    parts = [p for p in path.split(separator) if p]
    if len(parts) <= keep + (1 if separator == "\\" else 0):
        return path
    return ELLIPSIS + separator + separator.join(parts[-keep:])


def without_machine_paths(text: Any) -> str:
    """`text` with each absolute path in it cut by short_path (model sources, command lines)."""
    if text is None:
        return ""
    return _ABSOLUTE_PATH.sub(lambda m: short_path(m.group()), str(text))
