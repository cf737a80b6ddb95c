"""The inversion loop: optimise images from noise until the model matches a prompt.

No I/O and no printing here: progress goes to a callback. Each (prompt, seed)
is an independent image; images only share the encoder's forward and backward
pass. The per-image generator, the per-image loss and the per-image gradient
clip make an image's result independent of what it shares a batch with, up to
the encoder's float summation order: on most CPUs seen here it does not change
with the batch, but on an AMD EPYC with AVX-512 it does, and a similarity moved
by 1e-6 between a batch of 6 and one of 3 (the tests allow 1e-4). The cache is
keyed by (prompt, seed, settings), never by batch mates, so a cached image is
reused whatever batch made it.

The loop runs `batch_size` slots. An image holds a slot from its first step to
its last; with early stopping an image leaves as soon as it has stopped
improving, and the first pending pair takes its place at step 0. Images that
entered together form a cohort (clipsafety.invert.cohort): same step, same
resolution, one tensor and one Adam, so cohorts at different resolution stages
(the paper profile's upscales) never share a tensor. Without early stopping
every slot frees at the same step and the slots are exactly the old batches.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from ..models.load import ModelHandle
from . import param as P
from .cohort import Cohort
from .objectives import LossInputs, inversion_objective
from .settings import InversionSettings
from .transforms import augment


@dataclass
class InversionResult:
    prompt: str
    seed: int
    image: np.ndarray | None  # uint8 [H, W, 3]; None when the image failed
    similarity: float  # cosine to the prompt under the model, measured on the uint8 image
    settings: dict | None  # None for a photo read in place of an inversion (clipsafety.models.photos)
    error: str | None = None
    seconds: float = 0.0  # this image's share of the wall time of the steps it took part in
    steps: int = 0  # optimisation steps this image ran (fewer than settings.steps if it stopped early)
    passes: int = 0  # encoder forward+backward passes it cost (steps x augmented copies)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Progress:
    """Where a call to invert_pairs stands.

    Work is counted in image-steps, every finished image counting in full, and
    shown as batches of `batch_size` images of `steps` steps each: without early
    stopping these are the real batches; with it, batch and step say how much of
    that upper bound of work is behind (images that stop early jump it ahead).
    """

    step: int  # steps done in the current batch
    steps: int
    batch: int  # 0-based index of the current batch
    batches: int
    images_done: int  # images finished so far
    images_total: int
    extra: dict = field(default_factory=dict)  # what another executor adds (the Ray one: workers, batches done)

    @property
    def fraction(self) -> float:
        per_batch = 1.0 / max(self.batches, 1)
        return min(1.0, self.batch * per_batch + per_batch * self.step / max(self.steps, 1))


ProgressCallback = Callable[[Progress], None]


def invert(
    handle: ModelHandle,
    prompts: Sequence[str],
    seeds: Sequence[int],
    settings: InversionSettings,
    progress: ProgressCallback | None = None,
) -> list[InversionResult]:
    """Invert every prompt under every seed; results in (prompt, seed) order."""
    return invert_pairs(handle, [(p, s) for p in prompts for s in seeds], settings, progress)


def invert_pairs(
    handle: ModelHandle,
    pairs: Iterable[tuple[str, int]],
    settings: InversionSettings,
    progress: ProgressCallback | None = None,
    on_batch: Callable[[list[InversionResult]], None] | None = None,
) -> list[InversionResult]:
    """Invert explicit (prompt, seed) pairs, at most settings.batch_size at a time; results in input order.

    `on_batch` receives finished results as soon as every pair before them has
    finished too, in input order (so a caller can store them at once, matching
    them to its own list: an interrupted run keeps all it was given). Without
    early stopping that is each batch's results when the batch is done.
    """
    return _SlotLoop(handle, list(pairs), settings, progress, on_batch).run()


class _SlotLoop:
    def __init__(self, handle, pairs, settings, progress, on_batch):
        self.handle, self.pairs, self.settings = handle, pairs, settings
        self.progress, self.on_batch = progress, on_batch
        self.objective = inversion_objective(settings.tv_weight, settings.l1_weight)
        self.start_size, self.upscales = P.resolution_schedule(settings, handle.input_size)
        self.final_stage_from = max(self.upscales, default=0)  # images stop early only at full size
        self.queue = deque(range(len(pairs)))
        self.cohorts: list[Cohort] = []
        self.results: list[InversionResult | None] = [None] * len(pairs)
        self.finished = 0
        self.delivered = 0

    def run(self) -> list[InversionResult]:
        self._refill()
        while self.cohorts:
            self._step()
            self._refill()
            self._report()
            self._deliver()
        return self.results

    def _refill(self) -> None:
        free = self.settings.batch_size - sum(len(c) for c in self.cohorts)
        if free > 0 and self.queue:
            entering = [self.queue.popleft() for _ in range(min(free, len(self.queue)))]
            self.cohorts.append(Cohort.start(self.handle, self.pairs, entering, self.settings, self.start_size))

    def _step(self) -> None:
        """One optimisation step of every image in a slot, then retire those that are done."""
        started = time.perf_counter()
        s, cohorts = self.settings, self.cohorts
        for cohort in cohorts:
            cohort.upscale_if_due(self.upscales, s)
        pixels = [P.to_pixels(c.param, s) for c in cohorts]
        views = [augment(p, c.generators, s, self.handle.input_size) for p, c in zip(pixels, cohorts)]
        embeddings = self.handle.encode_images(views[0] if len(views) == 1 else torch.cat(views))
        parts = embeddings.split([len(c) * s.copies for c in cohorts])
        losses, alive, errors, similarity = [], [], [], []
        for cohort, px, part in zip(cohorts, pixels, parts):
            part = part.view(len(cohort), s.copies, -1)
            loss = self.objective(LossInputs(px, part, cohort.text))
            ok = torch.isfinite(loss.detach())
            losses.append(loss), alive.append(ok), errors.append(self._errors(cohort, loss, ok))
            similarity.append(_copy_similarity(part, cohort.text) if cohort.trackers else None)
        total = [loss[ok].sum() for loss, ok in zip(losses, alive) if ok.any()]
        if total:
            sum(total[1:], total[0]).backward()
        for cohort, ok in zip(cohorts, alive):
            if ok.any():
                cohort.apply_gradients(ok, s)
            else:
                cohort.step += 1
        share = (time.perf_counter() - started) / sum(len(c) for c in cohorts)
        for cohort, errs, sims in zip(list(cohorts), errors, similarity):
            cohort.seconds = [t + share for t in cohort.seconds]
            self._retire(cohort, errs, sims)

    def _errors(self, cohort: Cohort, loss: torch.Tensor, ok: torch.Tensor) -> list[str | None]:
        errors: list[str | None] = [None] * len(cohort)
        for row in (~ok).nonzero().flatten().tolist():
            prompt, seed = self.pairs[cohort.indices[row]]
            errors[row] = (
                f"loss became {loss[row].item()} at step {cohort.step} for prompt {prompt!r}, seed "
                f"{seed}; the image was stopped (try a lower lr, or precision fp32)"
            )
        return errors

    def _retire(self, cohort: Cohort, errors: list[str | None], similarity: list[float] | None) -> None:
        """Finish the cohort's images that failed, ran all their steps or stopped improving."""
        done = [err is not None or cohort.step >= self.settings.steps for err in errors]
        if similarity is not None:
            at_full_size = cohort.step > self.final_stage_from
            for row, tracker in enumerate(cohort.trackers):
                if not done[row]:
                    done[row] = tracker.update(similarity[row], cohort.step) and at_full_size
        rows = [r for r, d in enumerate(done) if d]
        if not rows:
            return
        for row, result in zip(rows, _finish(self.handle, self.pairs, cohort, rows, errors, self.settings)):
            self.results[cohort.indices[row]] = result
        self.finished += len(rows)
        remaining = [r for r, d in enumerate(done) if not d]
        if remaining:
            cohort.keep(remaining, self.settings)
        else:
            self.cohorts.remove(cohort)

    def _report(self) -> None:
        if self.progress is None:
            return
        steps, size, total = self.settings.steps, self.settings.batch_size, len(self.pairs)
        work = self.finished * steps + sum(c.step * len(c) for c in self.cohorts)
        sizes = [min(size, total - start) for start in range(0, total, size)]
        batch, step = _position(work, sizes, steps)
        self.progress(Progress(step, steps, batch, len(sizes), self.finished, total))

    def _deliver(self) -> None:
        ready = []
        while self.delivered < len(self.results) and self.results[self.delivered] is not None:
            ready.append(self.results[self.delivered])
            self.delivered += 1
        if ready and self.on_batch is not None:
            self.on_batch(ready)


