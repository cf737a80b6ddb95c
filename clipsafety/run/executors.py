"""Where inversions run: the seam between planning a run and doing its work.

The session hands an executor the (prompt, seed) pairs that one set of
inversion settings must produce and gets the results back batch by batch
(`on_batch`), so it can store each batch in the cache as soon as it exists: an
interrupted run keeps every finished batch. `LocalExecutor` inverts in this
process; another executor may spread the pairs over machines, provided it
calls `on_batch` with results in the order of `pairs`.
"""

from __future__ import annotations

from typing import Callable, Protocol

from ..invert import InversionResult, InversionSettings, Progress
from ..models.load import ModelHandle


class Executor(Protocol):
    def invert(
        self,
        pairs: list[tuple[str, int]],
        settings: InversionSettings,
        progress: Callable[[Progress], None] | None,
        on_batch: Callable[[list[InversionResult]], None],
    ) -> None:
        """Invert every pair; call `on_batch` with each finished batch, in the order of `pairs`."""


class LocalExecutor:
    """Invert in this process, on the handle's device, in batches of settings.batch_size."""

    def __init__(self, handle: ModelHandle):
        self.handle = handle

    def invert(
        self,
        pairs: list[tuple[str, int]],
        settings: InversionSettings,
        progress: Callable[[Progress], None] | None,
        on_batch: Callable[[list[InversionResult]], None],
    ) -> None:
        from ..invert import invert_pairs

        invert_pairs(self.handle, pairs, settings, progress, on_batch=on_batch)


__all__ = ["Executor", "LocalExecutor"]
