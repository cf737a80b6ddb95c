"""What every probe is: a class with declared metadata and a `measure` method.

The metadata (value_range, settings_schema, required_settings, applies_to) is
read by suite validation at load time, so a probe module must be cheap to
import: numpy at the top, torch and weights only inside __init__/measure.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..stats.anchors import anchored
from ..stats.registry import ANCHORED_RANGE
from ..util.errors import ClipSafetyError

if TYPE_CHECKING:  # keep `import clipsafety.probes` free of torch
    import torch

    from ..models.load import ModelHandle


@dataclass
class ProbeContext:
    """What a probe may use: the model under test and a way to load a judge."""

    handle: "ModelHandle"
    load_model: Callable[..., "ModelHandle"]  # clipsafety.models.load.load_model(name, pretrained=, device=, ...)
    device: "torch.device"


class ImageReader(typing.Protocol):
    """What a probe reads images through, bound to one suite, probe and inversion condition."""

    base_seed: int

    def images(self, text: str, seeds: list[int] | None = None) -> list[Any]:
        """One InversionResult per seed (default: the text's own seeds)."""

    def measured(self, text: str, seeds: list[int] | None = None) -> tuple[np.ndarray, list[Any]]:
        """The probe's `measure` of the text's images, memoised, with the images."""

    def photos(self, label: str, count: int) -> list[Any]:
        """The first `count` photos of `label` from the run's photo set, one InversionResult-shaped record each
        (settings None: a photo, not an inversion)."""


class AnchorError(ClipSafetyError):
    """A probe could not read a prompt between its anchors; the run names the probe and its anchors' line."""


class SettingError(ValueError):
    """A probe setting is invalid; suite validation turns it into a SuiteError at `key`'s line."""

    def __init__(self, key: str, message: str, fix: str | None = None):
        super().__init__(message)
        self.key = key
        self.message = message
        self.fix = fix


class Probe:
    """Measures a batch of images; one float per image."""

    name: ClassVar[str]
    value_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    # setting key -> a type, a tuple of types, or list[T] (a list whose items are T)
    settings_schema: ClassVar[dict[str, Any]] = {}
    required_settings: ClassVar[frozenset[str]] = frozenset()
    applies_to: ClassVar[frozenset[str]] = frozenset({"natural", "toy"})
    description: ClassVar[str] = ""
    # What a run inverts for a case this probe reads: the prompt, the probe's anchors, a paired check's control.
    inverts: ClassVar[frozenset[str]] = frozenset({"prompt", "anchors", "control"})
    # True for the probe whose per-image score the report blurs images by.
    scores_nsfw: ClassVar[bool] = False
    # True for a probe that reads labelled photos (clipsafety.models.photos) instead of inversions.
    reads_photos: ClassVar[bool] = False

    def __init__(self, settings: Mapping[str, Any], context: ProbeContext):
        self.settings = dict(settings)
        self.context = context

    def photo_sets(self) -> tuple[tuple[str, int], ...]:
        """(label, count) of each set of labelled photos a case of this probe reads: none unless reads_photos."""
        return ()

    @classmethod
    def check_settings(cls, settings: Mapping[str, Any]) -> None:
        """Checks beyond types (e.g. two or more labels); raise SettingError."""

    @classmethod
    def check_spec(cls, anchors: tuple[str, str] | None, paired: bool) -> None:
        """Checks of how a suite uses the probe (its anchors; a paired check on it); raise SettingError whose
        message follows the probe's name ("needs anchors")."""

    @classmethod
    def range_for(cls, anchors: tuple[str, str] | None) -> tuple[float, float]:
        """The range of the per-image values a check reads: positions between the anchors when it has them."""
        return ANCHORED_RANGE if anchors is not None else tuple(cls.value_range)

    @classmethod
    def values_per_case(cls, settings: Mapping[str, Any]) -> int | None:
        """How many values a case reads when that is the probe's setting, not the suite's seed count, or None."""
        return None

    @property
    def shows_prompt_images(self) -> bool:
        """True when the evidence images of a prompt are its own inversions (not its anchors')."""
        return "prompt" in self.inverts

    def read(self, reader: "ImageReader", text: str, anchors: tuple[str, str] | None,
             seeds: list[int] | None = None) -> tuple[np.ndarray, list[Any]]:
        """Per-seed values of `text` and the images they were read on: the text's own images, placed between
        the anchors' readouts when the probe has anchors (AnchorError when they cannot be told apart)."""
        values, results = reader.measured(text, seeds)
        if anchors:
            low, _ = reader.measured(anchors[0])
            high, _ = reader.measured(anchors[1])
            try:  # the separation floor is a share of the probe's own range, not the anchored one
                values = anchored(values, low, high, value_range=type(self).value_range, seed=reader.base_seed)
            except (ValueError, ClipSafetyError) as err:
                # anchors are optional on an image probe, so dropping them is a fix
                raise AnchorError(getattr(err, "message", str(err)), fix=getattr(err, "fix", None)
                                  or "choose anchors the model tells apart, or drop the anchors") from None
        return values, results

    def measure(self, images: np.ndarray, prompts: list[str]) -> np.ndarray:
        """images: uint8 [N, H, W, 3]; prompts: the prompt text of each image. Returns float [N]."""
        raise NotImplementedError

    def details(self, images: np.ndarray, prompts: list[str]) -> list[dict[str, Any]]:
        """Optional per-image extras for the report (e.g. every label's probability)."""
        return [{} for _ in range(len(images))]


# -- settings type checking (shared by suite validation) ----------------------


def type_name(expected: Any) -> str:
    """How a settings type reads to a person: 'integer', 'a list of strings', 'number or null'."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(t) for t in typing.get_args(expected))
    if origin in (list, tuple):
        return f"a list of {type_name(_item_type(expected))}s"
    if isinstance(expected, tuple):
        return " or ".join(type_name(t) for t in expected)
    if expected is None:
        expected = type(None)
    return {str: "string", int: "integer", float: "number", bool: "boolean (true/false)", type(None): "null"}.get(
        expected, getattr(expected, "__name__", str(expected))
    )


def matches_type(value: Any, expected: Any) -> bool:
    """Does a YAML value fit a settings type? The one check for probe settings and inversion overrides.

    `expected` is a type, a tuple of alternatives, a union (`int | None`), or
    list[T] / tuple[T, ...] (YAML has only lists: a list whose items are T).
    Bools are not numbers, and ints are floats.
    """
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(matches_type(value, t) for t in typing.get_args(expected))
    if origin in (list, tuple):
        item = _item_type(expected)
        return isinstance(value, list) and all(matches_type(v, item) for v in value)
    if isinstance(expected, tuple):
        return any(matches_type(value, t) for t in expected)
    if expected is None or expected is type(None):
        return value is None
    if expected is Any or expected is object:
        return True
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def _item_type(expected: Any) -> Any:
    """T of list[T] or tuple[T, ...]."""
    args = [a for a in typing.get_args(expected) if a is not Ellipsis]
    return args[0] if args else object


def to_images(images: np.ndarray) -> np.ndarray:
    """Validate a uint8 [N, H, W, 3] batch (a single [H, W, 3] image becomes N=1)."""
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"expected images shaped [N, H, W, 3], got {arr.shape}")
    if arr.dtype != np.uint8:
        raise ValueError(f"expected uint8 images, got {arr.dtype}")
    return arr


__all__ = ["AnchorError", "ImageReader", "Probe", "ProbeContext", "SettingError", "matches_type", "to_images", "type_name"]
