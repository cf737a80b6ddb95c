"""Image parametrisations: the tensor Adam optimises, and how it becomes pixels.

"pixels" is the paper's: raw RGB values, clamped to [0, 1] after each step.
"sigmoid" optimises unconstrained logits; the toy models invert better with it
because no gradient is lost at the clamp.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .settings import InversionSettings


def init_param(
    settings: InversionSettings, generators: list[torch.Generator], size: int, device: torch.device
) -> torch.Tensor:
    """One [3, size, size] start per image, each drawn from its own generator (on CPU, so
    the same seed gives the same start on every device)."""
    starts = []
    for gen in generators:
        if settings.init == "uniform":
            u = torch.rand(3, size, size, generator=gen)
            start = torch.logit(u.clamp(1e-3, 1 - 1e-3)) if settings.param == "sigmoid" else u
        else:  # normal
            z = settings.init_scale * torch.randn(3, size, size, generator=gen)
            start = z if settings.param == "sigmoid" else (0.5 + z).clamp(0, 1)
        starts.append(start)
    return torch.stack(starts).to(device).requires_grad_(True)


def to_pixels(param: torch.Tensor, settings: InversionSettings) -> torch.Tensor:
    return torch.sigmoid(param) if settings.param == "sigmoid" else param


@torch.no_grad()
def project(param: torch.Tensor, settings: InversionSettings) -> None:
    """Keep raw pixels inside [0, 1] after a step (the paper's clamp)."""
    if settings.param == "pixels":
        param.clamp_(0.0, 1.0)


@torch.no_grad()
def upscale(param: torch.Tensor, size: int, settings: InversionSettings) -> torch.Tensor:
    """Bicubic resize to `size` (the paper's x2 upscales); returns a fresh leaf tensor."""
    bigger = F.interpolate(param, size=(size, size), mode="bicubic", align_corners=False)
    if settings.param == "pixels":
        bigger = bigger.clamp(0.0, 1.0)
    return bigger.contiguous().requires_grad_(True)


def resolution_schedule(settings: InversionSettings, input_size: int) -> tuple[int, dict[int, int]]:
    """(start size, {step: new size}) with each x2 upscale capped at the model's input size."""
    size = min(settings.init_size or input_size, input_size)
    start, changes = size, {}
    for step in settings.upscale_steps:
        if size >= input_size or step >= settings.steps:
            break
        size = min(size * 2, input_size)
        changes[step] = size
    return start, changes
