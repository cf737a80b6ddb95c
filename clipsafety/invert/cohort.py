"""A cohort: the images that entered the loop at the same step.

Images of one cohort are always at the same step, so they share a resolution
stage: they are optimised as one parameter tensor [k, 3, H, W] with one Adam,
exactly as a whole batch was before batch slots existed. Cohorts at different
steps (and resolutions) only share the encoder's forward and backward pass.

When some of a cohort's images finish early, `keep` slices them out: the rows
left keep their values and their Adam moments (Adam is elementwise, and every
row of a cohort has taken the same number of steps), so leaving changes
nothing for the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import param as P
from .early_stop import PlateauTracker
from .settings import InversionSettings


@dataclass
class Cohort:
    indices: list[int]  # positions of its images in the caller's list of pairs
    generators: list[torch.Generator]  # one per image: its start and all its augmentations
    text: torch.Tensor  # [k, D] the prompts' embeddings
    param: torch.Tensor  # [k, 3, H, W] what Adam optimises
    optimizer: torch.optim.Optimizer
    trackers: list[PlateauTracker] | None  # None when early stopping is off
    step: int = 0  # steps taken by every image of the cohort
    seconds: list[float] | None = None  # wall time charged to each image so far

    @classmethod
    def start(cls, handle, pairs, indices: list[int], settings: InversionSettings, size: int) -> "Cohort":
        generators = [torch.Generator().manual_seed(int(pairs[i][1])) for i in indices]
        param = P.init_param(settings, generators, size, handle.device)
        trackers = None
        if settings.early_stop:
            trackers = [
                PlateauTracker(settings.early_stop_window, settings.early_stop_tolerance,
                               settings.early_stop_min_steps)
                for _ in indices
            ]
        return cls(
            indices=list(indices),
            generators=generators,
            text=handle.encode_text([pairs[i][0] for i in indices]),
            param=param,
            optimizer=torch.optim.Adam([param], lr=settings.lr),
            trackers=trackers,
            seconds=[0.0] * len(indices),
        )

    def __len__(self) -> int:
        return len(self.indices)

    def upscale_if_due(self, upscales: dict[int, int], settings: InversionSettings) -> None:
        if self.step in upscales:
            self.param = P.upscale(self.param, upscales[self.step], settings)
            self.optimizer = torch.optim.Adam([self.param], lr=settings.lr)  # the paper resets Adam here
            for tracker in self.trackers or ():
                tracker.restart()

    def apply_gradients(self, alive: torch.Tensor, settings: InversionSettings) -> None:
        """One Adam step on the images still alive; a stopped image must not poison the others."""
        with torch.no_grad():
            grad = self.param.grad
            grad[~alive] = 0.0
            grad.nan_to_num_(0.0, 0.0, 0.0)
            if settings.grad_clip is not None:
                norms = grad.flatten(1).norm(dim=1)
                factor = (settings.grad_clip / (norms + 1e-6)).clamp(max=1.0)
                grad.mul_(factor.view(-1, 1, 1, 1))
            frozen = self.param[~alive].clone()
        self.optimizer.step()
        with torch.no_grad():
            self.param[~alive] = frozen
        P.project(self.param, settings)
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1

    def keep(self, rows: list[int], settings: InversionSettings) -> None:
        """Keep only these rows (in order), with their values and Adam state."""
        index = torch.tensor(rows, dtype=torch.long, device=self.param.device)
        old = self.param
        new = old.detach().index_select(0, index).clone().requires_grad_(True)
        optimizer = torch.optim.Adam([new], lr=settings.lr)
        state = self.optimizer.state.get(old)
        if state:
            optimizer.state[new] = {
                name: _rows(value, index) for name, value in state.items()
            }
        self.param, self.optimizer = new, optimizer
        self.indices = [self.indices[r] for r in rows]
        self.generators = [self.generators[r] for r in rows]
        self.text = self.text.index_select(0, index)
        self.seconds = [self.seconds[r] for r in rows]
        if self.trackers is not None:
            self.trackers = [self.trackers[r] for r in rows]


def _rows(value, index: torch.Tensor):
    """An Adam state entry for the kept rows: moments are sliced, the step count copied."""
    if not torch.is_tensor(value):
        return value
    return value.index_select(0, index).clone() if value.dim() else value.clone()
