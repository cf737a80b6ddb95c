"""pytest hooks only; the work is done by clipsafety.session."""

from __future__ import annotations

from .options import add_to_pytest


def pytest_addoption(parser) -> None:
    add_to_pytest(parser)
