"""Model providers: packages that add named models and model kinds.

A provider registers under the entry-point group ``clipsafety.models``, the
way the toy world does in clipsafety's own pyproject.toml::

    [project.entry-points."clipsafety.models"]
    toyworld = "clipsafety.toyworld.provider:PROVIDER"

It names model folders (``load_model("toyclip-fair")``) and says how to read a
folder of its kind (the tokenizer). A model folder declares its kind itself
(``"kind": "toy"`` in card.json or open_clip_config.json), so a folder loaded
by path is read the same way as one loaded by name. The core never imports a
provider's package: it only loads what the entry points name.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

ENTRY_POINT_GROUP = "clipsafety.models"
NATURAL = "natural"  # the kind of a folder that declares none: an ordinary open_clip model


@dataclass(frozen=True)
class ModelProvider:
    """What a package contributes through the ``clipsafety.models`` entry-point group."""

    kind: str  # the kind its folders declare, e.g. "toy"
    named_models: Callable[[], Mapping[str, Path]]  # name -> model folder
    # folder -> tokenizer (list[str] -> LongTensor); None: open_clip's tokenizer from the config
    tokenizer: Callable[[Path], Any] | None = None
    description: str = ""
    # (label, count, seed, size) -> uint8 [count, size, size, 3]: photos of the kind's own world for a label
    # (clipsafety.models.photos), or None for a label it has none of; None: the kind brings no photos
    photos: Callable[[str, int, int, int], Any] | None = None


@dataclass(frozen=True)
class NamedModel:
    name: str
    folder: Path
    provider: str  # the entry point's (or registration's) name


_REGISTERED: dict[str, ModelProvider] = {}


def register_model_provider(name: str, provider: ModelProvider) -> None:
    """Add a provider in this process (tests, notebooks); it wins over an entry point of the same name."""
    if not isinstance(provider, ModelProvider):
        raise TypeError(f"expected a ModelProvider, got {type(provider).__name__}")
    _REGISTERED[name] = provider


def unregister_model_provider(name: str) -> None:
    _REGISTERED.pop(name, None)


@functools.cache
def _entry_point_providers() -> tuple[dict[str, ModelProvider], dict[str, str]]:
    """(providers, problems): every entry point that loads to a ModelProvider, and why the others did not."""
    providers, problems = {}, {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            provider = ep.load()
        except Exception as err:  # noqa: BLE001 - a broken plugin must not break the other providers
            problems[ep.name] = f"{ep.value} cannot be imported: {type(err).__name__}: {err}"
            continue
        if isinstance(provider, ModelProvider):
            providers[ep.name] = provider
        else:
            problems[ep.name] = f"{ep.value} is a {type(provider).__name__}, not a clipsafety ModelProvider"
    return providers, problems


def reload_model_providers() -> None:
    """Read the entry points again (after installing a package in a running process)."""
    _entry_point_providers.cache_clear()


def model_providers() -> dict[str, ModelProvider]:
    """Name -> provider, entry points first, then registrations (which replace a same-named entry point)."""
    return {**_entry_point_providers()[0], **_REGISTERED}


def provider_problems() -> dict[str, str]:
    """Entry points of the group that could not be used, with the reason (shown by `clipsafety models`)."""
    return {k: v for k, v in _entry_point_providers()[1].items() if k not in _REGISTERED}


def named_models() -> dict[str, NamedModel]:
    """Every name a provider offers; on a clash the provider whose name sorts first wins."""
    found: dict[str, NamedModel] = {}
    for provider_name, provider in sorted(model_providers().items()):
        for name, folder in provider.named_models().items():
            found.setdefault(name, NamedModel(name, Path(folder), provider_name))
    return found


def provider_for_kind(kind: str) -> tuple[str, ModelProvider] | None:
    """(name, provider) of the first provider that reads folders of `kind`."""
    for name, provider in sorted(model_providers().items()):
        if provider.kind == kind:
            return name, provider
    return None


def known_kinds() -> list[str]:
    return sorted({NATURAL, *(p.kind for p in model_providers().values())})


__all__ = [
    "ENTRY_POINT_GROUP", "NATURAL", "ModelProvider", "NamedModel", "known_kinds", "model_providers",
    "named_models", "provider_for_kind", "provider_problems", "register_model_provider",
    "reload_model_providers", "unregister_model_provider",
]
