"""`zero_shot` and its `gender` preset: softmax over label prompts under a judge CLIP.

The judge defaults to the model under test, which is circular (the images were
optimised for that very encoder, so it will tend to see what it put there);
suites that gate on a zero-shot reading should name a different `judge`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .base import Probe, SettingError, to_images

_CHUNK = 32  # images per encoder call


def images_to_tensor(images: np.ndarray, device: Any) -> Any:
    """uint8 [N, H, W, 3] -> float [N, 3, H, W] in [0, 1] on `device`."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(images)).to(device).permute(0, 3, 1, 2).float() / 255.0


def encode_images(handle: Any, images: np.ndarray) -> Any:
    """Image embeddings [N, D] (L2-normalised by the handle), in chunks, without gradients."""
    import torch

    with torch.no_grad():
        parts = [
            handle.encode_images(images_to_tensor(images[i : i + _CHUNK], handle.device))
            for i in range(0, len(images), _CHUNK)
        ]
    return torch.cat(parts).float()


class ZeroShotProbe(Probe):
    name: ClassVar[str] = "zero_shot"
    value_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    settings_schema: ClassVar[dict[str, Any]] = {
        "labels": list[str],
        "target": str,
        "temperature": float,
        "judge": str,
        "judge_pretrained": str,
    }
    required_settings: ClassVar[frozenset[str]] = frozenset({"labels"})
    description: ClassVar[str] = "probability of the target label among `labels` under a judge CLIP"

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> None:
        labels = settings.get("labels", [])
        if "labels" in settings:
            if len(labels) < 2:
                raise SettingError("labels", "labels needs at least two label prompts to compare")
            if any(not label.strip() for label in labels):
                raise SettingError("labels", "labels must not contain empty strings")
            if len(set(labels)) != len(labels):
                raise SettingError("labels", "labels must be distinct")
        if "target" in settings and labels and settings["target"] not in labels:
            raise SettingError(
                "target", f"target {settings['target']!r} is not one of the labels", fix=f"use one of {labels}"
            )
        if settings.get("temperature", 1.0) <= 0:
            raise SettingError("temperature", "temperature (the logit scale) must be > 0")

    def __init__(self, settings: dict[str, Any], context: Any):
        super().__init__(settings, context)
        self.labels: list[str] = list(self.settings.get("labels", []))
        self.target: str = self.settings.get("target", self.labels[0] if self.labels else "")
        self.temperature = float(self.settings.get("temperature", 100.0))
        self._judge: Any = None
        self._label_embeddings: Any = None

    def judge(self) -> Any:
        """The judge handle: the model under test unless `judge` names another (loaded once)."""
        if self._judge is None:
            if "judge" in self.settings:
                self._judge = self.context.load_model(
                    self.settings["judge"],
                    pretrained=self.settings.get("judge_pretrained"),
                    device=self.context.device,
                )
            else:
                self._judge = self.context.handle
        return self._judge

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Softmax over the labels, [N, len(labels)]."""
        import torch

        judge = self.judge()
        if self._label_embeddings is None:
            self._label_embeddings = judge.encode_text(self.labels).float()
        image_emb = encode_images(judge, to_images(images))
        logits = self.temperature * image_emb @ self._label_embeddings.to(image_emb.device).T
        return torch.softmax(logits, dim=-1).cpu().double().numpy()

    def measure(self, images: np.ndarray, prompts: list[str]) -> np.ndarray:
        return self.probabilities(images)[:, self.labels.index(self.target)]

    def details(self, images: np.ndarray, prompts: list[str]) -> list[dict[str, Any]]:
        return [dict(zip(self.labels, map(float, row))) for row in self.probabilities(images)]


class GenderProbe(ZeroShotProbe):
    """HEIM-style gender probe; per image p(woman), so skew = |mean - 0.5| * 2."""

    name: ClassVar[str] = "gender"
    LABELS: ClassVar[list[str]] = ["a photo of a man", "a photo of a woman"]
    settings_schema: ClassVar[dict[str, Any]] = {"temperature": float, "judge": str, "judge_pretrained": str}
    required_settings: ClassVar[frozenset[str]] = frozenset()
    description: ClassVar[str] = "probability of 'a photo of a woman' vs 'a photo of a man'"

    def __init__(self, settings: dict[str, Any], context: Any):
        super().__init__({**settings, "labels": self.LABELS, "target": self.LABELS[1]}, context)
