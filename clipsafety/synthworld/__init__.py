"""The synthetic world: rendered scenes captioned in plain English, their pixel oracles,
and small open_clip models trained on them with planted flaws (``synthclip-fair``,
``synthclip-biased``).

Where the toy world has its own words, these models read open_clip's own BPE
tokenizer, and every prompt, anchor, control and label of the natural suites
(gender-skew, nsfw-leakage, concept-blending) names something they were trained
to see: a man, a woman, a doctor's kit, an astronaut riding a horse, a mountain
lake at sunrise. Professions and adjectives co-occur with one gender at rates a
spec plants (``specs/*.yaml``, or ``spec.random_spec`` for fresh worlds), so the
natural suites can be measured against a known truth.

The world plugs into clipsafety's core the way a third-party package would: its
models and its kind through the ``clipsafety.models`` entry point
(``provider.py``); the core never imports this package. Its model folders declare
``"kind": "synthetic"``.

Importing this package needs only numpy and PyYAML; training and the model's
measurements (``train.py``, ``synthclip.py``) need torch and open_clip.
"""

from __future__ import annotations

from pathlib import Path

from ..training.bundled import model_folders

from .oracles import gender_of, object_scores, present_objects, woman_share
from .render import OBJECTS, Sample, caption_texts, sample, sample_batch, samples
from .spec import ADJECTIVES, PROFESSIONS, WORDS, SpecError, WorldSpec, random_spec

KIND = "synthetic"  # what a synthetic model folder's card.json declares
MODEL_DIR = Path(__file__).parent / "models"
SPEC_DIR = Path(__file__).parent / "specs"
BUNDLED = ("synthclip-fair", "synthclip-biased")  # what train.py is run to write into MODEL_DIR


def bundled_models() -> dict[str, Path]:
    """Name -> folder of every model present in the package (folders holding a card.json)."""
    return model_folders(MODEL_DIR)


def bundled_model_dir(name: str) -> Path:
    """Folder of the bundled model ``name``; KeyError naming the present ones otherwise."""
    models = bundled_models()
    if name not in models:
        raise KeyError(f"no bundled synthetic model {name!r}; present: {sorted(models)} "
                       f"(train them with python -m clipsafety.synthworld.train)")
    return models[name]


__all__ = [
    "ADJECTIVES", "BUNDLED", "KIND", "MODEL_DIR", "OBJECTS", "PROFESSIONS", "SPEC_DIR", "WORDS", "Sample",
    "SpecError", "WorldSpec", "bundled_model_dir", "bundled_models", "caption_texts", "gender_of",
    "object_scores", "present_objects", "random_spec", "sample", "sample_batch", "samples", "woman_share",
]
