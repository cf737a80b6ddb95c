"""One cache entry: the key that names it, and the bytes that hold it.

An entry is an .npz of two arrays: `image` (uint8 HxWx3) and `record` (UTF-8
JSON). The record carries the key material the image was computed for
(fingerprint, settings key, prompt, seed, code version), the image's shape and
hash, and every non-image field of InversionResult. A read checks all of it
against the key it was asked for, so an entry copied over another key's file,
or one holding an image of the wrong size, is rejected rather than believed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
import sys
import types
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..util.limits import MAX_IMAGE_SIDE

if TYPE_CHECKING:
    from ..invert import InversionResult, InversionSettings

# Bump when a change to clipsafety.invert changes the images for the same settings.
# 2: each prompt's text embedding is computed alone (it was batched with the prompts first seen with it).
INVERSION_CODE_VERSION = "2"
ENTRY_FORMAT = "clipsafety-cache-entry"
ENTRY_VERSION = 2
# One image of at most MAX_IMAGE_SIDE a side, plus its record and the zip's overhead.
MAX_ENTRY_BYTES = 3 * MAX_IMAGE_SIDE**2 + 1_000_000


class EntryRejected(Exception):
    """An entry that does not read back, or does not belong to its key; the message is one line."""


def image_sha256(image: np.ndarray) -> str:
    """The one image hash (cache, results and report agree).

    Hex sha256 of the image's shape ("HxWxC:") followed by its raw bytes. The
    shape is hashed too, so a 32x64 and a 64x32 image with the same bytes differ.
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


@dataclass(frozen=True)
class KeyMaterial:
    """Everything an entry's image depends on; its digest is the entry's name."""

    fingerprint: str
    prompt: str
    seed: int
    settings_key: str
    code_version: str = INVERSION_CODE_VERSION
    # How the images were computed: precision, device type and torch version ("fp32 cpu torch 2.14.1"). A
    # bf16 GPU image is not the fp32 CPU image of the same settings, so a shared cache never serves one for the other.
    compute: str = ""

    def digest(self) -> str:
        text = json.dumps([self.code_version, self.fingerprint, self.prompt, int(self.seed), self.settings_key,
                           self.compute])
        return hashlib.sha256(text.encode()).hexdigest()


class EntryKey(str):
    """The hex digest that names one entry, carrying the material it was computed from.

    It is a str, so it serves as a dict key, a lock name and a file name; the
    material lets the cache write it into the entry and check it on read.
    `image_shape` is the shape the settings give on the model (None: unknown).
    """

    material: KeyMaterial
    image_shape: tuple[int, int, int] | None

    def __new__(cls, material: KeyMaterial, image_shape: tuple[int, int, int] | None = None) -> "EntryKey":
        self = super().__new__(cls, material.digest())
        self.material = material
        self.image_shape = image_shape
        return self

    def __reduce__(self):  # pickle (xdist, cluster workers) through the material, not the digest
        return (EntryKey, (self.material, self.image_shape))


def entry_key(
    fingerprint: str, prompt: str, seed: int, settings: "InversionSettings", *, input_size: int | None = None,
    compute: str = "",
) -> EntryKey:
    """The key of one image; with the model's `input_size`, reads also check the image's shape. `compute` says
    how the image is computed (clipsafety.models.ModelHandle.compute)."""
    material = KeyMaterial(fingerprint, prompt, int(seed), settings.key(), compute=compute)
    return EntryKey(material, implied_image_shape(settings, input_size) if input_size else None)


def implied_image_shape(settings: "InversionSettings", input_size: int) -> tuple[int, int, int]:
    """The shape of the images these settings give on a model of this input size."""
    from ..invert.param import resolution_schedule  # torch; a model is loaded by now

    start, changes = resolution_schedule(settings, input_size)
    side = max([start, *changes.values()])
    return (side, side, 3)


# -- writing -------------------------------------------------------------------


def encode_entry(key: EntryKey, result: "InversionResult") -> bytes:
    """The bytes of one entry; `result` must be a successful inversion of `key`'s prompt and seed."""
    material = key.material
    if not result.ok or (result.prompt, int(result.seed)) != (material.prompt, material.seed):
        raise ValueError(f"cannot store {result.prompt!r} seed {result.seed} (error {result.error!r}) "
                         f"under the key of {material.prompt!r} seed {material.seed}")
    record = {
        "format": ENTRY_FORMAT,
        "version": ENTRY_VERSION,
        "material": dataclasses.asdict(material),
        "image": {"shape": list(result.image.shape), "sha256": image_sha256(result.image)},
        "result": {f.name: getattr(result, f.name) for f in dataclasses.fields(result) if f.name != "image"},
    }
    return pack(result.image, record)


def pack(image: np.ndarray, record: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, image=image, record=np.frombuffer(json.dumps(record).encode(), dtype=np.uint8))
    return buffer.getvalue()


# -- reading -------------------------------------------------------------------


