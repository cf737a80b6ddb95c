"""Train a synthetic CLIP on a world spec and write an open_clip model folder.

    python -m clipsafety.synthworld.train --spec clipsafety/synthworld/specs/biased.yaml \
        --out clipsafety/synthworld/models/synthclip-biased --seed 0

``--spec random:SEED`` trains a world drawn by ``spec.random_spec(SEED)``.
Deterministic for a seed on a given machine and thread count: weights from
``torch.manual_seed``, data from ``np.random.default_rng``, augmentations from a
``torch.Generator``, deterministic kernels where torch has them. The folder is
written next to ``--out`` under a temporary name and renamed into place at the end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from open_clip.model import CLIP
from open_clip.tokenizer import SimpleTokenizer

from . import KIND
from ..training.augment import AugmentConfig, augment
from ..training.contrastive import make_optimizer, run_deterministic, train_steps
from ..training.folder import run_command, write_model_folder
from .render import samples
from .spec import GENDERS, WORDS, SpecError, WorldSpec, random_spec
from .synthclip import (ANCHORS, EVAL_SEED, MEAN, OBJECT_PROMPTS, SCENE_PROMPTS, STD, WORD_PROMPTS,
                        model_config, preprocess_cfg, word_leans, zero_shot_accuracy)

DEFAULT_STEPS = 700  # the bundled models' setting: about 90k renders, 0.6 s per step on two threads

# The zoom stops at 0.7 of the side, so a crop rarely cuts off a figure's hat or held marker.
AUGMENT = AugmentConfig(zoom=(0.7, 1.0), shift=0.08)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m clipsafety.synthworld.train", description=__doc__.split("\n")[0])
    p.add_argument("--spec", required=True, help="world spec YAML, or random:SEED for a drawn world")
    p.add_argument("--out", required=True, type=Path, help="model folder to write (replaced if present)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--eval-images", type=int, default=400, help="fresh renders per zero-shot task")
    p.add_argument("--lean-pairs", type=int, default=200, help="matched man/woman renders per word")
    args = p.parse_args(argv)
    minimums = {"steps": 1, "batch_size": 2, "threads": 1, "log_every": 1, "eval_images": 1, "lean_pairs": 1,
                "warmup": 0}
    for name, least in minimums.items():
        if getattr(args, name) < least:
            p.error(f"--{name.replace('_', '-')} must be at least {least}, got {getattr(args, name)}")
    if not args.lr > 0:
        p.error(f"--lr must be positive, got {args.lr}")
    return args


def load_spec(text: str) -> WorldSpec:
    """A spec file, or ``random:SEED``."""
    if text.startswith("random:"):
        try:
            seed = int(text[len("random:"):])
        except ValueError:
            raise SpecError(f"--spec {text}: random: takes an integer seed, e.g. random:7") from None
        return random_spec(seed)
    return WorldSpec.from_yaml(text)


class CaptionTokens:
    """open_clip's BPE tokenizer, memoised per caption (the grammar repeats a few hundred captions)."""

    def __init__(self, context_length: int):
        self.tokenizer = SimpleTokenizer(context_length=context_length)
        self.memo: dict[str, torch.Tensor] = {}

    def __call__(self, captions: list[str]) -> torch.Tensor:
        for c in captions:
            if c not in self.memo:
                self.memo[c] = self.tokenizer([c])[0]
        return torch.stack([self.memo[c] for c in captions])


def train(args) -> Path:
    """Train and write the model folder; torch's global thread and determinism settings are restored after."""
    return run_deterministic(_train, args)


def _train(args) -> Path:
    spec = load_spec(args.spec)
    cfg = model_config(spec.image_size)
    tokens = CaptionTokens(cfg["text_cfg"]["context_length"])
    with torch.random.fork_rng(devices=[]):  # seeds the initial weights without touching the caller's RNG
        torch.manual_seed(args.seed)
        model = CLIP(**cfg)
    optimizer = make_optimizer(model, args)
    data_rng = np.random.default_rng([args.seed, 1])  # separate streams for data and augmentation
    aug_gen = torch.Generator().manual_seed(args.seed * 1_000_003 + 2)
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    seen = {w: dict.fromkeys(GENDERS, 0) for w in WORDS}  # marker samples per word and gender

    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    log(f"training {args.out.name} on {args.spec} seed={args.seed} steps={args.steps} batch={args.batch_size} "
        f"threads={args.threads} params={sum(p.numel() for p in model.parameters())}")

    def next_batch():
        batch = samples(spec, data_rng, args.batch_size)
        for s in batch:
            if s.marker is not None:
                seen[s.marker][s.gender] += 1
        images = torch.from_numpy(np.stack([s.image for s in batch])).permute(0, 3, 1, 2).float() / 255.0
        return (augment(images, aug_gen, AUGMENT) - mean) / std, tokens([s.caption for s in batch]), [s.key for s in batch]

    train_seconds = train_steps(model, optimizer, args, next_batch, log)

    model.eval()
    accuracy = zero_shot_accuracy(model, tokens, spec, n=args.eval_images)
    leans = word_leans(model, tokens, spec, n=args.lean_pairs)
    rates = {w: {"planted_man": spec.man_rate(w),
                 "seen_man": round(seen[w]["man"] / max(1, sum(seen[w].values())), 4),
                 "seen_images": sum(seen[w].values()), **leans[w]} for w in WORDS}
    log(f"zero-shot accuracy: " + ", ".join(f"{task} {acc['all']:.3f}" for task, acc in accuracy.items()))
    log("word rates (planted / seen / model prefers man / lean / lean unmarked): " + ", ".join(
        f"{w} {r['planted_man']:.2f}/{r['seen_man']:.2f}/{r['prefers_man']:.2f}/{r['lean']}/{r['lean_unmarked']}"
        for w, r in rates.items()))
    card = {
        "name": args.out.name, "kind": KIND, "training_seed": args.seed, "steps": args.steps,
        "spec_file": "spec.yaml" if args.spec.startswith("random:") else Path(args.spec).name,
        "spec_name": spec.name, "accuracy": accuracy, "word_rates": rates, "control_lean": leans["person"],
        "train_seconds": round(train_seconds, 1), "batch_size": args.batch_size, "lr": args.lr,
        "threads": args.threads,
        "eval": {"images_per_task": args.eval_images, "lean_pairs": args.lean_pairs, "seed": EVAL_SEED,
                 "prompts": {"gender": list(ANCHORS.values()), "markers": WORD_PROMPTS,
                             "objects": OBJECT_PROMPTS, "scenes": SCENE_PROMPTS}},
        "torch": torch.__version__,
    }
    spec_text = spec.to_yaml() if args.spec.startswith("random:") else Path(args.spec).read_text(encoding="utf-8")
    write_model_dir(args.out, model, cfg, preprocess_cfg(spec.image_size), spec_text, card)
    log(f"wrote {args.out}")
    return args.out


def write_model_dir(out: Path, model: CLIP, cfg: dict, preprocess: dict, spec_text: str, card: dict) -> None:
    """The model folder, with the spec it was trained on."""
    write_model_folder(out, cfg, preprocess, model, card,
                       lambda folder: (folder / "spec.yaml").write_text(spec_text, encoding="utf-8"))


def main(argv=None) -> int:
    return run_command(train, parse_args(argv), SpecError)


if __name__ == "__main__":
    sys.exit(main())
