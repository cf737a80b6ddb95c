"""Model folders and checkpoint files: the one reader of weights on disk.

A model folder (``local-dir:PATH``, a cached ``hf-hub:`` repo, a provider's
named model) holds::

    open_clip_config.json         {"model_cfg": {...CLIP kwargs...}, "preprocess_cfg": {...}}
    open_clip_model.safetensors   the weights (or open_clip_pytorch_model.bin)
    card.json                     optional: what the model is

and says what kind of model it is: ``"kind"`` in card.json or in
open_clip_config.json (``"toy"`` for a toy-world model); a folder that declares
no kind is an ordinary open_clip model (``"natural"``). A kind other than
natural is read with the tokenizer of the provider that registered it, so a
toy model a user trained and loads by path is as much a toy model as a bundled one.

Checkpoints are read with safetensors or ``torch.load(weights_only=True)``
only: a file that holds pickled code is refused, never run.
"""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..util.errors import ModelLoadError
from ..util.files import atomic_write
from .config import check_model_config
from .providers import NATURAL, known_kinds, provider_for_kind

CONFIG_NAME = "open_clip_config.json"
CARD_NAME = "card.json"
WEIGHT_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass
class BuiltModel:
    """A model built and filled with its weights, and what a handle needs besides."""

    model: torch.nn.Module
    tokenizer: Callable[[list[str]], torch.Tensor]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    architecture: Any  # what the fingerprint covers besides the weights
    source: str  # where the weights came from, for reports
    kind: str = NATURAL


# --------------------------------------------------------------------------- checkpoints


def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from safetensors, or from torch.load(weights_only=True); never pickled code."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"checkpoint file not found: {path}", fix="check the path given as --clip-pretrained")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise _refused_pickle(path, err) from None
    except Exception as err:  # noqa: BLE001 - corrupt file, truncated zip, wrong format
        raise ModelLoadError(
            f"could not read checkpoint {path}: {type(err).__name__}: {_first_line(err)}",
            fix="give a .safetensors file, or a torch checkpoint of plain tensors (one that loads with "
                "weights_only=True)",
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f"{path} does not hold a state dict of tensors", fix="save model.state_dict()")
    # Checkpoints saved from DataParallel/DDP prefix every key.
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _refused_pickle(path: Path, err: Exception) -> ModelLoadError:
    # torch's own message advises retrying with weights_only=False, which would run the
    # file's code: say what the file holds instead, and never pass that advice on.
    named = re.search(r"GLOBAL ([\w.]+)", str(err))
    what = f"a pickled Python object ({named.group(1)})" if named else "pickled data that is not plain tensors"
    return ModelLoadError(
        f"could not read checkpoint {path}: it contains {what}, which could run code when loaded; "
        "clipsafety refuses it",
        fix="use a .safetensors file (safetensors.torch.save_file(model.state_dict(), PATH)), or a torch "
            "checkpoint of plain tensors only, which loads with weights_only=True",
    )


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    line = text[0] if text else ""
    return "(no detail)" if "weights_only" in line else line[:300]


def save_checkpoint(model: torch.nn.Module, path: str | Path) -> Path:
    """Write a model's weights as safetensors (atomically)."""
    from safetensors.torch import save

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return atomic_write(path, save(state))


def load_state(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Fill `model` with `state`; every real weight must be there and fit."""
    fix = "check that --clip-model names the architecture the checkpoint was trained as"
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches
        detail = str(err).split("\n\t")[1] if "\n\t" in str(err) else str(err)
        raise ModelLoadError(f"checkpoint {source} does not fit the architecture: {detail}", fix=fix) from None
    # open_clip buffers that some checkpoints lack are harmless; real weights are not.
    missing = [k for k in result.missing_keys if not k.endswith("attn_mask")]
    if missing or result.unexpected_keys:
        raise ModelLoadError(
            f"checkpoint {source} does not fit the architecture: "
            f"{len(missing)} missing keys (e.g. {missing[:3]}), "
            f"{len(result.unexpected_keys)} unexpected (e.g. {result.unexpected_keys[:3]})",
            fix=fix,
        )


# --------------------------------------------------------------------------- folders


def read_json_object(path: Path, fix: str) -> dict:
    """A JSON file that must hold an object; ModelLoadError naming the file otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        detail = f"line {err.lineno} column {err.colno}: {err.msg}" if isinstance(err, json.JSONDecodeError) else err
        raise ModelLoadError(f"not valid JSON ({detail})", where=str(path), fix=fix) from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"must hold a JSON object, got {type(data).__name__}", where=str(path), fix=fix)
    return data


def declared_kind(folder: Path, config: dict, config_path: Path) -> str:
    """The kind the folder declares in card.json or open_clip_config.json; natural if neither does."""
    declared = {}
    if "kind" in config:
        declared[config_path] = config["kind"]
    card_path = folder / CARD_NAME
    if card_path.is_file():
        card = read_json_object(card_path, fix='a model card is a JSON object such as {"name": ..., "kind": "toy"}')
        if "kind" in card:
            declared[card_path] = card["kind"]
    for path, kind in declared.items():
        if not isinstance(kind, str) or not _KIND.match(kind):
            raise ModelLoadError(f"kind must be a short lowercase name such as \"toy\", got {kind!r}",
                                 where=str(path), fix=f"known kinds: {', '.join(known_kinds())}")
    if len(set(declared.values())) > 1:
        raise ModelLoadError(f"{folder}: card.json and {config_path.name} declare different kinds "
                             f"({', '.join(map(repr, declared.values()))})", fix="declare the kind once")
    return next(iter(declared.values()), NATURAL)


