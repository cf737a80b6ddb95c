"""Check an open_clip model config before anything is built from it.

A model folder's ``open_clip_config.json`` is input like a suite: it may be
mistyped or hostile. ``open_clip.model.CLIP(**model_cfg)`` would answer an
unknown key with a TypeError, a huge width with a many-gigabyte allocation, and
a Hugging Face tower or tokenizer with an import of transformers and a
download. Here each of those becomes one ModelLoadError naming the file, the
field and the fix, and the parameter count the config implies is bounded by
``clipsafety.util.limits.MAX_MODEL_PARAMS`` before a single tensor is allocated.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from ..util import limits
from ..util.errors import ModelLoadError
from ..util.names import did_you_mean

# Keys of CLIP(**model_cfg) that a JSON file can carry (cast_dtype is a torch dtype, not JSON).
TOP_LEVEL_KEYS = ("embed_dim", "vision_cfg", "text_cfg", "quick_gelu", "init_logit_scale", "init_logit_bias",
                  "nonscalar_logit_scale", "output_dict")
# Fields that make open_clip import transformers or fetch weights or files from a hub.
DOWNLOADING_FIELDS = {
    "text_cfg.hf_tokenizer_name": "a Hugging Face tokenizer (needs transformers, may download its files)",
    "text_cfg.hf_model_name": "a Hugging Face text tower (needs transformers, downloads its config and weights)",
    "vision_cfg.timm_model_pretrained": "timm's pretrained weights for the image tower (downloaded)",
}
_POSITIVE_INTS = {
    "vision_cfg": ("width",),  # a ViT's head_width and patch_size: _check_vision_shape
    "text_cfg": ("context_length", "vocab_size", "width", "heads", "layers"),
}


def tower_fields(section: str) -> tuple[str, ...]:
    from open_clip.model import CLIPTextCfg, CLIPVisionCfg

    cfg = CLIPVisionCfg if section == "vision_cfg" else CLIPTextCfg
    return tuple(f.name for f in dataclasses.fields(cfg))


def check_model_config(model_cfg: Any, config_path: Path) -> int:
    """Raise ModelLoadError for a config that cannot or must not be built; return the parameter count it implies."""
    if not isinstance(model_cfg, dict):
        raise _error(config_path, "model_cfg", f"must be an object of CLIP settings, got {type(model_cfg).__name__}")
    _check_keys(model_cfg, TOP_LEVEL_KEYS, config_path, "model_cfg")
    if "embed_dim" not in model_cfg:
        raise _error(config_path, "model_cfg.embed_dim", "is missing", fix="give the embedding width, e.g. 512")
    _positive_int(model_cfg["embed_dim"], config_path, "model_cfg.embed_dim")
    for section in ("vision_cfg", "text_cfg"):
        tower = model_cfg.get(section, {})
        if not isinstance(tower, dict):
            raise _error(config_path, f"model_cfg.{section}", f"must be an object, got {type(tower).__name__}")
        _check_keys(tower, tower_fields(section), config_path, f"model_cfg.{section}")
        _refuse_downloads(tower, section, config_path)
        for key in _POSITIVE_INTS[section]:
            if key in tower:
                _positive_int(tower[key], config_path, f"model_cfg.{section}.{key}")
    _check_vision_shape(model_cfg.get("vision_cfg", {}), config_path)
    return _bounded_parameters(model_cfg, config_path)


def _check_keys(mapping: dict, allowed: tuple[str, ...], config_path: Path, where: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise _error(config_path, f"{where}.{key}", f"is not a setting clipsafety can build{did_you_mean(key, allowed)}",
                         fix=f"remove it, or use one of: {', '.join(allowed)}")


def _refuse_downloads(tower: dict, section: str, config_path: Path) -> None:
    for field_path, what in DOWNLOADING_FIELDS.items():
        tower_name, _, key = field_path.partition(".")
        if tower_name == section and tower.get(key):
            raise _error(config_path, f"model_cfg.{field_path}", f"asks for {what}; clipsafety never downloads",
                         fix="remove the field and use open_clip's own towers and tokenizer, with the weights "
                             "in the folder's open_clip_model.safetensors")


def _positive_int(value: Any, config_path: Path, field_path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _error(config_path, field_path, f"must be a positive whole number, got {value!r}")
    return value


def _check_vision_shape(vision: dict, config_path: Path) -> None:
    layers = vision.get("layers", 12)
    if isinstance(layers, (list, tuple)):
        if len(layers) != 4:
            raise _error(config_path, "model_cfg.vision_cfg.layers", f"a ResNet needs 4 stage depths, got {layers!r}")
        for i, depth in enumerate(layers):
            _positive_int(depth, config_path, f"model_cfg.vision_cfg.layers[{i}]")
    else:
        _positive_int(layers, config_path, "model_cfg.vision_cfg.layers")
        for key in ("head_width", "patch_size"):  # a ResNet has neither
            if key in vision:
                _positive_int(vision[key], config_path, f"model_cfg.vision_cfg.{key}")
    size = vision.get("image_size", 224)
    sizes = size if isinstance(size, (list, tuple)) else [size]
    if len(sizes) not in (1, 2):
        raise _error(config_path, "model_cfg.vision_cfg.image_size", f"must be one or two numbers, got {size!r}")
    for side in sizes:
        _positive_int(side, config_path, "model_cfg.vision_cfg.image_size")
        if side > limits.MAX_IMAGE_SIDE:
            raise _error(config_path, "model_cfg.vision_cfg.image_size",
                         f"{side} pixels is above clipsafety's limit of {limits.MAX_IMAGE_SIDE} per side")
    mlp_ratio = vision.get("mlp_ratio", 4.0)
    if isinstance(mlp_ratio, bool) or not isinstance(mlp_ratio, (int, float)) or not 0 < mlp_ratio < 1e6:
        raise _error(config_path, "model_cfg.vision_cfg.mlp_ratio", f"must be a positive number, got {mlp_ratio!r}")


def _bounded_parameters(model_cfg: dict, config_path: Path) -> int:
    vision_cfg, text_cfg = model_cfg.get("vision_cfg", {}), model_cfg.get("text_cfg", {})
    embed = model_cfg["embed_dim"]
    text = text_parameters(text_cfg, embed)
    vision = None if vision_cfg.get("timm_model_name") else vision_parameters(vision_cfg, embed)
    _refuse_above_limit(text + (vision or 0), config_path, vision, text)
    if vision is None:  # a timm tower: its size is timm's; count it without allocating memory
        total = _count_on_meta_device(model_cfg, config_path)
        _refuse_above_limit(total, config_path, total - text, text)
        return total
    return text + vision + 1  # + logit_scale


def _refuse_above_limit(total: int, config_path: Path, vision: int | None, text: int) -> None:
    limit = limits.MAX_MODEL_PARAMS
    if total <= limit:
        return
    towers = f"image tower about {vision:,}, text tower about {text:,}" if vision is not None else f"text tower about {text:,}"
    raise _error(
        config_path, "model_cfg",
        f"implies about {total:,} parameters ({towers}; {total * 4 / 1e9:.1f} GB in fp32), above clipsafety's "
        f"limit of {limit:,} (MAX_MODEL_PARAMS)",
        fix="check the widths and layer counts in model_cfg; to load a model this large deliberately, "
            "set CLIPSAFETY_MAX_MODEL_PARAMS to a larger number",
    )


def _count_on_meta_device(model_cfg: dict, config_path: Path) -> int:
    import torch
    from open_clip.model import CLIP

    try:
        with torch.device("meta"):
            model = CLIP(**model_cfg)
    except Exception as err:  # noqa: BLE001 - timm's own errors: unknown model name, bad kwargs
        raise _error(config_path, "model_cfg.vision_cfg.timm_model_name",
                     f"cannot be built: {type(err).__name__}: {err}") from None
    return sum(p.numel() for p in model.parameters())


def _transformer_layer(width: int, mlp_ratio: float) -> int:
    hidden = int(width * mlp_ratio)
    attention = 4 * width * width + 4 * width
    mlp = 2 * width * hidden + hidden + width
    return attention + mlp + 4 * width  # + two layer norms


def text_parameters(text_cfg: dict, embed_dim: int) -> int:
    """Parameters of open_clip's text transformer (tokens, positions, blocks, projection)."""
    width = text_cfg.get("width", 512)
    layers = text_cfg.get("layers", 12)
    embeddings = (text_cfg.get("vocab_size", 49408) + text_cfg.get("context_length", 77)) * width
    return embeddings + layers * _transformer_layer(width, text_cfg.get("mlp_ratio", 4.0)) + 2 * width + width * embed_dim


