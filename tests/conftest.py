"""Shared fixtures for clipsafety's own tests."""

from __future__ import annotations

import pytest

from clipsafety.models import testing
from clipsafety.models.load import forget_loaded_models


@pytest.fixture
def tiny_arch(tmp_path):
    """Register the tiny config as an open_clip architecture for this process."""
    import json

    import open_clip

    path = tmp_path / "tiny-test.json"
    path.write_text(json.dumps(testing.TINY_CFG))
    open_clip.add_model_config(path)
    return "tiny-test"


@pytest.fixture
def tiny_handle():
    return testing.tiny_handle()


@pytest.fixture(autouse=True)
def _fresh_model_memo():
    forget_loaded_models()
    yield
    forget_loaded_models()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A folder holding the tiny CLIP as `tiny/` (load it as local-dir:tiny after chdir)."""
    root = tmp_path_factory.mktemp("tiny")
    testing.write_tiny_model_folder(root / "tiny")
    return root


@pytest.fixture(scope="module")
def tiny_model(tiny) -> str:
    """The tiny CLIP by path: a natural model reads any prompt ("a dog"), where the default toy
    model would refuse the words it lacks and plan nothing for them."""
    return f"local-dir:{tiny / 'tiny'}"
