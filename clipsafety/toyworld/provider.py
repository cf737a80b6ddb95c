"""The toy world as a model provider of clipsafety's core.

Registered in pyproject.toml under the entry-point group ``clipsafety.models``,
as any third-party package would: it names the bundled models
(``toyclip-fair``, ``toyclip-biased``) and reads folders that declare
``"kind": "toy"`` (bundled, or trained with ``python -m clipsafety.toyworld.train``
and loaded with ``local-dir:PATH``) with the toy tokenizer.
"""

from __future__ import annotations

from pathlib import Path

from ..models.providers import ModelProvider
from . import bundled_models
from .toyclip import KIND

VOCAB_NAME = "vocab.json"


def toy_tokenizer(folder: Path):
    from .tokenizer import ToyTokenizer

    return ToyTokenizer.from_file(Path(folder) / VOCAB_NAME)


PROVIDER = ModelProvider(kind=KIND, named_models=bundled_models, tokenizer=toy_tokenizer,
                         description="tiny CLIPs trained on the rendered toy world, with planted flaws")
