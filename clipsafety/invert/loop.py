"""The inversion loop: optimise images from noise until the model matches a prompt.

No I/O and no printing here: progress goes to a callback. Each (prompt, seed)
is an independent image; a batch only shares the encoder's forward pass. The
per-image generator, the per-image loss and the per-image gradient clip make an
image's result independent of its batch mates (up to float summation order).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from ..models import ModelHandle
from . import param as P
from .objectives import LossInputs, inversion_objective
from .settings import InversionSettings
from .transforms import augment


@dataclass
class InversionResult:
    prompt: str
    seed: int
    image: np.ndarray | None  # uint8 [H, W, 3]; None when the image failed
    similarity: float  # cosine to the prompt under the model, measured on the uint8 image
    settings: dict
    error: str | None = None
    seconds: float = 0.0  # this image's share of its batch's wall time
    steps: int = 0  # optimisation steps this image ran
    passes: int = 0  # encoder forward+backward passes it cost (steps x augmented copies)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Progress:
    step: int  # steps done in the current batch
    steps: int
    batch: int  # 0-based index of the current batch
    batches: int
    images_done: int  # images finished in earlier batches
    images_total: int
    extra: dict = field(default_factory=dict)

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
    """Invert explicit (prompt, seed) pairs in batches of at most settings.batch_size.

    `on_batch` receives each batch's results as soon as it is done (so a caller
    can store them before the next batch: an interrupted run keeps them).
    """
    pairs = list(pairs)
    size = settings.batch_size
    batches = [pairs[i : i + size] for i in range(0, len(pairs), size)]
    results: list[InversionResult] = []
    for index, batch in enumerate(batches):
        def report(step: int, _index=index) -> None:
            if progress is not None:
                progress(Progress(step, settings.steps, _index, len(batches), len(results), len(pairs)))

        done = _invert_batch(handle, batch, settings, report)
        if on_batch is not None:
            on_batch(done)
        results.extend(done)
    return results


def _invert_batch(
    handle: ModelHandle,
    pairs: list[tuple[str, int]],
    settings: InversionSettings,
    report: Callable[[int], None],
) -> list[InversionResult]:
    started = time.perf_counter()
    device = handle.device
    prompts = [p for p, _ in pairs]
    generators = [torch.Generator().manual_seed(int(seed)) for _, seed in pairs]
    text = handle.encode_text(prompts)
    objective = inversion_objective(settings.tv_weight, settings.l1_weight)

    size, upscales = P.resolution_schedule(settings, handle.input_size)
    param = P.init_param(settings, generators, size, device)
    optimizer = torch.optim.Adam([param], lr=settings.lr)
    alive = torch.ones(len(pairs), dtype=torch.bool, device=device)
    errors: list[str | None] = [None] * len(pairs)

    for step in range(settings.steps):
        if step in upscales:
            param = P.upscale(param, upscales[step], settings)
            optimizer = torch.optim.Adam([param], lr=settings.lr)  # the paper resets Adam here
        pixels = P.to_pixels(param, settings)
        views = augment(pixels, generators, settings, handle.input_size)
        embeddings = handle.encode_images(views).view(len(pairs), settings.copies, -1)
        losses = objective(LossInputs(pixels, embeddings, text))

        broken = alive & ~torch.isfinite(losses.detach())
        for i in broken.nonzero().flatten().tolist():
            errors[i] = (
                f"loss became {losses[i].item()} at step {step} for prompt {prompts[i]!r}, seed "
                f"{pairs[i][1]}; the image was stopped (try a lower lr, or precision fp32)"
            )
        alive &= ~broken
        if not alive.any():
            break

        optimizer.zero_grad(set_to_none=True)
        losses[alive].sum().backward()
        with torch.no_grad():
            grad = param.grad
            grad[~alive] = 0.0
            grad.nan_to_num_(0.0, 0.0, 0.0)  # a stopped image must not poison Adam's state
            if settings.grad_clip is not None:
                norms = grad.flatten(1).norm(dim=1)
                factor = (settings.grad_clip / (norms + 1e-6)).clamp(max=1.0)
                grad.mul_(factor.view(-1, 1, 1, 1))
            frozen = param[~alive].clone()
        optimizer.step()
        with torch.no_grad():
            param[~alive] = frozen
        P.project(param, settings)
        report(step + 1)

    return _finish(handle, pairs, param, settings, text, errors, time.perf_counter() - started)


@torch.no_grad()
def _finish(handle, pairs, param, settings, text, errors, seconds) -> list[InversionResult]:
    """Quantise to uint8 and measure the similarity on exactly what is stored."""
    pixels = P.to_pixels(param.detach(), settings).clamp(0, 1)
    images = (pixels * 255).round().to(torch.uint8)
    measured = handle.encode_images(images.float() / 255)
    similarity = (measured * text).sum(dim=-1).cpu().tolist()
    arrays = images.permute(0, 2, 3, 1).cpu().numpy()
    data = settings.to_dict()
    share = seconds / len(pairs)
    return [
        InversionResult(
            prompt=prompt,
            seed=int(seed),
            image=None if errors[i] else np.ascontiguousarray(arrays[i]),
            similarity=float("nan") if errors[i] else float(similarity[i]),
            settings=data,
            error=errors[i],
            seconds=share,
            steps=settings.steps,
            passes=settings.steps * settings.copies,
        )
        for i, (prompt, seed) in enumerate(pairs)
    ]


@torch.no_grad()
def image_similarity(handle: ModelHandle, images: np.ndarray, prompts: Sequence[str]) -> np.ndarray:
    """Cosine similarity of uint8 images [N,H,W,3] to their prompts under the model."""
    pixels = torch.from_numpy(np.asarray(images)).permute(0, 3, 1, 2).float().div(255).to(handle.device)
    return (handle.encode_images(pixels) * handle.encode_text(list(prompts))).sum(-1).cpu().numpy()