def load_model_folder(folder: Path, label: str, config_path: Path | None = None,
                      weights_path: Path | None = None) -> BuiltModel:
    """Build the model a folder describes, checked before anything is allocated, and fill in its weights."""
    import open_clip

    config_path = config_path or folder / CONFIG_NAME
    layout = f"a model folder needs {CONFIG_NAME} and {WEIGHT_NAMES[0]}"
    if not config_path.is_file():
        raise ModelLoadError(f"{config_path} not found", fix=layout)
    config = read_json_object(config_path, fix=f'{CONFIG_NAME} is {{"model_cfg": {{...}}, "preprocess_cfg": {{...}}}}')
    if "model_cfg" not in config:
        raise ModelLoadError("model_cfg is missing", where=str(config_path), fix="give the CLIP settings under model_cfg")
    model_cfg = config["model_cfg"]
    check_model_config(model_cfg, config_path)
    kind = declared_kind(folder, config, config_path)
    mean, std = _normalisation(config.get("preprocess_cfg", {}), config_path)
    weights_path = weights_path or _weights_in(folder)
    tokenizer = _tokenizer(folder, kind, model_cfg.get("text_cfg", {}), config_path)
    try:
        with torch.random.fork_rng(devices=[]):  # throwaway init weights must not consume the caller's RNG
            model = open_clip.model.CLIP(**model_cfg)
    except (TypeError, ValueError, RuntimeError, AssertionError) as err:
        raise ModelLoadError(f"model_cfg cannot be built: {type(err).__name__}: {err}", where=str(config_path),
                             fix="compare it with an open_clip config, e.g. open_clip.get_model_config('ViT-B-32')") from None
    load_state(model, read_checkpoint(weights_path), str(weights_path))
    return BuiltModel(model, tokenizer, mean, std, {"local": model_cfg}, f"{label} ({weights_path})", kind)


def _weights_in(folder: Path) -> Path:
    candidates = [folder / n for n in WEIGHT_NAMES if (folder / n).is_file()]
    if not candidates:
        raise ModelLoadError(f"no weights in {folder}", fix=f"put one of {', '.join(WEIGHT_NAMES)} there")
    return candidates[0]


def _normalisation(preprocess: Any, config_path: Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    import open_clip

    if not isinstance(preprocess, dict):
        raise ModelLoadError(f"preprocess_cfg must be an object, got {type(preprocess).__name__}", where=str(config_path))
    out = []
    for key, default in (("mean", open_clip.OPENAI_DATASET_MEAN), ("std", open_clip.OPENAI_DATASET_STD)):
        value = preprocess.get(key, default)
        ok = (isinstance(value, (list, tuple)) and len(value) == 3
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value))
        if not ok or (key == "std" and min(value) <= 0):
            raise ModelLoadError(f"preprocess_cfg.{key} must be three numbers (one per RGB channel), got {value!r}",
                                 where=str(config_path), fix=f"e.g. {list(default)}")
        out.append(tuple(float(v) for v in value))
    return out[0], out[1]


def _tokenizer(folder: Path, kind: str, text_cfg: dict, config_path: Path) -> Callable:
    if kind == NATURAL:
        return _open_clip_tokenizer(text_cfg, config_path)
    found = provider_for_kind(kind)
    if found is None:
        raise ModelLoadError(
            f"{folder} declares kind {kind!r}, which no installed model provider reads",
            fix=f"install the package that provides {kind!r} models (known kinds: {', '.join(known_kinds())}); "
                "a provider registers under the entry-point group clipsafety.models",
        )
    provider_name, provider = found
    if provider.tokenizer is None:
        return _open_clip_tokenizer(text_cfg, config_path)
    try:
        tokenizer = provider.tokenizer(folder)
    except Exception as err:  # noqa: BLE001 - the provider's own reader: a missing or broken vocabulary
        raise ModelLoadError(f"{folder}: the {kind} tokenizer (provider {provider_name!r}) cannot be read: "
                             f"{type(err).__name__}: {err}", fix=f"check the {kind} model folder's files") from None
    _check_vocabulary(tokenizer, text_cfg, config_path)
    return tokenizer


def _open_clip_tokenizer(text_cfg: dict, config_path: Path) -> Callable:
    from open_clip.tokenizer import DEFAULT_CONTEXT_LENGTH, SimpleTokenizer

    kwargs = text_cfg.get("tokenizer_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise ModelLoadError("model_cfg.text_cfg.tokenizer_kwargs must be an object", where=str(config_path))
    try:
        tokenizer = SimpleTokenizer(context_length=text_cfg.get("context_length", DEFAULT_CONTEXT_LENGTH), **kwargs)
    except (TypeError, ValueError) as err:
        raise ModelLoadError(f"model_cfg.text_cfg.tokenizer_kwargs cannot be used: {err}", where=str(config_path),
                             fix="remove tokenizer_kwargs, or give only arguments of open_clip's SimpleTokenizer") from None
    _check_vocabulary(tokenizer, text_cfg, config_path)
    return tokenizer


def _check_vocabulary(tokenizer: Any, text_cfg: dict, config_path: Path) -> None:
    """A tokenizer with more ids than the text tower has embeddings would fail at the first prompt."""
    size = getattr(tokenizer, "vocab_size", None)
    table = text_cfg.get("vocab_size", 49408)
    if isinstance(size, int) and size > table:
        raise ModelLoadError(
            f"the tokenizer has {size} tokens but model_cfg.text_cfg.vocab_size is {table}",
            where=str(config_path),
            fix='if this folder is a toy-world model, declare it: "kind": "toy" in its card.json; '
                "otherwise fix text_cfg.vocab_size",
        )


__all__ = ["BuiltModel", "CARD_NAME", "CONFIG_NAME", "WEIGHT_NAMES", "declared_kind", "load_model_folder",
           "load_state", "read_checkpoint", "read_json_object", "save_checkpoint"]
