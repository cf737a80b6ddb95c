"""The model folders a world ships in its package (standard library only: listing them loads no model)."""

from __future__ import annotations

from pathlib import Path


def model_folders(directory: Path) -> dict[str, Path]:
    """Name -> folder of every model in `directory` (folders holding a card.json); dot-folders are a
    trainer's half-written temporaries."""
    if not directory.is_dir():
        return {}
    return {p.name: p for p in sorted(directory.iterdir())
            if not p.name.startswith(".") and (p / "card.json").is_file()}
