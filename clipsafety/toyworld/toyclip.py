"""The toy CLIP: architecture, the bundled-model folder layout, zero-shot accuracy.

A model folder holds exactly:
  open_clip_config.json         {"model_cfg": {...CLIP kwargs...}, "preprocess_cfg": {...}}
  open_clip_model.safetensors   the fp32 state_dict
  vocab.json                    the ToyTokenizer's vocabulary
  spec.yaml                     the world spec it was trained on
  card.json                     name, "kind": "toy", seed, steps, accuracy, training time
The card's ``"kind": "toy"`` is what makes clipsafety treat the folder as a toy
model, bundled or loaded by path. ``load_toy_model`` adds the spec and card to
what clipsafety.models.folders reads (the one reader of model folders: no second
loader of weights).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from open_clip.model import CLIP

from .render import render_shape
from .spec import WorldSpec
from .tokenizer import ToyTokenizer

KIND = "toy"  # what a toy model folder's card.json declares
MODEL_FILES = ("open_clip_config.json", "open_clip_model.safetensors", "vocab.json", "spec.yaml", "card.json")
# OpenAI CLIP's normalisation, so the toy models look like any other open_clip model
PREPROCESS_CFG = {"size": 32, "mean": [0.48145466, 0.4578275, 0.40821073],
                  "std": [0.26862954, 0.26130258, 0.27577711]}
EVAL_SEED = 20240611  # fresh renders for zero-shot accuracy; never used for training data


def model_config(vocab_size: int, context_length: int = 12, image_size: int = 32) -> dict:
    """Kwargs of ``open_clip.model.CLIP`` for the toy architecture (about 1.6 M parameters)."""
    return {
        "embed_dim": 128,
        "vision_cfg": {"image_size": image_size, "patch_size": 4, "width": 128, "layers": 4, "head_width": 32},
        "text_cfg": {"context_length": context_length, "vocab_size": vocab_size,
                     "width": 128, "heads": 4, "layers": 4},
    }


@dataclass
class ToyModel:
    model: CLIP
    tokenizer: ToyTokenizer
    mean: torch.Tensor  # [3]
    std: torch.Tensor  # [3]
    spec: WorldSpec
    card: dict

    def preprocess(self, images) -> torch.Tensor:
        """[N, H, W, 3] uint8 or float [0, 1] arrays -> normalised [N, 3, H, W] tensor."""
        return to_model_input(images, self.mean, self.std)


def to_model_input(images, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(images))
    x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
    x = x.permute(0, 3, 1, 2)
    return (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)


def load_toy_model(model_dir: str | Path, device: str = "cpu") -> ToyModel:
    """A toy model folder with its spec and card; the weights are read by
    clipsafety.models.folders.load_model_folder, the one reader of model folders."""
    from ..models.folders import load_model_folder

    model_dir = Path(model_dir)
    missing = [f for f in MODEL_FILES if not (model_dir / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{model_dir}: not a toy model folder, missing {missing}")
    built = load_model_folder(model_dir, model_dir.name)
    if built.kind != KIND:
        raise ValueError(f"{model_dir}: declares kind {built.kind!r}, not {KIND!r} (see its card.json)")
    model = built.model.to(device).eval()
    return ToyModel(model=model, tokenizer=built.tokenizer,
                    mean=torch.tensor(built.mean, device=device), std=torch.tensor(built.std, device=device),
                    spec=WorldSpec.from_yaml(model_dir / "spec.yaml"),
                    card=json.loads((model_dir / "card.json").read_text(encoding="utf-8")))


@torch.no_grad()
def classify(model: CLIP, tokenizer: ToyTokenizer, x: torch.Tensor, prompts: list[str]) -> torch.Tensor:
    """Index of the best-matching prompt for each preprocessed image in ``x``."""
    text = model.encode_text(tokenizer(prompts).to(x.device), normalize=True)
    image = model.encode_image(x, normalize=True)
    return (image @ text.T).argmax(dim=1)


def zero_shot_accuracy(model: CLIP, tokenizer: ToyTokenizer, spec: WorldSpec, mean: torch.Tensor,
                       std: torch.Tensor, n: int = 1000, seed: int = EVAL_SEED) -> dict[str, float]:
    """Accuracy on ``n`` fresh renders of plain shapes.

    colour: among "a {colour} object"; shape: among "a {shape}";
    colour_shape: among all "a {colour} {shape}".
    """
    rng = np.random.default_rng(seed)
    colours = rng.integers(len(spec.colours), size=n)
    shapes = rng.integers(len(spec.shapes), size=n)
    images = np.stack([render_shape(spec.shapes[s], spec.colours[c], rng, spec.image_size)
                       for c, s in zip(colours, shapes)])
    was_training = model.training
    model.eval()
    x = to_model_input(images, mean.cpu(), std.cpu()).to(next(model.parameters()).device)
    colour_pred = classify(model, tokenizer, x, [f"a {c} object" for c in spec.colours]).cpu().numpy()
    shape_pred = classify(model, tokenizer, x, [f"a {s}" for s in spec.shapes]).cpu().numpy()
    joint_pred = classify(model, tokenizer, x, [f"a {c} {s}" for c in spec.colours for s in spec.shapes]).cpu().numpy()
    model.train(was_training)
    joint_truth = colours * len(spec.shapes) + shapes
    return {"colour": float((colour_pred == colours).mean()), "shape": float((shape_pred == shapes).mean()),
            "colour_shape": float((joint_pred == joint_truth).mean())}