def vision_parameters(vision_cfg: dict, embed_dim: int) -> int:
    """Parameters of open_clip's image tower: a ViT, or a ModifiedResNet when `layers` is a list."""
    layers, width = vision_cfg.get("layers", 12), vision_cfg.get("width", 768)
    size = vision_cfg.get("image_size", 224)
    side = max(size) if isinstance(size, (list, tuple)) else size
    if isinstance(layers, (list, tuple)):
        return _resnet_parameters(layers, width, side, embed_dim)
    patch = vision_cfg.get("patch_size", 16)
    grid = math.ceil(side / patch) ** 2
    stem = 3 * patch * patch * width + (grid + 1) * width + width
    blocks = layers * _transformer_layer(width, vision_cfg.get("mlp_ratio", 4.0))
    return stem + blocks + 4 * width + width * embed_dim


def _resnet_parameters(layers: list[int], width: int, side: int, embed_dim: int) -> int:
    half = width // 2
    total = 27 * half + 9 * half * half + 9 * half * width
    inplanes = width
    for stage, depth in enumerate(layers):
        planes = width * 2 ** stage
        for block in range(depth):
            total += inplanes * planes + 9 * planes * planes + 4 * planes * planes + 12 * planes
            if block == 0:
                total += inplanes * 4 * planes  # the downsampling branch
            inplanes = 4 * planes
    pooled = width * 32
    return total + (max(side // 32, 1) ** 2 + 1) * pooled + 3 * pooled * pooled + pooled * embed_dim


def _error(config_path: Path, field_path: str, problem: str, *, fix: str | None = None) -> ModelLoadError:
    return ModelLoadError(f"{field_path} {problem}", where=str(config_path), fix=fix)


__all__ = ["DOWNLOADING_FIELDS", "TOP_LEVEL_KEYS", "check_model_config", "text_parameters", "vision_parameters"]