def decode_entry(data: bytes, key: str) -> "InversionResult":
    """The result an entry holds, or EntryRejected saying why it cannot be trusted for `key`.

    `key` may be a plain digest: the stored material must then hash to it.
    An EntryKey also checks the image's shape against its settings.
    """
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryRejected(f"is over {MAX_ENTRY_BYTES} bytes, more than one image of at most "
                            f"clipsafety.util.limits.MAX_IMAGE_SIDE ({MAX_IMAGE_SIDE}) px a side")
    image, record = unpack(data)
    if record.get("format") != ENTRY_FORMAT or not isinstance(record.get("material"), dict):
        raise EntryRejected("was written without its key material (by an older clipsafety)")
    _check_key(record, key)
    _check_image(image, record, getattr(key, "image_shape", None))
    return _restore_result(record, image)


def unpack(data: bytes) -> tuple[np.ndarray, dict]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            if any(info.file_size > MAX_ENTRY_BYTES for info in npz.zip.infolist()):
                raise ValueError("a member is larger than an entry can be")
            image, record = npz["image"], json.loads(bytes(npz["record"]).decode("utf-8"))
    except Exception as err:  # whatever a damaged file raises, the answer is the same
        raise EntryRejected(f"is unreadable ({type(err).__name__}: {err})") from None
    if not isinstance(record, dict):
        raise EntryRejected("is unreadable (its record is not a mapping)")
    return image, record


def _type_hints(cls: type) -> dict[str, Any]:
    """The class's field types, resolved in the globals of the module that defines it (its entry in
    sys.modules may be gone, as pytester's inline runs leave it, while the class lives on)."""
    module = sys.modules.get(cls.__module__) or importlib.import_module(cls.__module__)
    return typing.get_type_hints(cls, globalns=vars(module))


def _check_key(record: dict, key: str) -> None:
    try:
        stored = KeyMaterial(**record["material"])
    except TypeError as err:
        raise EntryRejected(f"has malformed key material ({err})") from None
    hints = _type_hints(KeyMaterial)
    for f in dataclasses.fields(KeyMaterial):
        if not _matches(getattr(stored, f.name), hints[f.name]):
            raise EntryRejected(f"has malformed key material ({f.name} {getattr(stored, f.name)!r})")
    if stored.digest() != key:
        expected = getattr(key, "material", None)
        if expected is None:
            raise EntryRejected("belongs to another key (its material does not hash to its name)")
        differences = [
            f"{f.name} {getattr(stored, f.name)!r} instead of {getattr(expected, f.name)!r}"
            for f in dataclasses.fields(KeyMaterial)
            if getattr(stored, f.name) != getattr(expected, f.name)
        ]
        raise EntryRejected(f"belongs to another key ({'; '.join(differences) or 'its material differs'})")
    result = record.get("result")
    if not isinstance(result, dict) or (result.get("prompt"), result.get("seed")) != (stored.prompt, stored.seed):
        raise EntryRejected("holds a result for another prompt or seed than its key")


def _check_image(image: np.ndarray, record: dict, expected_shape: tuple | None) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
        raise EntryRejected(f"holds a {image.dtype} {image.shape} array, not a uint8 HxWx3 image")
    h, w, _ = image.shape
    if max(h, w) > MAX_IMAGE_SIDE:
        raise EntryRejected(f"holds a {h}x{w} image, larger than clipsafety.util.limits.MAX_IMAGE_SIDE "
                            f"({MAX_IMAGE_SIDE})")
    if expected_shape is not None and tuple(image.shape) != tuple(expected_shape):
        raise EntryRejected(f"holds a {h}x{w} image, but its settings give {expected_shape[0]}x"
                            f"{expected_shape[1]} images on this model")
    stored = record.get("image")
    if not isinstance(stored, dict) or stored.get("sha256") != image_sha256(image):
        raise EntryRejected("holds an image that does not match its recorded hash")


def _restore_result(record: dict, image: np.ndarray) -> "InversionResult":
    """Every non-image field from the record; a field the entry predates takes its default."""
    from ..invert import InversionResult

    stored, hints, values = record["result"], _type_hints(InversionResult), {}
    for f in dataclasses.fields(InversionResult):
        if f.name == "image" or (f.name not in stored and _has_default(f)):
            continue
        if f.name not in stored:
            raise EntryRejected(f"lacks the result field {f.name!r}")
        if not _matches(stored[f.name], hints[f.name]):
            raise EntryRejected(f"has a malformed result field {f.name!r}: {stored[f.name]!r}")
        values[f.name] = stored[f.name]
    result = InversionResult(image=image, **values)
    if not result.ok:
        raise EntryRejected("holds a failed inversion (failures are never stored)")
    return result


def _has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _matches(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a simple annotation; annotations it does not know pass."""
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint in (str, bool, dict, list):
        return isinstance(value, hint)
    if hint is type(None):
        return value is None
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) in (dict, list):
        return isinstance(value, typing.get_origin(hint))
    return True
