"""Batched augmentations, each image's randomness from its own torch.Generator.

Every copy of image i is drawn from generators[i] alone, in a fixed order, so an
image's trajectory does not depend on what else shares its batch. Geometry
(crop, affine, flip) is one affine grid per copy, sampled bicubically straight
to the model's input size with border padding, as the paper's RandomAffine +
resize does; photometric jitter and noise follow.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .settings import InversionSettings

_GEOMETRY_DRAWS = 8  # uniforms drawn per copy, used or not, to keep streams aligned


def _copy_thetas(gen: torch.Generator, copies: int, s: InversionSettings) -> torch.Tensor:
    """[copies, 2, 3] sampling matrices (output coords -> input coords, normalised)."""
    u = torch.rand(copies, _GEOMETRY_DRAWS, generator=gen, dtype=torch.float64)
    apply = u[:, 0] < s.affine_p
    angle = torch.where(apply, (2 * u[:, 1] - 1) * math.radians(s.rotate_deg), 0.0)
    scale = torch.where(apply, s.scale_min + u[:, 2] * (s.scale_max - s.scale_min), 1.0)
    tx = torch.where(apply, (2 * u[:, 3] - 1) * s.translate * 2, 0.0)  # x2: [-1,1] spans the side
    ty = torch.where(apply, (2 * u[:, 4] - 1) * s.translate * 2, 0.0)
    crop = s.crop_min + u[:, 5] * (1 - s.crop_min)
    ox = (2 * u[:, 6] - 1) * (1 - crop)
    oy = (2 * u[:, 7] - 1) * (1 - crop)
    flip = torch.ones(copies, dtype=torch.float64)
    if s.flip:  # its own draw, after the geometry block
        flip = torch.where(torch.rand(copies, generator=gen, dtype=torch.float64) < 0.5, -1.0, 1.0)

    # Forward map x_out = scale * R(angle) x_in + t; sample with its inverse.
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    m = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)  # R(-angle)/scale
    t = torch.stack([tx, ty], -1)
    b = -(m @ t.unsqueeze(-1)).squeeze(-1)
    # The crop maps output u -> crop * u + offset before the affine.
    crop_off = torch.stack([ox, oy], -1)
    m_total = m * crop.view(-1, 1, 1)
    b_total = (m @ crop_off.unsqueeze(-1)).squeeze(-1) + b
    m_total[:, 0, :] *= flip.view(-1, 1)  # mirror the sampled x coordinate
    return torch.cat([m_total, b_total.unsqueeze(-1)], dim=-1)


def _photometric_draws(gen: torch.Generator, copies: int, size: int, s: InversionSettings):
    """(brightness [C], contrast [C], colour [C,3], noise [C,3,S,S] or None) for one image."""
    u = torch.rand(copies, 5, generator=gen)
    brightness = (2 * u[:, 0] - 1) * s.brightness
    contrast = 1 + (2 * u[:, 1] - 1) * s.contrast
    colour = (2 * u[:, 2:5] - 1) * s.colour_shift
    noise = torch.randn(copies, 3, size, size, generator=gen) * s.noise_std if s.noise_std > 0 else None
    return brightness, contrast, colour, noise


def augment(
    pixels: torch.Tensor,
    generators: list[torch.Generator],
    settings: InversionSettings,
    out_size: int,
) -> torch.Tensor:
    """[B,3,H,W] in [0,1] -> [B*copies, 3, out_size, out_size] augmented views."""
    batch, copies = pixels.shape[0], settings.copies
    thetas, bright, contr, colour, noise = [], [], [], [], []
    for gen in generators:
        thetas.append(_copy_thetas(gen, copies, settings))
        b, c, col, n = _photometric_draws(gen, copies, out_size, settings)
        bright.append(b), contr.append(c), colour.append(col), noise.append(n)
    device, dtype = pixels.device, pixels.dtype
    theta = torch.cat(thetas).to(device=device, dtype=dtype)
    grid = F.affine_grid(theta, [batch * copies, 3, out_size, out_size], align_corners=False)
    source = pixels.repeat_interleave(copies, dim=0)
    views = F.grid_sample(source, grid, mode="bicubic", padding_mode="border", align_corners=False)

    if settings.brightness or settings.contrast or settings.colour_shift:
        b = torch.cat(bright).to(device, dtype).view(-1, 1, 1, 1)
        c = torch.cat(contr).to(device, dtype).view(-1, 1, 1, 1)
        col = torch.cat(colour).to(device, dtype).view(-1, 3, 1, 1)
        mean = views.mean(dim=(1, 2, 3), keepdim=True)
        views = (views - mean) * c + mean + b + col
    if settings.noise_std > 0:
        views = views + torch.cat(noise).to(device, dtype)
    return views.clamp(0.0, 1.0)
