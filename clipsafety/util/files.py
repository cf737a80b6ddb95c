"""Writing files so that a reader never sees half of one; reading input files within a bound."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path


class NotRegularFile(OSError):
    """An input path that is a device, pipe, socket or folder: reading it could never end or never start."""


def read_bounded(path: str | Path, limit: int) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` + 1 of them (one past the limit tells the
    caller it is too big). The read itself is bounded, not a size the file claims: /dev/zero claims 0.
    A device, pipe or socket is refused before it is opened (opening a FIFO waits for a writer)."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a device, pipe or socket)"
        raise NotRegularFile(f"it is {kind}")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # replaced by a FIFO since: never waits
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit + 1)


def atomic_write(path: str | Path, data: bytes | str, *, mode: int = 0o644, fsync: bool = False) -> Path:
    """Write `data` to a temporary file beside `path`, then rename it over `path`.

    An interrupted write leaves the old file (or none) and no temporary file.
    `mode` defaults to world-readable: results and reports are for the team
    (mkstemp alone would make them 0600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode() if isinstance(data, str) else data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path
