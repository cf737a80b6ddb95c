"""Whether a pytest run uses clipsafety, so that the plugin stays inert in projects that do not.

A run uses clipsafety when a `--clip-*` option or `clip_*` ini key is given, or when its
collection arguments name a suite file or a folder holding one. What only this decides,
at configure time, is what must happen before collection: xdist's `loadgroup` mode and
each worker's GPU. A suite found later, during collection, still pins the worker's GPU then
(no model is loaded before collection finishes).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from ..options import ResolvedOptions
from ..suite import SUITE_SUFFIXES, is_suite_file


def options_given(options: ResolvedOptions) -> bool:
    """True when any clipsafety option comes from the command line or an ini file."""
    return any(source != "default" for source in options.sources.values())


def names_a_suite(config) -> bool:
    """True when a collection argument is a suite file or a folder holding one (searched the way
    pytest recurses: hidden folders, virtual environments and `norecursedirs` are left out)."""
    skip = list(config.getini("norecursedirs"))
    base = Path(config.invocation_params.dir)
    for arg in config.args:
        path = base / str(arg).split("::", 1)[0]
        if path.is_file() and is_suite_file(path):
            return True
        if path.is_dir() and _folder_holds_suite(path, skip):
            return True
    return False


def _folder_holds_suite(folder: Path, skip: list[str]) -> bool:
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not _skipped(Path(root, d), skip)]
        for name in files:
            if name.lower().endswith(SUITE_SUFFIXES) and is_suite_file(Path(root, name)):
                return True
    return False


def _skipped(folder: Path, skip: list[str]) -> bool:
    name = folder.name
    return (name.startswith(".") or name == "__pycache__" or (folder / "pyvenv.cfg").is_file()
            or any(fnmatch.fnmatch(name, pattern) for pattern in skip))
