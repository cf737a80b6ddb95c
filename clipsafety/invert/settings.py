"""Inversion settings: one frozen dataclass, named profiles, validated overrides.

`paper` is the recipe of Kazemi et al.'s public code: raw pixels from uniform
noise at 64 px, two bicubic x2 upscales, 13 augmented copies, 3,400 steps.
`toy` is what inverts the bundled toy-world models well on a CPU: a sigmoid
parametrisation and crop/flip/photometric augmentations. `fast` is a short CPU
recipe for natural-image CLIPs; it has not been shown to reach the paper's
verdicts (the `fast`-against-`paper` study in docs/studies/ says what has been measured).

Early stopping (`early_stop`) is off in every profile: each image runs `steps`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..util.errors import ClipSafetyError
from ..util.names import did_you_mean


@dataclass(frozen=True)
class InversionSettings:
    # optimisation
    steps: int = 3400
    lr: float = 0.1
    copies: int = 13  # augmented copies of each image per step
    batch_size: int = 16  # images optimised together (bounded memory)
    grad_clip: float | None = 1.0  # per-image gradient-norm clip; None disables
    # parametrisation
    param: str = "pixels"  # "pixels": raw RGB clamped to [0,1]; "sigmoid": sigmoid(logits)
    init: str = "uniform"  # "uniform": U(0,1) pixels; "normal": init_scale * N(0,1) logits/pixels
    init_scale: float = 0.1
    init_size: int | None = 64  # None: start at the model's input size
    upscale_steps: tuple[int, ...] = (900, 1800)  # bicubic x2 at these steps, capped at input size
    # objective
    tv_weight: float = 0.005  # total variation over x, y and both diagonals
    l1_weight: float = 0.0
    # geometric augmentation, one random affine per copy
    rotate_deg: float = 30.0
    translate: float = 0.1  # fraction of the image size
    scale_min: float = 0.7
    scale_max: float = 1.2
    affine_p: float = 0.5  # probability that a copy is transformed at all
    crop_min: float = 1.0  # each copy a random crop of this to 1.0 of the side (1.0: no crop)
    flip: bool = False
    # photometric augmentation
    brightness: float = 0.0  # +- additive
    contrast: float = 0.0  # +- relative, around each copy's mean
    colour_shift: float = 0.0  # +- per-channel additive
    noise_std: float = 0.0
    # early stopping per image (off: every image runs `steps`); see clipsafety.invert.early_stop
    early_stop: bool = False
    early_stop_window: int = 20  # steps per window; needs two full windows at the final resolution
    early_stop_tolerance: float = 0.002  # stop when the window's mean similarity rose by no more than this
    early_stop_min_steps: int = 50  # never stop before this many steps

    def __post_init__(self) -> None:
        problems = []
        if self.steps < 1:
            problems.append("steps must be >= 1")
        if self.copies < 1:
            problems.append("copies must be >= 1")
        if self.batch_size < 1:
            problems.append("batch_size must be >= 1")
        if self.lr <= 0:
            problems.append("lr must be > 0")
        if self.param not in ("pixels", "sigmoid"):
            problems.append(f"param must be 'pixels' or 'sigmoid', not {self.param!r}")
        if self.init not in ("uniform", "normal"):
            problems.append(f"init must be 'uniform' or 'normal', not {self.init!r}")
        if not 0 < self.scale_min <= self.scale_max:
            problems.append("need 0 < scale_min <= scale_max")
        if not 0 < self.crop_min <= 1:
            problems.append("crop_min must be in (0, 1]")
        if not 0 <= self.affine_p <= 1:
            problems.append("affine_p must be in [0, 1]")
        if self.init_size is not None and self.init_size < 4:
            problems.append("init_size must be >= 4 (or null for the model's input size)")
        if self.grad_clip is not None and self.grad_clip <= 0:
            problems.append("grad_clip must be > 0 (or null to disable)")
        if list(self.upscale_steps) != sorted(self.upscale_steps):
            problems.append("upscale_steps must be increasing")
        problems += self._early_stop_problems()
        if problems:
            raise ClipSafetyError("invalid inversion settings: " + "; ".join(problems))

    def _early_stop_problems(self) -> list[str]:
        problems = []
        if self.early_stop_window < 1:
            problems.append("early_stop_window must be >= 1")
        if self.early_stop_tolerance < 0:
            problems.append("early_stop_tolerance must be >= 0")
        if self.early_stop_min_steps < 0:
            problems.append("early_stop_min_steps must be >= 0")
        return problems

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["upscale_steps"] = list(self.upscale_steps)
        return data

    def key(self) -> str:
        """Stable hash of every value that changes the images (batch_size does not, nor the
        early-stopping knobs while early stopping is off: keys made before they existed hold)."""
        data = self.to_dict()
        data.pop("batch_size")
        if not self.early_stop:
            for name in EARLY_STOP_FIELDS:
                data.pop(name)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


EARLY_STOP_FIELDS = ("early_stop", "early_stop_window", "early_stop_tolerance", "early_stop_min_steps")

PROFILES: dict[str, InversionSettings] = {
    "paper": InversionSettings(),
    "toy": InversionSettings(
        steps=300,
        lr=0.05,
        copies=8,
        grad_clip=None,
        param="sigmoid",
        init="normal",
        init_scale=0.1,
        init_size=None,
        upscale_steps=(),
        tv_weight=1.0,
        rotate_deg=0.0,
        translate=0.1,
        scale_min=1.0,
        scale_max=1.0,
        affine_p=1.0,
        crop_min=0.6,
        flip=True,
        brightness=0.1,
        contrast=0.1,
        colour_shift=0.03,
        noise_std=0.05,
        batch_size=32,
    ),
    "fast": InversionSettings(
        steps=400,
        lr=0.05,
        copies=8,
        param="sigmoid",
        init="normal",
        init_scale=0.1,
        init_size=64,
        upscale_steps=(120, 240),
        tv_weight=0.05,
        rotate_deg=15.0,
        translate=0.1,
        scale_min=0.7,
        scale_max=1.1,
        affine_p=1.0,
        flip=True,
        noise_std=0.02,
        batch_size=16,
    ),
}

_FIELDS = {f.name: f for f in dataclasses.fields(InversionSettings)}


def get_settings(profile: str = "paper", **overrides: Any) -> InversionSettings:
    """A profile's settings with overrides; unknown names fail with a suggestion."""
    if profile not in PROFILES:
        raise ClipSafetyError(
            f"unknown inversion profile {profile!r}{did_you_mean(profile, PROFILES)}",
            fix=f"use one of: {', '.join(PROFILES)}",
        )
    for name in overrides:
        if name not in _FIELDS:
            raise ClipSafetyError(
                f"unknown inversion setting {name!r}{did_you_mean(name, _FIELDS)}",
                fix=f"known settings: {', '.join(_FIELDS)}",
            )
    if "upscale_steps" in overrides and overrides["upscale_steps"] is not None:
        overrides["upscale_steps"] = tuple(overrides["upscale_steps"])
    try:
        return dataclasses.replace(PROFILES[profile], **overrides)
    except TypeError as err:
        raise ClipSafetyError(f"invalid inversion override: {err}") from None


__all__ = ["EARLY_STOP_FIELDS", "InversionSettings", "PROFILES", "get_settings"]
