"""Ray executor against the in-process loop, on one machine (figures in bench/cluster_plan.md).

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_ray.py local1  # in-process, 1 torch thread
    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_ray.py local2  # in-process, 2 torch threads
    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_ray.py ray     # a local Ray cluster, 2 workers x 1 thread

Workload: 16 (prompt, seed) pairs of the toy model, `toy` profile, 150 steps,
batch 8 (two batches). Per-batch overhead: 16 one-step batches of one image,
through one Ray worker, against the same in-process. Run on an idle machine.
"""

from __future__ import annotations

import json
import os
import sys
import time

import torch

from clipsafety.cache import image_sha256
from clipsafety.invert import get_settings, invert_pairs
from clipsafety.models.load import load_model
from clipsafety.run.ray_executor import RayExecutor, WorkerModel

PROMPTS = ["a red circle", "a blue square", "a doctor", "a nurse"]
PAIRS = [(p, s) for p in PROMPTS for s in range(4)]
WORKLOAD = get_settings("toy", steps=150, batch_size=8)
TRIVIAL = get_settings("toy", steps=1, batch_size=1)
MODEL = WorkerModel("toyclip-fair", device="cpu", precision="fp32")


def timed(run) -> tuple[float, list]:
    started = time.perf_counter()
    out = run()
    return time.perf_counter() - started, out


def local(threads: int) -> dict:
    torch.set_num_threads(threads)
    handle = load_model(MODEL.name, device="cpu", precision="fp32")
    seconds, results = timed(lambda: invert_pairs(handle, PAIRS, WORKLOAD))
    figures = {"workload_s": note("workload_s", seconds), "hashes": sorted(image_sha256(r.image) for r in results)}
    if threads == 1:
        seconds, _ = timed(lambda: invert_pairs(handle, PAIRS, TRIVIAL))
        figures["trivial_s"] = note("trivial_s", seconds)
    return figures


def ray() -> dict:
    import logging

    import ray as ray_module

    figures: dict = {}
    collected: list = []
    started = time.perf_counter()
    ray_module.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.ERROR,
                    log_to_driver=False)
    try:
        with RayExecutor(MODEL, num_cpus=1, workers=2) as pool:
            pool.invert(PAIRS[:2], TRIVIAL, None, lambda batch: None)  # start both workers
            figures["startup_s"] = note("startup_s", time.perf_counter() - started)
            seconds, _ = timed(lambda: pool.invert(PAIRS, WORKLOAD, None, collected.extend))
            figures["workload_s"] = note("workload_s", seconds)
            figures["hashes"] = sorted(image_sha256(r.image) for r in collected)
        with RayExecutor(MODEL, num_cpus=1, workers=1) as single:  # one worker: batches one after another
            single.invert(PAIRS[:1], TRIVIAL, None, lambda batch: None)
            seconds, _ = timed(lambda: single.invert(PAIRS, TRIVIAL, None, lambda batch: None))
            figures["trivial_s"] = note("trivial_s", seconds)
    finally:
        ray_module.shutdown()
    return figures


def note(name: str, seconds: float) -> float:
    print(f"{name} {seconds:.3f}", file=sys.stderr, flush=True)  # survives a timeout
    return round(seconds, 3)


if __name__ == "__main__":
    part = sys.argv[1] if len(sys.argv) > 1 else "local1"
    parts = {"local1": lambda: local(1), "local2": lambda: local(2), "ray": ray}
    print(f"load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print(json.dumps({part: parts[part]()}))
