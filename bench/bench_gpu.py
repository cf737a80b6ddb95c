"""GPU benchmark of the inversion step: bf16 against fp32, images/s, FLOP/s as a share of peak.

    python bench/bench_gpu.py                  # a CUDA machine: ViT-B-32, about 3-4 minutes
    python bench/bench_gpu.py --cuda-graphs    # also torch.compile(mode="reduce-overhead")
    python bench/bench_gpu.py --smoke          # CPU, tiny model, 2 steps (what the tests run)

Then the shipped natural suites on the bundled synthetic model synthclip-biased, through the library
as a user runs them, at fp32 and bf16 on CUDA: images/s, share of the bf16 peak, and whether every
case's verdict is the same (--no-natural skips it; the smoke runs gender-skew alone, fp32, on the CPU).

ViT-B-32 with random weights (no download) runs the `paper` profile's real
per-step work through clipsafety.invert.invert_pairs: 13 augmented copies per
image, encoder forward and backward to the pixels, loss, per-image clip, Adam,
at batch 1, 16 and 64, with torch.compile off and on. Each configuration is
time-boxed to a few seconds of steps after its warm-up (and compilation), in
the first resolution stage (64 px parameters; the encoder always sees 224 px).

FLOPs are measured, not estimated: torch.utils.flop_counter.FlopCounterMode
over one whole inversion step of the uncompiled model (it counts matmuls,
convolutions and attention; the augmentations' grid sampling is not counted).
The share of peak is against the device's dense bf16 tensor-core peak, from the
table below or --peak-tflops. Without CUDA (or with --smoke) it runs a 2-step
smoke on a tiny model, so CI keeps the script working.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import Callable

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from clipsafety.invert import InversionSettings, Progress, get_settings, invert_pairs
from clipsafety.models.load import ModelHandle, load_model
from clipsafety.models.testing import tiny_handle

# Dense (no sparsity) bf16 tensor-core peaks in TFLOP/s from the vendors' datasheets; first match wins.
PEAK_BF16_TFLOPS = [
    ("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.4), ("H200", 989.4),
    ("A100", 312.0), ("L40S", 362.1), ("L4", 121.0),
]
PAPER_STEPS = get_settings("paper").steps


class _Stop(Exception):
    """Raised from the progress callback to end a time-boxed run."""


@dataclasses.dataclass
class Config:
    precision: str
    batch: int
    compile_mode: str | None  # None: eager; "default" or "reduce-overhead" (CUDA graphs)


@dataclasses.dataclass
class Plan:
    handle: ModelHandle
    configs: list[Config]
    warmup: int  # steps before the clock starts (compilation happens here)
    seconds: float  # time box per configuration, after the warm-up
    max_steps: int  # never more steps than this (stays before the paper's first upscale)
    check_steps: int  # steps of the bf16-against-fp32 check
    budget: float  # seconds for the whole run; later configurations are skipped past it


def peak_tflops(device_name: str, override: float | None) -> float | None:
    if override is not None:
        return override
    for fragment, peak in PEAK_BF16_TFLOPS:
        if fragment in device_name:
            return peak
    return None


def with_precision(handle: ModelHandle, precision: str) -> ModelHandle:
    """The same weights through another precision path (its own text-embedding memo)."""
    return dataclasses.replace(handle, precision=precision, _text_cache={})


class _CompiledEncoder:
    """Stands in for the model in a handle: a compiled image encoder, the eager text encoder."""

    def __init__(self, model: torch.nn.Module, mode: str):
        self.encode_image = torch.compile(model.encode_image, mode=mode, dynamic=False)
        self.encode_text = model.encode_text


def compiled(handle: ModelHandle, mode: str | None) -> ModelHandle:
    return handle if mode is None else dataclasses.replace(handle, model=_CompiledEncoder(handle.model, mode))


def run_until(handle: ModelHandle, settings: InversionSettings, pairs, stop: Callable[[Progress], bool]) -> None:
    """Run the real inversion loop until `stop(progress)` says so after a step."""

    def on_step(progress: Progress) -> None:
        if stop(progress):
            raise _Stop

    try:
        invert_pairs(handle, pairs, settings, progress=on_step)
    except _Stop:
        pass


def step_settings(batch: int) -> InversionSettings:
    """The paper profile with steps enough that no image finishes while it is timed."""
    return get_settings("paper", batch_size=batch, steps=10**6)


def pairs_for(batch: int) -> list[tuple[str, int]]:
    return [(f"a photo of thing {i % 7}", i) for i in range(batch)]


def flops_per_step(handle: ModelHandle, batch: int) -> float:
    pairs = pairs_for(batch)
    handle.encode_text([p for p, _ in pairs])  # memoised: the count is the step's alone
    with FlopCounterMode(display=False) as counter:
        run_until(handle, step_settings(batch), pairs, lambda p: p.step >= 1)
    return float(counter.get_total_flops())


def steps_per_second(handle: ModelHandle, batch: int, plan: Plan) -> float:
    sync = torch.cuda.synchronize if handle.device.type == "cuda" else (lambda: None)
    marks: dict[str, float] = {}

    def stop(progress: Progress) -> bool:
        sync()
        now = time.perf_counter()
        if progress.step == plan.warmup:
            marks["start"] = now
        if progress.step <= plan.warmup:
            return False
        marks["steps"], marks["seconds"] = progress.step - plan.warmup, now - marks["start"]
        return marks["seconds"] >= plan.seconds or progress.step - plan.warmup >= plan.max_steps

    run_until(handle, step_settings(batch), pairs_for(batch), stop)
    return marks["steps"] / marks["seconds"]


@torch.no_grad()
def measured_similarity(handle: ModelHandle, images: list[np.ndarray], prompts: list[str]) -> list[float]:
    pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255).to(handle.device)
    return (handle.encode_images(pixels) * handle.encode_text(prompts)).sum(-1).cpu().tolist()


def check_bf16(handle32: ModelHandle, steps: int, tolerance: float) -> bool:
    """bf16 autocast against fp32: one pass's embeddings, then `steps` inversion steps."""
    handle16 = with_precision(handle32, "bf16")
    size = handle32.input_size
    views = torch.rand(8, 3, size, size, generator=torch.Generator().manual_seed(0)).to(handle32.device)
    with torch.no_grad():
        cosine = (handle32.encode_images(views) * handle16.encode_images(views)).sum(-1).min().item()
    print(f"one encoder pass, 8 random images: min cosine(fp32 embedding, bf16 embedding) = {cosine:.5f}")

    pairs = pairs_for(4)
    prompts = [p for p, _ in pairs]
    settings = get_settings("paper", steps=steps, batch_size=len(pairs))
    reached = {}
    for label, handle in (("fp32", handle32), ("bf16", handle16)):
        images = [r.image for r in invert_pairs(handle, pairs, settings)]
        reached[label] = measured_similarity(handle32, images, prompts)  # both measured in fp32
    noise = [np.asarray(v * 255, dtype=np.uint8) for v in views[:4].permute(0, 2, 3, 1).cpu().numpy()]
    start = float(np.mean(measured_similarity(handle32, noise, prompts)))
    mean32, mean16 = float(np.mean(reached["fp32"])), float(np.mean(reached["bf16"]))
    ok = abs(mean16 - mean32) <= tolerance
    print(f"{steps} paper-profile steps, 4 images, similarity measured in fp32 on the uint8 images "
          f"(random noise: {start:.4f}):")
    for label in ("fp32", "bf16"):
        print(f"  {label}: mean {np.mean(reached[label]):.4f}  per image "
              + " ".join(f"{v:.4f}" for v in reached[label]))
    print(f"  |bf16 - fp32| = {abs(mean16 - mean32):.4f}, tolerance {tolerance}: {'PASS' if ok else 'FAIL'}")
    return ok


