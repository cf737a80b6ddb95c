"""When an image has stopped improving: a plateau test on its similarity.

The tracked value is the image's mean cosine similarity to its prompt over its
augmented copies, read from each step's forward pass (no extra encoder work).
It is noisy, because the copies are drawn afresh every step, so single values
are not compared: the mean of the last `window` steps is compared with the mean
of the `window` steps before them, and the image stops when that rise is no
more than `tolerance`. The history restarts at each resolution change (an
upscale is a new optimisation: its first steps are not a plateau).

Pure Python floats in a fixed order, so the decision depends on nothing but the
image's own values: the same (prompt, seed) stops at the same step whatever
shares its batch.
"""

from __future__ import annotations

from collections import deque


class PlateauTracker:
    def __init__(self, window: int, tolerance: float, min_steps: int):
        self.window, self.tolerance, self.min_steps = window, tolerance, min_steps
        self.values: deque[float] = deque(maxlen=2 * window)

    def restart(self) -> None:
        self.values.clear()

    def rise(self) -> float | None:
        """Mean of the last window minus the mean of the one before; None until both are full."""
        if len(self.values) < self.values.maxlen:
            return None
        values = list(self.values)
        earlier, recent = values[: self.window], values[self.window :]
        return sum(recent) / self.window - sum(earlier) / self.window

    def update(self, value: float, steps_done: int) -> bool:
        """Record the value read at this step; True when the image should stop after it."""
        self.values.append(float(value))
        if steps_done < self.min_steps:
            return False
        rise = self.rise()
        return rise is not None and rise <= self.tolerance
