"""Content-addressed store of inverted images.

One entry per (model fingerprint, prompt, seed, inversion settings, code
version): `<root>/<key[:2]>/<key>.npz` holding the uint8 image and a JSON
record. Writes are atomic (temp file + os.replace), so an interrupted run
leaves no partial entry; an entry that does not read back, or whose image hash
does not match its record, is reported as corrupt, removed, and recomputed.
Workers sharing a cache take a file lock per key while they compute it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .invert import InversionResult, InversionSettings

# Bump when a change to clipsafety.invert changes the images for the same settings.
INVERSION_CODE_VERSION = "1"


def image_sha256(image: np.ndarray) -> str:
    """The one image hash (cache, results and report agree).

    Hex sha256 of the image's shape ("HxWxC:") followed by its raw bytes. The shape is hashed too, so a 32x64 and a 64x32 image with the same bytes differ.
    """
    if (not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3
            or 0 in image.shape):
        raise ValueError(f"expected a uint8 HxWx3 image, got {getattr(image, 'dtype', type(image).__name__)} "
                         f"{getattr(image, 'shape', '')}")
    image = np.ascontiguousarray(image)
    h, w, c = image.shape
    digest = hashlib.sha256(f"{h}x{w}x{c}:".encode("ascii"))
    digest.update(image.tobytes())
    return digest.hexdigest()


def entry_key(fingerprint: str, prompt: str, seed: int, settings: InversionSettings) -> str:
    text = json.dumps([INVERSION_CODE_VERSION, fingerprint, prompt, int(seed), settings.key()])
    return hashlib.sha256(text.encode()).hexdigest()


class InversionCache:
    """`root=None` keeps entries in memory only (--clip-no-cache)."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root else None
        self.memory: dict[str, InversionResult] = {}
        self.corrupt: list[str] = []  # paths found corrupt (and removed) this session
        self.hits = 0
        self.writes = 0

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> InversionResult | None:
        if key in self.memory:
            return self.memory[key]
        if self.root is None:
            return None
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            result = _read_entry(path)
        except Exception:  # any unreadable entry: say so, drop it, recompute
            self.corrupt.append(str(path))
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        self.memory[key] = result
        self.hits += 1
        return result

    def put(self, key: str, result: InversionResult) -> None:
        """Store a successful result; failed images are not cached, so a rerun retries them."""
        if not result.ok:
            return
        self.memory[key] = result
        if self.root is None:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, _encode_entry(result))
        self.writes += 1

    @contextlib.contextmanager
    def locked(self, keys: Iterable[str]) -> Iterator[None]:
        """Hold a file lock per key (sorted, so two workers cannot deadlock)."""
        if self.root is None:
            yield
            return
        from filelock import FileLock

        with contextlib.ExitStack() as stack:
            for key in sorted(set(keys)):
                lock_dir = self.root / "locks"
                lock_dir.mkdir(parents=True, exist_ok=True)
                stack.enter_context(FileLock(str(lock_dir / f"{key}.lock")))
            yield


def _encode_entry(result: InversionResult) -> bytes:
    record = {
        "prompt": result.prompt,
        "seed": result.seed,
        "similarity": result.similarity,
        "settings": result.settings,
        "seconds": result.seconds,
        "image_sha256": image_sha256(result.image),
        "code_version": INVERSION_CODE_VERSION,
    }
    buffer = io.BytesIO()
    np.savez(buffer, image=result.image, record=np.frombuffer(json.dumps(record).encode(), dtype=np.uint8))
    return buffer.getvalue()


def _read_entry(path: Path) -> InversionResult:
    with np.load(path, allow_pickle=False) as data:
        image = np.array(data["image"], dtype=np.uint8)
        record = json.loads(bytes(data["record"]).decode())
    if image.ndim != 3 or image.shape[2] != 3 or record["image_sha256"] != image_sha256(image):
        raise ValueError(f"{path}: image does not match its record")
    return InversionResult(
        prompt=record["prompt"],
        seed=int(record["seed"]),
        image=image,
        similarity=float(record["similarity"]),
        settings=record["settings"],
        seconds=float(record.get("seconds", 0.0)),
    )


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