def measure(plan: Plan, config: Config, flops: dict[int, float], peak: float | None) -> list[str]:
    handle = compiled(with_precision(plan.handle, config.precision), config.compile_mode)
    if config.batch not in flops:
        flops[config.batch] = flops_per_step(with_precision(plan.handle, config.precision), config.batch)
    rate = steps_per_second(handle, config.batch, plan)
    image_steps = rate * config.batch
    copies = get_settings("paper").copies
    achieved = flops[config.batch] * rate
    share = f"{achieved / (peak * 1e12):.1%}" if peak else "n/a"
    return [config.precision, str(config.batch), config.compile_mode or "off", f"{rate:.2f}",
            f"{image_steps:.1f}", f"{image_steps * copies:.0f}",
            f"{flops[config.batch] / (config.batch * copies) / 1e9:.3g}", f"{achieved / 1e12:.3g}", share,
            f"{image_steps / PAPER_STEPS * 60:.2f}"]


HEADER = ["precision", "batch", "torch.compile", "steps/s", "image-steps/s", "encoder passes/s",
          "GFLOP per pass (counted)", "TFLOP/s", "share of bf16 peak", "paper images/min"]


def run_table(plan: Plan, peak: float | None, started: float) -> tuple[list[list[str]], bool]:
    rows, flops, ok = [], {}, True
    for config in plan.configs:
        blank = [config.precision, str(config.batch), config.compile_mode or "off"]
        if time.perf_counter() - started > plan.budget:
            rows.append(blank + ["skipped: time budget"] + [""] * (len(HEADER) - 4))
            continue
        try:
            rows.append(measure(plan, config, flops, peak))
        except Exception as err:  # one configuration's failure is reported in its row, and fails the run
            ok = False
            rows.append(blank + [f"error: {type(err).__name__}: {str(err).splitlines()[0][:120]}"]
                        + [""] * (len(HEADER) - 4))
        if plan.handle.device.type == "cuda":
            torch.cuda.empty_cache()
        print(f"  done {config} after {time.perf_counter() - started:.0f}s", flush=True)
    return rows, ok


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


