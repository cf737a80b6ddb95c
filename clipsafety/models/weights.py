"""Where open_clip's pretrained weights are on this machine, without any network call.

open_clip downloads a pretrained tag either from the Hugging Face hub (into the
hub cache: ``$HF_HUB_CACHE``, ``$HUGGINGFACE_HUB_CACHE`` or ``$HF_HOME/hub``) or
from a URL (into ``~/.cache/clip``). clipsafety never downloads: it looks in
those places only, read as the environment says now (not as it said when
huggingface_hub was imported), so `clipsafety models` and `load_model` agree
on what can run offline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HF_WEIGHT_NAMES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


def hf_hub_cache() -> Path:
    """The Hugging Face hub cache folder, by huggingface_hub's own precedence of variables."""
    for variable in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(variable):
            return Path(os.environ[variable]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    return Path(home).expanduser() / "hub"


def open_clip_url_cache() -> Path:
    """Where open_clip keeps weights it fetched from a URL (its default download root)."""
    return Path("~/.cache/clip").expanduser()


def cached_hf_file(repo_id: str, filenames: tuple[str, ...], cache_dir: str | Path | None = None) -> str | None:
    """Path of the first of `filenames` present in the local hub cache, without any network call."""
    from huggingface_hub import try_to_load_from_cache

    folder = str(cache_dir) if cache_dir else str(hf_hub_cache())
    for filename in filenames:
        try:
            found = try_to_load_from_cache(repo_id, filename, cache_dir=folder)
        except ValueError:  # a repo id huggingface_hub considers malformed
            return None
        if isinstance(found, str) and os.path.isfile(found):
            return found
    return None


def cached_tag_file(tag_cfg: dict, cache_dir: str | Path | None = None) -> tuple[str | None, str]:
    """(local path or None, where it was looked for) for an open_clip pretrained tag's config."""
    looked = []
    hub = tag_cfg.get("hf_hub", "")
    if hub:
        repo_id, _, filename = hub.rstrip("/").rpartition("/") if not hub.endswith("/") else (hub.rstrip("/"), "", "")
        names = (filename,) if filename else HF_WEIGHT_NAMES
        if filename.endswith(".bin"):
            names = (filename.replace(".bin", ".safetensors"), filename)
        found = cached_hf_file(repo_id, names, cache_dir)
        if found:
            return found, ""
        looked.append(f"Hugging Face cache {cache_dir or hf_hub_cache()} for {repo_id} ({', '.join(names)})")
    url = tag_cfg.get("url", "")
    if url:
        local = Path(cache_dir or open_clip_url_cache()) / os.path.basename(url)
        if local.is_file():
            return str(local), ""
        looked.append(str(local))
    return None, "; ".join(looked) or "no download source known"


@dataclass(frozen=True)
class TagWeights:
    architecture: str
    tag: str
    path: str | None  # where the weights are, or None when they are not on this machine
    looked: str  # where they were looked for, when absent
    default: bool  # open_clip's first tag for the architecture (what --clip-pretrained defaults to)


def pretrained_weights(cache_dir: str | Path | None = None) -> list[TagWeights]:
    """Every open_clip (architecture, tag) and whether its weights are in a local cache."""
    import open_clip

    out, seen = [], set()
    for arch, tag in open_clip.list_pretrained():
        path, looked = cached_tag_file(open_clip.get_pretrained_cfg(arch, tag), cache_dir)
        out.append(TagWeights(arch, tag, path, looked, default=arch not in seen))
        seen.add(arch)
    return out


__all__ = ["HF_WEIGHT_NAMES", "TagWeights", "cached_hf_file", "cached_tag_file", "hf_hub_cache",
           "open_clip_url_cache", "pretrained_weights"]
