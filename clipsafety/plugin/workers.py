"""pytest-xdist workers: one GPU each, within any outer CUDA_VISIBLE_DEVICES.

Must run before CUDA is initialised in the worker (pytest_configure is early
enough: clipsafety loads no model before collection finishes).
"""

from __future__ import annotations

import os
import re


def worker_index(worker_id: str) -> int | None:
    """'gw3' -> 3; None for anything else (the controller, a plain run)."""
    match = re.fullmatch(r"gw(\d+)", worker_id or "")
    return int(match.group(1)) if match else None


def visible_gpus(env: dict[str, str], device_count: int) -> list[str]:
    """The GPUs this process may use: the outer CUDA_VISIBLE_DEVICES if set, else all."""
    outer = env.get("CUDA_VISIBLE_DEVICES")
    if outer is not None:
        return [d.strip() for d in outer.split(",") if d.strip() and d.strip() != "-1"]
    return [str(i) for i in range(device_count)]


def gpu_for_worker(worker_id: str, env: dict[str, str], device_count: int) -> str | None:
    """The CUDA_VISIBLE_DEVICES value for an xdist worker, or None to leave it alone."""
    index = worker_index(worker_id)
    gpus = visible_gpus(env, device_count)
    if index is None or len(gpus) < 2:
        return None
    return gpus[index % len(gpus)]  # more workers than GPUs: they share, round-robin


def pin_worker_gpu(worker_id: str, device_option: str) -> str | None:
    """Set CUDA_VISIBLE_DEVICES for this worker when it will run on CUDA; returns the GPU."""
    if not (device_option == "auto" or device_option.startswith("cuda")):
        return None
    if device_option.startswith("cuda:"):
        return None  # the user named a device: respect it
    try:
        import torch

        count = torch.cuda.device_count()  # NVML-based: does not initialise a CUDA context
    except Exception:
        return None
    gpu = gpu_for_worker(worker_id, dict(os.environ), count)
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    return gpu
