"""Core benchmark: encoder passes/s, FLOP/s against dense matmul, batched vs one-at-a-time.

    .venv/bin/python bench/bench_core.py [--quick]

Prints its figures; record them in bench/README.md as ratios from one run.
Not a test: it takes minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from clipsafety.invert import get_settings, invert_pairs
from clipsafety.models.load import load_model
from clipsafety.models.testing import tiny_handle


def matmul_flops(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - started)


def pass_flops(handle, batch: int) -> float:
    """FLOPs of one forward + backward-to-pixels of `batch` images."""
    pixels = torch.rand(batch, 3, handle.input_size, handle.input_size, requires_grad=True)
    with FlopCounterMode(display=False) as counter:
        handle.encode_images(pixels).sum().backward()
    return counter.get_total_flops()


def passes_per_second(handle, batch: int, seconds: float) -> float:
    pixels = torch.rand(batch, 3, handle.input_size, handle.input_size, requires_grad=True)
    handle.encode_images(pixels).sum().backward()  # warm-up
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        pixels.grad = None
        handle.encode_images(pixels).sum().backward()
        done += batch
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="shorter timings")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else 8.0
    threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    peak = matmul_flops()
    print(f"threads {threads}; dense fp32 matmul 2048^2: {peak / 1e9:.1f} GFLOP/s")

    models = {"tiny (16 px, 1 layer)": tiny_handle(), "ViT-B-32 random init (224 px)": load_model("ViT-B-32", "random")}
    for label, handle in models.items():
        for batch in ((1, 8, 32) if "ViT" in label else (1, 32, 128)):
            rate = passes_per_second(handle, batch, seconds)
            flops = pass_flops(handle, batch) / batch * rate
            print(f"{label:32} batch {batch:4}: {rate:8.1f} images fwd+bwd/s, "
                  f"{flops / 1e9:6.1f} GFLOP/s = {flops / peak:5.1%} of matmul peak")

    # 16 prompt-seeds: one batch of 16 against 16 batches of 1, same settings.
    handle = models["ViT-B-32 random init (224 px)"]
    steps = 5 if args.quick else 10
    pairs = [(f"prompt {i % 4}", i) for i in range(16)]
    timings = {}
    for batch_size in (16, 1):
        settings = get_settings("fast", steps=steps, copies=4, init_size=None, upscale_steps=(),
                                batch_size=batch_size)
        started = time.perf_counter()
        invert_pairs(handle, pairs, settings)
        timings[batch_size] = time.perf_counter() - started
    batched, single = timings[16], timings[1]
    print(f"16 prompt-seeds x {steps} steps x 4 copies on ViT-B-32: "
          f"batched {batched:.1f}s, one at a time {single:.1f}s, ratio {single / batched:.2f}x")


if __name__ == "__main__":
    main()
