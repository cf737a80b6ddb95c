"""What both worlds' trainers share: the contrastive loss, the learning-rate schedule, the optimiser, the
training loop, and running a training with torch's thread and determinism settings restored afterwards."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F


def contrastive_loss(image_f: torch.Tensor, text_f: torch.Tensor, logit_scale: torch.Tensor,
                     keys: list[str]) -> torch.Tensor:
    """CLIP's symmetric InfoNCE, with captions of one meaning as shared positives.

    A batch holds many "a doctor" or "a photo of a man" captions; plain CLIP would call
    all but one of them negatives of each image. Here the target of each row is
    uniform over the captions with the same key (the plain-CLIP target when keys
    are unique).
    """
    codes = {k: i for i, k in enumerate(dict.fromkeys(keys))}
    ids = torch.tensor([codes[k] for k in keys])
    same = (ids[:, None] == ids[None, :]).float()
    target = same / same.sum(dim=1, keepdim=True)
    logits = logit_scale * image_f @ text_f.T
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def learning_rate(step: int, args) -> float:
    """Linear warm-up over args.warmup steps, then a cosine down to 5% of args.lr at args.steps."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def make_optimizer(model: torch.nn.Module, args) -> torch.optim.Optimizer:
    """AdamW with weight decay on the matrices only (no decay on embedding tables and norms)."""
    decayed = lambda n, p: p.ndim >= 2 and "embedding" not in n  # noqa: E731
    decay = [p for n, p in model.named_parameters() if decayed(n, p)]
    rest = [p for n, p in model.named_parameters() if not decayed(n, p)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.98))


def train_steps(model: torch.nn.Module, optimizer: torch.optim.Optimizer, args,
                next_batch: Callable[[], tuple[torch.Tensor, torch.Tensor, list[str]]],
                log: Callable[[str], None]) -> float:
    """Run args.steps contrastive steps on `next_batch()`'s (normalised images, tokens, caption keys), logging
    the smoothed loss every args.log_every steps; the training's seconds. The logit scale stays at most 100."""
    start, running = time.time(), None
    model.train()
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args)
        x, tokens, keys = next_batch()
        image_f, text_f, logit_scale = model(x, tokens)
        loss = contrastive_loss(image_f, text_f, logit_scale, keys)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))  # as in CLIP
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
        if (step + 1) % args.log_every == 0 or step + 1 == args.steps:
            elapsed = time.time() - start
            log(f"step {step + 1}/{args.steps} loss {running:.3f} lr {learning_rate(step, args):.2e} "
                f"scale {model.logit_scale.exp().item():.1f} {elapsed:.0f}s "
                f"eta {elapsed / (step + 1) * (args.steps - step - 1):.0f}s")
    return time.time() - start


def run_deterministic(train: Callable[[object], Path], args) -> Path:
    """Train with args.threads threads and deterministic kernels; torch's global settings are restored after."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    try:
        return train(args)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
