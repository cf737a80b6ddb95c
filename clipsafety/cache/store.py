"""Where entries live: a local folder, or any filesystem fsspec reaches.

Both stores name an entry `<root>/<key[:2]>/<key>.npz` and write it so that a
reader sees all of it or none of it. Each store says which exceptions mean "this
location cannot be used" (`failures`); the cache turns those into one clear
error.
"""

from __future__ import annotations

import contextlib
import uuid
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..util.files import atomic_write
from ..util.remote import is_url, url_filesystem
from .entry import MAX_ENTRY_BYTES

# Filesystems where one PUT of a whole object is atomic: readers see the old
# object or the new one, never a part, so an entry is written under its final name.
ONE_PUT_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "oss", "memory"})


def relative_name(key: str) -> str:
    return f"{key[:2]}/{key}.npz"


class LocalStore:
    """A folder on this machine: temp file + rename, and one file lock per key for concurrent workers."""

    failures: tuple[type[BaseException], ...] = (OSError,)

    def __init__(self, root: Path):
        self.root = root
        self.location = str(root)

    def describe(self, key: str) -> str:
        return str(self.root / relative_name(key))

    def read(self, key: str) -> bytes | None:
        """The entry's bytes (at most MAX_ENTRY_BYTES + 1 of them), or None when there is none."""
        try:
            with open(self.root / relative_name(key), "rb") as handle:
                return handle.read(MAX_ENTRY_BYTES + 1)
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write(self, key: str, data: bytes) -> None:
        atomic_write(self.root / relative_name(key), data, fsync=True)

    def remove(self, key: str) -> None:
        with contextlib.suppress(OSError):
            (self.root / relative_name(key)).unlink()

    @contextlib.contextmanager
    def locked(self, keys: Iterable[str]) -> Iterator[None]:
        """Hold a file lock per key (sorted, so two workers cannot deadlock)."""
        from filelock import FileLock

        lock_dir = self.root / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as stack:
            for key in sorted(set(keys)):
                stack.enter_context(FileLock(str(lock_dir / f"{key}.lock")))
            yield

    def probe(self) -> None:
        """Raise what a run would meet: make the folder, write and remove a file, take a lock."""
        if self.root.exists() and not self.root.is_dir():
            raise NotADirectoryError(f"{self.root} is a file, not a folder")
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / f".probe-{uuid.uuid4().hex}"
        try:
            probe.write_bytes(b"probe")
        finally:
            with contextlib.suppress(OSError):
                probe.unlink()
        from filelock import FileLock

        (self.root / "locks").mkdir(exist_ok=True)
        lock_path = self.root / "locks" / f".probe-{uuid.uuid4().hex}.lock"
        try:
            with FileLock(str(lock_path)):
                pass
        finally:
            with contextlib.suppress(OSError):
                lock_path.unlink()


class RemoteStore:
    """A folder behind fsspec (s3://, gs://, memory://, sftp://, ...). No locks: see clipsafety.cache."""

    # Remote filesystems raise their own types (botocore, HTTP errors) for a
    # missing bucket or a refused write, not only OSError.
    failures: tuple[type[BaseException], ...] = (Exception,)

    def __init__(self, fs: Any, root: str, *, location: str | None = None, one_put: bool | None = None):
        self.fs = fs
        self.root = root.rstrip("/")
        self.location = location or fs.unstrip_protocol(self.root)  # the URL as the user wrote it
        protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
        self.one_put = bool(protocols & ONE_PUT_PROTOCOLS) if one_put is None else one_put

    def _path(self, key: str) -> str:
        return f"{self.root}/{relative_name(key)}"

    def describe(self, key: str) -> str:
        return self.fs.unstrip_protocol(self._path(key))

    def read(self, key: str) -> bytes | None:
        try:
            return self.fs.cat_file(self._path(key), start=0, end=MAX_ENTRY_BYTES + 1)
        except FileNotFoundError:
            return None

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if self.one_put:  # an object store's PUT is all or nothing
            self.fs.pipe_file(path, data)
            return
        temporary = f"{path.rsplit('/', 1)[0]}/.tmp-{uuid.uuid4().hex}"
        try:
            self.fs.pipe_file(temporary, data)
            self.fs.mv(temporary, path)
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm(temporary)
            raise

    def remove(self, key: str) -> None:
        with contextlib.suppress(Exception):
            self.fs.rm(self._path(key))

    @contextlib.contextmanager
    def locked(self, keys: Iterable[str]) -> Iterator[None]:
        yield

    def probe(self) -> None:
        self.fs.makedirs(self.root, exist_ok=True)
        probe = f"{self.root}/.probe-{uuid.uuid4().hex}"
        self.fs.pipe_file(probe, b"probe")
        self.fs.rm(probe)


def open_store(root: str | Path) -> LocalStore | RemoteStore:
    """A local folder for a path or a file:// URL; fsspec for any other URL."""
    text = str(root)
    if not is_url(text):
        return LocalStore(Path(text))
    from fsspec.implementations.local import LocalFileSystem

    fs, path = url_filesystem(
        text, what="the inversion cache URL",
        fix="install the fsspec filesystem for this URL (s3fs for s3://, gcsfs for gs://), or point "
        "--clip-cache at a local folder, or run with --clip-no-cache")
    if isinstance(fs, LocalFileSystem):
        return LocalStore(Path(path))
    return RemoteStore(fs, path, location=text)
