"""CLIP inversion: parametrisations, augmentations, objectives and the loop.

The settings import without torch (suite validation reads them); the loop and
its torch imports load on first use.
"""

from .settings import PROFILES, InversionSettings, get_settings

_LAZY = {"InversionResult", "Progress", "invert", "invert_pairs"}


def __getattr__(name: str):
    if name in _LAZY:
        from . import loop

        return getattr(loop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "InversionResult",
    "InversionSettings",
    "PROFILES",
    "Progress",
    "get_settings",
    "invert",
    "invert_pairs",
]
