"""Shared fixtures for clipsafety's own tests."""

from __future__ import annotations

import pytest

from clipsafety import testing
from clipsafety.models import forget_loaded_models


@pytest.fixture
def tiny_handle():
    return testing.tiny_handle()


@pytest.fixture(autouse=True)
def _fresh_model_memo():
    forget_loaded_models()
    yield
    forget_loaded_models()
