"""A tiny random-init CLIP for tests and benchmarks: 16 px, one layer, no download.

Like open_clip's own tests, it exercises the real code paths in a second.
"""

from __future__ import annotations

import open_clip
import torch

from .load import ModelHandle, handle_from_model

TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 16, "patch_size": 4, "width": 32, "layers": 1, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def tiny_tokenizer():
    """open_clip's BPE tokenizer (its vocabulary ships inside open_clip) at the tiny text tower's length."""
    from open_clip.tokenizer import SimpleTokenizer

    return SimpleTokenizer(context_length=TINY_CFG["text_cfg"]["context_length"])


def make_tiny_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return open_clip.model.CLIP(**TINY_CFG)


def write_tiny_model_folder(folder, seed: int = 0):
    """A `local-dir:` model folder (open_clip_config.json + safetensors) of the tiny CLIP."""
    import json
    from pathlib import Path

    from .load import save_checkpoint

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY_CFG, "preprocess_cfg": {}}))
    save_checkpoint(make_tiny_model(seed), folder / "open_clip_model.safetensors")
    return folder


def tiny_handle(seed: int = 0, device: str = "cpu") -> ModelHandle:
    return handle_from_model(make_tiny_model(seed), tiny_tokenizer(), name="tiny", architecture=TINY_CFG,
                             device=device)
