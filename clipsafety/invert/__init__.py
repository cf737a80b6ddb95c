"""CLIP inversion: parametrisations, augmentations, objectives and the loop."""

from .loop import InversionResult, Progress, image_similarity, invert, invert_pairs
from .settings import PROFILES, InversionSettings, get_settings, setting_names

__all__ = [
    "InversionResult",
    "InversionSettings",
    "PROFILES",
    "Progress",
    "get_settings",
    "image_similarity",
    "invert",
    "invert_pairs",
    "setting_names",
]
