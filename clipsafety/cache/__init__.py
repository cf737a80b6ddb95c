"""Content-addressed store of inverted images.

One entry per (model fingerprint, prompt, seed, inversion settings, code
version), named by the digest of that key material: `<root>/<key[:2]>/<key>.npz`.
`--clip-cache` is a local folder or a URL that fsspec understands (`file://`,
`s3://`, `gs://`, `memory://`, ...); `--clip-no-cache` keeps entries in memory.

Entries are trusted only after a check. Each one records its key material,
its image's shape and hash, and every non-image field of InversionResult
(a field added later loads with its default from older entries). An entry that
does not read back, that names other key material than the key it was read
for (copied over another key's file), that predates key material, or whose
image is larger than clipsafety.util.limits.MAX_IMAGE_SIDE or not the shape its
settings give, is corrupt: it is removed, recomputed, and listed in
`InversionCache.corrupt` as (path, reason) for the run to print.

Writes are atomic: a local entry is written to a temporary file and renamed; on
an object store (s3, gs, azure, memory) one PUT is atomic, so the entry is
written under its final name in one call; other fsspec filesystems write a
temporary name and move it. An interrupted run leaves whole entries or none.

Concurrency: workers on one machine sharing a local cache take a file lock per
key while they compute it, so each image is inverted once. A remote cache has
no locks: two machines may compute the same entry at the same time. That costs
the duplicate work once and is otherwise harmless, because an entry is
determined by its key: both write the same image, and either write is whole.

An unusable cache location is an error, not a silent fallback: a run that
cannot write its entries would redo every inversion next time without saying
so. `check_usable()` (called before any inversion) probes the location: it
makes the folder, writes and removes a file, and takes a lock. A file where
the folder should be, an unwritable folder or parent, or a URL that cannot be
written gives one ClipSafetyError naming the location and the fixes
(`--clip-no-cache`, or another `--clip-cache`). A location that cannot be
written is still fine when every entry the run needs is already there (a
complete read-only cache). If the location breaks during the run, `put()` and
`locked()` raise the same error.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, NamedTuple

from ..util.errors import ClipSafetyError
from .entry import (INVERSION_CODE_VERSION, EntryKey, EntryRejected, KeyMaterial, decode_entry, encode_entry,
                    entry_key, image_sha256)
from .store import LocalStore, RemoteStore, open_store

if TYPE_CHECKING:
    from ..invert import InversionResult

__all__ = [
    "INVERSION_CODE_VERSION",
    "CorruptEntry",
    "EntryKey",
    "InversionCache",
    "KeyMaterial",
    "entry_key",
    "image_sha256",
]

UNUSABLE_FIX = "point --clip-cache at a folder or URL you can write, or run with --clip-no-cache (nothing is kept)"


class CorruptEntry(NamedTuple):
    """An entry found corrupt (and removed) this run: where it was and why it was refused."""

    path: str
    reason: str

    @property
    def warning(self) -> str:
        return f"clipsafety: cache entry {self.path} {self.reason}; removed, recomputed"


class InversionCache:
    """`root=None` keeps entries in memory only (--clip-no-cache)."""

    def __init__(self, root: str | Path | None):
        self.store: LocalStore | RemoteStore | None = open_store(root) if root else None
        self.memory: dict[str, InversionResult] = {}
        self.corrupt: list[CorruptEntry] = []
        self.hits = 0  # entries read from the store this run

    @property
    def location(self) -> str | None:
        return self.store.location if self.store else None

    def get(self, key: str) -> "InversionResult | None":
        """The result for `key` (an EntryKey, or its digest), or None when it must be computed."""
        if key in self.memory:
            return self.memory[key]
        if self.store is None:
            return None
        try:
            data = self.store.read(key)
            result = None if data is None else decode_entry(data, key)
        except self.store.failures + (EntryRejected,) as err:
            reason = str(err) if isinstance(err, EntryRejected) else f"is unreadable ({type(err).__name__}: {err})"
            self.corrupt.append(CorruptEntry(self.store.describe(key), reason))
            self.store.remove(key)
            return None
        if result is None:
            return None
        self.memory[key] = result
        self.hits += 1
        return result

    def put(self, key: EntryKey, result: "InversionResult") -> None:
        """Keep a result; only successful ones are written, so a rerun retries a failed image."""
        self.memory[key] = result
        if self.store is None or not result.ok:
            return
        if not isinstance(key, EntryKey):
            raise TypeError("InversionCache.put needs the EntryKey that entry_key() returns, not a bare digest")
        data = encode_entry(key, result)
        try:
            self.store.write(key, data)
        except self.store.failures as err:
            raise self._unusable(err, "an entry could not be written during the run") from None

    @contextlib.contextmanager
    def locked(self, keys: Iterable[str]) -> Iterator[None]:
        """Hold the keys while computing them (a file lock per key locally; nothing remotely)."""
        if self.store is None:
            yield
            return
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(self.store.locked(keys))
            except self.store.failures as err:
                raise self._unusable(err, "its locks could not be taken during the run") from None
            yield

    def check_usable(self, keys: Iterable[str] | None = None) -> None:
        """Raise one clear ClipSafetyError now if this run could not keep its entries.

        With `keys`, a location that cannot be written passes when every one of
        those entries is already there and sound (a complete read-only cache).
        """
        if self.store is None:
            return
        try:
            self.store.probe()
            return
        except self.store.failures as err:
            problem = err
        if keys is None:
            raise self._unusable(problem, "it cannot be written")
        keys = list(keys)
        missing = [k for k in keys if self.get(k) is None]
        if missing:
            raise self._unusable(
                problem, f"it cannot be written, and it lacks {len(missing)} of the {len(keys)} entries this run needs"
            )

    def _unusable(self, err: BaseException, what: str) -> ClipSafetyError:
        return ClipSafetyError(
            f"the inversion cache cannot be used: {what} ({type(err).__name__}: {err})",
            where=self.location,
            fix=UNUSABLE_FIX,
        )


def _read_entry(path: str | Path) -> "InversionResult":
    """One local entry file, checked against the key its name gives (for tests and inspection)."""
    path = Path(path)
    return decode_entry(path.read_bytes(), path.stem)
