"""The Ray side of the Ray executor: what reaches a worker, and the actor that inverts there.

Only names travel: the model's name, pretrained source, device and precision
(plus the fingerprint the driver expects), never weights. Importing this
module does not import Ray; the driver wraps `InversionWorker` with
`ray.remote` when it starts the actors.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from ..util.errors import ClipSafetyError, ModelLoadError


@dataclass(frozen=True)
class WorkerModel:
    """The model as the workers load it: names and a source, never weights."""

    name: str | None
    pretrained: str | None = None
    device: str = "auto"
    precision: str = "auto"
    cache_dir: str | None = None
    fingerprint: str | None = None  # when known, every worker's model must have it

    @classmethod
    def of(cls, model: Any) -> "WorkerModel":
        """From a ModelHandle, a model spec or anything with name/pretrained/device/precision."""
        if isinstance(model, cls):
            return model
        return cls(
            name=model.name,
            pretrained=getattr(model, "pretrained", None),
            device=str(getattr(model, "device", "auto")),
            precision=str(getattr(model, "precision", "auto")),
            cache_dir=getattr(model, "cache_dir", None),
            fingerprint=getattr(model, "fingerprint", None),
        )


@dataclass(frozen=True)
class WorkerSetup:
    """Everything an actor needs to reproduce the driver's local run."""

    model: WorkerModel
    device: str  # "cuda" (Ray pins the actor's GPU) or "cpu"
    threads: int  # torch threads per actor: its share of the node's cores
    default_dtype: str  # the driver's torch default dtype, e.g. "float32"
    deterministic: bool  # the driver's torch.are_deterministic_algorithms_enabled()
    code_version: str  # the driver's INVERSION_CODE_VERSION: cached images must be the same images


class InversionWorker:
    """The actor: loads the model once, then inverts batch after batch.

    A load failure is kept and reported by `ready` (and by every batch), so the
    driver can fail the run with the worker's message instead of Ray
    restarting an actor that can never start.
    """

    def __init__(self, setup: WorkerSetup):
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self.handle = None
        self.error: str | None = None
        try:
            self.handle = self._load(setup)
        except ClipSafetyError as err:
            self.error = str(err)
        except Exception as err:  # a worker's environment can fail in any way: report it, whole
            self.error = f"{type(err).__name__}: {err}"

    @staticmethod
    def _load(setup: WorkerSetup):
        import torch

        from ..cache import INVERSION_CODE_VERSION
        from ..models.load import load_model

        torch.set_num_threads(setup.threads)
        torch.set_default_dtype(getattr(torch, setup.default_dtype))
        if setup.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(setup.deterministic)
        if INVERSION_CODE_VERSION != setup.code_version:
            raise ClipSafetyError(
                f"this worker's clipsafety inverts with code version {INVERSION_CODE_VERSION}, "
                f"the driver's with {setup.code_version}",
                fix="install the same clipsafety version on the driver and every node",
            )
        m = setup.model
        handle = load_model(m.name, m.pretrained, device=setup.device, precision=m.precision, cache_dir=m.cache_dir)
        if m.fingerprint and handle.fingerprint != m.fingerprint:
            raise ModelLoadError(
                f"model {m.name} here has fingerprint {handle.short_fingerprint}, "
                f"the driver's has {m.fingerprint[:12]}: the weights differ",
                fix="give every node the same checkpoint at the same path (or a shared path)",
            )
        return handle

    def ready(self) -> tuple[int, str, str | None]:
        return self.pid, self.host, self.error

    def invert_batch(self, pairs: list[tuple[str, int]], settings) -> tuple[int, str | None, list | None]:
        """(pid, load error or None, results in the batch's order)."""
        if self.error is not None:
            return self.pid, self.error, None
        from ..invert import invert_pairs

        return self.pid, None, invert_pairs(self.handle, pairs, settings)
