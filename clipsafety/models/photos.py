"""Labelled photos a probe reads text against: the one place they are read.

A photo set is a folder with one subfolder per label (``photos/man/*.jpg``, ``photos/woman/*.jpg``),
given to a run with ``--clip-photos`` (ini ``clip_photos``): a local folder, or a URL fsspec understands
(``s3://bucket/photos``, as ``--clip-cache``). Each label's photos are read in name order,
centre-cropped to a square and resized to the model's input size. A model kind may bring photos of its
own world (``ModelProvider.photos``: the synthetic world renders its figures), used when the run names
no folder.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from ..util.errors import ClipSafetyError
from ..util.remote import url_filesystem
from .providers import provider_for_kind

SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
PHOTOS_FIX = ("pass --clip-photos=DIR (ini clip_photos) naming a folder with one subfolder of photos per label "
              "the suite names, e.g. DIR/man/*.jpg and DIR/woman/*.jpg")


@dataclass(frozen=True)
class Photos:
    """`count` photos of one label: uint8 [count, size, size, 3] and where each came from."""

    label: str
    images: np.ndarray
    names: tuple[str, ...]  # each photo's file name under its label's folder, or the kind's own name for it
    source: str  # the folder, or "<kind> renders"


def valid_label(label: str) -> str | None:
    """Why `label` cannot name a subfolder of a photo set (it must be one plain folder name), or None."""
    if not label.strip():
        return "is empty"
    if label != label.strip() or label in (".", "..") or any(c in label for c in "/\\:\0"):
        return "must be one plain folder name (no path separators, no '..', no surrounding spaces)"
    return None


def has_photos(kind: str, root: str | None) -> bool:
    """Whether a run of a model of `kind` has photos to read: a folder given, or the kind's own."""
    if root:
        return True
    found = provider_for_kind(kind)
    return found is not None and found[1].photos is not None


def load_photos(label: str, count: int, size: int, *, kind: str, root: str | None = None, seed: int = 0) -> Photos:
    """The first `count` photos of `label`: from `root`/`label` when a folder is given, else the model kind's own
    (drawn from `seed`). ClipSafetyError naming the folder and the fix when they cannot be had."""
    problem = valid_label(label)
    if problem:
        raise ClipSafetyError(f"photo label {label!r} {problem}", fix=PHOTOS_FIX)
    if root:
        return _from_folder(str(root), label, count, size)
    found = provider_for_kind(kind)
    hook = None if found is None else found[1].photos
    images = None if hook is None else hook(label, count, seed, size)
    if images is None:
        why = ("no photo set was given" if hook is None
               else f"{kind} models have no photos labelled {label!r} of their own")
        raise ClipSafetyError(f"cannot read photos labelled {label!r}: {why}", fix=PHOTOS_FIX)
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape != (count, size, size, 3):
        raise ClipSafetyError(f"the {kind} model kind gave photos shaped {images.shape} ({images.dtype}); "
                              f"expected {(count, size, size, 3)} uint8", fix="report this to the kind's provider")
    return Photos(label, images, tuple(f"render {i}" for i in range(count)), f"{kind} renders")


def _from_folder(root: str, label: str, count: int, size: int) -> Photos:
    from PIL import Image, UnidentifiedImageError

    fs, base = url_filesystem(root, what="the photo set URL",
                              fix="install the fsspec filesystem for this URL (s3fs for s3://, gcsfs for gs://), "
                                  "or point --clip-photos at a local folder")
    base = base.rstrip("/") or base
    folder = f"{base}/{label}"
    shown = root.rstrip("/") + "/" + label  # the folder as the user wrote its set
    try:  # a remote filesystem raises its own types (a refused credential, a missing bucket), not only OSError
        is_set, has_label = fs.isdir(base), fs.isdir(folder)
        entries = fs.ls(folder, detail=True) if has_label else []
    except Exception as err:
        raise ClipSafetyError(f"the photo set cannot be listed ({type(err).__name__}: {err})", where=shown,
                              fix="check the URL and its credentials, or point --clip-photos at a local folder"
                              ) from None
    if not is_set:
        raise ClipSafetyError(f"the photo set {root!r} is not a folder", where="--clip-photos", fix=PHOTOS_FIX)
    if not has_label:
        raise ClipSafetyError(f"the photo set has no folder {label!r} for the label the suite names",
                              where=shown, fix=PHOTOS_FIX)
    names = sorted(PurePosixPath(e["name"]).name for e in entries if e.get("type") == "file")
    names = [n for n in names if PurePosixPath(n).suffix.lower() in SUFFIXES]
    if len(names) < count:
        raise ClipSafetyError(f"holds {len(names)} photos ({', '.join(SUFFIXES)}); the suite reads {count} of "
                              f"label {label!r}", where=shown,
                              fix="add photos to the folder, or lower the probe's `pairs` in the suite")
    images = []
    for name in names[:count]:
        try:
            with Image.open(io.BytesIO(fs.cat_file(f"{folder}/{name}"))) as img:
                images.append(_square(img.convert("RGB"), size))
        except (OSError, UnidentifiedImageError, ValueError) as err:
            raise ClipSafetyError(f"cannot be read as an image ({type(err).__name__}: {err})",
                                  where=f"{shown}/{name}", fix="replace or remove the file") from None
    return Photos(label, np.stack(images), tuple(names[:count]), shown)


def _square(img, size: int) -> np.ndarray:
    """Centre-crop to a square, then resize to size x size (bicubic): how CLIP's preprocessing frames a photo."""
    from PIL import Image

    side = min(img.size)
    left, top = (img.size[0] - side) // 2, (img.size[1] - side) // 2
    img = img.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.uint8)


__all__ = ["PHOTOS_FIX", "Photos", "has_photos", "load_photos", "valid_label"]
