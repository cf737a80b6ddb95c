"""The synthetic world as a model provider of clipsafety's core.

Registered in pyproject.toml under the entry-point group ``clipsafety.models``,
as any third-party package would: it names the bundled models present
(``synthclip-fair``, ``synthclip-biased`` once trained) and reads folders that
declare ``"kind": "synthetic"`` (bundled, or trained with
``python -m clipsafety.synthworld.train`` and loaded with ``local-dir:PATH``).
Its tokenizer is open_clip's BPE at the folder's context length, refusing words the world's
captions never use (clipsafety.synthworld.tokenizer).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..models.providers import ModelProvider
from . import KIND, bundled_models
from .photos import world_photos


def world_tokenizer(folder: Path):
    from .tokenizer import WorldTokenizer

    config = json.loads((Path(folder) / "open_clip_config.json").read_text(encoding="utf-8"))
    return WorldTokenizer(context_length=int(config["model_cfg"]["text_cfg"]["context_length"]))


PROVIDER = ModelProvider(kind=KIND, named_models=bundled_models, tokenizer=world_tokenizer, photos=world_photos,
                         description="small open_clip CLIPs trained on rendered natural-vocabulary scenes, "
                                     "with professions planted at known gender rates")
