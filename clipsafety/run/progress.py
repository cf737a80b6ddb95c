"""One progress line for long inversions, shared by the pytest plugin and the CLI.

On a terminal the line is rewritten in place (at most every ``tty_every``
seconds). In a CI log, where ``\\r`` does not rewind and every rewrite would
pile up on one line, a whole line is written at most every ``log_every``
seconds, plus one when a batch ends. Both show the elapsed time and an
estimate of the time left, so a long run is never silent.
"""

from __future__ import annotations

import time
from typing import Callable


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class ProgressLine:
    def __init__(
        self,
        write: Callable[[str], None],
        isatty: bool,
        clock: Callable[[], float] = time.monotonic,
        tty_every: float = 0.5,
        log_every: float = 30.0,
    ):
        self.write = write
        self.isatty = isatty
        self.clock = clock
        self.every = tty_every if isatty else log_every
        self._label: str | None = None
        self._position = (0, 0)  # (batch, step) last seen
        self._started = 0.0
        self._first_fraction = 0.0
        self._last = float("-inf")
        self._open = False  # a tty line was written and not yet ended

    def update(self, progress, label: str) -> None:
        """``progress`` is a clipsafety.invert.Progress; ``label`` names the work."""
        now = self.clock()
        position = (progress.batch, progress.step)
        if label != self._label or position < self._position:  # new work: restart the clock
            self.finish()
            self._label, self._started, self._last = label, now, float("-inf")
            self._first_fraction = progress.fraction  # the clock starts at the first report
        self._position = position
        batch_end = progress.step == progress.steps
        if now - self._last < self.every and not batch_end:
            return
        if batch_end and not self.isatty and progress.batch + 1 < progress.batches and now - self._last < 1.0:
            return  # tiny batches in a log: do not print a line for each
        self._last = now
        text = self.describe(progress, label, now - self._started, self._first_fraction)
        if self.isatty:
            self.write(f"\r{text}   ")
            self._open = True
        else:
            self.write(text + "\n")

    @staticmethod
    def describe(progress, label: str, elapsed: float, first_fraction: float = 0.0) -> str:
        fraction = progress.fraction
        text = (f"clipsafety: {label}: batch {progress.batch + 1}/{progress.batches}, "
                f"step {progress.step}/{progress.steps} ({fraction:4.0%}), {format_duration(elapsed)} elapsed")
        done = fraction - first_fraction
        if done >= 0.02 and fraction < 1.0:  # too early an estimate is noise
            text += f", about {format_duration(elapsed * (1 - fraction) / done)} left"
        return text

    def finish(self) -> None:
        """End the live line so the next output starts on a fresh line."""
        if self._open:
            self.write("\n")
            self._open = False
