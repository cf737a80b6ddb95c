"""One exception family for every user-facing failure.

The plugin and the CLI catch `ClipSafetyError` and print `str(err)` alone: the
message must name what is wrong (file, field), and say how to fix it. Anything
else escaping is a bug in clipsafety, not bad input.
"""

from __future__ import annotations


class ClipSafetyError(Exception):
    """A problem the user can fix; its message is shown without a traceback."""

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None):
        self.message = message
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


class ModelLoadError(ClipSafetyError):
    """A model, tag or checkpoint could not be loaded."""


class SuiteError(ClipSafetyError):
    """A suite file is malformed; `where` is 'path:line'."""


class ProbeError(ClipSafetyError):
    """A probe is unknown, misconfigured, or its resources are missing."""


class InversionError(ClipSafetyError):
    """An inversion failed (for example a NaN loss) for one image."""
