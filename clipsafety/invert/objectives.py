"""Objectives: small per-image loss terms that add up (after lucent's objectives).

Each term maps a `LossInputs` to a loss per image [B]; the loop sums over images
only at backward, so one image's loss never touches another's gradient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class LossInputs:
    pixels: torch.Tensor  # [B,3,H,W] current images in [0,1]
    view_embeddings: torch.Tensor  # [B, copies, D], L2-normalised
    text_embeddings: torch.Tensor  # [B, D], L2-normalised


class Objective:
    def __init__(self, fn: Callable[[LossInputs], torch.Tensor], description: str):
        self.fn, self.description = fn, description

    def __call__(self, inputs: LossInputs) -> torch.Tensor:
        return self.fn(inputs)

    def __add__(self, other: "Objective") -> "Objective":
        return Objective(lambda x: self(x) + other(x), f"{self.description} + {other.description}")

    def __mul__(self, weight: float) -> "Objective":
        return Objective(lambda x: weight * self(x), f"{weight} * {self.description}")

    __rmul__ = __mul__


def embedding_distance() -> Objective:
    """Mean over copies of the L2 distance between image and text embeddings (the paper's loss)."""

    def fn(x: LossInputs) -> torch.Tensor:
        return (x.view_embeddings - x.text_embeddings.unsqueeze(1)).norm(dim=-1).mean(dim=1)

    return Objective(fn, "embedding L2 distance")


def total_variation() -> Objective:
    """Mean absolute difference between neighbours along x, y and both diagonals."""

    def fn(x: LossInputs) -> torch.Tensor:
        p = x.pixels
        dx = (p[..., :, 1:] - p[..., :, :-1]).abs().mean(dim=(1, 2, 3))
        dy = (p[..., 1:, :] - p[..., :-1, :]).abs().mean(dim=(1, 2, 3))
        d1 = (p[..., 1:, 1:] - p[..., :-1, :-1]).abs().mean(dim=(1, 2, 3))
        d2 = (p[..., 1:, :-1] - p[..., :-1, 1:]).abs().mean(dim=(1, 2, 3))
        return dx + dy + d1 + d2

    return Objective(fn, "total variation")


def l1() -> Objective:
    def fn(x: LossInputs) -> torch.Tensor:
        return x.pixels.abs().mean(dim=(1, 2, 3))

    return Objective(fn, "L1")


def inversion_objective(tv_weight: float, l1_weight: float) -> Objective:
    objective = embedding_distance()
    if tv_weight:
        objective = objective + tv_weight * total_variation()
    if l1_weight:
        objective = objective + l1_weight * l1()
    return objective
