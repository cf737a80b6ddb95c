"""Load a CLIP model by the names people already use, into one handle.

Every model read in clipsafety goes through `load_model`:

    load_model("ViT-B-32")                          # open_clip's first tag: openai
    load_model("ViT-B-32", "laion2b_s34b_b79k")     # a tag, only from the local cache
    load_model("ViT-B-32", "/ckpt/model.safetensors")  # a local checkpoint file
    load_model("hf-hub:org/repo")                   # only from the local HF cache
    load_model("local-dir:/models/my-clip")         # open_clip_config.json + weights
    load_model("toyclip-fair")                      # a named model from an installed provider
    load_model("ViT-B-32", "random")                # random init (tests, benchmarks)

Nothing here touches the network: a tag or hub repo that is not cached fails at
once with a message saying how to point at a local file. The handle carries the
fingerprint (weights + architecture) that caches and reports are keyed on, and
the model's kind: what its folder declares ("toy" for a toy-world model), or
"natural" for an open_clip architecture and any folder that declares nothing.
Named models and kinds come from providers (clipsafety.models.providers), so
this module knows no toy world.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from ..util.errors import ClipSafetyError, ModelLoadError
from .weights import HF_WEIGHT_NAMES, cached_hf_file, cached_tag_file
from .folders import CONFIG_NAME, BuiltModel, load_model_folder, load_state, read_checkpoint, save_checkpoint
from .providers import NATURAL, named_models, provider_problems
from ..util.names import did_you_mean
from .targets import axis_removed_parts, midpoint_parts, target_prompts

DEFAULT_MODEL = "toyclip-fair"  # a name the toy world's provider registers
RANDOM_INIT = "random"
RANDOM_INIT_SEED = 0  # the seed a random init draws its weights from
PRECISIONS = ("auto", "fp32", "bf16")
UNREADABLE_FIX = ("use words the model knows (a toy model's vocab.json lists them), or run on a model trained "
                  "on these words")


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
    kind: str  # what the model folder declares: "toy", "synthetic" or "natural"
    source: str = ""  # where the weights came from, for reports
    _text_cache: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    @property
    def short_fingerprint(self) -> str:
        return self.fingerprint[:12]

    @property
    def compute(self) -> str:
        """How this handle computes: precision, device type and torch version ("fp32 cpu torch 2.14.1"). Images
        are reproducible bit for bit only under the same compute (and the same CPU kernels)."""
        return f"{self.precision} {self.device.type} torch {torch.__version__}"

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def unreadable(self, text: str) -> str | None:
        """Why this model cannot read `text` as written, or None.

        A provider's tokenizer may say (the toy world's names words outside its vocabulary,
        which it would read as <unk>); open_clip's byte-level BPE reads any character, but any
        tokenizer reads only its context length, and cuts the rest off.
        """
        says = getattr(self.tokenizer, "unreadable", None)
        for part in target_prompts(text):  # a midpoint or axis-removed target is readable when its prompts are
            why = (says(part) if callable(says) else None) or self._cut_off(part)
            if why:
                return why
        return None

    def _cut_off(self, text: str) -> str | None:
        """Why `text` is longer than the tokenizer's context length, or None. Measured by tokenizing
        it at a longer length: anything past the model's length but padding is what it would cut off."""
        length = getattr(self.tokenizer, "context_length", None)
        if not isinstance(length, int) or length < 1:
            return None
        try:
            longer = self.tokenizer([text], context_length=4 * length)[0]
        except TypeError:  # a tokenizer that takes no context length cuts nothing but what it reports
            return None
        if not bool((longer[length:] != longer[-1]).any()):
            return None
        return (f"it is longer than the {length} tokens the model reads and would be cut to the first {length}, "
                "so texts that differ only after them read the same")

    def reading(self, text: str) -> tuple:
        """`text` as the model reads it: the token ids of each of its prompts (a target's parts,
        in order, with the kind of target). Two texts that read alike embed alike."""
        parts = target_prompts(text)
        kind = "text" if parts == (text,) else "midpoint" if midpoint_parts(text) else "axis_removed"
        return (kind, *(tuple(self.tokenizer([part])[0].tolist()) for part in parts))

    @torch.no_grad()
    def encode_text(self, texts: list[str]) -> torch.Tensor:
        """L2-normalised fp32 text embeddings [N, D]; memoised per prompt. A midpoint target's text
        (clipsafety.models.targets) embeds as the normalised mean of its two prompts' embeddings; an
        axis-removed one as its prompt's embedding less the component along high - low, normalised.

        Text the model cannot read is refused (ClipSafetyError), never embedded as <unk>."""
        for text in dict.fromkeys(texts):
            if text in self._text_cache:
                continue
            why = self.unreadable(text)
            if why:
                raise ClipSafetyError(f"{self.name} cannot read the text {text!r}: {why}",
                                      fix=UNREADABLE_FIX)
            parts = midpoint_parts(text)
            if parts:  # the neutral control between two anchors: their embeddings' normalised mean
                self._text_cache[text] = F.normalize(self.encode_text(list(parts)).mean(0), dim=-1)
                continue
            removed = axis_removed_parts(text)
            if removed:
                prompt, low, high = self.encode_text(list(removed))
                axis = F.normalize(high - low, dim=-1)
                self._text_cache[text] = F.normalize(prompt - (prompt @ axis) * axis, dim=-1)
                continue
            # One prompt per call: a batched matmul's rounding depends on its batch mates, and the
            # memo would then make a prompt's embedding (and its images) depend on the process's history.
            tokens = self.tokenizer([text]).to(self.device)
            with self.autocast():
                emb = self.model.encode_text(tokens)
            self._text_cache[text] = F.normalize(emb.float(), dim=-1)[0]
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


