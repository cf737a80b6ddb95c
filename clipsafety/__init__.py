"""clipsafety: gate CLIP releases on safety checks by inverting the model."""

__version__ = "0.1.0"
