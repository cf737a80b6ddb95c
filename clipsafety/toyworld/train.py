"""Train a toy CLIP on a world spec and write a bundled-model folder.

    python -m clipsafety.toyworld.train --spec clipsafety/toyworld/specs/biased.yaml \
        --out clipsafety/toyworld/models/toyclip-biased --seed 0

Deterministic for a seed on a given machine and thread count: weights from
``torch.manual_seed``, data from ``np.random.default_rng``, augmentations from a
``torch.Generator``, deterministic kernels where torch has them. The folder is
written next to ``--out`` under a temporary name and renamed into place at the end.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from open_clip.model import CLIP

from ..training.augment import augment
from ..training.contrastive import make_optimizer, run_deterministic, train_steps
from ..training.folder import run_command, write_model_folder
from .render import sample_batch, vocabulary_words
from .spec import SpecError, WorldSpec
from .tokenizer import ToyTokenizer
from .toyclip import EVAL_SEED, KIND, PREPROCESS_CFG, classify, model_config, to_model_input, zero_shot_accuracy


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m clipsafety.toyworld.train", description=__doc__.split("\n")[0])
    p.add_argument("--spec", required=True, type=Path, help="world spec YAML")
    p.add_argument("--out", required=True, type=Path, help="model folder to write (replaced if present)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=1200, help="the shipped models used 1200")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--eval-images", type=int, default=1000)
    args = p.parse_args(argv)
    minimums = {"steps": 1, "batch_size": 2, "threads": 1, "log_every": 1, "eval_images": 1, "warmup": 0}
    for name, least in minimums.items():
        if getattr(args, name) < least:
            p.error(f"--{name.replace('_', '-')} must be at least {least}, got {getattr(args, name)}")
    if not args.lr > 0:
        p.error(f"--lr must be positive, got {args.lr}")
    return args


@torch.no_grad()
def role_diagnostics(model: CLIP, tokenizer: ToyTokenizer, spec: WorldSpec, mean, std) -> dict[str, float]:
    """Which role word the model picks for red and for blue renders of each role's shape."""
    from .render import render_shape

    out = {}
    if not spec.roles:
        return out
    rng = np.random.default_rng(EVAL_SEED + 1)
    prompts = [f"a {r.word}" for r in spec.roles]
    for colour in ("blue", "red"):
        if colour not in spec.colours:
            continue
        shape = spec.roles[0].shape or spec.shapes[0]
        images = np.stack([render_shape(shape, colour, rng, spec.image_size) for _ in range(200)])
        picks = classify(model, tokenizer, to_model_input(images, mean, std), prompts).numpy()
        for i, r in enumerate(spec.roles):
            out[f"{colour}_{shape}_as_{r.word}"] = float((picks == i).mean())
    return out


def train(args) -> Path:
    """Train and write the model folder; torch's global thread and determinism settings are restored after."""
    return run_deterministic(_train, args)


def _train(args) -> Path:
    spec = WorldSpec.from_yaml(args.spec)
    tokenizer = ToyTokenizer(vocabulary_words(spec), context_length=12)
    cfg = model_config(tokenizer.vocab_size, tokenizer.context_length, spec.image_size)
    with torch.random.fork_rng(devices=[]):  # seeds the initial weights without touching the caller's RNG
        torch.manual_seed(args.seed)
        model = CLIP(**cfg)
    optimizer = make_optimizer(model, args)
    data_rng = np.random.default_rng([args.seed, 1])  # separate streams for data and augmentation
    aug_gen = torch.Generator().manual_seed(args.seed * 1_000_003 + 2)
    mean, std = torch.tensor(PREPROCESS_CFG["mean"]), torch.tensor(PREPROCESS_CFG["std"])

    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    log(f"training {args.out.name} on {args.spec} seed={args.seed} steps={args.steps} "
        f"batch={args.batch_size} params={sum(p.numel() for p in model.parameters())}")

    def next_batch():
        images, captions, keys = sample_batch(spec, data_rng, args.batch_size)
        x = augment(torch.from_numpy(images).permute(0, 3, 1, 2), aug_gen)
        return (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1), tokenizer(captions), keys

    train_seconds = train_steps(model, optimizer, args, next_batch, log)

    model.eval()
    accuracy = zero_shot_accuracy(model, tokenizer, spec, mean, std, n=args.eval_images)
    diagnostics = role_diagnostics(model, tokenizer, spec, mean, std)
    log(f"zero-shot accuracy {accuracy} roles {diagnostics} in {train_seconds:.0f}s")
    card = {
        "name": args.out.name, "kind": KIND, "training_seed": args.seed, "steps": args.steps, "spec_file": args.spec.name,
        "accuracy": accuracy, "train_seconds": round(train_seconds, 1),
        "batch_size": args.batch_size, "lr": args.lr, "threads": args.threads,
        "eval": {"images": args.eval_images, "seed": EVAL_SEED,
                 "prompts": {"colour": "a {colour} object", "shape": "a {shape}",
                             "colour_shape": "a {colour} {shape}"}},
        "role_diagnostics": diagnostics,
        "torch": torch.__version__,
    }
    write_model_dir(args.out, model, cfg, tokenizer, args.spec, card)
    log(f"wrote {args.out}")
    return args.out


def write_model_dir(out: Path, model: CLIP, cfg: dict, tokenizer: ToyTokenizer, spec_path: Path, card: dict) -> None:
    """The model folder, with the toy tokenizer's vocabulary and the spec it was trained on."""
    def extra(folder: Path) -> None:
        tokenizer.save(folder / "vocab.json")
        shutil.copyfile(spec_path, folder / "spec.yaml")

    write_model_folder(out, cfg, dict(PREPROCESS_CFG), model, card, extra)


def main(argv=None) -> int:
    return run_command(train, parse_args(argv), SpecError)


if __name__ == "__main__":
    sys.exit(main())
