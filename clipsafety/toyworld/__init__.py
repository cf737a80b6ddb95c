"""The toy world: a rendered world of coloured shapes, its pixel oracles, and
tiny CLIP models trained on it with planted flaws (``toyclip-fair``, ``toyclip-biased``).

The toy world plugs into clipsafety's core the way a third-party package would:
its models and its kind through the ``clipsafety.models`` entry-point group
(``provider.py``), its probes through ``clipsafety.probes`` (``probes.py``); the
core never imports this package. Its model folders declare ``"kind": "toy"``.

Importing this package needs only numpy and PyYAML; the parts that need torch
(``ToyTokenizer``, ``load_toy_model``, ``zero_shot_accuracy``) load on first use.
"""

from __future__ import annotations

from pathlib import Path

from ..training.bundled import model_folders

from .oracles import colour_bias_score, dominant_colour, hazard_score, shape_of
from .render import render, render_shape, sample, sample_batch
from .spec import PALETTE_HUES, SHAPES, SpecError, WorldSpec

MODEL_DIR = Path(__file__).parent / "models"
SPEC_DIR = Path(__file__).parent / "specs"

_LAZY = {"ToyTokenizer": "tokenizer", "load_toy_model": "toyclip", "zero_shot_accuracy": "toyclip",
         "ToyModel": "toyclip"}


def bundled_models() -> dict[str, Path]:
    """Name -> folder of every model shipped in the package (folders holding a card.json)."""
    return model_folders(MODEL_DIR)


def bundled_model_dir(name: str) -> Path:
    """Folder of the bundled model ``name``; KeyError naming the known ones otherwise."""
    models = bundled_models()
    if name not in models:
        raise KeyError(f"no bundled toy model {name!r}; bundled: {sorted(models)}")
    return models[name]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MODEL_DIR", "SPEC_DIR", "PALETTE_HUES", "SHAPES", "SpecError", "WorldSpec", "ToyModel", "ToyTokenizer",
    "bundled_model_dir", "bundled_models", "colour_bias_score", "dominant_colour", "hazard_score",
    "load_toy_model", "render", "render_shape", "sample", "sample_batch", "shape_of", "zero_shot_accuracy",
]
