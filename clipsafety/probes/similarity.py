"""`similarity`: cosine similarity of each image to its own prompt under the model under test.

It tells whether the inversion worked at all: a check on any other probe means
little if the images never reached their prompts. It measures the saved uint8
images, the same pixels the report shows.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .base import Probe, to_images
from .zero_shot import encode_images


class SimilarityProbe(Probe):
    name: ClassVar[str] = "similarity"
    value_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)
    settings_schema: ClassVar[dict[str, Any]] = {}
    description: ClassVar[str] = "cosine similarity reached to the prompt under the model under test"

    def measure(self, images: np.ndarray, prompts: list[str]) -> np.ndarray:
        batch = to_images(images)
        if len(prompts) != len(batch):
            raise ValueError(f"similarity needs one prompt per image: {len(batch)} images, {len(prompts)} prompts")
        handle = self.context.handle
        image_emb = encode_images(handle, batch)
        text_emb = handle.encode_text(list(prompts)).float().to(image_emb.device)
        return (image_emb * text_emb).sum(dim=-1).cpu().double().numpy()
