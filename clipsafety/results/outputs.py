"""The files a run writes: checked before any work, written each on its own.

Every output path is checked when the run starts (a folder where a file must
go, a parent that is a file, a folder we cannot write to, a path that is no
regular file such as a device or a FIFO, two outputs on one file, an output on
one of the run's inputs), so a bad path costs a second, not the whole inversion.
Paths are compared as files, symlinks resolved: two paths that reach one file
through a symlinked folder are one file. At the end each
output is written independently and atomically (clipsafety.util.files): one that
fails is reported and does not take the others with it, and no temporary file
is left behind.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..util.errors import ClipSafetyError
AUDIT_NAME = "audit.log"  # written next to the results file


class OutputError(ClipSafetyError):
    """An output path that cannot be written."""


def check_writable(path: str | Path, option: str) -> Path:
    """`path` can be created or replaced as a file; OutputError naming `option` otherwise."""
    path = Path(path)
    fix = f"give {option} a file path in a folder you can write to"
    if path.is_dir():
        raise OutputError(f"{option}: {path} is a folder, not a file", fix=fix)
    if path.exists() and not path.is_file():  # replacing it would put a file where a device or pipe was
        raise OutputError(f"{option}: {path} is not a regular file (a device, pipe or socket)", fix=fix)
    folder = path.parent
    while not folder.exists():  # the first folder that exists must take new entries
        if folder.is_symlink() or folder == folder.parent:
            break
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"{option}: cannot create {path}: {folder} is not a folder", fix=fix)
    try:  # os.access alone is wrong for root and for read-only mounts: try it
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".clipsafety-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OutputError(f"{option}: cannot write in {folder} ({err.strerror or err})", fix=fix) from None
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"{option}: {path} is not writable", fix=fix)
    return path


@dataclass(frozen=True)
class Output:
    option: str  # the option that named it, for messages
    label: str  # what it is, for people: "results", "report", ...
    path: Path


@dataclass(frozen=True)
class RunOutputs:
    """The files a run writes (None: not written)."""

    results: Path | None = None
    report: Path | None = None
    save_baseline: Path | None = None
    blur_above: float = 0.5

    @property
    def audit(self) -> Path | None:
        return None if self.results is None else self.results.with_name(AUDIT_NAME)

    def named(self) -> dict[str, Output]:
        """label -> Output, for the outputs that are asked for."""
        outs = [Output("--clip-results", "results", self.results),
                Output(f"--clip-results (its {AUDIT_NAME})", "audit line", self.audit),
                Output("--clip-report", "report", self.report),
                Output("--clip-save-baseline", "baseline", self.save_baseline)]
        return {out.label: out for out in outs if out.path is not None}

    def check(self, inputs: Mapping[str, str | Path] | None = None) -> None:
        check_outputs(list(self.named().values()), inputs)


@dataclass
class Written:
    """What `write_outputs` did: (label, path) written, and one message per output that failed."""

    written: list[tuple[str, Path]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def same_file_key(path: str | Path) -> Path:
    """What two paths to one file share: the absolute path with every symlink resolved."""
    return Path(os.path.realpath(path))


def check_outputs(outputs: list[Output], inputs: Mapping[str, str | Path] | None = None) -> None:
    """Check each path; that no two outputs reach one file (the later would overwrite the earlier);
    and that no output is one of `inputs` ({what it is, e.g. "--clip-waivers": path})."""
    read = {same_file_key(path): what for what, path in (inputs or {}).items() if path}
    seen: dict[Path, str] = {}
    for out in outputs:
        check_writable(out.path, out.option)
        key = same_file_key(out.path)
        if key in seen:
            raise OutputError(f"{seen[key]} and {out.option} both name {out.path}",
                              fix="give each output its own path")
        if key in read:
            raise OutputError(f"{out.option}: {out.path} is also an input of this run ({read[key]}); writing "
                              "it would replace what the run reads", fix=f"give {out.option} another path")
        seen[key] = out.option


def write_outputs(writes: list[tuple[Output, Callable[[], Any]]]) -> Written:
    """Run each write on its own: whatever one raises (an OSError, a ClipSafetyError, text its encoding
    cannot hold) loses that output only, and is named."""
    done = Written()
    for out, write in writes:
        try:
            write()
        except Exception as err:  # noqa: BLE001 - one output's failure must not take the others with it
            reason = err.strerror if isinstance(err, OSError) and err.strerror else \
                str(err) if isinstance(err, ClipSafetyError) else f"{type(err).__name__}: {err}"
            done.failed.append(f"{out.label} not written to {out.path} ({out.option}): {reason}")
        else:
            done.written.append((out.label, out.path))
    return done