NATURAL_MODEL = "synthclip-biased"  # a bundled synthetic model: the natural suites run on it, and their truth is known
NATURAL_SUITES = ("gender-skew", "concept-blending", "nsfw-leakage")


def natural_table(device: str, smoke: bool, peak: float | None) -> bool:
    """The shipped natural suites on a synthetic model, run by the library as users run them, at fp32 and
    (on CUDA) bf16: images/s, share of the bf16 peak, and whether every case's verdict is the same.
    The smoke runs gender-skew alone at 2 steps and 2 seeds on the CPU, fp32 only."""
    from pathlib import Path

    from clipsafety.run.case import RunConfig
    from clipsafety.run.runner import run_suites

    suites = Path(__file__).resolve().parents[1] / "suites"
    names = NATURAL_SUITES[:1] if smoke else NATURAL_SUITES
    paths = [suites / f"{name}.clipsafety.yaml" for name in names]
    budget = dict(steps=2, seeds=2) if smoke else {}
    flops = None
    print(f"\nthe natural suites ({', '.join(names)}) on {NATURAL_MODEL}, {device}"
          f"{' (smoke: 2 steps, 2 seeds)' if smoke else ', each suite at its own budget'}\n")
    print("| precision | images | encoder passes | seconds | images/s | share of bf16 peak |\n|---|---|---|---|---|---|")
    verdicts = {}
    for precision in ("fp32",) if device == "cpu" else ("fp32", "bf16"):
        config = RunConfig(model=NATURAL_MODEL, device=device, precision=precision, cache_dir=None,
                           evidence_seeds=0, **budget)
        start = time.perf_counter()
        results = run_suites(paths, config)
        seconds = time.perf_counter() - start
        if flops is None:
            flops = encoder_pass_flops(config)
        passes = results.provenance.encoder_passes
        share = f"{passes * flops / seconds / (peak * 1e12):.1%}" if peak else "-"
        print(f"| {precision} | {len(results.images)} | {passes:,} | {seconds:.1f} | "
              f"{len(results.images) / seconds:.2f} | {share} |")
        verdicts[precision] = {c.nodeid: c.outcome for c in results.cases}
    if len(verdicts) == 1:
        print("\nverdicts bf16 against fp32: not compared (no CUDA)")
        return True
    differ = sorted(k for k in verdicts["fp32"] if verdicts["fp32"][k] != verdicts["bf16"].get(k))
    print(f"\nverdicts bf16 against fp32: {'identical, ' + str(len(verdicts['fp32'])) + ' cases' if not differ else 'FAIL: ' + ', '.join(differ)}")
    return not differ


