"""Tiny fake inversion results and keys for the cache tests (no model)."""

from __future__ import annotations

import dataclasses

import numpy as np

from clipsafety.cache import EntryKey, entry_key
from clipsafety.util.errors import ClipSafetyError
from clipsafety.invert import InversionResult, get_settings

SETTINGS = get_settings("toy", steps=3)


def fake_result(prompt="a red car", seed=1, side=8, value=0) -> InversionResult:
    image = np.full((side, side, 3), value, dtype=np.uint8)
    image[0, 0] = [seed % 256, len(prompt), 7]
    return InversionResult(prompt=prompt, seed=seed, image=image, similarity=0.25, settings=SETTINGS.to_dict(),
                           seconds=1.5, steps=3, passes=24)


def key_of(prompt="a red car", seed=1, **kwargs) -> EntryKey:
    return entry_key("model-fp", prompt, seed, SETTINGS, **kwargs)


def assert_same_result(got: InversionResult, want: InversionResult) -> None:
    for f in dataclasses.fields(InversionResult):
        if f.name == "image":
            np.testing.assert_array_equal(got.image, want.image)
        else:
            assert getattr(got, f.name) == getattr(want, f.name), f.name


def assert_clear_error(err: ClipSafetyError, location) -> None:
    text = str(err)
    assert text.startswith(f"{location}: the inversion cache cannot be used")
    assert "--clip-no-cache" in text and "--clip-cache" in text
    assert "Traceback" not in text
