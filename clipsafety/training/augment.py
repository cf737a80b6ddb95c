"""Training augmentations, batched and seeded by a ``torch.Generator``.

Why they matter: a CLIP trained on clean renders responds to off-distribution
"super-stimuli", so inverting it shows speckle and hides the planted bias.
Trained on zoomed, shifted, flipped, re-lit and noisy copies, its inversions show
recognisable shapes and the planted colour lean. Hue is kept: colour is a label.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    zoom: tuple[float, float] = (0.6, 1.0)  # side of the visible window, fraction of the image
    shift: float = 0.1  # extra translation, fraction of the image (border-padded)
    flip: float = 0.5  # probability of a horizontal flip
    brightness: tuple[float, float] = (0.75, 1.25)
    contrast: tuple[float, float] = (0.7, 1.3)
    saturation: tuple[float, float] = (0.8, 1.2)  # scales chroma around grey: keeps hue
    channel_gain: float = 0.04  # per-channel gain 1 +- this: shifts hue by a few degrees at most
    noise_sigma: float = 0.1  # per-image sigma drawn from U(0, noise_sigma)


def _uniform(lo: float, hi: float, n: int, gen: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def augment(images: torch.Tensor, gen: torch.Generator, cfg: AugmentConfig = AugmentConfig()) -> torch.Tensor:
    """Random augmented copies of ``images`` ([B, 3, H, W] in [0, 1]), each its own draw."""
    b = images.shape[0]
    # geometry: zoom into a window, shift it, maybe mirror it
    scale = _uniform(*cfg.zoom, b, gen)
    room = 1 - scale  # keeps the window inside the image before the extra shift
    tx = (torch.rand(b, generator=gen) * 2 - 1) * room + (torch.rand(b, generator=gen) * 2 - 1) * cfg.shift * 2
    ty = (torch.rand(b, generator=gen) * 2 - 1) * room + (torch.rand(b, generator=gen) * 2 - 1) * cfg.shift * 2
    mirror = torch.where(torch.rand(b, generator=gen) < cfg.flip, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = scale * mirror
    theta[:, 1, 1] = scale
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    x = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)

    # photometry: brightness, contrast, saturation, small per-channel gain
    x = x * _uniform(*cfg.brightness, b, gen).view(b, 1, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * _uniform(*cfg.contrast, b, gen).view(b, 1, 1, 1) + mean
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * _uniform(*cfg.saturation, b, gen).view(b, 1, 1, 1) + grey
    x = x * (1 + (torch.rand(b, 3, 1, 1, generator=gen) * 2 - 1) * cfg.channel_gain)

    # pixel noise of a random strength per image
    sigma = _uniform(0.0, cfg.noise_sigma, b, gen).view(b, 1, 1, 1)
    x = x + sigma * torch.randn(x.shape, generator=gen)
    return x.clamp(0, 1)