def fingerprint_model(model: torch.nn.Module, architecture: Any) -> str:
    """sha256 of the architecture config and every weight (name, dtype, shape, bytes)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(architecture, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


# --------------------------------------------------------------------------- resolution


def _offline_error(what: str) -> ModelLoadError:
    return ModelLoadError(
        f"{what} is not available offline (clipsafety never downloads weights)",
        fix="point at a local copy: --clip-pretrained=/path/to/open_clip_model.safetensors (or a .bin/.pt loadable with "
        "weights_only=True), or --clip-model=local-dir:/path/to/folder holding open_clip_config.json "
        "and open_clip_model.safetensors, or pre-populate the Hugging Face cache (HF_HOME) on a "
        "machine with network access; `clipsafety models` lists the weights present here",
    )


def default_pretrained(name: str) -> str | None:
    """The tag open_clip lists first for an architecture: ViT-B-32 -> openai."""
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(name)
    return tags[0] if tags else None


def _unknown_model(name: str) -> ModelLoadError:
    import open_clip

    named = sorted(named_models())
    problems = provider_problems()
    broken = "".join(f"; model provider {k!r} is unusable: {v}" for k, v in sorted(problems.items()))
    return ModelLoadError(
        f"unknown model {name!r}{did_you_mean(name, named + open_clip.list_models(), n=3)}{broken}",
        fix="use an open_clip architecture (python -c 'import open_clip; print(open_clip.list_models())'), "
        f"a named model ({', '.join(named) or 'none installed'}), hf-hub:ORG/REPO or local-dir:PATH",
    )


def _build_open_clip(name: str, pretrained: str | None, cache_dir: str | None) -> BuiltModel:
    """An open_clip architecture with a tag, a checkpoint file or random init; or a hf-hub:/local-dir: folder."""
    import open_clip

    if name.startswith("hf-hub:"):
        repo_id = name[len("hf-hub:"):]
        config = cached_hf_file(repo_id, (CONFIG_NAME,), cache_dir)
        weights = cached_hf_file(repo_id, HF_WEIGHT_NAMES, cache_dir)
        if not (config and weights):
            raise _offline_error(f"hub model {name!r} (not in the local Hugging Face cache)")
        return load_model_folder(Path(weights).parent, name, config_path=Path(config), weights_path=Path(weights))
    if name.startswith("local-dir:"):
        return load_model_folder(Path(name[len("local-dir:"):]).expanduser(), name)
    if name not in open_clip.list_models():
        raise _unknown_model(name)
    if pretrained is None:
        pretrained = default_pretrained(name)
        if pretrained is None:
            raise ModelLoadError(
                f"open_clip knows no pretrained weights for {name!r}",
                fix=f"pass --clip-pretrained=/path/to/checkpoint, or --clip-pretrained={RANDOM_INIT}",
            )
    tag_cfg = open_clip.get_pretrained_cfg(name, pretrained) if pretrained != RANDOM_INIT else {}
    path, source = _weights_for(name, pretrained, tag_cfg, cache_dir)
    quick_gelu = bool(tag_cfg.get("quick_gelu", False))
    # No weights through open_clip: it would try the network. We read the file ourselves. A random init draws
    # from its own seed, so "random" is the same model in every process (and its fingerprint says so).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        model = open_clip.create_model(name, pretrained=None, load_weights=False, force_quick_gelu=quick_gelu)
    if path is not None:
        load_state(model, read_checkpoint(path), source)
    pp = model.visual.preprocess_cfg
    mean = tuple(tag_cfg.get("mean", pp["mean"]))
    std = tuple(tag_cfg.get("std", pp["std"]))
    architecture = {"name": name, "quick_gelu": quick_gelu, "cfg": open_clip.get_model_config(name)}
    return BuiltModel(model, open_clip.get_tokenizer(name), mean, std, architecture, source, NATURAL)


def _weights_for(name: str, pretrained: str, tag_cfg: dict, cache_dir: str | None) -> tuple[str | None, str]:
    """(weights file or None for random init, description of the source)."""
    import open_clip

    if pretrained == RANDOM_INIT:
        return None, "random init"
    if tag_cfg:
        path, looked = cached_tag_file(tag_cfg, cache_dir)
        if path is None:
            raise _offline_error(f"pretrained tag {pretrained!r} for {name} (looked in: {looked})")
        return path, f"tag {pretrained} ({path})"
    if os.path.isfile(os.path.expanduser(pretrained)):
        return os.path.expanduser(pretrained), f"file {pretrained}"
    tags = open_clip.list_pretrained_tags_by_model(name)
    if os.sep in pretrained or pretrained.endswith((".safetensors", ".bin", ".pt", ".pth")):
        raise ModelLoadError(f"checkpoint file not found: {pretrained}", fix="check the path given as --clip-pretrained")
    raise ModelLoadError(
        f"{pretrained!r} is neither a pretrained tag of {name} nor a file{did_you_mean(pretrained, tags, n=3)}",
        fix=f"known tags for {name}: {', '.join(tags) or 'none'}; or give a path to a checkpoint file",
    )


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
    named = named_models().get(name)
    if named is not None:
        if pretrained not in (None, name):
            raise ModelLoadError(
                f"{name} is a named model (from provider {named.provider!r}); it takes no --clip-pretrained "
                f"(got {pretrained!r})",
                fix="drop --clip-pretrained",
            )
        built, pretrained = load_model_folder(named.folder, name), None
    else:
        built = _build_open_clip(name, pretrained, cache_dir)
        if pretrained is None and not name.startswith(("hf-hub:", "local-dir:")):
            pretrained = default_pretrained(name)
    return _make_handle(built, name=name, pretrained=pretrained, dev=dev, prec=prec)


def _make_handle(built: BuiltModel, *, name, pretrained, dev, prec) -> ModelHandle:
    model = built.model
    model.eval()
    fingerprint = fingerprint_model(model, built.architecture)
    for p in model.parameters():
        p.requires_grad_(False)  # only the pixels are optimised
    model.to(dev)
    size = model.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else int(size)
    return ModelHandle(
        name=name,
        pretrained=pretrained,
        model=model,
        tokenizer=built.tokenizer,
        input_size=size,
        mean=tuple(float(m) for m in built.mean),
        std=tuple(float(s) for s in built.std),
        fingerprint=fingerprint,
        device=dev,
        precision=prec,
        kind=built.kind,
        source=built.source,
    )


def handle_from_model(
    model: torch.nn.Module,
    tokenizer: Callable,
    *,
    name: str = "custom",
    architecture: Any = None,
    device: str | torch.device = "cpu",
    precision: str = "fp32",
    kind: str = NATURAL,
) -> ModelHandle:
    """Wrap an in-memory open_clip model (tests, notebooks) in a handle."""
    import open_clip

    dev = resolve_device(device)
    pp = getattr(model.visual, "preprocess_cfg", {}) or {}
    mean = pp.get("mean", open_clip.OPENAI_DATASET_MEAN)
    std = pp.get("std", open_clip.OPENAI_DATASET_STD)
    built = BuiltModel(model, tokenizer, tuple(mean), tuple(std), architecture or name, "in-memory", kind)
    return _make_handle(built, name=name, pretrained=None, dev=dev, prec=resolve_precision(precision, dev))


__all__ = [
    "DEFAULT_MODEL", "PRECISIONS", "RANDOM_INIT", "ModelHandle", "default_pretrained", "fingerprint_model",
    "forget_loaded_models", "handle_from_model", "load_model", "read_checkpoint", "resolve_device",
    "resolve_precision", "save_checkpoint",
]