def _position(work: int, sizes: list[int], steps: int) -> tuple[int, int]:
    """(batch, step) reached by `work` image-steps when batch b holds sizes[b] images."""
    for batch, size in enumerate(sizes):
        if work <= size * steps or batch == len(sizes) - 1:
            return batch, min(steps, -(-work // size))
        work -= size * steps
    return 0, 0


@torch.no_grad()
def _copy_similarity(embeddings: torch.Tensor, text: torch.Tensor) -> list[float]:
    """Each image's mean cosine to its prompt over its augmented copies ([k, copies, D], [k, D])."""
    return (embeddings.detach() * text.unsqueeze(1)).sum(dim=-1).mean(dim=1).tolist()


@torch.no_grad()
def _finish(handle, pairs, cohort: Cohort, rows: list[int], errors, settings) -> list[InversionResult]:
    """Quantise to uint8 and measure the similarity on exactly what is stored."""
    started = time.perf_counter()
    index = torch.tensor(rows, dtype=torch.long, device=cohort.param.device)
    pixels = P.to_pixels(cohort.param.detach().index_select(0, index), settings).clamp(0, 1)
    images = (pixels * 255).round().to(torch.uint8)
    measured = handle.encode_images(images.float() / 255)
    similarity = (measured * cohort.text.index_select(0, index)).sum(dim=-1).cpu().tolist()
    arrays = images.permute(0, 2, 3, 1).cpu().numpy()
    share = (time.perf_counter() - started) / len(rows)
    data = settings.to_dict()
    results = []
    for i, row in enumerate(rows):
        prompt, seed = pairs[cohort.indices[row]]
        failed = errors[row] is not None
        results.append(InversionResult(
            prompt=prompt,
            seed=int(seed),
            image=None if failed else np.ascontiguousarray(arrays[i]),
            similarity=float("nan") if failed else float(similarity[i]),
            settings=data,
            error=errors[row],
            seconds=cohort.seconds[row] + share,
            steps=cohort.step,
            passes=cohort.step * settings.copies,
        ))
    return results
