"""Writing a trained model folder, and the command line's error handling, as both worlds' trainers do them."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import save_file


def write_model_folder(out: Path, cfg: dict, preprocess: dict, model: torch.nn.Module, card: dict,
                       extra: Callable[[Path], None]) -> None:
    """Write the folder under a temporary name, then swap it in, so readers never see half of it: the
    open_clip config, the fp32 weights, the card, and what `extra(folder)` adds (a vocabulary, the spec)."""
    out = out.resolve()
    tmp, old = out.with_name(f".{out.name}.tmp"), out.with_name(f".{out.name}.old")
    for path in (tmp, old):
        shutil.rmtree(path, ignore_errors=True)
    tmp.mkdir(parents=True)
    config = {"model_cfg": cfg, "preprocess_cfg": preprocess}
    (tmp / "open_clip_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    state = {k: v.detach().float().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, str(tmp / "open_clip_model.safetensors"))
    (tmp / "open_clip_model.safetensors").chmod(0o644)  # safetensors writes 0600; this is package data
    extra(tmp)
    (tmp / "card.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def run_command(train: Callable, args, refused: type[Exception]) -> int:
    """A trainer's exit status: 2 with one line for a refused spec or setting, 130 when interrupted."""
    try:
        train(args)
    except refused as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the folder is only swapped in at the end: nothing half-written
        print(f"\ninterrupted: nothing was written to {args.out}", file=sys.stderr)
        return 130
    return 0
