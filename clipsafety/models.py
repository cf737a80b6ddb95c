"""Load a CLIP model by the names people already use, into one handle.

Every model read in clipsafety goes through `load_model`:

    load_model("ViT-B-32")                          # open_clip's first tag: openai
    load_model("ViT-B-32", "laion2b_s34b_b79k")     # a tag, only from the local cache
    load_model("ViT-B-32", "/ckpt/model.safetensors")  # a local checkpoint file
    load_model("hf-hub:org/repo")                   # only from the local HF cache
    load_model("local-dir:/models/my-clip")         # open_clip_config.json + weights
    load_model("toyclip-fair")                      # a bundled toy-world model
    load_model("ViT-B-32", "random")                # random init (tests, benchmarks)

Nothing here touches the network: a tag or hub repo that is not cached fails at
once with a message saying how to point at a local file. The handle carries the
fingerprint (weights + architecture) that caches and reports are keyed on.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from .errors import ModelLoadError

DEFAULT_MODEL = "toyclip-fair"
RANDOM_INIT = "random"
PRECISIONS = ("auto", "fp32", "bf16")

_HF_WEIGHT_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


# --------------------------------------------------------------------------- devices


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' -> cuda when present, else cpu; also 'cpu', 'cuda', 'cuda:N'."""
    if isinstance(device, torch.device):
        return device
    text = str(device).strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(text)
    except (RuntimeError, ValueError):
        raise ModelLoadError(
            f"unknown device {device!r}", fix="use one of: auto, cpu, cuda, cuda:N"
        ) from None
    if dev.type not in ("cpu", "cuda"):
        raise ModelLoadError(f"unsupported device {device!r}", fix="use one of: auto, cpu, cuda, cuda:N")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelLoadError(
                f"device {device!r} asked for, but CUDA is not available here",
                fix="use --clip-device=cpu (or auto)",
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ModelLoadError(
                f"device {device!r} asked for, but only {torch.cuda.device_count()} CUDA device(s) are visible",
                fix="pick an index below the device count, or check CUDA_VISIBLE_DEVICES",
            )
    return dev


def resolve_precision(precision: str, device: torch.device) -> str:
    """'auto' -> bf16 autocast on CUDA, fp32 on CPU (bf16 autocast is slower on CPU)."""
    if precision not in PRECISIONS:
        raise ModelLoadError(f"unknown precision {precision!r}", fix=f"use one of: {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    return precision


# --------------------------------------------------------------------------- handle


@dataclass
class ModelHandle:
    """A loaded CLIP model and everything needed to feed it."""

    name: str
    pretrained: str | None
    model: torch.nn.Module
    tokenizer: Callable[[list[str]], torch.Tensor]
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    fingerprint: str
    device: torch.device
    precision: str
    kind: str  # what the model folder declares: "toy" (a toy-world model) or "natural"
    source: str = ""  # where the weights came from, for reports
    _text_cache: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint[:12]

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @torch.no_grad()
    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """L2-normalised fp32 text embeddings [N, D]; memoised per prompt."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._text_cache]
        if missing:
            tokens = self.tokenizer(missing).to(self.device)
            with self.autocast():
                emb = self.model.encode_text(tokens)
            emb = F.normalize(emb.float(), dim=-1)
            for text, row in zip(missing, emb):
                self._text_cache[text] = row
        return torch.stack([self._text_cache[t] for t in texts])

    def normalize_pixels(self, pixels: torch.Tensor) -> torch.Tensor:
        """[N,3,H,W] in [0,1] -> resized to the input size and mean/std normalised."""
        if pixels.shape[-1] != self.input_size or pixels.shape[-2] != self.input_size:
            pixels = F.interpolate(
                pixels, size=(self.input_size, self.input_size), mode="bicubic", align_corners=False
            )
        mean = torch.tensor(self.mean, device=pixels.device, dtype=pixels.dtype).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=pixels.device, dtype=pixels.dtype).view(1, 3, 1, 1)
        return (pixels - mean) / std

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """L2-normalised fp32 image embeddings [N, D]; gradients flow to `pixels`."""
        with self.autocast():
            emb = self.model.encode_image(self.normalize_pixels(pixels))
        return F.normalize(emb.float(), dim=-1)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pretrained": self.pretrained,
            "fingerprint": self.fingerprint,
            "device": str(self.device),
            "precision": self.precision,
            "kind": self.kind,
            "input_size": self.input_size,
            "source": self.source,
        }


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
    except Exception as err:  # corrupt file, pickle with code, wrong format
        raise ModelLoadError(
            f"could not read checkpoint {path}: {type(err).__name__}: {err}",
            fix="give a .safetensors file, or a torch checkpoint that loads with weights_only=True",
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelLoadError(f"{path} does not hold a state dict of tensors", fix="save model.state_dict()")
    # Checkpoints saved from DataParallel/DDP prefix every key.
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def save_checkpoint(model: torch.nn.Module, path: str | Path) -> Path:
    """Write a model's weights as safetensors (atomically)."""
    from safetensors.torch import save_file

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(tmp))
    os.replace(tmp, path)
    return path


def fingerprint_model(model: torch.nn.Module, architecture: Any) -> str:
    """sha256 of the architecture config and every weight (name, dtype, shape, bytes)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(architecture, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def _load_state(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches
        detail = str(err).split("\n\t")[1] if "\n\t" in str(err) else str(err)
        raise ModelLoadError(
            f"checkpoint {source} does not fit the architecture: {detail}",
            fix="check that --clip-model names the architecture the checkpoint was trained as",
        ) from None
    # open_clip buffers that some checkpoints lack are harmless; real weights are not.
    missing = [k for k in result.missing_keys if not k.endswith("attn_mask")]
    if missing or result.unexpected_keys:
        raise ModelLoadError(
            f"checkpoint {source} does not fit the architecture: "
            f"{len(missing)} missing keys (e.g. {missing[:3]}), "
            f"{len(result.unexpected_keys)} unexpected (e.g. {result.unexpected_keys[:3]})",
            fix="check that --clip-model names the architecture the checkpoint was trained as",
        )


# --------------------------------------------------------------------------- resolution


def _offline_error(what: str) -> ModelLoadError:
    return ModelLoadError(
        f"{what} is not available offline (clipsafety never downloads weights)",
        fix="point at a local copy: --clip-pretrained=/path/to/open_clip_model.safetensors (or a .bin/.pt loadable with "
        "weights_only=True), or --clip-model=local-dir:/path/to/folder holding open_clip_config.json "
        "and open_clip_model.safetensors, or pre-populate the Hugging Face cache (HF_HOME) on a "
        "machine with network access",
    )


def _cached_hf_file(repo_id: str, filenames: tuple[str, ...], cache_dir: str | None) -> str | None:
    """Path of the first of `filenames` present in the local HF cache, without any network call."""
    from huggingface_hub import try_to_load_from_cache

    for filename in filenames:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
        if isinstance(found, str) and os.path.isfile(found):
            return found
    return None


def _cached_tag_file(tag_cfg: dict, cache_dir: str | None) -> tuple[str | None, str]:
    """(local path or None, description of where it was looked for) for an open_clip tag."""
    hub = tag_cfg.get("hf_hub", "")
    looked = []
    if hub:
        repo_id, filename = os.path.split(hub.rstrip("/")) if not hub.endswith("/") else (hub.rstrip("/"), "")
        names = (filename,) if filename else _HF_WEIGHT_NAMES
        if filename.endswith(".bin"):
            names = (filename.replace(".bin", ".safetensors"), filename)
        found = _cached_hf_file(repo_id, names, cache_dir)
        if found:
            return found, ""
        looked.append(f"Hugging Face cache for {repo_id} ({', '.join(names)})")
    url = tag_cfg.get("url", "")
    if url:
        local = Path(cache_dir or os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
        if local.is_file():
            return str(local), ""
        looked.append(str(local))
    return None, "; ".join(looked) or "no download source known"


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def default_pretrained(name: str) -> str | None:
    """The tag open_clip lists first for an architecture: ViT-B-32 -> openai."""
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(name)
    return tags[0] if tags else None


def _build_open_clip(name: str, pretrained: str | None, cache_dir: str | None):
    """(model, tokenizer, mean, std, architecture, source) for an open_clip name + pretrained."""
    import open_clip

    if name.startswith("hf-hub:"):
        repo_id = name[len("hf-hub:"):]
        config = _cached_hf_file(repo_id, ("open_clip_config.json",), cache_dir)
        weights = _cached_hf_file(repo_id, _HF_WEIGHT_NAMES, cache_dir)
        if not (config and weights):
            raise _offline_error(f"hub model {name!r} (not in the local Hugging Face cache)")
        folder = Path(weights).parent
        return load_model_folder(folder, name, config_path=Path(config), weights_path=Path(weights))
    if name.startswith("local-dir:"):
        return load_model_folder(Path(name[len("local-dir:"):]).expanduser(), name)

    if name not in open_clip.list_models():
        from .toyworld import bundled_models

        known = list(bundled_models()) + open_clip.list_models()
        raise ModelLoadError(
            f"unknown model {name!r}{_did_you_mean(name, known)}",
            fix="use an open_clip architecture (python -c 'import open_clip; print(open_clip.list_models())'), "
            f"a bundled toy model ({', '.join(bundled_models())}), hf-hub:ORG/REPO or local-dir:PATH",
        )
    if pretrained is None:
        pretrained = default_pretrained(name)
        if pretrained is None:
            raise ModelLoadError(
                f"open_clip knows no pretrained weights for {name!r}",
                fix=f"pass --clip-pretrained=/path/to/checkpoint, or --clip-pretrained={RANDOM_INIT}",
            )

    tag_cfg = open_clip.get_pretrained_cfg(name, pretrained) if pretrained != RANDOM_INIT else {}
    quick_gelu = bool(tag_cfg.get("quick_gelu", False))
    if pretrained == RANDOM_INIT:
        path, source = None, "random init"
    elif tag_cfg:
        path, looked = _cached_tag_file(tag_cfg, cache_dir)
        if path is None:
            raise _offline_error(f"pretrained tag {pretrained!r} for {name} (looked in: {looked})")
        source = f"tag {pretrained} ({path})"
    elif os.path.isfile(os.path.expanduser(pretrained)):
        path, source = os.path.expanduser(pretrained), f"file {pretrained}"
    else:
        tags = open_clip.list_pretrained_tags_by_model(name)
        looks_like_path = os.sep in pretrained or pretrained.endswith((".safetensors", ".bin", ".pt", ".pth"))
        if looks_like_path:
            raise ModelLoadError(f"checkpoint file not found: {pretrained}", fix="check the path given as --clip-pretrained")
        raise ModelLoadError(
            f"{pretrained!r} is neither a pretrained tag of {name} nor a file{_did_you_mean(pretrained, tags)}",
            fix=f"known tags for {name}: {', '.join(tags) or 'none'}; or give a path to a checkpoint file",
        )

    # No weights through open_clip: it would try the network. We read the file ourselves.
    model = open_clip.create_model(name, pretrained=None, load_weights=False, force_quick_gelu=quick_gelu)
    if path is not None:
        _load_state(model, read_checkpoint(path), source)
    pp = model.visual.preprocess_cfg
    mean = tuple(tag_cfg.get("mean", pp["mean"]))
    std = tuple(tag_cfg.get("std", pp["std"]))
    architecture = {"name": name, "quick_gelu": quick_gelu, "cfg": open_clip.get_model_config(name)}
    return model, open_clip.get_tokenizer(name), mean, std, architecture, source


def load_model_folder(folder: Path, label: str, config_path: Path | None = None, weights_path: Path | None = None):
    """(model, tokenizer, mean, std, architecture, source) from a folder holding
    open_clip_config.json and weights; a vocab.json means the toy tokenizer.
    The one reader of model folders (local-dir:, hf-hub: cache, bundled toy models)."""
    import open_clip

    config_path = config_path or folder / "open_clip_config.json"
    if not config_path.is_file():
        raise ModelLoadError(
            f"{config_path} not found", fix="a model folder needs open_clip_config.json and open_clip_model.safetensors"
        )
    try:
        config = json.loads(config_path.read_text())
        model_cfg = config["model_cfg"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise ModelLoadError(f"{config_path}: not a valid open_clip config ({err})") from None
    if weights_path is None:
        candidates = [folder / n for n in _HF_WEIGHT_NAMES if (folder / n).is_file()]
        if not candidates:
            raise ModelLoadError(f"no weights in {folder}", fix=f"put one of {', '.join(_HF_WEIGHT_NAMES)} there")
        weights_path = candidates[0]
    with torch.random.fork_rng(devices=[]):  # throwaway init weights must not consume the caller's RNG
        model = open_clip.model.CLIP(**model_cfg)
    _load_state(model, read_checkpoint(weights_path), str(weights_path))
    pp = config.get("preprocess_cfg", {})
    mean = tuple(pp.get("mean", open_clip.OPENAI_DATASET_MEAN))
    std = tuple(pp.get("std", open_clip.OPENAI_DATASET_STD))
    vocab = folder / "vocab.json"
    if vocab.is_file():
        from .toyworld.tokenizer import ToyTokenizer

        tokenizer = ToyTokenizer.from_file(vocab)
    else:
        tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
    return model, tokenizer, mean, std, {"local": model_cfg}, f"{label} ({weights_path})"


# --------------------------------------------------------------------------- entry point

_LOADED: dict[tuple, ModelHandle] = {}
_LOCK = threading.Lock()


def load_model(
    name: str | None = None,
    pretrained: str | None = None,
    device: str | torch.device = "cpu",
    precision: str = "auto",
    cache_dir: str | None = None,
) -> ModelHandle:
    """Load (once per process) a CLIP model; raises ModelLoadError with a fix, never hangs."""
    name = name or DEFAULT_MODEL
    dev = resolve_device(device)
    prec = resolve_precision(precision, dev)
    key = (name, pretrained, str(dev), prec, cache_dir)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _load_uncached(name, pretrained, dev, prec, cache_dir)
        return _LOADED[key]


def forget_loaded_models() -> None:
    """Drop the per-process memo (tests; freeing memory between models)."""
    with _LOCK:
        _LOADED.clear()


def _load_uncached(name, pretrained, dev, prec, cache_dir) -> ModelHandle:
    from .toyworld import bundled_models

    toy = bundled_models()
    if name in toy:
        if pretrained not in (None, name):
            raise ModelLoadError(
                f"{name} is a bundled toy model; it takes no --clip-pretrained (got {pretrained!r})",
                fix="drop --clip-pretrained",
            )
        model, tokenizer, mean, std, arch, source = load_model_folder(toy[name], name)
        kind, pretrained = "toy", None
    else:
        model, tokenizer, mean, std, arch, source = _build_open_clip(name, pretrained, cache_dir)
        kind = "natural"
        if pretrained is None and not name.startswith(("hf-hub:", "local-dir:")):
            pretrained = default_pretrained(name)
    return _make_handle(model, tokenizer, mean, std, arch, name=name, pretrained=pretrained,
                        dev=dev, prec=prec, kind=kind, source=source)


def _make_handle(model, tokenizer, mean, std, arch, *, name, pretrained, dev, prec, kind, source) -> ModelHandle:
    model.eval()
    fingerprint = fingerprint_model(model, arch)
    for p in model.parameters():
        p.requires_grad_(False)  # only the pixels are optimised
    model.to(dev)
    size = model.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else int(size)
    return ModelHandle(
        name=name,
        pretrained=pretrained,
        model=model,
        tokenizer=tokenizer,
        input_size=size,
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        fingerprint=fingerprint,
        device=dev,
        precision=prec,
        kind=kind,
        source=source,
    )


def handle_from_model(
    model: torch.nn.Module,
    tokenizer: Callable,
    *,
    name: str = "custom",
    architecture: Any = None,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    kind: str = "natural",
) -> ModelHandle:
    """Wrap an in-memory open_clip model (tests, notebooks) in a handle."""
    import open_clip

    dev = resolve_device(device)
    pp = getattr(model.visual, "preprocess_cfg", {}) or {}
    mean = pp.get("mean", open_clip.OPENAI_DATASET_MEAN)
    std = pp.get("std", open_clip.OPENAI_DATASET_STD)
    return _make_handle(model, tokenizer, mean, std, architecture or name, name=name, pretrained=None,
                        dev=dev, prec=resolve_precision(precision, dev), kind=kind, source="in-memory")
