"""Ray executor against the in-process loop, on one machine (figures in bench/cluster_plan.md).

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_ray.py local   # in-process, 2 threads and 1 thread
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
from clipsafety.models import load_model
from clipsafety.ray_executor import RayExecutor, WorkerModel

PROMPTS = ["a red circle", "a blue square", "a doctor", "a nurse"]
PAIRS = [(p, s) for p in PROMPTS for s in range(4)]
WORKLOAD = get_settings("toy", steps=150, batch_size=8)
TRIVIAL = get_settings("toy", steps=1, batch_size=1)
MODEL = WorkerModel("toyclip-fair", device="cpu", precision="fp32")


def timed(run) -> tuple[float, list]:
    started = time.perf_counter()
    out = run()
    return time.perf_counter() - started, out


def local() -> dict:
    handle = load_model(MODEL.name, device="cpu", precision="fp32")
    figures = {}
    for threads in (2, 1):
        torch.set_num_threads(threads)
        seconds, results = timed(lambda: invert_pairs(handle, PAIRS, WORKLOAD))
        figures[f"workload_s_{threads}_threads"] = round(seconds, 2)
        figures[f"hashes_{threads}_threads"] = sorted(image_sha256(r.image) for r in results)
    seconds, _ = timed(lambda: invert_pairs(handle, PAIRS, TRIVIAL))
    figures["trivial_s_1_thread"] = round(seconds, 3)
    return figures


def ray() -> dict:
    figures = {}
    collected: list = []
    started = time.perf_counter()
    with RayExecutor(MODEL, address="local", local_cpus=2, num_cpus=1, workers=2) as pool:
        pool.invert(PAIRS[:2], TRIVIAL, None, lambda batch: None)  # start the cluster and both workers
        figures["startup_s"] = round(time.perf_counter() - started, 2)
        seconds, _ = timed(lambda: pool.invert(PAIRS, WORKLOAD, None, collected.extend))
        figures["workload_s_2_workers"] = round(seconds, 2)
        figures["hashes_2_workers"] = sorted(image_sha256(r.image) for r in collected)
    with RayExecutor(MODEL, address="local", local_cpus=2, num_cpus=1, workers=1) as single:
        single.invert(PAIRS[:1], TRIVIAL, None, lambda batch: None)
        seconds, _ = timed(lambda: single.invert(PAIRS, TRIVIAL, None, lambda batch: None))
        figures["trivial_s_1_worker"] = round(seconds, 3)
    return figures


if __name__ == "__main__":
    part = sys.argv[1] if len(sys.argv) > 1 else "local"
    print(f"load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
    print(json.dumps({part: (local if part == "local" else ray)()}))