def encoder_pass_flops(config) -> float:
    """FLOPs of one image-encoder forward and backward at the model's input size (FlopCounterMode)."""
    handle = load_model(config.model, None, device=config.device, precision="fp32")
    size = handle.input_size
    x = torch.rand(1, 3, size, size, device=handle.device, requires_grad=True)
    with FlopCounterMode(display=False) as counter:
        handle.model.encode_image(x).sum().backward()
    return float(counter.get_total_flops())


def make_plan(args: argparse.Namespace) -> Plan:
    if args.smoke:
        configs = [Config("fp32", b, None) for b in (1, 2)] + [Config("bf16", 2, None)]
        return Plan(tiny_handle(device="cpu"), configs, warmup=1, seconds=0.0, max_steps=2,
                    check_steps=2, budget=120.0)
    modes = ["default"] + (["reduce-overhead"] if args.cuda_graphs else [])
    configs = [Config("bf16", b, None) for b in args.batches] + [Config("fp32", 16, None)]
    configs += [Config("bf16", b, m) for m in modes for b in args.batches]  # compiling is slow: last
    handle = load_model("ViT-B-32", "random", device="cuda", precision="fp32")
    return Plan(handle, configs, warmup=3, seconds=args.seconds, max_steps=800, check_steps=args.check_steps,
                budget=args.budget)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="CPU, tiny model, 2 steps (automatic without CUDA)")
    parser.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak, if not in the table")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--seconds", type=float, default=3.0, help="time box per configuration after warm-up")
    parser.add_argument("--check-steps", type=int, default=20, help="steps of the bf16 against fp32 check")
    parser.add_argument("--tolerance", type=float, default=0.02,
                        help="largest |mean similarity bf16 - fp32| after the check's steps")
    parser.add_argument("--cuda-graphs", action="store_true", help="also torch.compile(mode='reduce-overhead')")
    parser.add_argument("--budget", type=float, default=200.0,
                        help="seconds; configurations not started by then are skipped")
    parser.add_argument("--no-natural", action="store_true",
                        help="skip the natural suites on a synthetic model (bf16 against fp32 verdicts)")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available() and not args.smoke:
        print("no CUDA device: running the CPU smoke (--smoke)")
        args.smoke = True
    started = time.perf_counter()
    plan = make_plan(args)
    name = torch.cuda.get_device_name(plan.handle.device) if plan.handle.device.type == "cuda" else "cpu"
    peak = peak_tflops(name, args.peak_tflops)
    print(f"device {name}; torch {torch.__version__}; model {plan.handle.name} ({plan.handle.source}); "
          f"bf16 peak {f'{peak:.0f} TFLOP/s' if peak else 'unknown (give --peak-tflops)'}")
    check_ok = check_bf16(plan.handle, plan.check_steps, args.tolerance)
    rows, rows_ok = run_table(plan, peak, started)
    print(f"\n{markdown(rows)}\n")
    print(f"FLOPs per pass: counted with torch.utils.flop_counter.FlopCounterMode over one paper-profile step "
          f"(eager), divided by batch x {get_settings('paper').copies} copies.")
    natural_ok = args.no_natural or natural_table(plan.handle.device.type, args.smoke, peak)
    print(f"Total {time.perf_counter() - started:.0f}s.")
    return 0 if check_ok and rows_ok and natural_ok else 1


if __name__ == "__main__":
    sys.exit(main())
